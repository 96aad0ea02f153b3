"""The log: adds, signed tree heads and proofs that verify, several log objects sharing one
store, and bad requests refused."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from ledger.helpers import numbered_did

from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError, StoreError, UnknownEntryError
from nautilus_tls.ledger.log import MAX_ENTRIES_PER_REQUEST, TransparencyLog
from nautilus_tls.ledger.merkle import verify_consistency, verify_inclusion
from nautilus_tls.ledger.sth import LogKey, verify_tree_head
from nautilus_tls.ledger.store_sqlite import SQLiteStore


@pytest.fixture
def log(tmp_path: Path) -> TransparencyLog:
    return TransparencyLog(SQLiteStore(tmp_path / "log.sqlite"), LogKey.generate())


def test_accepts_entries_and_proves_them_in_a_signed_tree_head(log: TransparencyLog) -> None:
    entries = [numbered_did(i) for i in range(20)]
    assert [log.add(e) for e in entries] == [(i, True) for i in range(20)]
    sth = log.signed_tree_head()
    verify_tree_head(sth, [log.key.public])
    assert sth.tree_size == 20
    for i, e in enumerate(entries):
        index, path = log.inclusion_proof(e.leaf_hash(), sth.tree_size)
        assert index == i
        verify_inclusion(e.leaf_hash(), index, sth.tree_size, path, sth.root_hash)


def test_tree_heads_stay_consistent_as_the_log_grows(log: TransparencyLog) -> None:
    heads = []
    for i in range(1, 40):
        log.add(numbered_did(i))
        if i % 7 == 0:
            heads.append(log.signed_tree_head())
    for old, new in itertools.pairwise(heads):
        proof = log.consistency_proof(old.tree_size, new.tree_size)
        verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)
        assert new.tree_head.timestamp_ms >= old.tree_head.timestamp_ms


def test_two_log_processes_on_one_store_agree(tmp_path: Path) -> None:
    key = LogKey.generate()
    one = TransparencyLog(SQLiteStore(tmp_path / "shared.sqlite"), key)
    two = TransparencyLog(SQLiteStore(tmp_path / "shared.sqlite"), key)
    one.add(numbered_did(1))
    two.add(numbered_did(2))
    assert one.add(numbered_did(2)) == (1, False)
    assert one.signed_tree_head().root_hash == two.signed_tree_head().root_hash


def test_same_size_returns_the_same_signed_tree_head(log: TransparencyLog) -> None:
    log.add(numbered_did(1))
    assert log.signed_tree_head() is log.signed_tree_head()


def test_rejects_proof_requests_outside_the_log(log: TransparencyLog) -> None:
    for i in range(3):
        log.add(numbered_did(i))
    with pytest.raises(UnknownEntryError):
        log.inclusion_proof(numbered_did(99).leaf_hash(), 3)
    with pytest.raises(UnknownEntryError):
        log.inclusion_proof(numbered_did(2).leaf_hash(), 2)  # added after size 2
    for size in (0, 4):
        with pytest.raises(LedgerError):
            log.inclusion_proof(numbered_did(0).leaf_hash(), size)
    for first, second in ((0, 3), (3, 2), (1, 4)):
        with pytest.raises(LedgerError):
            log.consistency_proof(first, second)
    with pytest.raises(LedgerError):
        log.entries(3, 4)


def test_entries_are_capped_per_request(log: TransparencyLog) -> None:
    for i in range(MAX_ENTRIES_PER_REQUEST + 5):
        log.add(numbered_did(i))
    got = log.entries(0, 10_000)
    assert len(got) == MAX_ENTRIES_PER_REQUEST
    assert Entry.decode(got[3]) == numbered_did(3)


def test_refuses_to_serve_a_store_that_shrank(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = TransparencyLog(SQLiteStore(path), LogKey.generate())
    log.add(numbered_did(1))
    log.add(numbered_did(2))
    log.signed_tree_head()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM ledger_leaves WHERE idx = 1")
    with pytest.raises(StoreError, match="never shrinks"):
        log.signed_tree_head()
