"""PostgreSQL store, for a log served by several processes or machines (psycopg 3).

Each writer takes a transaction-level advisory lock before reading the next index, so
concurrent appends from any number of connections are serialized by the server and indexes
stay gapless. One connection per store object, used under a lock (the ASGI app calls the log
from a thread pool).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from nautilus_tls.ledger.errors import StoreError
from nautilus_tls.ledger.store import SCHEMA, SqlStore

__all__ = ["PostgresStore"]

APPEND_LOCK = 0x6E61_7574_6C65_6467  # "nautledg": the advisory lock key all writers share
CONNECT_TIMEOUT = 10


class PostgresStore(SqlStore):
    PLACEHOLDER = "%s"

    def __init__(self, conninfo: str) -> None:
        self._lock = threading.Lock()
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(
                conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            )
        except psycopg.Error as exc:
            # The message can contain the connection string; do not echo it (passwords).
            raise StoreError(f"cannot connect to PostgreSQL: {type(exc).__name__}") from None
        with self._writing() as db:
            db.execute(SCHEMA.format(blob="BYTEA"))

    def __repr__(self) -> str:
        return "PostgresStore(...)"

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with self._lock:
            try:
                yield self._conn
            except psycopg.Error as exc:
                raise StoreError(f"postgresql: {exc}") from exc

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        with self._lock:
            try:
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
                    yield self._conn
            except psycopg.Error as exc:
                raise StoreError(f"postgresql: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
