"""What the log records: X.509 chains, raw public keys (SPKI DER) and DIDs, and their bytes.

The leaf input (the ``d`` of RFC 9162 §2.1.1, hashed with :func:`~.merkle.leaf_hash`) is, in
TLS presentation language (RFC 8446 §3)::

    enum { x509_chain(1), raw_public_key(2), did(3), (255) } LedgerEntryType;
    opaque ASN.1Cert<1..2^24-1>;
    struct {
        uint8 version = 1;
        LedgerEntryType entry_type;
        select (entry_type) {
            case x509_chain:     ASN.1Cert chain<1..2^24-1>;   /* leaf first, DER */
            case raw_public_key: opaque spki<1..2^24-1>;       /* SubjectPublicKeyInfo DER */
            case did:            opaque did<1..2^11>;           /* UTF-8, W3C DID Core syntax */
        } body;
    } LedgerEntry;

There is no timestamp in the leaf, so the same key or chain always has the same leaf hash:
the log finds an entry by that hash, and adding it twice returns the first index.
Every decoded entry is checked (certificates and keys must parse, sizes are capped) before it
can be logged or reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from nautilus_tls.ledger.errors import EntryError
from nautilus_tls.ledger.merkle import leaf_hash

__all__ = ["ENTRY_VERSION", "MAX_CHAIN_LENGTH", "MAX_ENTRY_SIZE", "Entry", "EntryType"]

ENTRY_VERSION = 1
MAX_ENTRY_SIZE = 128 * 1024
"""Bytes of one encoded entry: ten ML-DSA-87 certificates (about 7.5 KB each) fit."""
MAX_CHAIN_LENGTH = 10
MAX_DID_LENGTH = 2048
_DID = re.compile(
    r"did:[a-z0-9]+:(?:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+"
)


class EntryType(IntEnum):
    X509_CHAIN = 1
    RAW_PUBLIC_KEY = 2
    DID = 3


def _u24(n: int) -> bytes:
    return n.to_bytes(3, "big")


def _take_u24_vector(data: bytes, offset: int, what: str) -> tuple[bytes, int]:
    if offset + 3 > len(data):
        raise EntryError(f"{what}: length runs past the end of the entry")
    length = int.from_bytes(data[offset : offset + 3], "big")
    start, end = offset + 3, offset + 3 + length
    if length == 0 or end > len(data):
        raise EntryError(f"{what}: empty or longer than the entry")
    return data[start:end], end


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry; build it with :meth:`x509_chain`, :meth:`raw_public_key`, :meth:`did`
    or :meth:`decode`, each of which validates it."""

    type: EntryType
    chain: tuple[bytes, ...] = ()
    spki: bytes = b""
    did_text: str = ""

    @classmethod
    def x509_chain(cls, ders: Sequence[bytes]) -> Entry:
        if not 1 <= len(ders) <= MAX_CHAIN_LENGTH:
            raise EntryError(f"a chain has 1 to {MAX_CHAIN_LENGTH} certificates")
        for der in ders:
            try:
                x509.load_der_x509_certificate(der)
            except ValueError as exc:
                raise EntryError("a certificate in the chain is not valid DER") from exc
        return cls._checked(cls(EntryType.X509_CHAIN, chain=tuple(bytes(d) for d in ders)))

    @classmethod
    def raw_public_key(cls, spki: bytes) -> Entry:
        try:
            key = load_der_public_key(spki)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise EntryError(
                "the raw public key is not a SubjectPublicKeyInfo we can read"
            ) from exc
        # Store the canonical encoding so one key has one leaf hash.
        canonical = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return cls._checked(cls(EntryType.RAW_PUBLIC_KEY, spki=canonical))

    @classmethod
    def did(cls, text: str) -> Entry:
        if len(text) > MAX_DID_LENGTH or not _DID.fullmatch(text):
            raise EntryError("not a DID (did:<method>:<method-specific-id>, W3C DID Core §3.1)")
        return cls._checked(cls(EntryType.DID, did_text=text))

    @classmethod
    def _checked(cls, entry: Entry) -> Entry:
        if len(entry.encode()) > MAX_ENTRY_SIZE:
            raise EntryError(f"entry is larger than {MAX_ENTRY_SIZE} bytes")
        return entry

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        """Parse and validate a leaf input; trailing or missing bytes are errors."""
        if len(data) > MAX_ENTRY_SIZE:
            raise EntryError(f"entry is larger than {MAX_ENTRY_SIZE} bytes")
        if len(data) < 2 or data[0] != ENTRY_VERSION:
            raise EntryError("unknown entry version")
        try:
            kind = EntryType(data[1])
        except ValueError:
            raise EntryError(f"unknown entry type {data[1]}") from None
        body, end = _take_u24_vector(data, 2, "entry body")
        if end != len(data):
            raise EntryError("trailing bytes after the entry")
        if kind is EntryType.RAW_PUBLIC_KEY:
            entry = cls.raw_public_key(body)
            if entry.spki != body:
                raise EntryError("the raw public key is not in canonical DER")
            return entry
        if kind is EntryType.DID:
            try:
                return cls.did(body.decode("utf-8"))
            except UnicodeDecodeError:
                raise EntryError("a DID is UTF-8") from None
        ders: list[bytes] = []
        offset = 0
        while offset < len(body):
            if len(ders) == MAX_CHAIN_LENGTH:
                raise EntryError(f"a chain has at most {MAX_CHAIN_LENGTH} certificates")
            der, offset = _take_u24_vector(body, offset, "certificate")
            ders.append(der)
        return cls.x509_chain(ders)

    def encode(self) -> bytes:
        if self.type is EntryType.X509_CHAIN:
            body = b"".join(_u24(len(d)) + d for d in self.chain)
        elif self.type is EntryType.RAW_PUBLIC_KEY:
            body = self.spki
        else:
            body = self.did_text.encode("utf-8")
        return bytes([ENTRY_VERSION, self.type]) + _u24(len(body)) + body

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.encode())

    def subject_key(self) -> bytes:
        """The SPKI DER of the key this entry vouches for (the leaf certificate's or the raw
        key); empty for a DID, whose keys live in its DID document."""
        if self.type is EntryType.RAW_PUBLIC_KEY:
            return self.spki
        if self.type is EntryType.X509_CHAIN:
            leaf = x509.load_der_x509_certificate(self.chain[0])
            return leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return b""

    def names(self) -> tuple[str, ...]:
        """Names a monitor watches: the leaf certificate's DNS names, IP addresses and common
        names (lower-cased), or the DID."""
        if self.type is EntryType.DID:
            return (self.did_text,)
        if self.type is EntryType.RAW_PUBLIC_KEY:
            return ()
        leaf = x509.load_der_x509_certificate(self.chain[0])
        found: list[str] = [
            str(a.value) for a in leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        ]
        try:
            san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (x509.ExtensionNotFound, ValueError):
            san = None
        if san is not None:
            found += san.get_values_for_type(x509.DNSName)
            found += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        return tuple(dict.fromkeys(n.lower() for n in found))

    def describe(self) -> str:
        """A short label for reports (no key material beyond what the log publishes)."""
        if self.type is EntryType.DID:
            return self.did_text
        if self.type is EntryType.RAW_PUBLIC_KEY:
            return f"raw public key ({len(self.spki)} bytes)"
        return "x509 chain: " + ", ".join(self.names())
