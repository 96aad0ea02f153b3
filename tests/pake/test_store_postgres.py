"""The PostgreSQL record store against a real PostgreSQL (tests/postgres.py): what only a
shared database server has to get right (races between servers, dropped connections, timeouts,
hostile names reaching SQL), the command line selecting it, and a TLS login over it. The
behaviour it shares with the other stores is tests/pake/test_store.py's contract suite.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from levels import CLIENT_PARAMS, SERVER_PARAMS, engines, expect_alert, run
from loopback import ADAPTERS
from pairs import client_config, server_config
from pake.helpers import KSF, PASSWORD

from nautilus_tls import ClientConfig, PakeClient, ServerConfig
from nautilus_tls.cli import main
from nautilus_tls.cli_pake import open_store, server_kwargs
from nautilus_tls.errors import AlertDescription, ConfigError
from nautilus_tls.handshake.quic_params import QuicTransportParameters
from nautilus_tls.pake.ksf import Ksf
from nautilus_tls.pake.server import PakeServer, register
from nautilus_tls.pake.store import PakeStoreError, StoredRecord
from nautilus_tls.pake.store_postgres import PostgresRecordStore
from nautilus_tls.pake.tls import PakeClientHook, PakeServerHook

psycopg = pytest.importorskip("psycopg")

SRC = Path(__file__).resolve().parents[2] / "src"
DEADLINE = 60  # seconds: every wait below is bounded


@pytest.fixture
def pg(postgres_dsn: str) -> Iterator[PostgresRecordStore]:
    store = PostgresRecordStore(postgres_dsn)
    yield store
    store.close()


def _rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    """Read the tables behind the store's back, with a connection of our own."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def _with_password(dsn: str, password: str) -> str:
    # postgresql://postgres@/db?... -> postgresql://postgres:PASSWORD@/db?... (the test
    # cluster trusts local connections, so the password is carried but not checked)
    return dsn.replace("postgres@", f"postgres:{password}@", 1)


def test_repr_and_errors_never_show_the_password(postgres_dsn: str) -> None:
    store = PostgresRecordStore(_with_password(postgres_dsn, "s3cret-pw"))
    try:
        hook = PakeServerHook(PakeServer(store))
        assert "s3cret-pw" not in repr(store) + repr(hook)
        assert "dbname='pake_" in repr(store)
    finally:
        store.close()
    unreachable = "postgresql://u:s3cret-pw@/db?host=/nonexistent-socket-dir"
    with pytest.raises(PakeStoreError) as info:
        PostgresRecordStore(unreachable)
    assert "s3cret-pw" not in str(info.value) and "cannot connect" in str(info.value)
    with pytest.raises(PakeStoreError, match="not a valid PostgreSQL connection string") as info:
        PostgresRecordStore("host=x password=s3cret-pw port")  # malformed key=value form
    assert "s3cret-pw" not in str(info.value)


_RACER = """
import os, sys, time
from nautilus_tls.pake.store_postgres import PostgresRecordStore
made = []
def make():
    made.append(1)
    time.sleep(0.5)  # widen the window between the read that misses and the insert
    return os.urandom(32)
print("ready", flush=True)
sys.stdin.readline()  # every racer starts at once
store = PostgresRecordStore(sys.argv[1])
print(store.server_secret("oprf_seed", make).hex(), len(made), flush=True)
store.close()
"""


def test_processes_racing_on_an_empty_database_agree_on_one_secret(postgres_dsn: str) -> None:
    # Four servers start at once on a database without tables: creating the schema and the
    # server secret both race. Every one must come up and read the same secret.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, postgres_dsn],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=DEADLINE) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in procs] == [0] * 4, [err for _, err in results]
    secrets = {out.split()[0] for out, _ in results}
    makers = sum(int(out.split()[1]) for out, _ in results)
    assert len(secrets) == 1
    assert makers >= 2  # the race really happened: several made a value, one value won
    assert _rows(postgres_dsn, "SELECT value FROM pake_secrets") == [
        (bytes.fromhex(secrets.pop()),)
    ]


