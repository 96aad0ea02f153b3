"""RFC 7250 raw public keys in real TLS 1.3 handshakes over the sans-I/O core: the
certificate types negotiated in ClientHello / EncryptedExtensions, a Certificate holding a
SubjectPublicKeyInfo, CertificateVerify checked against it; both directions, pinned by SPKI
SHA-256 or by DID, and mixed X.509 / raw-key peers."""

from __future__ import annotations

import pytest
from certificates import pki
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from pairs import pump, refusal

from nautilus_tls.auth.raw_key import RawPublicKey, SpkiPinVerifier, spki_pin
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.x509 import spki_of
from nautilus_tls.did.key import did_key_from_spki
from nautilus_tls.did.verifier import DidPeerVerifier
from nautilus_tls.errors import AlertDescription, ConfigError
from nautilus_tls.session.client_store import MemorySessionStore

RPK, X509 = 2, 0
KEYS = {
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "mldsa44": mldsa.MLDSA44PrivateKey.generate,
    "mldsa65": mldsa.MLDSA65PrivateKey.generate,
    "mldsa87": mldsa.MLDSA87PrivateKey.generate,
}


def _run(ccfg: ClientConfig, scfg: ServerConfig) -> tuple[ClientConnection, ServerConnection]:
    client, server = ClientConnection(ccfg, "localhost"), ServerConnection(scfg)
    client.start()
    pump(client, server)
    assert client.info is not None and server.info is not None
    return client, server


