"""The DID extension (src/nautilus_tls/did/extension.py, private-use code point 0xFFD1): its
codec, and handshakes in which raw-key peers name their did:web in it (our HTTPS server on
127.0.0.1 serves the documents)."""

from __future__ import annotations

import json

import pytest
from certificates import pki
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa
from did_server import document_server
from pairs import pump, refusal

from nautilus_tls.auth.raw_key import RawPublicKey
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.did.document import did_document
from nautilus_tls.did.extension import DID_EXTENSION, DidExtension, decode_did, encode_did
from nautilus_tls.did.resolver import DidResolver
from nautilus_tls.did.verifier import DidPeerVerifier
from nautilus_tls.did.web import DidWebResolver
from nautilus_tls.errors import AlertDescription, DecodeError, PeerMisbehaved
from nautilus_tls.wire.enums import HandshakeType

RPK = 2


def test_round_trips_a_did() -> None:
    did = "did:web:example.com%3A8443:users:alice"
    assert decode_did(encode_did(did)) == did


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", DecodeError),
        (b"\x00\x05did", DecodeError),
        (b"\x00\x03abc", PeerMisbehaved),
        (b"\x00\x0bdid:example", PeerMisbehaved),
        (b"\x00\x02\xff\xfe", PeerMisbehaved),
    ],
)
def test_rejects_malformed_dids(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as err:
        decode_did(data)
    if error is PeerMisbehaved:
        assert err.value.alert == AlertDescription.illegal_parameter  # type: ignore[attr-defined]


def test_asks_with_an_empty_copy_and_answers_only_when_asked() -> None:
    hook = DidExtension(did="did:web:example.com")
    assert hook.ext_type == DID_EXTENSION == 0xFFD1
    assert hook.offer(HandshakeType.client_hello, None) == b""
    assert hook.offer(HandshakeType.certificate, True) == encode_did("did:web:example.com")
    assert DidExtension().offer(HandshakeType.certificate, True) is None  # no DID of ours
    assert DidExtension(ask_peer=False).offer(HandshakeType.client_hello, None) is None
    assert hook.receive(HandshakeType.client_hello, b"") is True
    assert hook.receive(HandshakeType.client_hello, None) is False
    with pytest.raises(DecodeError):
        hook.receive(HandshakeType.certificate_request, b"x")


def _resolver() -> DidResolver:
    return DidResolver(DidWebResolver(config=pki().client_config(), timeout=3.0))


def _serve_document(docs: object, path: str, did: str, key: RawPublicKey) -> None:
    docs.routes[path] = (200, json.dumps(did_document(did, key.spki)).encode())  # type: ignore[attr-defined]


def test_server_resolves_the_did_web_a_raw_key_client_names() -> None:
    client_key = RawPublicKey(mldsa.MLDSA65PrivateKey.generate())
    server_key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    with document_server({}) as docs:
        client_did = f"did:web:{docs.authority}:devices:7"
        _serve_document(docs, "/devices/7/did.json", client_did, client_key)
        server_did = f"did:web:{docs.authority}"
        _serve_document(docs, "/.well-known/did.json", server_did, server_key)
        ccfg = ClientConfig(
            verifier=DidPeerVerifier(resolve_any=True, resolver=_resolver()),
            server_certificate_types=(RPK,),
            client_certificate=client_key,
            extension_hooks=(DidExtension(did=client_did),),
        )
        scfg = ServerConfig(
            raw_public_key=server_key,
            client_auth="require",
            client_certificate_types=(RPK,),
            client_verifier=DidPeerVerifier(resolve_any=True, resolver=_resolver()),
            extension_hooks=(DidExtension(did=server_did),),
        )
        client, server = ClientConnection(ccfg, "localhost"), ServerConnection(scfg)
        client.start()
        pump(client, server)
    assert client.info is not None and client.info.peer_did == server_did
    assert server.info is not None and server.info.peer_did == client_did
    assert server.info.certificate_type == "raw_public_key"


def test_server_refuses_a_client_claiming_a_did_web_that_does_not_list_its_key() -> None:
    client_key = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    listed = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        _serve_document(docs, "/.well-known/did.json", did, listed)
        ccfg = pki().client_config(
            client_certificate=client_key, extension_hooks=(DidExtension(did=did),)
        )
        scfg = pki().server_config(
            client_auth="require",
            client_certificate_types=(RPK,),
            client_verifier=DidPeerVerifier(resolve_any=True, resolver=_resolver()),
            extension_hooks=(DidExtension(),),
        )
        error = refusal(ccfg, scfg)
    assert error.alert == AlertDescription.bad_certificate and did in str(error)
