"""The server's stapler against a real ``nautilus-tls ledger serve`` (uvicorn, 127.0.0.1) over
HTTP, under the asyncio adapter: it fetches and caches the proof, refreshes it in the
background, keeps serving when the log goes down, and answers clients that trust other logs
with nothing."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from certificates import pki
from ledger.helpers import LedgerServer, numbered_did

from nautilus_tls.aio import connect, start_server
from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.ledger.client import LedgerClient
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError
from nautilus_tls.ledger.stapler import TransparencyStapler
from nautilus_tls.ledger.sth import LogPublicKey
from nautilus_tls.ledger.transparency import RequireTransparency
from nautilus_tls.session_info import SessionInfo

pytest.importorskip("uvicorn")

T = TypeVar("T")
TIMEOUT = 20.0


@pytest.fixture
def log_server(tmp_path: Path) -> Iterator[LedgerServer]:
    srv = LedgerServer(str(tmp_path / "ledger.sqlite"), tmp_path / "log.key")
    yield srv
    srv.stop()


def _run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


async def _handshake(stapler: TransparencyStapler, require: RequireTransparency) -> SessionInfo:
    async def handle(reader: object, writer: object) -> None:
        return None

    server = await start_server(
        handle, "127.0.0.1", 0, config=pki().server_config(extension_hooks=(stapler,))
    )
    port = server.sockets[0].getsockname()[1]
    try:
        _reader, writer = await connect(
            "127.0.0.1",
            port,
            config=pki().client_config(require_transparency=require),
            server_name="localhost",
        )
        info = writer.info
        writer.close()
        return info
    finally:
        server.close()
        await server.wait_closed()


def _log_pub(tmp_path: Path) -> LogPublicKey:
    return LogPublicKey.from_pem((tmp_path / "log.pub").read_bytes())


def test_staples_a_proof_fetched_over_http_and_the_client_verifies_it(
    log_server: LedgerServer, tmp_path: Path
) -> None:
    with LedgerClient(log_server.url) as client:
        client.add(numbered_did(1))
        index = client.add(Entry.x509_chain(pki().server.chain))
    with LedgerClient(log_server.url) as source:
        stapler = TransparencyStapler(source, [pki().server.chain])
        assert stapler.refresh()
        info = _run(_handshake(stapler, RequireTransparency([_log_pub(tmp_path)])))
    report = info.transparency
    assert report is not None
    assert (report.index, report.tree_size, report.verified) == (index, 2, True)


def test_refreshes_in_the_background_and_keeps_serving_when_the_log_goes_down(
    log_server: LedgerServer, tmp_path: Path
) -> None:
    with LedgerClient(log_server.url) as client:
        client.add(Entry.x509_chain(pki().server.chain))
    source = LedgerClient(log_server.url, timeout=2.0)
    stapler = TransparencyStapler(source, [pki().server.chain], refresh_interval=0.2)
    assert stapler.refresh()
    stapler.start()
    try:
        with LedgerClient(log_server.url) as client:
            client.add(numbered_did(2))
        require = RequireTransparency([_log_pub(tmp_path)])
        deadline = time.monotonic() + TIMEOUT
        # The background thread picks up the grown log without any handshake asking for it.
        while (report := _run(_handshake(stapler, require)).transparency) and (
            report.tree_size < 2
        ):
            assert time.monotonic() < deadline, "the stapler never refreshed"
            time.sleep(0.1)
        log_server.stop()
        # The cached proof outlives the log (max_age), and handshakes never wait for it.
        started = time.monotonic()
        info = _run(_handshake(stapler, require))
        assert info.transparency is not None and info.transparency.tree_size == 2
        assert time.monotonic() - started < 2.0
    finally:
        stapler.close()
        source.close()


def test_a_server_whose_log_is_down_at_start_serves_without_the_proof(
    log_server: LedgerServer, tmp_path: Path
) -> None:
    url = log_server.url
    log_server.stop()
    with LedgerClient(url, timeout=2.0) as source:
        stapler = TransparencyStapler(source, [pki().server.chain])
        assert stapler.refresh() is False
        with pytest.raises(ProtocolError) as err:
            _run(_handshake(stapler, RequireTransparency([_log_pub(tmp_path)])))
    assert err.value.alert == AlertDescription.certificate_unknown


def test_a_chain_the_log_does_not_have_is_not_stapled(
    log_server: LedgerServer, tmp_path: Path
) -> None:
    with LedgerClient(log_server.url) as client:
        client.add(numbered_did(3))
    with LedgerClient(log_server.url) as source:
        stapler = TransparencyStapler(source, [pki().server.chain])
        assert stapler.refresh() is False
        with pytest.raises(ProtocolError) as err:
            _run(_handshake(stapler, RequireTransparency([_log_pub(tmp_path)])))
    assert err.value.alert == AlertDescription.certificate_unknown


def test_a_stapler_needs_one_to_eight_chains(log_server: LedgerServer) -> None:
    with LedgerClient(log_server.url) as source, pytest.raises(LedgerError):
        TransparencyStapler(source, [])


def test_a_forked_worker_gets_its_own_refresh_thread(log_server: LedgerServer) -> None:
    # serve --workers N builds the config (and starts the stapler) before it forks.
    with LedgerClient(log_server.url) as client:
        client.add(Entry.x509_chain(pki().server.chain))
    with LedgerClient(log_server.url) as source:
        stapler = TransparencyStapler(source, [pki().server.chain]).start()
        try:
            pid = os.fork()
            if pid == 0:  # the child: report through the exit status only
                thread = stapler._thread
                os._exit(0 if thread is not None and thread.is_alive() else 1)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
        finally:
            stapler.close()
