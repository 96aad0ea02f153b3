"""The transparency extension's bytes: what a client asks for and what a server staples.

The shape is RFC 9162 §6.5's ``transparency_info`` (an inclusion proof and the signed tree
head it leads to, carried in the end-entity ``CertificateEntry``), at a private-use code point
(:data:`TRANSPARENCY_EXTENSION`, RFC 8446 §11: ExtensionType values whose first byte is 255
are for private use), because our tree heads and entries are not RFC 9162's ``TransItem``\\s
(:mod:`.sth`, :mod:`.entries`).

ClientHello ``extension_data`` (the logs the client trusts, each with the newest tree size it
has seen, 0 for none, so that a server can staple a consistency proof from there)::

    struct { opaque log_id[32]; uint64 known_tree_size; } KnownLog;
    KnownLog known_logs<0..2^16-1>;        /* at most MAX_KNOWN_LOGS; empty: any log */

End-entity ``CertificateEntry`` ``extension_data``::

    enum { x509_chain(1), raw_public_key(2), (255) } LoggedAs;
    struct {
        LoggedAs logged_as;                /* which entry of the presented chain is logged */
        opaque leaf_hash[32];              /* MTH({entry}), RFC 9162 §2.1.1 */
        uint64 leaf_index;
        opaque inclusion_path<0..2^16-1>;  /* 32-byte hashes, at most MAX_PROOF_NODES */
        opaque signed_tree_head<1..2^16-1>;    /* .sth SignedTreeHead */
        uint64 consistency_from;           /* 0: no consistency proof */
        opaque consistency_path<0..2^16-1>;    /* from consistency_from to the head's size */
    } TransparencyItem;
    TransparencyItem items<1..2^16-1>;     /* at most MAX_ITEMS */

``x509_chain`` means the log holds the Certificate message's chain exactly as sent (an
:meth:`.entries.Entry.x509_chain` leaf); ``raw_public_key`` means it holds the end-entity
certificate's SubjectPublicKeyInfo. A server with several certificates staples an item for
each; the client uses the one whose leaf hash is its chain's. Everything here is a bounded
parse: a bad length, a path that is not whole hashes or longer than a 2^64-leaf tree needs,
too many items, trailing bytes are a :class:`~nautilus_tls.errors.DecodeError` (decode_error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from nautilus_tls.errors import DecodeError
from nautilus_tls.ledger.errors import LedgerError
from nautilus_tls.ledger.merkle import HASH_SIZE
from nautilus_tls.ledger.sth import SignedTreeHead
from nautilus_tls.wire.buffer import Reader, Writer

__all__ = [
    "MAX_ITEMS",
    "MAX_KNOWN_LOGS",
    "MAX_PROOF_NODES",
    "TRANSPARENCY_EXTENSION",
    "LoggedAs",
    "StapledItem",
    "decode_items",
    "decode_known_logs",
    "encode_items",
    "encode_known_logs",
]

TRANSPARENCY_EXTENSION = 0xFF34
"""Private use (first byte 255); 0x34 = 52, the code point IANA gave RFC 9162's
transparency_info, as a reminder of the shape."""
MAX_KNOWN_LOGS = 16
MAX_ITEMS = 8
MAX_PROOF_NODES = 64
"""A tree of at most 2**64 leaves has proofs of at most 64 hashes (RFC 9162 §2.1.3, §2.1.4)."""


class LoggedAs(IntEnum):
    X509_CHAIN = 1
    RAW_PUBLIC_KEY = 2


@dataclass(frozen=True, slots=True)
class StapledItem:
    """One inclusion proof under one signed tree head, with an optional consistency proof
    from an earlier size of the same log to this head."""

    logged_as: LoggedAs
    leaf_hash: bytes
    leaf_index: int
    inclusion_path: tuple[bytes, ...]
    sth: SignedTreeHead
    consistency_from: int = 0
    consistency_path: tuple[bytes, ...] = ()


def _uint64(r: Reader) -> int:
    return int.from_bytes(r.raw(8), "big")


def _hashes(r: Reader, what: str) -> tuple[bytes, ...]:
    block = r.vector(2, max_len=MAX_PROOF_NODES * HASH_SIZE)
    if len(block) % HASH_SIZE:
        raise DecodeError(f"{what} is not a list of {HASH_SIZE}-byte hashes")
    return tuple(block[i : i + HASH_SIZE] for i in range(0, len(block), HASH_SIZE))


def encode_known_logs(known: Mapping[bytes, int]) -> bytes:
    if len(known) > MAX_KNOWN_LOGS:
        raise ValueError(f"at most {MAX_KNOWN_LOGS} logs")
    w = Writer()
    with w.prefixed(2):
        for log_id, size in known.items():
            w.raw(log_id)
            w.raw(size.to_bytes(8, "big"))
    return w.getvalue()


def decode_known_logs(data: bytes) -> dict[bytes, int]:
    """The client's logs: log id -> newest tree size it has seen."""
    r = Reader(data)
    block = r.sub(2)
    r.expect_end("the transparency extension")
    known: dict[bytes, int] = {}
    while not block.at_end():
        if len(known) == MAX_KNOWN_LOGS:
            raise DecodeError(f"more than {MAX_KNOWN_LOGS} logs in the transparency extension")
        log_id = block.raw(HASH_SIZE)
        if log_id in known:
            raise DecodeError("a log is listed twice in the transparency extension")
        known[log_id] = _uint64(block)
    return known


def encode_items(items: Sequence[StapledItem]) -> bytes:
    if not 1 <= len(items) <= MAX_ITEMS:
        raise ValueError(f"1 to {MAX_ITEMS} stapled items")
    w = Writer()
    with w.prefixed(2):
        for item in items:
            w.uint8(item.logged_as)
            w.raw(item.leaf_hash)
            w.raw(item.leaf_index.to_bytes(8, "big"))
            w.vector(2, b"".join(item.inclusion_path))
            w.vector(2, item.sth.encode())
            w.raw(item.consistency_from.to_bytes(8, "big"))
            w.vector(2, b"".join(item.consistency_path))
    return w.getvalue()


def _item(r: Reader) -> StapledItem:
    try:
        logged_as = LoggedAs(r.uint8())
    except ValueError:
        raise DecodeError("unknown logged_as in a stapled transparency item") from None
    leaf_hash = r.raw(HASH_SIZE)
    index = _uint64(r)
    inclusion = _hashes(r, "inclusion path")
    try:
        sth = SignedTreeHead.decode(r.vector(2, min_len=1))
    except LedgerError as exc:
        raise DecodeError(f"stapled signed tree head: {exc}") from None
    first = _uint64(r)
    consistency = _hashes(r, "consistency path")
    if consistency and not first:
        raise DecodeError("a consistency path without the size it starts from")
    return StapledItem(logged_as, leaf_hash, index, inclusion, sth, first, consistency)


def decode_items(data: bytes) -> tuple[StapledItem, ...]:
    r = Reader(data)
    block = r.sub(2, min_len=1)
    r.expect_end("the transparency extension")
    items: list[StapledItem] = []
    while not block.at_end():
        if len(items) == MAX_ITEMS:
            raise DecodeError(f"more than {MAX_ITEMS} stapled transparency items")
        items.append(_item(block))
    return tuple(items)
