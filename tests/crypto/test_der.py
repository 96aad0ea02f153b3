"""Reading a certificate's SubjectPublicKeyInfo and its algorithm OID from DER."""

from __future__ import annotations

import pytest
from crypto.test_signatures import _key, _self_signed
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from nautilus_tls.crypto.der import spki_algorithm_oid, spki_from_tbs


def _certificate(kind: str, *, pss: bool = False) -> x509.Certificate:
    return x509.load_der_x509_certificate(_self_signed(_key(kind), pss_spki=pss))


def test_extracts_the_spki_byte_for_byte() -> None:
    for kind in ("ed25519", "mldsa65", "rsa", "p384"):
        cert = _certificate(kind)
        spki = spki_from_tbs(cert.tbs_certificate_bytes)
        expected = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert spki == expected
        assert spki_algorithm_oid(spki) == cert.public_key_algorithm_oid.dotted_string


def test_keeps_the_rsassa_pss_algorithm_that_reencoding_loses() -> None:
    cert = _certificate("rsa", pss=True)
    spki = spki_from_tbs(cert.tbs_certificate_bytes)
    assert spki_algorithm_oid(spki) == "1.2.840.113549.1.1.10"  # id-RSASSA-PSS (RFC 4055)
    reencoded = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki_algorithm_oid(reencoded) == "1.2.840.113549.1.1.1"  # rsaEncryption


def test_rejects_every_truncation_of_an_spki() -> None:
    cert = _certificate("ed25519")
    spki = spki_from_tbs(cert.tbs_certificate_bytes)
    for cut in range(len(spki)):
        with pytest.raises(ValueError):
            spki_algorithm_oid(spki[:cut])
    tbs = cert.tbs_certificate_bytes
    for cut in range(0, len(tbs), 7):
        with pytest.raises(ValueError):
            spki_from_tbs(tbs[:cut])


@pytest.mark.parametrize(
    "spki",
    [
        b"",
        b"\x04\x00",  # not a SEQUENCE
        b"\x30\x00",  # no AlgorithmIdentifier
        b"\x30\x85\x00\x00\x00\x00\x01\x00",  # a 5-byte length: beyond any certificate
        b"\x30\x80\x00\x00",  # indefinite length is BER, not DER
        b"\x30\x05\x30\x03\x02\x01\x00\x03\x01\x00"[:7],  # truncated
        b"\x30\x07\x30\x02\x05\x00\x03\x01\x00",  # AlgorithmIdentifier without an OID
        b"\x30\x08\x30\x03\x06\x01\x80\x03\x01\x00",  # OID ending mid-arc
        b"\x30\x09\x30\x04\x06\x02\x80\x01\x03\x01\x00",  # OID arc with a leading 0x80
        b"\x30\x07\x30\x02\x06\x00\x03\x01\x00",  # empty OID
        b"\x30\x03\x30\x01\x06\x00",  # inner length past its parent
        b"\x30\x08\x30\x03\x06\x01\x2b\x03\x01\x00\x00",  # trailing byte after the SEQUENCE
    ],
)
def test_rejects_malformed_spki(spki: bytes) -> None:
    with pytest.raises(ValueError):
        spki_algorithm_oid(spki)


def test_rejects_tbs_without_an_spki() -> None:
    with pytest.raises(ValueError):
        spki_from_tbs(b"\x30\x03\x02\x01\x01")  # a lone serial number
