"""The monitor: follows a growing log, reports watched names and keys, and catches a log
that forks (split view), rewinds or serves entries that do not match its signed root."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger.helpers import SwitchableLog, numbered_did, raw_key_spki, self_signed_der

from nautilus_tls.ledger.client import LedgerClient
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError, ProofError
from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.monitor import Monitor
from nautilus_tls.ledger.sth import LogKey
from nautilus_tls.ledger.store_sqlite import SQLiteStore


def test_follows_a_growing_log_and_reports_watched_names_and_keys(
    served: tuple[str, SwitchableLog], sqlite_log: TransparencyLog, log_key: LogKey
) -> None:
    watched_key = raw_key_spki()
    with LedgerClient(served[0], [log_key.public]) as client:
        monitor = Monitor(client, names={"Shop.Example"}, keys={watched_key})
        sqlite_log.add(numbered_did(1))
        assert monitor.poll() == []
        sqlite_log.add(Entry.x509_chain([self_signed_der("shop.example")]))
        sqlite_log.add(Entry.raw_public_key(raw_key_spki()))
        sqlite_log.add(Entry.raw_public_key(watched_key))
        found = monitor.poll()
        assert [(m.index, m.reason) for m in found] == [(1, "name shop.example"), (3, "key")]
        assert monitor.sth is not None and monitor.sth.tree_size == 4
        assert monitor.poll() == []


def _forked_copy(tmp_path: Path, key: LogKey, size: int, changed: int) -> TransparencyLog:
    log = TransparencyLog(SQLiteStore(tmp_path / "fork.sqlite"), key)
    for i in range(size):
        log.add(numbered_did(1000 + i) if i == changed else numbered_did(i))
    return log


def _monitor_of_ten(log: TransparencyLog, client: LedgerClient) -> Monitor:
    for i in range(10):
        log.add(numbered_did(i))
    monitor = Monitor(client)
    monitor.poll()
    return monitor


def test_catches_a_log_that_shows_a_forked_history(
    served: tuple[str, SwitchableLog], sqlite_log: TransparencyLog, log_key: LogKey, tmp_path: Path
) -> None:
    with LedgerClient(served[0], [log_key.public]) as client:
        monitor = _monitor_of_ten(sqlite_log, client)
        # Same key, entry 4 rewritten, then grown: what a log would show a victim.
        served[1].current = _forked_copy(tmp_path, log_key, 15, changed=4)
        with pytest.raises(ProofError, match="forked"):
            monitor.poll()


def test_catches_a_same_size_fork_and_a_rewind(
    served: tuple[str, SwitchableLog], sqlite_log: TransparencyLog, log_key: LogKey, tmp_path: Path
) -> None:
    with LedgerClient(served[0], [log_key.public]) as client:
        monitor = _monitor_of_ten(sqlite_log, client)
        served[1].current = _forked_copy(tmp_path, log_key, 10, changed=9)
        with pytest.raises(ProofError, match="forked"):
            monitor.poll()
        served[1].current = TransparencyLog(SQLiteStore(tmp_path / "short.sqlite"), log_key)
        served[1].current.add(numbered_did(0))
        with pytest.raises(ProofError, match="went back"):
            monitor.poll()


def test_catches_entries_that_do_not_match_the_signed_root(
    served: tuple[str, SwitchableLog], sqlite_log: TransparencyLog, log_key: LogKey, tmp_path: Path
) -> None:
    for i in range(5):
        sqlite_log.add(numbered_did(i))
    lying = _forked_copy(tmp_path, log_key, 5, changed=2)
    sqlite_log.entries = lying.entries  # type: ignore[method-assign]  # honest head, other leaves
    client = LedgerClient(served[0], [log_key.public])
    with client, pytest.raises(ProofError, match="signed root"):
        Monitor(client).poll()


def test_refuses_to_monitor_without_the_log_key(served: tuple[str, SwitchableLog]) -> None:
    with LedgerClient(served[0]) as client, pytest.raises(LedgerError):
        Monitor(client)
