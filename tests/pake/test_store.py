"""The record stores (SQLite file, a real redis-server, a real PostgreSQL) behave the same:
records, server secrets, failure windows, hostile user names, and clear errors on a broken
store. tests/pake/test_store_postgres.py has what only PostgreSQL needs on top."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
from session.helpers import RedisServer

from nautilus_tls.errors import ConfigError
from nautilus_tls.pake.ksf import Ksf
from nautilus_tls.pake.store import PakeStore, PakeStoreError, StoredRecord
from nautilus_tls.pake.store_postgres import PostgresRecordStore
from nautilus_tls.pake.store_redis import RedisRecordStore
from nautilus_tls.pake.store_sqlite import SQLiteRecordStore

KSF = Ksf("scrypt", cost=10, memory=8)


def test_put_get_replace_delete(store: PakeStore) -> None:
    assert store.get("alice", "opaque") is None
    rec = StoredRecord("alice", "opaque", b"\x00\x01record", KSF)
    store.put(rec)
    assert store.get("alice", "opaque") == rec
    assert store.get("alice", "spake2plus") is None  # one record per method
    newer = StoredRecord("alice", "opaque", b"other", Ksf(), b"salt")
    store.put(newer)
    assert store.get("alice", "opaque") == newer
    assert store.delete("alice", "opaque") is True
    assert store.delete("alice", "opaque") is False
    assert store.get("alice", "opaque") is None


def test_unicode_user_names_are_kept_apart(store: PakeStore) -> None:
    store.put(StoredRecord("zoë", "spake2plus", b"a", KSF, b"s1"))
    store.put(StoredRecord("zoe", "spake2plus", b"b", KSF, b"s2"))
    found = store.get("zoë", "spake2plus")
    assert found is not None and found.record == b"a" and found.salt == b"s1"


def test_server_secret_is_made_once(store: PakeStore) -> None:
    calls: list[int] = []

    def make() -> bytes:
        calls.append(1)
        return os.urandom(16)

    first = store.server_secret("k", make)
    assert store.server_secret("k", make) == first
    assert len(calls) == 1
    assert store.server_secret("other", make) != first


def test_failures_count_within_a_window_and_clear(store: PakeStore) -> None:
    now = 1000.0
    assert store.failures("bob", now, 60) == 0
    assert store.add_failure("bob", now, 60) == 1
    assert store.add_failure("bob", now + 1, 60) == 2
    assert store.failures("bob", now + 2, 60) == 2
    assert store.failures("eve", now + 2, 60) == 0
    store.clear_failures("bob")
    assert store.failures("bob", now + 3, 60) == 0


def test_hostile_user_names_are_kept_verbatim_or_refused(store: PakeStore) -> None:
    quoted = "a'; DROP TABLE pake_records; --\"%s"
    store.put(StoredRecord(quoted, "opaque", b"q", KSF))
    found = store.get(quoted, "opaque")
    assert found is not None and found.user == quoted and found.record == b"q"
    # NUL, 10 kB, and bytes that are not UTF-8 (as the command line hands them over).
    for bad in ("a\x00b", "x" * 10240, b"\xff\xfe".decode("utf-8", "surrogateescape")):
        with pytest.raises(ConfigError, match="PAKE user name"):
            StoredRecord(bad, "opaque", b"r", KSF)
        with pytest.raises(ConfigError, match="PAKE user name"):
            store.get(bad, "opaque")
    assert store.get(quoted, "opaque") == found


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_failure_window_expires_on_the_callers_clock(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # The SQL stores run the window on the ``now`` they are given (Redis on its own clock).
    store: PakeStore = (
        SQLiteRecordStore(tmp_path / "users.db")
        if kind == "sqlite"
        else PostgresRecordStore(request.getfixturevalue("postgres_dsn"))
    )
    try:
        store.add_failure("bob", 1000.0, 60)
        store.add_failure("bob", 1010.0, 60)
        assert store.failures("bob", 1059.0, 60) == 2
        assert store.failures("bob", 1060.0, 60) == 0
        assert store.add_failure("bob", 1061.0, 60) == 1  # a new window
        assert store.add_failure("bob", 1062.0, 60) == 2
    finally:
        store.close()


def test_redis_failure_window_expires(redis_server: RedisServer, redis_prefix: str) -> None:
    store = RedisRecordStore(redis_server.url, prefix=redis_prefix)
    try:
        assert store.add_failure("bob", 0, 0.2) == 1
        assert store.failures("bob", 0, 0.2) == 1
        deadline = time.monotonic() + 5
        while store.failures("bob", 0, 0.2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.failures("bob", 0, 0.2) == 0
    finally:
        store.close()


def test_sqlite_file_is_private_and_shared_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "users.db"
    a = SQLiteRecordStore(path)
    b = SQLiteRecordStore(path)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        a.put(StoredRecord("alice", "opaque", b"r", KSF))
        assert b.get("alice", "opaque") is not None
        assert a.server_secret("s", lambda: b"1") == b.server_secret("s", lambda: b"2") == b"1"
    finally:
        a.close()
        b.close()


def test_sqlite_counts_concurrent_failures_exactly(sqlite_store: SQLiteRecordStore) -> None:
    threads = [
        threading.Thread(target=lambda: [sqlite_store.add_failure("c", 1.0, 60) for _ in range(10)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sqlite_store.failures("c", 2.0, 60) == 40


def test_bad_user_names_are_refused(sqlite_store: SQLiteRecordStore) -> None:
    for bad in ("", "a" * 256, "new\nline", "tab\there"):
        with pytest.raises(ConfigError):
            StoredRecord(bad, "opaque", b"r", KSF)
        with pytest.raises(ConfigError):
            sqlite_store.get(bad, "opaque")


def test_identity_ksf_in_a_stored_record_is_refused(sqlite_store: SQLiteRecordStore) -> None:
    sqlite_store.put(StoredRecord("v", "opaque", b"r", Ksf("identity")))
    with pytest.raises(ConfigError, match="without key stretching"):
        sqlite_store.get("v", "opaque")


def test_unopenable_sqlite_path_is_a_clear_store_error(tmp_path: Path) -> None:
    with pytest.raises(PakeStoreError, match="cannot open the PAKE store"):
        SQLiteRecordStore(tmp_path / "missing-dir" / "users.db")


def test_unreachable_redis_is_a_clear_store_error(tmp_path: Path) -> None:
    store = RedisRecordStore(f"unix://{tmp_path}/no.sock", timeout=0.2)
    with pytest.raises(PakeStoreError, match="Redis"):
        store.get("alice", "opaque")
