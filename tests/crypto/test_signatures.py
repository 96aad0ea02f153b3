"""CertificateVerify signatures (RFC 8446 §4.2.3, §4.4.3; draft-ietf-tls-mldsa)."""

from __future__ import annotations

import datetime
import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import (
    ec,
    ed448,
    ed25519,
    mldsa,
    padding,
    rsa,
    x25519,
)
from cryptography.x509.oid import NameOID

from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.crypto.signatures import (
    CERTIFICATE_CHAIN_SCHEMES,
    CERTIFICATE_VERIFY_SCHEMES,
    certificate_spki,
    certificate_verify_content,
    load_private_key_pem,
)
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    ConfigError,
    LocalProtocolError,
    PeerMisbehaved,
)
from nautilus_tls.proofs import SignatureVerified
from nautilus_tls.wire.enums import SignatureScheme as S

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

schemes_for_key = DEFAULT_PROVIDER.schemes_for_key
sign = DEFAULT_PROVIDER.sign
verify = DEFAULT_PROVIDER.verify

SECTION2 = "rfc8448/section2_server_rsa_private_key.json"
SECTION3 = "rfc8448/section3_simple_1rtt_handshake.json"
SECTION6 = "rfc8448/section6_client_authentication.json"


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def _self_signed(key: Any, *, pss_spki: bool = False) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key(), rsa_padding=padding.PSS if pss_spki else None)
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    digest = (
        None
        if isinstance(
            key,
            ed25519.Ed25519PrivateKey
            | ed448.Ed448PrivateKey
            | mldsa.MLDSA44PrivateKey
            | mldsa.MLDSA65PrivateKey
            | mldsa.MLDSA87PrivateKey,
        )
        else hashes.SHA256()
    )
    return builder.sign(key, digest).public_bytes(serialization.Encoding.DER)


_KEYS: dict[str, Any] = {}


def _key(kind: str) -> Any:
    if kind not in _KEYS:
        _KEYS[kind] = {
            "rsa": lambda: rsa.generate_private_key(65537, 2048),
            "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
            "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
            "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
            "ed25519": ed25519.Ed25519PrivateKey.generate,
            "ed448": ed448.Ed448PrivateKey.generate,
            "mldsa44": mldsa.MLDSA44PrivateKey.generate,
            "mldsa65": mldsa.MLDSA65PrivateKey.generate,
            "mldsa87": mldsa.MLDSA87PrivateKey.generate,
        }[kind]()
    return _KEYS[kind]


KEY_SCHEMES = [
    ("rsa", (S.rsa_pss_rsae_sha256, S.rsa_pss_rsae_sha384, S.rsa_pss_rsae_sha512)),
    ("p256", (S.ecdsa_secp256r1_sha256,)),
    ("p384", (S.ecdsa_secp384r1_sha384,)),
    ("p521", (S.ecdsa_secp521r1_sha512,)),
    ("ed25519", (S.ed25519,)),
    ("ed448", (S.ed448,)),
    ("mldsa44", (S.mldsa44,)),
    ("mldsa65", (S.mldsa65,)),
    ("mldsa87", (S.mldsa87,)),
]


def test_certificate_verify_content_layout() -> None:
    th = bytes(range(32))
    server = certificate_verify_content(True, th)
    assert server == b"\x20" * 64 + b"TLS 1.3, server CertificateVerify\x00" + th
    client = certificate_verify_content(False, th)
    assert client == b"\x20" * 64 + b"TLS 1.3, client CertificateVerify\x00" + th


def test_scheme_lists() -> None:
    for forbidden in (S.rsa_pkcs1_sha256, S.rsa_pkcs1_sha1, S.ecdsa_sha1):
        assert forbidden not in CERTIFICATE_VERIFY_SCHEMES
    assert S.rsa_pkcs1_sha256 in CERTIFICATE_CHAIN_SCHEMES
    assert S.rsa_pkcs1_sha1 not in CERTIFICATE_CHAIN_SCHEMES
    assert set(CERTIFICATE_VERIFY_SCHEMES) < set(CERTIFICATE_CHAIN_SCHEMES)


