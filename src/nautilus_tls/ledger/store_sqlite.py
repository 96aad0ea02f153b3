"""The embedded default store: one SQLite file (WAL mode), one connection per thread.

Writers take the database lock with ``BEGIN IMMEDIATE`` before reading the next index, so
threads and processes sharing the file never hand out one index twice.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nautilus_tls.ledger.errors import StoreError
from nautilus_tls.ledger.store import SCHEMA, SqlStore

__all__ = ["SQLiteStore"]

BUSY_TIMEOUT = 30.0


class SQLiteStore(SqlStore):
    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        with self._writing() as db:
            db.execute(SCHEMA.format(blob="BLOB"))

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self._path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open {self._path}: {exc}") from exc
            self._local.conn = conn
            with self._guard:
                self._all.append(conn)
        return conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._connection()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
