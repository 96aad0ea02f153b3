"""Fixtures for the ledger tests: a fresh database per test on the throwaway PostgreSQL cluster
of tests/postgres.py, a log key, a served log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger.helpers import ServedApp, SwitchableLog
from postgres import new_database, postgres_server  # noqa: F401  (fixture)

from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.sth import LogKey
from nautilus_tls.ledger.store_sqlite import SQLiteStore


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A new, empty database on the session's cluster, as a postgresql:// URL."""
    return new_database(request.getfixturevalue("postgres_server"), "ledger")


@pytest.fixture
def log_key() -> LogKey:
    return LogKey.generate()


@pytest.fixture
def sqlite_log(tmp_path: Path, log_key: LogKey) -> Iterator[TransparencyLog]:
    store = SQLiteStore(tmp_path / "served.sqlite")
    yield TransparencyLog(store, log_key)
    store.close()


@pytest.fixture
def served(sqlite_log: TransparencyLog) -> Iterator[tuple[str, SwitchableLog]]:
    """The log behind a real uvicorn server; the SwitchableLog lets a test swap its history."""
    pytest.importorskip("uvicorn")
    from nautilus_tls.ledger.api import create_app

    switch = SwitchableLog(sqlite_log)
    app = ServedApp(create_app(switch))  # type: ignore[arg-type]
    yield app.url, switch
    app.stop()
