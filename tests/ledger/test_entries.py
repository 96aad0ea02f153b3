"""Log entries: round trips for each type, and malformed, oversized or hostile bytes refused."""

from __future__ import annotations

import pytest
from ledger.helpers import raw_key_spki, self_signed_der

from nautilus_tls.ledger.entries import MAX_CHAIN_LENGTH, MAX_ENTRY_SIZE, Entry, EntryType
from nautilus_tls.ledger.errors import EntryError


def test_round_trips_an_x509_chain_and_reports_its_names_and_key() -> None:
    leaf, ca = self_signed_der("www.example.org"), self_signed_der("ca.example.org")
    entry = Entry.x509_chain([leaf, ca])
    back = Entry.decode(entry.encode())
    assert back == entry and back.type is EntryType.X509_CHAIN
    assert back.names() == ("www.example.org",)
    assert len(back.subject_key()) > 0 and back.leaf_hash() == entry.leaf_hash()


def test_round_trips_a_raw_public_key() -> None:
    spki = raw_key_spki()
    entry = Entry.raw_public_key(spki)
    assert Entry.decode(entry.encode()) == entry
    assert entry.subject_key() == spki and entry.names() == ()


def test_round_trips_a_did() -> None:
    entry = Entry.did("did:web:example.com:user:alice")
    assert Entry.decode(entry.encode()).did_text == "did:web:example.com:user:alice"
    assert entry.names() == ("did:web:example.com:user:alice",)


@pytest.mark.parametrize(
    "text",
    ["", "did:", "did:web", "did:Web:x", "did:web:", "did:web:a b", "x" * 5000, "did:web:%zz"],
)
def test_rejects_text_that_is_not_a_did(text: str) -> None:
    with pytest.raises(EntryError):
        Entry.did(text)


def test_rejects_a_certificate_that_is_not_der() -> None:
    with pytest.raises(EntryError, match="DER"):
        Entry.x509_chain([b"\x30\x03junk"])


def test_rejects_empty_and_overlong_chains() -> None:
    with pytest.raises(EntryError):
        Entry.x509_chain([])
    der = self_signed_der("a.example")
    with pytest.raises(EntryError):
        Entry.x509_chain([der] * (MAX_CHAIN_LENGTH + 1))


def test_rejects_a_raw_key_that_is_not_spki() -> None:
    with pytest.raises(EntryError):
        Entry.raw_public_key(b"\x04" * 65)


def _body(kind: int, body: bytes) -> bytes:
    return bytes([1, kind]) + len(body).to_bytes(3, "big") + body


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "version"),
        (b"\x02\x03\x00\x00\x01x", "version"),
        (b"\x01\x09\x00\x00\x01x", "type"),
        (b"\x01\x03\x00\x00", "length"),
        (b"\x01\x03\x00\x00\x00", "empty"),
        (b"\x01\x03\x00\x00\x09did:a:b", "longer"),
        (_body(3, b"did:a:b") + b"\x00", "trailing"),
        (_body(3, b"did:a:\xff"), "UTF-8"),
        (_body(1, b"\x00\x00\x05abc"), "certificate"),
        (b"\x01\x03" + b"\xff" * 3 + b"x" * (MAX_ENTRY_SIZE + 1), "larger"),
    ],
)
def test_rejects_malformed_entry_bytes(data: bytes, why: str) -> None:
    with pytest.raises(EntryError, match=why):
        Entry.decode(data)


def test_rejects_a_raw_key_in_non_canonical_encoding() -> None:
    spki = raw_key_spki()
    # Long-form length for the outer SEQUENCE: same key, different bytes, so a different leaf.
    stretched = b"\x30\x81" + spki[1:]
    with pytest.raises(EntryError):
        Entry.decode(_body(2, stretched))


def test_rejects_a_chain_with_more_certificates_than_allowed_on_decode() -> None:
    der = self_signed_der("b.example")
    body = b"".join(len(der).to_bytes(3, "big") + der for _ in range(MAX_CHAIN_LENGTH + 1))
    with pytest.raises(EntryError, match="at most"):
        Entry.decode(_body(1, body))
