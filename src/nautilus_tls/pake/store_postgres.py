"""PAKE records in PostgreSQL, shared by a fleet of servers (psycopg 3, as the ledger's store).

Pass a connection string, as a URL (``postgresql://user@host:5432/db``, ``postgres://...``) or
in key=value form. Needs the ``psycopg`` package, imported only when a store is made.

The tables (``pake_records``, ``pake_secrets``, ``pake_failures``; the same shape as the SQLite
store's) are created on first use, under a transaction-level advisory lock: two servers
starting on an empty database at once would otherwise race inside ``CREATE TABLE IF NOT
EXISTS`` (it is not atomic in PostgreSQL). After that every operation is one statement in
autocommit mode, atomic by itself:

* a server-wide secret is ``INSERT ... ON CONFLICT DO NOTHING`` and then read back, so racing
  servers all end up with the first value written;
* a failed login is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` that starts a new
  window or adds one under the row lock, so concurrent failures are counted exactly.

One connection per store object, used under a lock (a server's logins touch the store a few
times each). A connection the server dropped (restart, fail-over) fails the call that finds
out and is replaced on the next one. Timeouts bound every wait: ``connect_timeout`` (unless
the connection string sets its own), ``statement_timeout`` and, over TCP,
``tcp_user_timeout``. Errors never contain the password of the connection string, nor does
the repr.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nautilus_tls.pake.store import (
    Method,
    PakeStoreError,
    StoredRecord,
    check_user,
    record_from_row,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresRecordStore"]

# "nautpake": the advisory lock key every store takes while it creates the schema.
SCHEMA_LOCK = 0x6E61_7574_7061_6B65
DEFAULT_TIMEOUT = 10.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS pake_records (
        username TEXT NOT NULL, method TEXT NOT NULL, record BYTEA NOT NULL,
        ksf TEXT NOT NULL, salt BYTEA NOT NULL, PRIMARY KEY (username, method))""",
    "CREATE TABLE IF NOT EXISTS pake_secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
    """CREATE TABLE IF NOT EXISTS pake_failures (
        username TEXT PRIMARY KEY, count INTEGER NOT NULL,
        window_start DOUBLE PRECISION NOT NULL)""",
)

# A new window when the current one has passed, else one more failure in it. Both SET
# expressions see the row as it was, and the row is locked until the statement ends.
_ADD_FAILURE = """
INSERT INTO pake_failures AS f (username, count, window_start) VALUES (%(user)s, 1, %(now)s)
ON CONFLICT (username) DO UPDATE SET
    count = CASE WHEN %(now)s - f.window_start >= %(window)s THEN 1 ELSE f.count + 1 END,
    window_start = CASE WHEN %(now)s - f.window_start >= %(window)s
                        THEN %(now)s ELSE f.window_start END
RETURNING count
"""


