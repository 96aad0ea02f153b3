"""The DER writers round-trip through the DER reader and match known encodings."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from nautilus_tls.crypto import der, derwrite


@pytest.mark.parametrize("dotted", ["1.3.6.1.5.5.7.6.45", "2.16.840.1.101.3.4.3.18", "2.999.1"])
def test_oids_round_trip(dotted: str) -> None:
    assert der.oid_of(derwrite.oid(dotted)) == dotted


def test_an_spki_written_here_is_byte_for_byte_the_one_pyca_writes() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    pyca = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ours = derwrite.sequence(
        derwrite.algorithm_identifier("1.3.101.112"), derwrite.bit_string(public.public_bytes_raw())
    )
    assert ours == pyca
    assert der.spki_parts(ours) == ("1.3.101.112", public.public_bytes_raw())


@pytest.mark.parametrize("size", [0, 127, 128, 255, 256, 70000])
def test_long_lengths_use_the_minimal_long_form(size: int) -> None:
    element = derwrite.octet_string(b"\x01" * size)
    assert der.content_of(element, 0x04) == b"\x01" * size
    if size >= 128:
        assert element[1] == 0x80 | ((size.bit_length() + 7) // 8)


def test_integers_are_minimal_and_non_negative() -> None:
    assert derwrite.integer(0) == b"\x02\x01\x00"
    assert derwrite.integer(128) == b"\x02\x02\x00\x80"
    with pytest.raises(ValueError):
        derwrite.integer(-1)
    with pytest.raises(ValueError):
        derwrite.oid("3.1")
