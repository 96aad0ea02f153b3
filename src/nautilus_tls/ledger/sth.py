"""Signed tree heads: the log's signature over its size and root, and the log key.

Signed bytes (RFC 9162 §4.10 ``TreeHeadDataV2``, no extensions)::

    uint64 timestamp;          /* milliseconds since the Unix epoch */
    uint64 tree_size;
    opaque root_hash<32..2^8-1>;   /* 1-byte length 0x20, then the 32-byte root */
    opaque sth_extensions<0..2^16-1>;  /* always empty here: 0x0000 */

A whole signed tree head on the wire (our encoding; RFC 9162's ``LogID`` is an OID, ours is
the RFC 6962 §3.2 style SHA-256 of the log's SubjectPublicKeyInfo DER)::

    opaque log_id[32];
    TreeHeadDataV2 tree_head;
    opaque signature<1..2^16-1>;

The log key is Ed25519 or ML-DSA-65 (pyca/cryptography); the signature is the algorithm's
plain signature over the TreeHeadDataV2 bytes (ML-DSA with an empty context).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from nautilus_tls.ledger.errors import LedgerError, SignatureError
from nautilus_tls.ledger.merkle import HASH_SIZE

__all__ = [
    "LOG_KEY_ALGORITHMS",
    "LogKey",
    "LogPublicKey",
    "SignedTreeHead",
    "TreeHead",
    "verify_tree_head",
]

LogPrivateKey = ed25519.Ed25519PrivateKey | mldsa.MLDSA65PrivateKey
LogPublicKeyType = ed25519.Ed25519PublicKey | mldsa.MLDSA65PublicKey
LOG_KEY_ALGORITHMS = ("ed25519", "mldsa65")
MAX_SIGNATURE = 0xFFFF


@dataclass(frozen=True, slots=True)
class TreeHead:
    tree_size: int
    timestamp_ms: int
    root_hash: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.tree_size < 1 << 64 or not 0 <= self.timestamp_ms < 1 << 64:
            raise LedgerError("tree size and timestamp are unsigned 64-bit numbers")
        if len(self.root_hash) != HASH_SIZE:
            raise LedgerError("a root hash is 32 bytes")

    def encode(self) -> bytes:
        """The TreeHeadDataV2 bytes that are signed."""
        return (
            self.timestamp_ms.to_bytes(8, "big")
            + self.tree_size.to_bytes(8, "big")
            + bytes([HASH_SIZE])
            + self.root_hash
            + b"\x00\x00"
        )


_TREE_HEAD_LEN = 8 + 8 + 1 + HASH_SIZE + 2


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    log_id: bytes
    tree_head: TreeHead
    signature: bytes

    @property
    def tree_size(self) -> int:
        return self.tree_head.tree_size

    @property
    def root_hash(self) -> bytes:
        return self.tree_head.root_hash

    def encode(self) -> bytes:
        return (
            self.log_id
            + self.tree_head.encode()
            + len(self.signature).to_bytes(2, "big")
            + self.signature
        )

    @classmethod
    def decode(cls, data: bytes) -> SignedTreeHead:
        """Parse the wire form; any other length, a non-32-byte root or extensions are errors."""
        head_end = HASH_SIZE + _TREE_HEAD_LEN
        if len(data) < head_end + 2:
            raise LedgerError("signed tree head is truncated")
        head = data[HASH_SIZE:head_end]
        if head[16] != HASH_SIZE or head[-2:] != b"\x00\x00":
            # We never emit other hash sizes or extensions, so we never accept them either.
            raise LedgerError("signed tree head has an unsupported root size or extensions")
        sig_len = int.from_bytes(data[head_end : head_end + 2], "big")
        if sig_len == 0 or head_end + 2 + sig_len != len(data):
            raise LedgerError("signed tree head signature length does not match")
        tree_head = TreeHead(
            tree_size=int.from_bytes(head[8:16], "big"),
            timestamp_ms=int.from_bytes(head[0:8], "big"),
            root_hash=head[17 : 17 + HASH_SIZE],
        )
        return cls(data[:HASH_SIZE], tree_head, data[head_end + 2 :])


def _spki(key: LogPublicKeyType) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True, slots=True)
class LogPublicKey:
    """A log's public key as a client trusts it (from ``log.pub``)."""

    key: LogPublicKeyType

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(_spki(self.key)).digest()

    def to_pem(self) -> bytes:
        return self.key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    @classmethod
    def from_pem(cls, data: bytes) -> LogPublicKey:
        try:
            key = load_pem_public_key(data)
        except ValueError as exc:
            raise LedgerError("not a PEM public key") from exc
        if not isinstance(key, ed25519.Ed25519PublicKey | mldsa.MLDSA65PublicKey):
            raise LedgerError("a log key is Ed25519 or ML-DSA-65")
        return cls(key)

    def verify(self, sth: SignedTreeHead) -> None:
        try:
            self.key.verify(sth.signature, sth.tree_head.encode())
        except InvalidSignature:
            raise SignatureError("tree head signature does not verify") from None


class LogKey:
    """The log's private key: signs tree heads. Its repr never shows key material."""

    def __init__(self, private_key: LogPrivateKey) -> None:
        self._private = private_key
        self.public = LogPublicKey(private_key.public_key())

    def __repr__(self) -> str:
        return f"LogKey(log_id={self.public.log_id.hex()[:16]}...)"

    @classmethod
    def generate(cls, algorithm: str = "ed25519") -> LogKey:
        if algorithm == "ed25519":
            return cls(ed25519.Ed25519PrivateKey.generate())
        if algorithm == "mldsa65":
            return cls(mldsa.MLDSA65PrivateKey.generate())
        raise LedgerError(f"log key algorithm is one of {', '.join(LOG_KEY_ALGORITHMS)}")

    @classmethod
    def from_pem(cls, data: bytes) -> LogKey:
        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise LedgerError("not an unencrypted PEM private key") from exc
        if not isinstance(key, ed25519.Ed25519PrivateKey | mldsa.MLDSA65PrivateKey):
            raise LedgerError("a log key is Ed25519 or ML-DSA-65")
        return cls(key)

    def to_pem(self) -> bytes:
        return self._private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())

    def sign(self, tree_head: TreeHead) -> SignedTreeHead:
        signature = self._private.sign(tree_head.encode())
        return SignedTreeHead(self.public.log_id, tree_head, signature)


def verify_tree_head(sth: SignedTreeHead, trusted: Iterable[LogPublicKey]) -> LogPublicKey:
    """Return the trusted key that signed ``sth``; raise SignatureError when none did."""
    for key in trusted:
        if key.log_id == sth.log_id:
            key.verify(sth)
            return key
    raise SignatureError("tree head is from a log that is not trusted")
