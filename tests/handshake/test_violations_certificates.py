"""Protocol violations, Certificate, CertificateRequest and CertificateVerify, in both directions:
missing or out of order, bad extensions, chains that do not verify, bad signatures.
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

import dataclasses

from certificates import CLIENT_NAME, pki
from handshake.violations import A, client_flight, expect_alert, mtls, read_sealer, server_flight
from pairs import client_config, server_config

from nautilus_tls.config import ClientConfig
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType, HandshakeType
from nautilus_tls.wire.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    Extension,
    decode_handshake,
)


def _bad_version(der: bytes) -> bytes:
    """The certificate with its X.509 version field set to 34 (cryptography raises
    InvalidVersion, which is not a ValueError)."""
    i = der.index(b"\xa0\x03\x02\x01\x02")
    return der[: i + 4] + b"\x22" + der[i + 5 :]


def test_client_rejects_finished_before_certificate() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(f.msg(HandshakeType.encrypted_extensions), f.msg(HandshakeType.finished)),
        A.unexpected_message,
    )


def test_client_rejects_missing_certificate_verify() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.without(HandshakeType.certificate_verify)), A.unexpected_message)


def test_server_rejects_finished_before_client_certificate() -> None:
    f = client_flight(*mtls())
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(f.msg(HandshakeType.finished)), A.unexpected_message)


def test_server_rejects_certificate_verify_before_certificate() -> None:
    f = client_flight(*mtls())
    seal = read_sealer(f.server)
    expect_alert(
        f.server,
        seal(f.msg(HandshakeType.certificate_verify), f.msg(HandshakeType.certificate)),
        A.unexpected_message,
    )


def test_server_rejects_duplicate_extension_in_client_certificate_entry() -> None:
    f = client_flight(*mtls())
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    sct = Extension(ExtensionType.signed_certificate_timestamp, b"\x00\x00")
    entry = CertificateEntry(cert.certificate_list[0].cert_data, (sct, sct))
    forged = dataclasses.replace(cert, certificate_list=(entry,)).encode()
    expect_alert(f.server, read_sealer(f.server)(forged), A.illegal_parameter)


def test_client_rejects_supported_groups_in_certificate_entry() -> None:
    f = server_flight()
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    bad = Extension(ExtensionType.supported_groups, ext.encode_supported_groups((29,)))
    entry = CertificateEntry(cert.certificate_list[0].cert_data, (bad,))
    forged = dataclasses.replace(cert, certificate_list=(entry,)).encode()
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.illegal_parameter
    )


def test_client_rejects_certificate_request_without_signature_algorithms() -> None:
    ccfg, scfg = mtls()
    f = server_flight(ccfg, scfg)
    cr = CertificateRequest(certificate_request_context=b"", extensions=()).encode()
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate_request, cr)), A.missing_extension
    )


def test_client_rejects_bad_certificate_verify_signature() -> None:
    f = server_flight()
    cv = bytearray(f.msg(HandshakeType.certificate_verify))
    cv[-1] ^= 1
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate_verify, bytes(cv))), A.decrypt_error
    )


def test_server_rejects_bad_client_certificate_verify_signature() -> None:
    f = client_flight(*mtls())
    cv = bytearray(f.msg(HandshakeType.certificate_verify))
    cv[-1] ^= 1
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(f.msg(HandshakeType.certificate), bytes(cv)), A.decrypt_error)


def test_client_rejects_certificate_verify_with_scheme_it_did_not_offer() -> None:
    f = server_flight(client_config(signature_schemes=(0x0905,)))  # mldsa65 only
    raw = f.msg(HandshakeType.certificate_verify)
    cv = decode_handshake(raw[0], raw[4:])
    assert isinstance(cv, CertificateVerify)
    forged = dataclasses.replace(cv, algorithm=0x0807).encode()  # ed25519
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate_verify, forged)), A.illegal_parameter
    )


def test_client_rejects_chain_from_unknown_ca() -> None:
    other = pki("ed25519").store  # another CA altogether
    f = server_flight(ClientConfig(trust_store=other))
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.msgs), A.unknown_ca)


def test_client_rejects_expired_certificate() -> None:
    f = server_flight(clock=lambda: 4_102_444_800.0)  # 2100
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.msgs), A.certificate_expired)


def test_client_rejects_certificate_for_another_name() -> None:
    f = server_flight(server_name="not-localhost.example")
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.msgs), A.bad_certificate)


def test_client_rejects_undecodable_certificate() -> None:
    f = server_flight()
    forged = Certificate(certificate_list=(CertificateEntry(b"\x30\x03junk"),)).encode()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_server_rejects_client_chain_from_unknown_ca() -> None:
    other = pki("ed25519").client
    f = client_flight(
        client_config(client_certificate=other),
        server_config(client_auth="require", client_trust_store=pki().store),
    )
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(*f.msgs), A.unknown_ca)


def test_server_requires_a_client_certificate() -> None:
    ccfg, scfg = mtls()
    f = client_flight(ccfg, scfg)
    empty = Certificate(certificate_list=()).encode()
    expect_alert(f.server, read_sealer(f.server)(empty), A.certificate_required)


def test_client_rejects_certificate_with_invalid_x509_version() -> None:
    # Found by the fuzzer (server side, mTLS: tests/fuzz/corpus/regressions/
    # server-client-certificate-invalid-x509-version.bin): the parse error escaped as
    # internal_error. Fixed in crypto/x509.py.
    f = server_flight()
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    entry = CertificateEntry(_bad_version(cert.certificate_list[0].cert_data))
    forged = Certificate(certificate_list=(entry,)).encode()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_client_without_verification_rejects_certificate_with_invalid_x509_version() -> None:
    f = server_flight(ClientConfig(insecure_skip_verify=True))
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    entry = CertificateEntry(_bad_version(cert.certificate_list[0].cert_data))
    forged = Certificate(certificate_list=(entry,)).encode()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_server_rejects_client_certificate_with_malformed_subject() -> None:
    # Found by the fuzzer (tests/fuzz/corpus/regressions/server-client-certificate-malformed-
    # subject.bin): the certificate loads (cryptography parses lazily) but path validation
    # then raised ValueError, answered with internal_error. Fixed in crypto/x509.py.
    ccfg, scfg = mtls()
    f = client_flight(ccfg, scfg)
    der = pki().client.chain[0]
    name = CLIENT_NAME.encode()
    i = der.index(name)  # the subject's common name: the first occurrence
    bad = der[: i - 2] + b"\x01" + der[i - 1 :]  # its UTF8String tag becomes BOOLEAN
    forged = Certificate(certificate_list=(CertificateEntry(bad),)).encode()
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(forged), A.bad_certificate)