def test_concurrent_failed_logins_are_counted_exactly(postgres_dsn: str) -> None:
    # Four servers (one connection each) count failures of one user at the same time: every
    # increment returns a different count and none is lost.
    stores = [PostgresRecordStore(postgres_dsn) for _ in range(4)]
    start = threading.Barrier(len(stores), timeout=DEADLINE)
    counts: list[int] = []

    def fail(store: PostgresRecordStore) -> None:
        start.wait()
        mine = [store.add_failure("carol", 5.0, 300) for _ in range(25)]
        counts.extend(mine)

    threads = [threading.Thread(target=fail, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=DEADLINE)
        assert sorted(counts) == list(range(1, 101))
        assert stores[0].failures("carol", 6.0, 300) == 100
    finally:
        for s in stores:
            s.close()


HOSTILE_BUT_VALID = [
    "a'; DROP TABLE pake_records; --",
    "x' OR '1'='1",
    'quote"d\\back',
    "%s %(user)s $1 ?",
    "zoë 🙂 ' ; --",
]
REFUSED = [
    "nul\x00inside",
    "x" * 10240,
    b"\xff\xfenot-utf8".decode("utf-8", "surrogateescape"),
    "",
]


def test_hostile_user_names_are_stored_verbatim_or_refused(
    pg: PostgresRecordStore, postgres_dsn: str
) -> None:
    pg.put(StoredRecord("alice", "opaque", b"alice's", KSF))
    for name in HOSTILE_BUT_VALID:
        pg.put(StoredRecord(name, "opaque", name.encode(), KSF, b"salt"))
        found = pg.get(name, "opaque")
        assert found is not None and found.user == name and found.record == name.encode()
        assert pg.add_failure(name, 1.0, 60) == 1
    for name in REFUSED:
        with pytest.raises(ConfigError, match="PAKE user name"):
            StoredRecord(name, "opaque", b"r", KSF)
        for call in (
            lambda: pg.get(name, "opaque"),  # noqa: B023
            lambda: pg.delete(name, "opaque"),  # noqa: B023
            lambda: pg.add_failure(name, 1.0, 60),  # noqa: B023
            lambda: pg.failures(name, 1.0, 60),  # noqa: B023
            lambda: pg.clear_failures(name),  # noqa: B023
        ):
            with pytest.raises(ConfigError, match="PAKE user name"):
                call()
    # Every name landed as itself; nothing was interpreted as SQL.
    stored = _rows(postgres_dsn, "SELECT username, record FROM pake_records ORDER BY username")
    assert sorted(stored) == sorted(
        [("alice", b"alice's"), *((n, n.encode()) for n in HOSTILE_BUT_VALID)]
    )
    assert len(_rows(postgres_dsn, "SELECT username FROM pake_failures")) == len(HOSTILE_BUT_VALID)


def test_unreachable_server_fails_fast_with_a_clear_error() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(PakeStoreError, match=r"cannot connect: .*refused"):
        PostgresRecordStore(f"postgresql://u@127.0.0.1:{port}/db")
    # A peer that accepts TCP but never speaks: connect_timeout ends the wait.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"postgresql://u@127.0.0.1:{silent.getsockname()[1]}/db"
        started = time.monotonic()
        with pytest.raises(PakeStoreError, match=r"cannot connect: .*timeout"):
            PostgresRecordStore(url, timeout=1)
        assert time.monotonic() - started < 10


def test_a_statement_stuck_behind_a_lock_times_out(postgres_dsn: str) -> None:
    store = PostgresRecordStore(postgres_dsn, timeout=1)
    try:
        with psycopg.connect(postgres_dsn) as other:  # holds the lock until it rolls back
            other.execute("LOCK TABLE pake_failures IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(PakeStoreError, match="statement timeout"):
                store.add_failure("dave", 1.0, 60)
            assert time.monotonic() - started < 10
            other.rollback()
        assert store.add_failure("dave", 1.0, 60) == 1  # the connection is still good
    finally:
        store.close()


def test_a_dropped_connection_is_replaced_on_the_next_call(
    pg: PostgresRecordStore, postgres_dsn: str
) -> None:
    pg.put(StoredRecord("erin", "spake2plus", b"r", KSF, b"s"))
    dbname = _rows(postgres_dsn, "SELECT current_database()")[0][0]
    # What a server restart or fail-over does to the store's connection.
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
    with pytest.raises(PakeStoreError, match="PostgreSQL"):
        pg.get("erin", "spake2plus")
    found = pg.get("erin", "spake2plus")
    assert found is not None and found.salt == b"s"


def test_a_closed_store_refuses_further_calls(postgres_dsn: str) -> None:
    store = PostgresRecordStore(postgres_dsn)
    store.close()
    store.close()  # idempotent
    with pytest.raises(PakeStoreError, match="closed"):
        store.get("alice", "opaque")


def test_the_command_line_opens_postgresql_urls(postgres_dsn: str) -> None:
    for url in (postgres_dsn, postgres_dsn.replace("postgresql://", "postgres://", 1)):
        store = open_store(url)
        try:
            assert isinstance(store, PostgresRecordStore)
        finally:
            store.close()


@pytest.mark.parametrize("method", ["opaque", "spake2plus"])
def test_register_on_the_command_line_then_log_in_over_tls(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    # `pake register --store postgresql://...` writes the record; the hook `serve --pake-store
    # postgresql://...` builds logs a client in over real sockets (the blocking adapter).
    monkeypatch.setenv("NAUTILUS_PASSWORD", PASSWORD.decode())
    args = ["--store", postgres_dsn, "--user", "alice", "--method", method, "--ksf", "scrypt"]
    assert main(["pake", "register", *args]) == 0
    records = _rows(postgres_dsn, "SELECT record, salt FROM pake_records")
    assert len(records) == 1 and PASSWORD not in records[0][0] + records[0][1]

    kw = server_kwargs(argparse.Namespace(pake_store=postgres_dsn, pake_optional=False))
    server_cfg = ServerConfig(**kw)  # PAKE alone, as `serve --pake-store` without --cert
    (hook,) = [h for h in server_cfg.extension_hooks if isinstance(h, PakeServerHook)]
    store = hook.server.store
    scrypt = Ksf("scrypt", cost=15, memory=8)  # what the command line's --ksf scrypt means
    try:
        login = PakeClient("alice", PASSWORD, method=method, ksf=scrypt)  # type: ignore[arg-type]
        client_info, server_info = ADAPTERS["blocking"](ClientConfig(pake=login), server_cfg)
        assert client_info.auth == server_info.auth == method
        assert client_info.group == "X25519MLKEM768"
        assert store.failures("alice", time.time(), 300) == 0  # counted, then cleared
    finally:
        store.close()


def test_a_fleet_shares_records_and_failed_logins(postgres_dsn: str) -> None:
    # Two servers over one database: a user registered through one logs in through the
    # other, and a wrong password seen by one counts for both.
    first, second = PostgresRecordStore(postgres_dsn), PostgresRecordStore(postgres_dsn)
    try:
        register(first, "frank", PASSWORD, method="opaque", ksf=KSF)
        hook = PakeServerHook(PakeServer(second, default_ksf=KSF))
        ok = PakeClientHook("frank", PASSWORD, method="opaque", ksf=KSF)
        client_info, _ = ADAPTERS["blocking"](
            client_config(extension_hooks=(ok,)), server_config(extension_hooks=(hook,))
        )
        assert client_info.auth == "opaque"
        wrong = PakeClientHook("frank", b"wrong", method="opaque", ksf=KSF)
        client, server = engines(
            client_hooks=(QuicTransportParameters(CLIENT_PARAMS), wrong),
            server_hooks=(QuicTransportParameters(SERVER_PARAMS), hook),
        )
        expect_alert(AlertDescription.decrypt_error, lambda: run(client, server))
        assert first.failures("frank", time.time(), 300) == 1
    finally:
        first.close()
        second.close()