@pytest.mark.parametrize(("kind", "schemes"), KEY_SCHEMES)
def test_round_trips_every_scheme(kind: str, schemes: tuple[S, ...]) -> None:
    key = _key(kind)
    cert = _self_signed(key)
    assert schemes_for_key(key) == schemes
    assert schemes_for_key(key, certificate=cert) == schemes
    content = certificate_verify_content(True, hashlib.sha256(b"transcript").digest())
    for scheme in schemes:
        signature = sign(key, scheme, content)
        verify(cert, scheme, signature, content)
        with pytest.raises(PeerMisbehaved) as exc:
            verify(cert, scheme, signature, content[:-1] + b"\x00")
        assert exc.value.alert is AlertDescription.decrypt_error


@pytest.mark.parametrize(("kind", "schemes"), KEY_SCHEMES)
def test_rejects_scheme_that_does_not_fit_key(kind: str, schemes: tuple[S, ...]) -> None:
    key = _key(kind)
    cert = _self_signed(key)
    content = certificate_verify_content(False, bytes(32))
    others = [s for s in CERTIFICATE_VERIFY_SCHEMES if s not in schemes]
    for other in others:
        with pytest.raises(PeerMisbehaved) as exc:
            verify(cert, other, b"\x00" * 64, content)
        assert exc.value.alert is AlertDescription.illegal_parameter
        # An RSASSA-PSS private key loads as a plain RSA key: only the certificate tells
        # rsa_pss_pss_* from rsa_pss_rsae_*, so sign() cannot refuse those.
        if not (kind == "rsa" and other.name.startswith("rsa_pss_pss")):
            with pytest.raises(LocalProtocolError):
                sign(key, other, content)


