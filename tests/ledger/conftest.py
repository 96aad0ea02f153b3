"""Fixtures for the ledger tests: a throwaway PostgreSQL cluster (started and stopped here,
Unix socket only) and a fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger.helpers import ServedApp, SwitchableLog

from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.sth import LogKey
from nautilus_tls.ledger.store_sqlite import SQLiteStore

PG_BIN = Path(os.environ.get("NAUTILUS_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 60


def _as_cluster_owner(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; run the cluster as nobody then.
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("PostgreSQL tests: running as root without runuser to drop to nobody")
    return [runuser, "-u", "nobody", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A base conninfo (without database) for a cluster that lives for the test session."""
    if not (PG_BIN / "initdb").is_file() or not (PG_BIN / "pg_ctl").is_file():
        pytest.skip(
            f"PostgreSQL tests SKIPPED: no initdb/pg_ctl under {PG_BIN} "
            "(apt-get install -y postgresql, or set NAUTILUS_PG_BIN)"
        )
    base = Path(tempfile.mkdtemp(prefix="nautilus-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "nobody")
        shutil.chown(sockets, "nobody")
    port = 20000 + os.getpid() % 20000  # names the socket file only: no TCP listener
    run = _as_cluster_owner
    subprocess.run(
        run([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT,
    )
    options = f"-k {sockets} -p {port} -c listen_addresses= -c max_connections=40"
    subprocess.run(
        run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                str(START_TIMEOUT),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT + 10,
    )
    try:
        yield f"host={sockets} port={port} user=postgres"
    finally:
        subprocess.run(
            run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        shutil.rmtree(base, ignore_errors=True)


_db_numbers = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's cluster, as a postgresql:// URL."""
    psycopg = pytest.importorskip("psycopg")
    name = f"ledger_{os.getpid()}_{next(_db_numbers)}"
    with psycopg.connect(f"{postgres_server} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in postgres_server.split())
    return f"postgresql://{params['user']}@/{name}?host={params['host']}&port={params['port']}"


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
