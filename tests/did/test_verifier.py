"""DidPeerVerifier (src/nautilus_tls/did/verifier.py) in real handshakes over the sans-I/O
core: a client pinning its server's DID, a server accepting clients' DIDs by allow-list or
by resolution, did:key and did:web (against our local HTTPS server)."""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass

import pytest
from certificates import pki
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from did_server import document_server
from pairs import pump, refusal

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.did.certificate import did_of_certificate
from nautilus_tls.did.document import did_document
from nautilus_tls.did.errors import InvalidDid
from nautilus_tls.did.key import did_key_from_spki
from nautilus_tls.did.resolver import DidResolver
from nautilus_tls.did.verifier import DidPeerVerifier
from nautilus_tls.did.web import DidWebResolver
from nautilus_tls.errors import AccessDenied, AlertDescription, BadCertificate
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.tools.certgen import make_self_issued
from nautilus_tls.wire.messages import CertificateEntry

DidPrivateKey = (
    ed25519.Ed25519PrivateKey
    | ec.EllipticCurvePrivateKey
    | mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
)

WELL_KNOWN = "/.well-known/did.json"


def _spki(key: DidPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class Holder:
    """A DID, its key and the self-issued certificate that carries it."""

    did: str
    key: DidPrivateKey
    credential: CertifiedKey

    @property
    def spki(self) -> bytes:
        return _spki(self.key)


def holder(key: DidPrivateKey, did: str | None = None) -> Holder:
    did = did or did_key_from_spki(_spki(key))
    cert = make_self_issued(key, did, ["localhost"])
    return Holder(did, key, CertifiedKey(chain=(cert,), private_key=key))


KEYS = {
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "mldsa65": mldsa.MLDSA65PrivateKey.generate,
}


def _run(ccfg: ClientConfig, scfg: ServerConfig) -> tuple[ClientConnection, ServerConnection]:
    client, server = ClientConnection(ccfg, "localhost"), ServerConnection(scfg)
    client.start()
    pump(client, server)
    return client, server


def _client(did: str, **kw: object) -> ClientConfig:
    return ClientConfig(verifier=DidPeerVerifier(expect_did=did), **kw)  # type: ignore[arg-type]


def _server(h: Holder) -> ServerConfig:
    return ServerConfig(certificates=(h.credential,))


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_client_accepts_a_server_holding_the_expected_did_key(alg: str) -> None:
    server_id = holder(KEYS[alg]())
    client, _ = _run(_client(server_id.did), _server(server_id))
    assert client.info is not None and client.info.peer_certificates == server_id.credential.chain
    assert did_of_certificate(client.info.peer_certificates[0]) == server_id.did


def test_client_refuses_a_server_with_another_key_naming_both(
    caplog: pytest.LogCaptureFixture,
) -> None:
    expected, actual = (
        holder(ed25519.Ed25519PrivateKey.generate()),
        holder(mldsa.MLDSA65PrivateKey.generate()),
    )
    with caplog.at_level(logging.DEBUG, logger="nautilus_tls.did"):
        error = refusal(_client(expected.did), _server(actual))
    assert isinstance(error, BadCertificate) and error.alert == AlertDescription.bad_certificate
    assert expected.did in str(error) and actual.did in str(error)
    refusals = [r for r in caplog.records if "refused peer (bad_certificate)" in r.getMessage()]
    # One line: at DEBUG, since the adapters log the failed handshake with this message.
    assert len(refusals) == 1 and refusals[0].levelno == logging.DEBUG


def test_client_refuses_a_certificate_naming_the_did_over_another_key() -> None:
    # The certificate's URI claims the expected DID; only the key counts.
    expected = holder(ed25519.Ed25519PrivateKey.generate())
    liar = holder(ed25519.Ed25519PrivateKey.generate(), did=expected.did)
    error = refusal(_client(expected.did), _server(liar))
    assert error.alert == AlertDescription.bad_certificate


def test_client_resumes_only_under_the_same_expected_did() -> None:
    server_id = holder(ed25519.Ed25519PrivateKey.generate())
    store, scfg = MemorySessionStore(), _server(server_id)  # one server: one ticket key
    _run(_client(server_id.did, session_store=store), scfg)
    client, _ = _run(_client(server_id.did, session_store=store), scfg)
    assert client.info is not None and client.info.resumed
    # A ticket made under one DID is not taken under another: the full handshake refuses.
    other = holder(ed25519.Ed25519PrivateKey.generate()).did
    error = refusal(_client(other, session_store=store), scfg)
    assert error.alert == AlertDescription.bad_certificate


def _mutual(client_id: Holder, verifier: DidPeerVerifier) -> tuple[ClientConfig, ServerConfig]:
    ccfg = pki().client_config(client_certificate=client_id.credential)
    scfg = pki().server_config(client_auth="require", client_verifier=verifier)
    return ccfg, scfg


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_server_accepts_a_client_did_from_its_allow_list(alg: str) -> None:
    client_id = holder(KEYS[alg]())
    _, server = _run(*_mutual(client_id, DidPeerVerifier(trust_dids=(client_id.did,))))
    assert server.info is not None and server.info.peer_certificates == client_id.credential.chain


def test_server_refuses_a_client_did_missing_from_the_allow_list_with_access_denied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listed, stranger = (
        holder(ed25519.Ed25519PrivateKey.generate()),
        holder(ed25519.Ed25519PrivateKey.generate()),
    )
    with caplog.at_level(logging.DEBUG, logger="nautilus_tls.did"):
        error = refusal(*_mutual(stranger, DidPeerVerifier(trust_dids=(listed.did,))))
    # A valid identity that the allow-list refuses: access control, not a bad certificate.
    assert isinstance(error, AccessDenied) and error.alert == AlertDescription.access_denied
    assert stranger.did in str(error)
    assert any(stranger.did in r.getMessage() for r in caplog.records)


def test_server_refuses_a_client_whose_key_does_not_match_its_claimed_did() -> None:
    listed = holder(ed25519.Ed25519PrivateKey.generate())
    impostor = holder(ed25519.Ed25519PrivateKey.generate(), did=listed.did)
    error = refusal(*_mutual(impostor, DidPeerVerifier(trust_dids=(listed.did,))))
    assert error.alert == AlertDescription.bad_certificate


def test_server_with_resolve_any_accepts_any_did_key_client() -> None:
    client_id = holder(mldsa.MLDSA44PrivateKey.generate())
    _, server = _run(*_mutual(client_id, DidPeerVerifier(resolve_any=True)))
    assert server.info is not None


def _web_resolver() -> DidResolver:
    return DidResolver(DidWebResolver(config=pki().client_config(), timeout=3.0))


def test_client_accepts_a_did_web_server_whose_key_its_document_lists() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki(key))).encode())
        verifier = DidPeerVerifier(expect_did=did, resolver=_web_resolver())
        client, _ = _run(ClientConfig(verifier=verifier), _server(holder(key, did)))
    assert client.info is not None


