"""Fixtures for the PAKE tests: a record store of each kind (SQLite file, real redis-server,
real PostgreSQL).

The redis-server fixture is the session tests' one (tests/session/conftest.py), reused rather
than copied: it starts redis-server on a private Unix socket and stops it by PID. The
PostgreSQL cluster is tests/postgres.py's (shared with the ledger tests): initdb/pg_ctl on a
private Unix socket, a new database per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import new_database, postgres_server  # noqa: F401  (fixture)
from session.conftest import redis_prefix, redis_server  # noqa: F401  (fixtures)
from session.helpers import FakeClock, RedisServer

from nautilus_tls.pake.store import PakeStore
from nautilus_tls.pake.store_postgres import PostgresRecordStore
from nautilus_tls.pake.store_redis import RedisRecordStore
from nautilus_tls.pake.store_sqlite import SQLiteRecordStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteRecordStore]:
    store = SQLiteRecordStore(tmp_path / "users.db")
    yield store
    store.close()


@pytest.fixture
def postgres_dsn(request: pytest.FixtureRequest) -> str:
    """An empty database on the session's PostgreSQL cluster, as a postgresql:// URL."""
    return new_database(request.getfixturevalue("postgres_server"), "pake")


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PakeStore]:
    """Each test that takes ``store`` runs against every implementation."""
    made: PakeStore
    if request.param == "sqlite":
        made = SQLiteRecordStore(tmp_path / "users.db")
    elif request.param == "postgresql":
        made = PostgresRecordStore(request.getfixturevalue("postgres_dsn"))
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        made = RedisRecordStore(server.url, prefix=request.getfixturevalue("redis_prefix"))
    yield made
    made.close()