class PostgresRecordStore:
    """:class:`~nautilus_tls.pake.store.PakeStore` in a PostgreSQL database."""

    def __init__(
        self,
        dsn: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        allow_identity_ksf: bool = False,
    ) -> None:
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError as exc:
            raise PakeStoreError("the PostgreSQL PAKE store needs the psycopg package") from exc
        if not timeout > 0:
            raise PakeStoreError("the PostgreSQL PAKE store timeout must be positive")
        self._psycopg = psycopg
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.Error:
            # libpq's parse error quotes the string, password included.
            raise PakeStoreError("not a valid PostgreSQL connection string") from None
        self._password = str(params.get("password") or "")
        # Explicit settings in the connection string win over the defaults.
        params.setdefault("connect_timeout", max(2, math.ceil(timeout)))
        params.setdefault("tcp_user_timeout", math.ceil(timeout * 1000))
        self._params = params
        self._statement_ms = str(math.ceil(timeout * 1000))
        self._allow_identity = allow_identity_ksf
        self._lock = threading.Lock()
        self._closed = False
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            self._conn = self._connect()

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={self._params[k]!r}"
            for k in ("host", "port", "dbname", "user")
            if k in self._params
        )
        return f"PostgresRecordStore({shown})"

    def _error(self, what: str, exc: BaseException) -> PakeStoreError:
        # One line, and never the password (libpq does not quote it today; be sure anyway).
        text = " ".join(str(exc).split())
        if self._password:
            text = text.replace(self._password, "***")
        return PakeStoreError(f"PAKE store (PostgreSQL) {what}: {text}")

    def _connect(self) -> psycopg.Connection[Any]:
        pg = self._psycopg
        try:
            conn: psycopg.Connection[Any] = pg.connect(autocommit=True, **self._params)
        except pg.Error as exc:
            raise self._error("cannot connect", exc) from None
        try:
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (self._statement_ms,))
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    conn.execute(statement)
        except pg.Error as exc:
            conn.close()
            raise self._error("cannot create its tables", exc) from None
        return conn

    @contextmanager
    def _db(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            if self._closed:
                raise PakeStoreError("PAKE store (PostgreSQL) is closed")
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            try:
                yield self._conn
            except self._psycopg.Error as exc:
                if self._conn.broken or self._conn.closed:
                    self._conn.close()
                    self._conn = None  # reconnect on the next call
                raise self._error(what, exc) from exc

    def get(self, user: str, method: Method) -> StoredRecord | None:
        check_user(user)
        with self._db("get") as db:
            row = db.execute(
                "SELECT record, ksf, salt FROM pake_records WHERE username = %s AND method = %s",
                (user, method),
            ).fetchone()
        return record_from_row(user, method, row, allow_identity=self._allow_identity)

    def put(self, record: StoredRecord) -> None:
        with self._db("put") as db:
            db.execute(
                """INSERT INTO pake_records (username, method, record, ksf, salt)
                VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username, method) DO UPDATE SET
                record = EXCLUDED.record, ksf = EXCLUDED.ksf, salt = EXCLUDED.salt""",
                (record.user, record.method, record.record, record.ksf.to_record(), record.salt),
            )

    def delete(self, user: str, method: Method) -> bool:
        check_user(user)
        with self._db("delete") as db:
            cur = db.execute(
                "DELETE FROM pake_records WHERE username = %s AND method = %s", (user, method)
            )
            return cur.rowcount > 0

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        with self._db("server_secret") as db:
            row = db.execute("SELECT value FROM pake_secrets WHERE name = %s", (name,)).fetchone()
            if row is None:
                # Another server may insert between our read and our write: the first value
                # written stays, and everyone reads that one back.
                db.execute(
                    "INSERT INTO pake_secrets (name, value) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, make()),
                )
                row = db.execute(
                    "SELECT value FROM pake_secrets WHERE name = %s", (name,)
                ).fetchone()
        if row is None:
            raise PakeStoreError(f"PAKE store (PostgreSQL): the secret {name!r} vanished")
        return bytes(row[0])

    def add_failure(self, user: str, now: float, window: float) -> int:
        check_user(user)
        with self._db("add_failure") as db:
            row = db.execute(_ADD_FAILURE, {"user": user, "now": now, "window": window}).fetchone()
        if row is None:  # RETURNING of an upsert always gives the row
            raise PakeStoreError("PAKE store (PostgreSQL) add_failure: no row returned")
        return int(row[0])

    def failures(self, user: str, now: float, window: float) -> int:
        check_user(user)
        with self._db("failures") as db:
            row = db.execute(
                "SELECT count, window_start FROM pake_failures WHERE username = %s", (user,)
            ).fetchone()
        return 0 if row is None or now - row[1] >= window else int(row[0])

    def clear_failures(self, user: str) -> None:
        check_user(user)
        with self._db("clear_failures") as db:
            db.execute("DELETE FROM pake_failures WHERE username = %s", (user,))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
