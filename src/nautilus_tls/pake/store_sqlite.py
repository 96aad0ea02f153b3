"""The embedded default PAKE record store: one SQLite file.

One connection guarded by a lock (logins touch the store a few times each, far from
SQLite's limits); writers use ``BEGIN IMMEDIATE`` so processes sharing the file never
interleave a read-modify-write (the failure counters, the get-or-create of secrets). The file
is created with mode 0600: its records are not password-equivalent, but they are what an
offline dictionary attack would start from.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nautilus_tls.pake.store import (
    Method,
    PakeStoreError,
    StoredRecord,
    check_user,
    record_from_row,
)

__all__ = ["SQLiteRecordStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pake_records (
    user TEXT NOT NULL, method TEXT NOT NULL, record BLOB NOT NULL, ksf TEXT NOT NULL,
    salt BLOB NOT NULL, PRIMARY KEY (user, method));
CREATE TABLE IF NOT EXISTS pake_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pake_failures (
    user TEXT PRIMARY KEY, count INTEGER NOT NULL, window_start REAL NOT NULL);
"""


class SQLiteRecordStore:
    """:class:`~nautilus_tls.pake.store.PakeStore` in one SQLite file."""

    def __init__(self, path: str | Path, *, allow_identity_ksf: bool = False) -> None:
        self._path = str(path)
        self._allow_identity = allow_identity_ksf
        self._lock = threading.Lock()
        try:
            if not os.path.exists(self._path):
                os.close(os.open(self._path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(
                self._path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise PakeStoreError(f"cannot open the PAKE store {self._path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SQLiteRecordStore({self._path!r})"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise PakeStoreError(f"PAKE store {self._path}: {exc}") from exc

    def get(self, user: str, method: Method) -> StoredRecord | None:
        check_user(user)
        with self._tx() as db:
            row = db.execute(
                "SELECT record, ksf, salt FROM pake_records WHERE user = ? AND method = ?",
                (user, method),
            ).fetchone()
        return record_from_row(user, method, row, allow_identity=self._allow_identity)

    def put(self, record: StoredRecord) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO pake_records VALUES (?, ?, ?, ?, ?)",
                (record.user, record.method, record.record, record.ksf.to_record(), record.salt),
            )

    def delete(self, user: str, method: Method) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM pake_records WHERE user = ? AND method = ?", (user, method)
            )
            return cur.rowcount > 0

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        with self._tx() as db:
            row = db.execute("SELECT value FROM pake_secrets WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return bytes(row[0])
            value = make()
            db.execute("INSERT INTO pake_secrets VALUES (?, ?)", (name, value))
            return value

    def add_failure(self, user: str, now: float, window: float) -> int:
        with self._tx() as db:
            row = db.execute(
                "SELECT count, window_start FROM pake_failures WHERE user = ?", (user,)
            ).fetchone()
            count, start = (
                (1, now) if row is None or now - row[1] >= window else (row[0] + 1, row[1])
            )
            db.execute(
                "INSERT OR REPLACE INTO pake_failures VALUES (?, ?, ?)", (user, count, start)
            )
            return int(count)

    def failures(self, user: str, now: float, window: float) -> int:
        with self._tx() as db:
            row = db.execute(
                "SELECT count, window_start FROM pake_failures WHERE user = ?", (user,)
            ).fetchone()
        return 0 if row is None or now - row[1] >= window else int(row[0])

    def clear_failures(self, user: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM pake_failures WHERE user = ?", (user,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
