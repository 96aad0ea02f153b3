"""The transparency extension's codecs: round trips, and every bound a DecodeError."""

from __future__ import annotations

import dataclasses

import pytest

from nautilus_tls.errors import DecodeError
from nautilus_tls.ledger.merkle import HASH_SIZE
from nautilus_tls.ledger.staple import (
    MAX_ITEMS,
    MAX_KNOWN_LOGS,
    MAX_PROOF_NODES,
    LoggedAs,
    StapledItem,
    decode_items,
    decode_known_logs,
    encode_items,
    encode_known_logs,
)
from nautilus_tls.ledger.sth import LogKey, TreeHead

KEY = LogKey.generate()
STH = KEY.sign(TreeHead(5, 1_700_000_000_000, bytes(range(HASH_SIZE))))
ITEM = StapledItem(LoggedAs.X509_CHAIN, bytes(HASH_SIZE), 4, (b"\x01" * HASH_SIZE,), STH)


def test_known_logs_round_trip_and_may_be_empty() -> None:
    known = {KEY.public.log_id: 7, bytes(HASH_SIZE): 0}
    assert decode_known_logs(encode_known_logs(known)) == known
    assert decode_known_logs(encode_known_logs({})) == {}


def test_items_round_trip_with_and_without_a_consistency_proof() -> None:
    with_proof = dataclasses.replace(ITEM, consistency_from=3, consistency_path=(bytes(32),) * 2)
    items = (ITEM, with_proof)
    assert decode_items(encode_items(items)) == items


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\x00\x27" + bytes(39),  # one log id and a truncated size
        encode_known_logs({bytes(32): 1}) + b"\x00",
        b"\x00\x50" + (bytes(32) + bytes(8)) * 2,  # the same log twice
    ],
)
def test_bad_known_logs_are_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_known_logs(data)


def test_too_many_known_logs_is_a_decode_error() -> None:
    many = b"".join(i.to_bytes(32, "big") + bytes(8) for i in range(MAX_KNOWN_LOGS + 1))
    with pytest.raises(DecodeError, match="more than"):
        decode_known_logs(len(many).to_bytes(2, "big") + many)


def _items_with(**change: object) -> bytes:
    return encode_items([dataclasses.replace(ITEM, **change)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00",  # no items
        encode_items([ITEM])[:-3],  # truncated
        _items_with(inclusion_path=(bytes(HASH_SIZE),) * (MAX_PROOF_NODES + 1)),
        _items_with(consistency_path=(bytes(HASH_SIZE),)),  # a path from size 0
    ],
    ids=["empty", "truncated", "oversized-path", "path-without-start"],
)
def test_bad_items_are_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_items(data)


def test_a_path_that_is_not_whole_hashes_is_a_decode_error() -> None:
    good = encode_items([ITEM])
    # Inclusion path length (after kind, leaf hash and index) one byte short of a hash.
    at = 2 + 1 + HASH_SIZE + 8
    bad = good[:at] + (HASH_SIZE - 1).to_bytes(2, "big") + good[at + 2 + 1 :]
    with pytest.raises(DecodeError):
        decode_items(len(bad[2:]).to_bytes(2, "big") + bad[2:])


def test_too_many_items_is_a_decode_error() -> None:
    one = encode_items([ITEM])[2:]
    many = one * (MAX_ITEMS + 1)
    with pytest.raises(DecodeError, match="more than"):
        decode_items(len(many).to_bytes(2, "big") + many)


def test_a_bad_tree_head_inside_is_a_decode_error() -> None:
    unsigned = dataclasses.replace(STH, signature=b"")
    data = encode_items([dataclasses.replace(ITEM, sth=unsigned)])
    with pytest.raises(DecodeError, match="signed tree head"):
        decode_items(data)