def test_client_refuses_a_did_web_server_with_a_key_its_document_does_not_list() -> None:
    listed, used = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki(listed))).encode())
        verifier = DidPeerVerifier(expect_did=did, resolver=_web_resolver())
        error = refusal(ClientConfig(verifier=verifier), _server(holder(used, did)))
    assert error.alert == AlertDescription.bad_certificate and did in str(error)


def test_client_refuses_a_did_web_document_without_authentication_with_certificate_unknown() -> (
    None
):
    key = ed25519.Ed25519PrivateKey.generate()
    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        document = did_document(did, _spki(key))
        document["authentication"] = []
        docs.routes[WELL_KNOWN] = (200, json.dumps(document).encode())
        verifier = DidPeerVerifier(expect_did=did, resolver=_web_resolver())
        error = refusal(ClientConfig(verifier=verifier), _server(holder(key, did)))
    assert error.alert == AlertDescription.certificate_unknown
    assert "no authentication key" in str(error)


def test_client_refuses_an_unreachable_did_web_host_with_certificate_unknown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    did = f"did:web:localhost%3A{port}"
    verifier = DidPeerVerifier(expect_did=did, resolver=_web_resolver())
    key = ed25519.Ed25519PrivateKey.generate()
    error = refusal(ClientConfig(verifier=verifier), _server(holder(key, did)))
    assert error.alert == AlertDescription.certificate_unknown and "unreachable" in str(error)


def test_server_resolves_a_client_did_web_named_in_its_certificate() -> None:
    key = mldsa.MLDSA65PrivateKey.generate()
    with document_server({}) as docs:
        did = f"did:web:{docs.authority}:clients:alice"
        docs.routes["/clients/alice/did.json"] = (
            200,
            json.dumps(did_document(did, _spki(key))).encode(),
        )
        verifier = DidPeerVerifier(resolve_any=True, resolver=_web_resolver())
        _, server = _run(*_mutual(holder(key, did), verifier))
    assert server.info is not None


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"expect_did": "did:example:123"},
        {"expect_did": "did:key:zBad0"},
        {"trust_dids": ("did:web:bad host",)},
        {"expect_did": "did:web:example.com", "resolve_any": True},
    ],
)
def test_rejects_bad_configurations(kw: dict[str, object]) -> None:
    with pytest.raises((ValueError, InvalidDid)):
        DidPeerVerifier(**kw)  # type: ignore[arg-type]


def test_judgements_differ_by_did() -> None:
    a, b = (
        holder(ed25519.Ed25519PrivateKey.generate()).did,
        holder(ed25519.Ed25519PrivateKey.generate()).did,
    )
    assert (
        DidPeerVerifier(expect_did=a).fingerprint() != DidPeerVerifier(expect_did=b).fingerprint()
    )
    assert (
        DidPeerVerifier(trust_dids=(a, b)).fingerprint()
        == DidPeerVerifier(trust_dids=(b, a)).fingerprint()
    )


def test_judges_a_raw_public_key_against_the_expected_did() -> None:
    # RFC 7250: the entry is the SubjectPublicKeyInfo itself.
    key = ed25519.Ed25519PrivateKey.generate()
    entry = CertificateEntry(cert_data=_spki(key))
    did = did_key_from_spki(_spki(key))
    assert DidPeerVerifier(expect_did=did).verify_identity([entry], None, 0).identity == did
    other = holder(ed25519.Ed25519PrivateKey.generate()).did
    with pytest.raises(BadCertificate):
        DidPeerVerifier(expect_did=other).verify_identity([entry], None, 0)


def test_server_finds_the_listed_did_web_that_names_a_raw_key() -> None:
    key = mldsa.MLDSA65PrivateKey.generate()
    entry = CertificateEntry(cert_data=_spki(key))
    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki(key))).encode())
        verifier = DidPeerVerifier(trust_dids=(did,), resolver=_web_resolver())
        assert verifier.verify_identity([entry], None, 0).identity == did
        stranger = CertificateEntry(cert_data=_spki(mldsa.MLDSA65PrivateKey.generate()))
        with pytest.raises(AccessDenied) as err:
            verifier.verify_identity([stranger], None, 0)
    assert err.value.alert == AlertDescription.access_denied
