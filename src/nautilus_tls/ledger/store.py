"""Where the log keeps its leaves: the :class:`LogStore` interface, the SQL shared by the
SQLite and PostgreSQL back ends, and :func:`open_store` that picks one from a URL.

A store is append-only and assigns indexes 0, 1, 2, ... without gaps. Appends are serialized
by the database (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL transaction-level advisory lock), so
any number of processes can share one log. The same leaf added twice keeps its first index.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from nautilus_tls.ledger.errors import StoreError

__all__ = ["LogStore", "SqlStore", "open_store"]


class LogStore(Protocol):
    def append(self, leaf_input: bytes, leaf_hash: bytes) -> tuple[int, bool]:
        """Add a leaf; return its index and whether it is new (False: it was already there)."""
        ...

    def size(self) -> int: ...

    def leaf_hashes(self, start: int, end: int) -> list[bytes]: ...

    def entries(self, start: int, end: int) -> list[bytes]: ...

    def index_of(self, leaf_hash: bytes) -> int | None: ...

    def close(self) -> None: ...


class _Cursor(Protocol):
    def fetchone(self) -> Sequence[Any] | None: ...

    def fetchall(self) -> list[Any]: ...


class _Db(Protocol):
    def execute(self, sql: Any, params: Sequence[Any] = ..., /) -> Any: ...


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ledger_leaves ("
    " idx BIGINT PRIMARY KEY,"
    " leaf_hash {blob} NOT NULL UNIQUE,"
    " leaf_input {blob} NOT NULL)"
)


class SqlStore(ABC):
    """The queries, written once; subclasses supply connections and the write lock."""

    PLACEHOLDER = "?"

    @abstractmethod
    def _reading(self) -> AbstractContextManager[_Db]: ...

    @abstractmethod
    def _writing(self) -> AbstractContextManager[_Db]:
        """A transaction that no other writer runs concurrently with."""

    def _sql(self, text: str) -> str:
        return text.replace("?", self.PLACEHOLDER)

    def append(self, leaf_input: bytes, leaf_hash: bytes) -> tuple[int, bool]:
        with self._writing() as db:
            row = db.execute(
                self._sql("SELECT idx FROM ledger_leaves WHERE leaf_hash = ?"), (leaf_hash,)
            ).fetchone()
            if row is not None:
                return int(row[0]), False
            index = self._size(db)
            db.execute(
                self._sql(
                    "INSERT INTO ledger_leaves (idx, leaf_hash, leaf_input) VALUES (?, ?, ?)"
                ),
                (index, leaf_hash, leaf_input),
            )
            return index, True

    def size(self) -> int:
        with self._reading() as db:
            return self._size(db)

    @staticmethod
    def _size(db: _Db) -> int:
        row = db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves").fetchone()
        return int(row[0])

    def _column(self, column: str, start: int, end: int) -> list[bytes]:
        if not 0 <= start <= end:
            raise StoreError(f"bad range {start}..{end}")
        with self._reading() as db:
            rows = db.execute(
                self._sql(
                    f"SELECT {column} FROM ledger_leaves WHERE idx >= ? AND idx < ? ORDER BY idx"
                ),
                (start, end),
            ).fetchall()
        if len(rows) != end - start:
            raise StoreError(f"the store has a gap or ends before {end}")
        return [bytes(r[0]) for r in rows]

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return self._column("leaf_hash", start, end)

    def entries(self, start: int, end: int) -> list[bytes]:
        return self._column("leaf_input", start, end)

    def index_of(self, leaf_hash: bytes) -> int | None:
        with self._reading() as db:
            row = db.execute(
                self._sql("SELECT idx FROM ledger_leaves WHERE leaf_hash = ?"), (leaf_hash,)
            ).fetchone()
        return None if row is None else int(row[0])


def open_store(location: str) -> LogStore:
    """``postgresql://...`` (or ``postgres://``) opens PostgreSQL; anything else is a SQLite file."""
    if location.startswith(("postgresql://", "postgres://")):
        from nautilus_tls.ledger.store_postgres import PostgresStore

        return PostgresStore(location)
    from nautilus_tls.ledger.store_sqlite import SQLiteStore

    return SQLiteStore(location)