def test_ecdsa_hash_is_fixed_by_the_scheme() -> None:
    """A P-384 key cannot be used with ecdsa_secp256r1_sha256 even with a valid signature."""
    key = _key("p384")
    cert = _self_signed(key)
    content = b"content"
    signature = key.sign(content, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(PeerMisbehaved) as exc:
        verify(cert, S.ecdsa_secp256r1_sha256, signature, content)
    assert exc.value.alert is AlertDescription.illegal_parameter


def test_rejects_pkcs1_in_certificate_verify() -> None:
    key = _key("rsa")
    cert = _self_signed(key)
    signature = key.sign(b"m", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(PeerMisbehaved) as exc:
        verify(cert, S.rsa_pkcs1_sha256, signature, b"m")
    assert exc.value.alert is AlertDescription.illegal_parameter
    with pytest.raises(LocalProtocolError):
        sign(key, S.rsa_pkcs1_sha256, b"m")
    with pytest.raises(PeerMisbehaved):
        verify(cert, 0x0A0A, signature, b"m")


def test_rsa_pss_salt_length_is_hash_length() -> None:
    key = _key("rsa")
    cert = _self_signed(key)
    signature = sign(key, S.rsa_pss_rsae_sha256, b"m")
    key.public_key().verify(
        signature, b"m", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()
    )
    other_salt = key.sign(b"m", padding.PSS(padding.MGF1(hashes.SHA256()), 20), hashes.SHA256())
    with pytest.raises(PeerMisbehaved):
        verify(cert, S.rsa_pss_rsae_sha256, other_salt, b"m")


def test_rsa_pss_pss_needs_rsassa_pss_certificate() -> None:
    key = _key("rsa")
    pss_cert = _self_signed(key, pss_spki=True)
    rsae_cert = _self_signed(key)
    assert schemes_for_key(key, certificate=pss_cert) == (
        S.rsa_pss_pss_sha256,
        S.rsa_pss_pss_sha384,
        S.rsa_pss_pss_sha512,
    )
    signature = sign(key, S.rsa_pss_pss_sha256, b"m")
    verify(pss_cert, S.rsa_pss_pss_sha256, signature, b"m")
    with pytest.raises(PeerMisbehaved) as exc:
        verify(rsae_cert, S.rsa_pss_pss_sha256, signature, b"m")
    assert exc.value.alert is AlertDescription.illegal_parameter
    with pytest.raises(PeerMisbehaved):
        verify(pss_cert, S.rsa_pss_rsae_sha256, signature, b"m")


def test_mldsa_is_pure_with_empty_context() -> None:
    key = _key("mldsa65")
    cert = _self_signed(key)
    content = certificate_verify_content(True, bytes(48))
    signature = sign(key, S.mldsa65, content)
    assert len(signature) == 3309
    key.public_key().verify(signature, content)  # empty FIPS 204 context
    with_context = key.sign(content, b"TLS 1.3, server CertificateVerify")
    with pytest.raises(PeerMisbehaved) as exc:
        verify(cert, S.mldsa65, with_context, content)
    assert exc.value.alert is AlertDescription.decrypt_error


def test_rejects_malformed_certificate() -> None:
    with pytest.raises(BadCertificate) as exc:
        verify(b"\x30\x03\x02\x01\x01", S.ed25519, b"", b"m")
    assert exc.value.alert is AlertDescription.bad_certificate


def _certificate_entry(message_hex: str) -> bytes:
    """The first certificate of a TLS 1.3 Certificate handshake message."""
    msg = h(message_hex)
    body = msg[4:]
    ctx_len = body[0]
    offset = 1 + ctx_len + 3
    cert_len = int.from_bytes(body[offset : offset + 3], "big")
    return body[offset + 3 : offset + 3 + cert_len]


def _cv(message_hex: str) -> tuple[int, bytes]:
    msg = h(message_hex)
    scheme = int.from_bytes(msg[4:6], "big")
    length = int.from_bytes(msg[6:8], "big")
    return scheme, msg[8 : 8 + length]


def test_verifies_rfc8448_server_certificate_verify() -> None:
    """RFC 8448 §3: rsa_pss_rsae_sha256 over ClientHello..Certificate."""
    s = load_vector(SECTION3)["summary"]
    cert = _certificate_entry(s["server_Certificate"])
    assert cert.hex() == load_vector(SECTION2)["server_certificate_der"]
    th = hashlib.sha256(
        h(s["ClientHello"] + s["ServerHello"] + s["EncryptedExtensions"] + s["server_Certificate"])
    ).digest()
    scheme, signature = _cv(s["server_CertificateVerify"])
    assert scheme == S.rsa_pss_rsae_sha256
    verify(cert, scheme, signature, certificate_verify_content(True, th))
    with pytest.raises(PeerMisbehaved) as exc:
        verify(cert, scheme, signature, certificate_verify_content(False, th))
    assert exc.value.alert is AlertDescription.decrypt_error


def test_verifies_rfc8448_client_authentication() -> None:
    """RFC 8448 §6: server ECDSA P-256, client RSA-PSS."""
    s = load_vector(SECTION6)["summary"]
    prefix = s["ClientHello"] + s["ServerHello"] + s["EncryptedExtensions"]
    prefix += s["CertificateRequest"] + s["server_Certificate"]
    scheme, signature = _cv(s["server_CertificateVerify"])
    assert scheme == S.ecdsa_secp256r1_sha256
    th = hashlib.sha256(h(prefix)).digest()
    verify(
        _certificate_entry(s["server_Certificate"]),
        scheme,
        signature,
        certificate_verify_content(True, th),
    )
    prefix += s["server_CertificateVerify"] + s["server_Finished"] + s["client_Certificate"]
    scheme, signature = _cv(s["client_CertificateVerify"])
    assert scheme == S.rsa_pss_rsae_sha256
    th = hashlib.sha256(h(prefix)).digest()
    verify(
        _certificate_entry(s["client_Certificate"]),
        scheme,
        signature,
        certificate_verify_content(False, th),
    )


def _rfc8448_rsa_key() -> rsa.RSAPrivateKey:
    raw = load_vector(SECTION2)["rsa_private_key"]

    def n(name: str) -> int:
        return int(raw[name], 16)

    public = rsa.RSAPublicNumbers(n("public exponent"), n("modulus (public)"))
    return rsa.RSAPrivateNumbers(
        p=n("prime1"),
        q=n("prime2"),
        d=n("private exponent"),
        dmp1=n("exponent1"),
        dmq1=n("exponent2"),
        iqmp=n("coefficient"),
        public_numbers=public,
    ).private_key()


def test_signs_with_rfc8448_server_key() -> None:
    cert = h(load_vector(SECTION2)["server_certificate_der"])
    key = _rfc8448_rsa_key()
    assert schemes_for_key(key, certificate=cert)[0] == S.rsa_pss_rsae_sha256
    content = certificate_verify_content(True, bytes(32))
    verify(cert, S.rsa_pss_rsae_sha256, sign(key, S.rsa_pss_rsae_sha256, content), content)


def test_load_private_key_pem() -> None:
    key = _key("mldsa65")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    loaded = load_private_key_pem(pem, b"pw")
    assert isinstance(loaded, mldsa.MLDSA65PrivateKey)
    with pytest.raises(ConfigError) as exc:
        load_private_key_pem(pem, b"wrong")
    assert "pw" not in str(exc.value)
    with pytest.raises(ConfigError):
        load_private_key_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    x = x25519.X25519PrivateKey.generate()
    x_pem = x.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ConfigError):
        load_private_key_pem(x_pem)


# --- verification against a SubjectPublicKeyInfo (issue 12 item 2) ------------------------------

verify_spki = DEFAULT_PROVIDER.verify_spki


@pytest.mark.parametrize(("kind", "schemes"), KEY_SCHEMES)
def test_round_trips_every_scheme_against_an_spki(kind: str, schemes: tuple[S, ...]) -> None:
    key = _key(kind)
    spki = certificate_spki(_self_signed(key))
    content = certificate_verify_content(False, hashlib.sha384(b"transcript").digest())
    for scheme in schemes:
        signature = sign(key, scheme, content)
        proof = verify_spki(spki, scheme, signature, content)
        assert isinstance(proof, SignatureVerified) and proof.scheme == scheme
        with pytest.raises(PeerMisbehaved) as exc:
            verify_spki(spki, scheme, signature, content + b"!")
        assert exc.value.alert is AlertDescription.decrypt_error


@pytest.mark.parametrize(("kind", "schemes"), KEY_SCHEMES)
def test_rejects_spki_that_does_not_fit_the_scheme(kind: str, schemes: tuple[S, ...]) -> None:
    spki = certificate_spki(_self_signed(_key(kind)))
    for other in (s for s in CERTIFICATE_VERIFY_SCHEMES if s not in schemes):
        with pytest.raises(PeerMisbehaved) as exc:
            verify_spki(spki, other, b"\x00" * 64, b"m")
        assert exc.value.alert is AlertDescription.illegal_parameter


def test_rsa_pss_pss_needs_an_rsassa_pss_spki() -> None:
    key = _key("rsa")
    pss_spki = certificate_spki(_self_signed(key, pss_spki=True))
    rsae_spki = certificate_spki(_self_signed(key))
    signature = sign(key, S.rsa_pss_pss_sha256, b"m")
    assert verify_spki(pss_spki, S.rsa_pss_pss_sha256, signature, b"m").scheme == (
        S.rsa_pss_pss_sha256
    )
    with pytest.raises(PeerMisbehaved) as exc:
        verify_spki(rsae_spki, S.rsa_pss_pss_sha256, signature, b"m")
    assert exc.value.alert is AlertDescription.illegal_parameter
    with pytest.raises(PeerMisbehaved):
        verify_spki(pss_spki, S.rsa_pss_rsae_sha256, signature, b"m")


@pytest.mark.parametrize(
    "spki", [b"", b"\x30\x03\x02\x01\x01", b"\x30\x0a\x30\x05\x06\x03\x2b\x65\x70\x03\x01\x00"]
)
def test_rejects_malformed_spki_with_bad_certificate(spki: bytes) -> None:
    with pytest.raises(BadCertificate) as exc:
        verify_spki(spki, S.ed25519, b"\x00" * 64, b"m")
    assert exc.value.alert is AlertDescription.bad_certificate


def test_rejects_pkcs1_and_unknown_schemes_against_an_spki() -> None:
    spki = certificate_spki(_self_signed(_key("rsa")))
    for scheme in (S.rsa_pkcs1_sha256, 0x0201, 0xFEFF):
        with pytest.raises(PeerMisbehaved) as exc:
            verify_spki(spki, scheme, b"\x00" * 256, b"m")
        assert exc.value.alert is AlertDescription.illegal_parameter


def test_certificate_verify_through_a_certificate_returns_the_proof() -> None:
    key = _key("ed25519")
    signature = sign(key, S.ed25519, b"m")
    assert verify(_self_signed(key), S.ed25519, signature, b"m") == verify_spki(
        certificate_spki(_self_signed(key)), S.ed25519, signature, b"m"
    )
