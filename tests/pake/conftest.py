"""Fixtures for the PAKE tests: a record store of each kind (SQLite file, real redis-server).

The redis-server fixture is the session tests' one (tests/session/conftest.py), reused rather
than copied: it starts redis-server on a private Unix socket and stops it by PID.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from session.conftest import redis_prefix, redis_server  # noqa: F401  (fixtures)
from session.helpers import FakeClock, RedisServer

from nautilus_tls.pake.store import PakeStore
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


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PakeStore]:
    """Each test that takes ``store`` runs against both implementations."""
    made: PakeStore
    if request.param == "sqlite":
        made = SQLiteRecordStore(tmp_path / "users.db")
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        made = RedisRecordStore(server.url, prefix=request.getfixturevalue("redis_prefix"))
    yield made
    made.close()
