"""Ticket keys in a file: what one store (one worker) writes, another store on the same file
(another worker) reads; rotation, retention, locking and the file's permissions."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from session.helpers import FakeClock

from nautilus_tls.errors import ConfigError
from nautilus_tls.session import SessionStoreError
from nautilus_tls.session.file_store import FileTicketKeyStore
from nautilus_tls.session.ticket_keys import TicketKey, TicketKeyManager

HOUR = 3600.0


def manager(store: FileTicketKeyStore, clock: FakeClock) -> TicketKeyManager:
    return TicketKeyManager(
        store, rotation_period=12 * HOUR, max_ticket_lifetime=24 * HOUR, clock=clock
    )


def two_workers(path: Path, clock: FakeClock) -> tuple[TicketKeyManager, TicketKeyManager]:
    """Two managers, each with its own store object on the same file (as two workers)."""
    return manager(FileTicketKeyStore(path), clock), manager(FileTicketKeyStore(path), clock)


def test_a_ticket_sealed_through_one_store_opens_through_another(tmp_path: Path) -> None:
    clock = FakeClock(1_000_000.0)
    first, second = two_workers(tmp_path / "keys.json", clock)
    ticket = first.seal(b"state")
    assert second.open(ticket) == b"state"
    assert second.current_key() == first.current_key()  # no second key was made


def test_a_rotation_by_one_worker_is_seen_by_the_others(tmp_path: Path) -> None:
    clock = FakeClock(1_000_000.0)
    first, second = two_workers(tmp_path / "keys.json", clock)
    old = first.seal(b"old")
    clock.advance(1.0)
    new_key = second.rotate()
    assert first.current_key() == new_key
    assert first.seal(b"new")[:16] == new_key.key_id
    assert second.open(old) == b"old"  # the previous key still opens its tickets


def test_keys_past_retention_are_destroyed_in_the_file(tmp_path: Path) -> None:
    clock = FakeClock(1_000_000.0)
    path = tmp_path / "keys.json"
    keys = manager(FileTicketKeyStore(path), clock)
    ticket = keys.seal(b"state")
    old_id = ticket[:16].hex()
    clock.advance(36 * HOUR + 1)  # rotation period + ticket lifetime
    assert keys.open(ticket) is None
    keys.seal(b"later")
    assert old_id not in path.read_text()


def test_the_file_is_private_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    FileTicketKeyStore(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"keys.json: readable by other users .*chmod 600"):
        FileTicketKeyStore(path)


def test_a_file_that_is_not_a_key_file_is_a_store_error_without_its_contents(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    store = FileTicketKeyStore(path)
    path.write_text('{"keys": [{"id": "zz", "secret": "s3cr3t", "created_at": 1}]}')
    with pytest.raises(SessionStoreError, match="not a key file") as caught:
        store.keys()
    assert "s3cr3t" not in str(caught.value)
    # The manager fails closed: no ticket opens, no exception escapes.
    assert TicketKeyManager(store).open(b"\0" * 60) is None


def test_an_unopenable_path_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ticket key file .*missing-dir.*cannot open"):
        FileTicketKeyStore(tmp_path / "missing-dir" / "keys.json")


def _add_many(path: str, base: float, count: int) -> None:
    store = FileTicketKeyStore(path)
    for i in range(count):
        store.add_if_current_is_older_than(TicketKey.generate(base + i), float("inf"))


def test_concurrent_writers_in_separate_processes_lose_no_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    FileTicketKeyStore(path)
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_add_many, args=(str(path), 1000.0 * n, 10)) for n in (1, 2, 3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert len(FileTicketKeyStore(path).keys()) == 30
