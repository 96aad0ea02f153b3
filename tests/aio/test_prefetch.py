"""A verifier's blocking look-ups (did:web documents) are made in a worker thread ahead of
the handshakes of the asyncio adapter (src/nautilus_tls/aio/prefetch.py), so that the
handshake, which runs on the event loop, finds them cached. Against our local HTTPS document
server (tests/did_server.py) and our own asyncio client and server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import pytest
from certificates import pki
from cryptography.hazmat.primitives.asymmetric import ed25519
from did.test_verifier import WELL_KNOWN, _spki, holder
from did_server import document_server

from nautilus_tls.aio import connect, start_server
from nautilus_tls.aio.prefetch import blocks_in_handshake, keep_prefetched
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.did.document import did_document
from nautilus_tls.did.resolver import DidResolver
from nautilus_tls.did.verifier import DidPeerVerifier
from nautilus_tls.did.web import DidWebResolver
from nautilus_tls.errors import AlertDescription, PeerAlert, TLSError

TIMEOUT = 20.0


class ThreadRecordingResolver(DidWebResolver):
    """Our did:web resolver, noting the thread of every network fetch."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.fetch_threads: list[threading.Thread] = []

    def _fetch(self, did: str, url: Any) -> bytes:
        self.fetch_threads.append(threading.current_thread())
        return super()._fetch(did, url)


def _resolver() -> tuple[DidResolver, ThreadRecordingResolver]:
    web = ThreadRecordingResolver(config=pki().client_config(), timeout=5.0)
    return DidResolver(web), web


async def _echo(reader: Any, writer: Any) -> None:
    writer.write(await reader.read(100))
    await writer.drain()


async def _as_did_holder(port: int, key: Any, did: str | None, payload: bytes) -> bytes:
    """Connect with a self-issued certificate carrying ``did``, send, read the echo, close."""
    client = pki().client_config(client_certificate=holder(key, did).credential)
    reader, writer = await connect("127.0.0.1", port, config=client, server_name="localhost")
    writer.write(payload)
    reply = await reader.read(100)
    writer.close()
    await writer.wait_closed()
    return reply


def test_a_client_resolves_its_expected_did_web_off_the_event_loop() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    resolver, web = _resolver()

    async def main() -> tuple[bytes, threading.Thread]:
        loop_thread = threading.current_thread()
        server = await start_server(
            _echo, "127.0.0.1", 0, config=ServerConfig(certificates=(holder(key, did).credential,))
        )
        async with server:
            port = server.sockets[0].getsockname()[1]
            verifier = DidPeerVerifier(expect_did=did, resolver=resolver)
            reader, writer = await connect(
                "127.0.0.1", port, config=ClientConfig(verifier=verifier), server_name="localhost"
            )
            writer.write(b"did:web")
            reply = await reader.read(100)
            writer.close()
            await writer.wait_closed()
        return reply, loop_thread

    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki(key))).encode())
        reply, loop_thread = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert reply == b"did:web"
    # One fetch, in a worker thread; the handshake's own look-up was a cache hit.
    assert len(web.fetch_threads) == 1 and web.fetch_threads[0] is not loop_thread


def test_a_server_resolves_its_listed_did_web_before_listening_off_the_event_loop() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    resolver, web = _resolver()

    async def main() -> tuple[bytes, threading.Thread, int]:
        loop_thread = threading.current_thread()
        verifier = DidPeerVerifier(trust_dids=(did,), resolver=resolver)
        config = pki().server_config(client_auth="require", client_verifier=verifier)
        server = await start_server(_echo, "127.0.0.1", 0, config=config)
        fetched_before_any_client = len(web.fetch_threads)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reply = await _as_did_holder(port, key, did, b"mutual")
        return reply, loop_thread, fetched_before_any_client

    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki(key))).encode())
        reply, loop_thread, before = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert reply == b"mutual"
    assert before == 1 and len(web.fetch_threads) == 1
    assert web.fetch_threads[0] is not loop_thread


class CountingVerifier:
    """A plug-in with blocking look-ups: counts its prefetches and their threads."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.threads: list[threading.Thread] = []

    def prefetch(self) -> float | None:
        self.threads.append(threading.current_thread())
        return self.interval


def test_keeps_prefetching_while_the_server_serves_and_stops_after() -> None:
    verifier = CountingVerifier(0.05)

    async def main() -> tuple[int, int]:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        keep_prefetched(server, verifier, 0.05)
        await asyncio.sleep(0.5)
        while_serving = len(verifier.threads)
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0.3)
        return while_serving, len(verifier.threads)

    while_serving, after = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert while_serving >= 3
    assert after <= while_serving + 1  # at most the one under way when it closed
    assert all(t is not threading.main_thread() for t in verifier.threads)


@pytest.mark.parametrize("interval", [None, 0.0])
def test_does_not_keep_prefetching_when_the_verifier_asks_for_no_refresh(
    interval: float | None,
) -> None:
    verifier = CountingVerifier(0.05)

    async def main() -> int:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        async with server:
            keep_prefetched(server, verifier, interval)
            await asyncio.sleep(0.2)
        return len(verifier.threads)

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == 0


class SlowResolver(ThreadRecordingResolver):
    """A did:web host that takes ``delay`` seconds to answer (each fetch)."""

    def __init__(self, delay: float, **kw: Any) -> None:
        super().__init__(**kw)
        self.delay = delay

    def _fetch(self, did: str, url: Any) -> bytes:
        time.sleep(self.delay)
        return super()._fetch(did, url)


async def _heartbeat(gaps: list[float], stop: asyncio.Event) -> None:
    """The longest the loop went without running us, sampled every 10 ms."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = loop.time()
        gaps.append(now - last)
        last = now


