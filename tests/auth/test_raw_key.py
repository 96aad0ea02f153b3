"""RFC 7250 raw public keys as a Credential and an SPKI-pin PeerVerifier
(src/nautilus_tls/auth/raw_key.py), unit level; the handshakes are in
tests/handshake/test_raw_public_keys.py."""

from __future__ import annotations

import pytest
from certificates import pki
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa

from nautilus_tls.auth.api import CertificateType, Credential, PeerVerifier
from nautilus_tls.auth.raw_key import RawPublicKey, SpkiPinVerifier, peer_spki, spki_pin
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.crypto.x509 import spki_of
from nautilus_tls.errors import AlertDescription, BadCertificate, ConfigError
from nautilus_tls.wire.messages import CertificateEntry


def _static_checks() -> None:
    """mypy: the raw-key plug-ins satisfy the library's protocols."""
    _c: Credential = RawPublicKey(ed25519.Ed25519PrivateKey.generate())
    _v: PeerVerifier = SpkiPinVerifier(("00" * 32,))


@pytest.mark.parametrize(
    "make",
    [
        ed25519.Ed25519PrivateKey.generate,
        lambda: ec.generate_private_key(ec.SECP256R1()),
        mldsa.MLDSA65PrivateKey.generate,
    ],
)
def test_presents_one_entry_holding_the_spki_and_signs_verifiably(make: object) -> None:
    key = make()  # type: ignore[operator]
    credential = RawPublicKey(key)
    (entry,) = credential.certificate_entries()
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert credential.certificate_type == CertificateType.RawPublicKey and entry.cert_data == spki
    scheme = credential.signature_schemes(DEFAULT_PROVIDER)[0]
    signature = credential.sign(DEFAULT_PROVIDER, scheme, b"content")
    assert DEFAULT_PROVIDER.verify_spki(spki, scheme, signature, b"content").scheme == scheme


def test_loads_from_pem_and_refuses_garbage() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert RawPublicKey.from_pem(pem).spki == RawPublicKey(key).spki
    with pytest.raises(ConfigError):
        RawPublicKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_peer_spki_reads_raw_keys_and_certificates() -> None:
    raw = RawPublicKey(ed25519.Ed25519PrivateKey.generate()).spki
    cert = pki().server.chain[0]
    assert peer_spki(raw) == raw
    assert peer_spki(cert) == spki_of(cert)
    with pytest.raises(BadCertificate):
        peer_spki(b"\x30\x03\x02\x01\x00")


def test_pin_verifier_accepts_the_pinned_key_in_either_form() -> None:
    raw = RawPublicKey(ed25519.Ed25519PrivateKey.generate()).spki
    cert = pki().server.chain[0]
    verifier = SpkiPinVerifier((spki_pin(raw), spki_pin(spki_of(cert)).upper()))
    assert verifier.verify_identity([CertificateEntry(cert_data=raw)], None, 0).spki == raw
    assert verifier.verify_resumed((cert,), "localhost", 0).spki == spki_of(cert)


def test_pin_verifier_refuses_another_key_naming_both_pins() -> None:
    raw = RawPublicKey(ed25519.Ed25519PrivateKey.generate()).spki
    pin = "ab" * 32
    with pytest.raises(BadCertificate) as err:
        SpkiPinVerifier((pin,)).verify_identity([CertificateEntry(cert_data=raw)], None, 0)
    assert err.value.alert == AlertDescription.bad_certificate
    assert pin in str(err.value) and spki_pin(raw) in str(err.value)


@pytest.mark.parametrize("pins", [(), ("abc",), ("zz" * 32,)])
def test_pin_verifier_rejects_malformed_pins(pins: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        SpkiPinVerifier(pins)
