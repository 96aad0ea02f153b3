"""Protocol violations around RFC 7250 certificate types, forged from real flights (helpers
in violations.py): a type chosen that the client did not offer, an answer to an offer never
made, a raw-key Certificate that is not one SubjectPublicKeyInfo, a bare key where X.509 was
negotiated, and a malformed offer."""

from __future__ import annotations

from certificates import pki
from cryptography.hazmat.primitives.asymmetric import ed25519
from handshake.violations import (
    A,
    ch_record,
    client_hello,
    drop,
    expect_alert,
    read_sealer,
    replace,
    server_flight,
    with_extensions,
)

from nautilus_tls.auth.raw_key import RawPublicKey, SpkiPinVerifier, spki_pin
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ServerConnection
from nautilus_tls.wire.enums import ExtensionType, HandshakeType
from nautilus_tls.wire.messages import (
    Certificate,
    CertificateEntry,
    EncryptedExtensions,
    Extension,
    decode_handshake,
)

RPK, X509 = 2, 0
KEY = RawPublicKey(ed25519.Ed25519PrivateKey.generate())


def _raw_key_client(types: tuple[int, ...] = (RPK,)) -> ClientConfig:
    return ClientConfig(
        verifier=SpkiPinVerifier((spki_pin(KEY.spki),)), server_certificate_types=types
    )


def _ee(f: object, change: object) -> bytes:
    raw = f.msg(HandshakeType.encrypted_extensions)  # type: ignore[attr-defined]
    ee = decode_handshake(HandshakeType.encrypted_extensions, raw[4:])
    assert isinstance(ee, EncryptedExtensions)
    return EncryptedExtensions(extensions=tuple(change(list(ee.extensions)))).encode()  # type: ignore[operator]


def test_client_rejects_a_server_type_it_did_not_offer() -> None:
    f = server_flight(_raw_key_client(), ServerConfig(raw_public_key=KEY))
    forged = _ee(f, replace(ExtensionType.server_certificate_type, b"\x00"))
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(*f.replaced(HandshakeType.encrypted_extensions, forged)),
        A.illegal_parameter,
    )


def test_client_rejects_a_certificate_type_answer_to_no_offer() -> None:
    f = server_flight(pki().client_config(), pki().server_config())
    forged = _ee(f, lambda exts: [*exts, Extension(ExtensionType.server_certificate_type, b"\x02")])
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(*f.replaced(HandshakeType.encrypted_extensions, forged)),
        A.unsupported_extension,
    )


def test_client_accepting_only_raw_keys_refuses_a_server_that_does_not_answer() -> None:
    f = server_flight(_raw_key_client(), ServerConfig(raw_public_key=KEY))
    forged = _ee(f, drop(ExtensionType.server_certificate_type))
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(*f.replaced(HandshakeType.encrypted_extensions, forged)),
        A.unsupported_certificate,
    )


def _certificate(*entries: bytes) -> bytes:
    return Certificate(
        certificate_request_context=b"",
        certificate_list=tuple(CertificateEntry(cert_data=e) for e in entries),
    ).encode()


def test_client_rejects_a_raw_key_certificate_with_two_entries() -> None:
    f = server_flight(_raw_key_client(), ServerConfig(raw_public_key=KEY))
    seal = read_sealer(f.client)
    forged = _certificate(KEY.spki, KEY.spki)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_client_rejects_a_certificate_where_a_raw_key_was_negotiated() -> None:
    f = server_flight(_raw_key_client(), ServerConfig(raw_public_key=KEY))
    seal = read_sealer(f.client)
    forged = _certificate(pki().server.chain[0])
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_client_rejects_a_bare_key_where_x509_was_negotiated() -> None:
    # The client accepts either type; the server chose X.509 but sends a bare key.
    pin = SpkiPinVerifier((spki_pin(KEY.spki),))
    ccfg = ClientConfig(verifier=pin, server_certificate_types=(RPK, X509))
    f = server_flight(ccfg, pki().server_config())
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(*f.replaced(HandshakeType.certificate, _certificate(KEY.spki))),
        A.bad_certificate,
    )


def test_server_rejects_a_malformed_certificate_type_offer() -> None:
    server = ServerConnection(ServerConfig(raw_public_key=KEY))
    ch = with_extensions(client_hello(), lambda exts: [
        *exts, Extension(ExtensionType.server_certificate_type, b"\x03\x02")
    ])  # fmt: skip
    expect_alert(server, ch_record(ch), A.decode_error)


def test_server_rejects_an_empty_certificate_type_list() -> None:
    server = ServerConnection(ServerConfig(raw_public_key=KEY))
    ch = with_extensions(client_hello(), lambda exts: [
        *exts, Extension(ExtensionType.server_certificate_type, b"\x00")
    ])  # fmt: skip
    expect_alert(server, ch_record(ch), A.decode_error)
