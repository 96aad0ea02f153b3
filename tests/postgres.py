"""A throwaway PostgreSQL cluster for the tests that need a real server (the ledger's and the
PAKE record store's): ``postgres_server`` starts one per test session with the Debian binaries
(initdb/pg_ctl, as ``nobody`` when the tests run as root, since initdb refuses root), listening
on a Unix socket in a private directory only, and stops it by pg_ctl; ``new_database`` gives
each test an empty database on it. Without the binaries the fixture skips, saying why.

Imported by tests/ledger/conftest.py and tests/pake/conftest.py (``from postgres import
postgres_server``) rather than copied.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PG_BIN", "new_database", "postgres_server"]

PG_BIN = Path(os.environ.get("NAUTILUS_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 60

# Each conftest that imports the fixture gets its own session-scoped cluster; the counter keeps
# their socket names apart when one pytest process starts two.
_clusters = itertools.count()
_databases = itertools.count()


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
    # Names the socket file only: there is no TCP listener.
    port = 20000 + (os.getpid() + next(_clusters)) % 20000
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


def new_database(server: str, prefix: str) -> str:
    """A new, empty database on the cluster ``server`` (a ``postgres_server`` value), as a
    postgresql:// URL."""
    psycopg = pytest.importorskip("psycopg")
    name = f"{prefix}_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in server.split())
    return f"postgresql://{params['user']}@/{name}?host={params['host']}&port={params['port']}"