def _pinned(key: RawPublicKey, types: tuple[int, ...] = (RPK,), **kw: object) -> ClientConfig:
    return ClientConfig(
        verifier=SpkiPinVerifier((spki_pin(key.spki),)),
        server_certificate_types=types,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_client_accepts_a_pinned_raw_key_server(alg: str) -> None:
    key = RawPublicKey(KEYS[alg]())
    client, server = _run(_pinned(key), ServerConfig(raw_public_key=key))
    assert client.info is not None and server.info is not None
    assert client.info.certificate_type == "raw_public_key"
    assert client.info.peer_certificates == (key.spki,)
    assert client.info.peer_certificate_subject is None and client.info.peer_certificate_names == ()
    assert server.info.certificate_type is None  # no client certificate


def test_client_refuses_a_raw_key_that_is_not_pinned() -> None:
    shown, pinned = (
        RawPublicKey(ed25519.Ed25519PrivateKey.generate()),
        RawPublicKey(ed25519.Ed25519PrivateKey.generate()),
    )
    error = refusal(_pinned(pinned), ServerConfig(raw_public_key=shown))
    assert error.alert == AlertDescription.bad_certificate
    assert spki_pin(shown.spki) in str(error)


def test_server_with_a_certificate_and_a_raw_key_serves_each_client_its_type() -> None:
    key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    scfg = pki().server_config(raw_public_key=key)
    raw_client, _ = _run(_pinned(key, (RPK, X509)), scfg)
    assert raw_client.info is not None and raw_client.info.certificate_type == "raw_public_key"
    x509_client, _ = _run(pki().client_config(), scfg)
    assert x509_client.info is not None and x509_client.info.certificate_type == "x509"
    assert x509_client.info.peer_certificates == pki().server.chain


def test_client_accepting_either_type_takes_a_certificate_from_an_x509_only_server() -> None:
    # The server has no raw key: it answers X.509 and the pin is checked on the certificate.
    pin = spki_pin(spki_of(pki().server.chain[0]))
    ccfg = ClientConfig(verifier=SpkiPinVerifier((pin,)), server_certificate_types=(RPK, X509))
    client, _ = _run(ccfg, pki().server_config())
    assert client.info is not None and client.info.certificate_type == "x509"


def test_raw_key_only_client_and_x509_only_server_fail_with_unsupported_certificate() -> None:
    key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    error = refusal(_pinned(key), pki().server_config())
    assert error.alert == AlertDescription.unsupported_certificate


def test_x509_client_and_raw_key_only_server_fail_with_unsupported_certificate() -> None:
    key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    error = refusal(pki().client_config(), ServerConfig(raw_public_key=key))
    assert error.alert == AlertDescription.unsupported_certificate


def _mutual(client_key: RawPublicKey, **server_kw: object) -> tuple[ClientConfig, ServerConfig]:
    server_key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    ccfg = _pinned(server_key, client_certificate=client_key)
    scfg = ServerConfig(
        raw_public_key=server_key,
        client_auth="require",
        client_certificate_types=(RPK,),
        **server_kw,  # type: ignore[arg-type]
    )
    return ccfg, scfg


@pytest.mark.parametrize("alg", ["ed25519", "ecdsa-p256", "mldsa65"])
def test_server_accepts_a_pinned_raw_key_client(alg: str) -> None:
    client_key = RawPublicKey(KEYS[alg]())
    verifier = SpkiPinVerifier((spki_pin(client_key.spki),))
    _, server = _run(*_mutual(client_key, client_verifier=verifier))
    assert server.info is not None and server.info.certificate_type == "raw_public_key"
    assert server.info.peer_certificates == (client_key.spki,)
    assert server.info.client_certificate_scheme is not None


def test_server_refuses_an_unpinned_raw_key_client() -> None:
    client_key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    verifier = SpkiPinVerifier(("00" * 32,))
    error = refusal(*_mutual(client_key, client_verifier=verifier))
    assert error.alert == AlertDescription.bad_certificate


def test_server_accepts_a_raw_key_client_by_did_and_reports_it() -> None:
    client_key = RawPublicKey(mldsa.MLDSA65PrivateKey.generate())
    did = did_key_from_spki(client_key.spki)
    _, server = _run(*_mutual(client_key, client_verifier=DidPeerVerifier(trust_dids=(did,))))
    assert server.info is not None and server.info.peer_did == did


def test_client_pins_a_raw_key_server_by_did_and_reports_it() -> None:
    key = RawPublicKey(ec.generate_private_key(ec.SECP256R1()))
    did = did_key_from_spki(key.spki)
    ccfg = ClientConfig(verifier=DidPeerVerifier(expect_did=did), server_certificate_types=(RPK,))
    client, _ = _run(ccfg, ServerConfig(raw_public_key=key))
    assert client.info is not None and client.info.peer_did == did
    assert client.info.as_dict()["certificate_type"] == "raw_public_key"


def test_raw_key_client_sends_nothing_to_a_server_that_only_takes_certificates() -> None:
    # The server does not answer client_certificate_type: X.509 applies and the client has
    # no certificate, so it sends an empty Certificate; "require" then refuses it.
    client_key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    ccfg = pki().client_config(client_certificate=client_key)
    scfg = pki().server_config(client_auth="require", client_trust_store=pki().store)
    error = refusal(ccfg, scfg)
    assert error.alert == AlertDescription.certificate_required


def test_server_taking_only_raw_keys_refuses_a_client_certificate() -> None:
    # The client offers no client_certificate_type (X.509 applies) and sends its certificate.
    pin = spki_pin(spki_of(pki().client.chain[0]))
    ccfg = pki().client_config(client_certificate=pki().client)
    scfg = pki().server_config(
        client_auth="require",
        client_certificate_types=(RPK,),
        client_verifier=SpkiPinVerifier((pin,)),
    )
    assert refusal(ccfg, scfg).alert == AlertDescription.unsupported_certificate


def test_server_taking_either_type_accepts_a_pinned_client_certificate() -> None:
    pin = spki_pin(spki_of(pki().client.chain[0]))
    ccfg = pki().client_config(client_certificate=pki().client)
    scfg = pki().server_config(
        client_auth="require",
        client_certificate_types=(RPK, X509),
        client_verifier=SpkiPinVerifier((pin,)),
    )
    _, server = _run(ccfg, scfg)
    assert server.info is not None and server.info.certificate_type == "x509"


def test_resumes_a_raw_key_session_under_the_same_pin() -> None:
    key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    ccfg, scfg = _pinned(key, session_store=MemorySessionStore()), ServerConfig(raw_public_key=key)
    _run(ccfg, scfg)
    client, _ = _run(ccfg, scfg)
    assert client.info is not None and client.info.resumed
    assert client.info.certificate_type == "raw_public_key"


@pytest.mark.parametrize(
    "make",
    [
        lambda: ClientConfig(server_certificate_types=(RPK,)),  # no verifier that judges keys
        lambda: ClientConfig(server_certificate_types=()),
        lambda: ClientConfig(server_certificate_types=(1,)),
        lambda: ServerConfig(),
        lambda: ServerConfig(raw_public_key=pki().server),  # a certificate, not a raw key
        lambda: pki().server_config(client_certificate_types=(RPK,)),  # no client_verifier
    ],
)
def test_rejects_configurations_that_cannot_work(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]