def _resolve_any_server(web: DidWebResolver, **kw: Any) -> ServerConfig:
    verifier = DidPeerVerifier(resolve_any=True, resolver=DidResolver(web))
    return pki().server_config(client_auth="require", client_verifier=verifier, **kw)


def test_a_did_web_only_the_client_names_is_resolved_without_stalling_the_event_loop() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    web = SlowResolver(1.0, config=pki().client_config(), timeout=5.0)

    async def main() -> tuple[bytes, float, threading.Thread]:
        gaps: list[float] = []
        stop = asyncio.Event()
        beat = asyncio.ensure_future(_heartbeat(gaps, stop))
        server = await start_server(_echo, "127.0.0.1", 0, config=_resolve_any_server(web))
        async with server:
            port = server.sockets[0].getsockname()[1]
            reply = await _as_did_holder(port, key, did, b"named by the client")
        stop.set()
        await beat
        return reply, max(gaps), threading.current_thread()

    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki(key))).encode())
        reply, longest_gap, loop_thread = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert reply == b"named by the client"
    assert len(web.fetch_threads) == 1 and web.fetch_threads[0] is not loop_thread
    # The fetch took a second; on the loop it would have stalled everything that long.
    assert longest_gap < 0.5, longest_gap


def test_a_handshake_timeout_during_a_slow_resolution_fails_that_client_only() -> None:
    slow_key, fast_key = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    web = SlowResolver(1.5, config=pki().client_config(), timeout=5.0)

    async def main() -> tuple[BaseException | None, bytes]:
        config = _resolve_any_server(web, handshake_timeout=0.5)
        server = await start_server(_echo, "127.0.0.1", 0, config=config)
        async with server:
            port = server.sockets[0].getsockname()[1]
            slow = pki().client_config(client_certificate=holder(slow_key, did).credential)
            failure: BaseException | None = None
            try:
                reader, writer = await connect(
                    "127.0.0.1", port, config=slow, server_name="localhost"
                )
                writer.write(b"x")
                await reader.read(100)  # TLS 1.3: the server judges the client after our Finished
            except (TLSError, ConnectionError) as exc:
                failure = exc
            # A did:key client needs no fetch: served while the slow fetch may still run.
            reply = await _as_did_holder(port, fast_key, None, b"still serving")
        return failure, reply

    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki(slow_key))).encode())
        failure, reply = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert failure is not None
    assert reply == b"still serving"


def test_an_unreachable_did_web_host_ends_the_handshake_with_certificate_unknown() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    web = ThreadRecordingResolver(config=pki().client_config(), timeout=2.0)
    with socket.socket() as closed:  # a port with nothing listening
        closed.bind(("127.0.0.1", 0))
        did = f"did:web:localhost%3A{closed.getsockname()[1]}"

    async def main() -> BaseException | None:
        server = await start_server(_echo, "127.0.0.1", 0, config=_resolve_any_server(web))
        async with server:
            port = server.sockets[0].getsockname()[1]
            client = pki().client_config(client_certificate=holder(key, did).credential)
            try:
                reader, writer = await connect(
                    "127.0.0.1", port, config=client, server_name="localhost"
                )
                writer.write(b"x")
                await reader.read(100)
            except TLSError as exc:
                return exc
        return None

    failure = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert isinstance(failure, PeerAlert), failure
    assert failure.alert == AlertDescription.certificate_unknown
    assert len(web.fetch_threads) == 1 and web.fetch_threads[0] is not threading.main_thread()


def test_only_verifiers_that_may_block_move_handshake_reads_off_the_loop() -> None:
    assert blocks_in_handshake(DidPeerVerifier(resolve_any=True))
    assert blocks_in_handshake(DidPeerVerifier(trust_dids=("did:web:example.com",)))
    assert blocks_in_handshake(DidPeerVerifier(expect_did="did:web:example.com"))
    did_key = holder(ed25519.Ed25519PrivateKey.generate()).did
    assert not blocks_in_handshake(DidPeerVerifier(trust_dids=(did_key,)))
    assert not blocks_in_handshake(None)
    assert blocks_in_handshake(CountingVerifier(1.0))  # says nothing: assume it may
