"""Resource limits (issue 7): each is named in defaults.py, configurable, and enforced.

* handshake timeout: the adapters cut a peer that dribbles a ClientHello at the deadline;
* handshake message size and total handshake bytes from the peer;
* certificate chain length and size;
* buffered plaintext per connection, with backpressure both ways in both adapters;
* concurrent handshakes per asyncio server (more wait, then are refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest
from certificates import Pki, pki
from pairs import client_config, handshake, server_config

from nautilus_tls import defaults
from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.config import CertifiedKey, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, ConfigError, HandshakeTimeout, ProtocolError
from nautilus_tls.record.protection import plaintext_record
from nautilus_tls.sync import TLSListener, TLSSocket
from nautilus_tls.wire.enums import ContentType

T = TypeVar("T")
TIMEOUT = 10.0


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, 60)

    return asyncio.run(bounded())


def client_hello_bytes(pki_: Pki) -> bytes:
    client = ClientConnection(pki_.client_config(), "localhost")
    client.start()
    return client.data_to_send()


# --- the limits are named and configurable ----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "default"),
    [
        ("handshake_timeout", defaults.HANDSHAKE_TIMEOUT_SECONDS),
        ("max_handshake_message_size", defaults.MAX_HANDSHAKE_MESSAGE_SIZE),
        ("max_handshake_bytes", defaults.MAX_HANDSHAKE_BYTES),
        ("max_certificate_chain_length", defaults.MAX_CERTIFICATE_CHAIN_LENGTH),
        ("max_certificate_chain_size", defaults.MAX_CERTIFICATE_CHAIN_SIZE),
        ("max_buffered_plaintext", defaults.MAX_BUFFERED_PLAINTEXT),
    ],
)
def test_limits_default_to_the_named_values_and_reject_nonsense(field: str, default: Any) -> None:
    assert getattr(client_config(), field) == default
    assert getattr(server_config(), field) == default
    with pytest.raises(ConfigError):
        client_config(**{field: 0})
    with pytest.raises(ConfigError):
        server_config(**{field: -1})


@pytest.mark.parametrize(
    ("field", "default"),
    [
        ("max_concurrent_handshakes", defaults.MAX_CONCURRENT_HANDSHAKES),
        ("max_handshakes_per_address", defaults.MAX_HANDSHAKES_PER_ADDRESS),
        ("first_byte_timeout", defaults.FIRST_BYTE_TIMEOUT_SECONDS),
    ],
)
def test_server_connection_limits_are_named_and_validated(field: str, default: Any) -> None:
    assert getattr(server_config(), field) == default
    with pytest.raises(ConfigError):
        server_config(**{field: 0})


def test_defaults_are_safe() -> None:
    assert 0 < defaults.HANDSHAKE_TIMEOUT_SECONDS <= 30
    assert defaults.MAX_HANDSHAKE_MESSAGE_SIZE <= defaults.MAX_HANDSHAKE_BYTES <= 4 << 20
    assert defaults.MAX_CERTIFICATE_CHAIN_SIZE <= defaults.MAX_HANDSHAKE_MESSAGE_SIZE
    assert defaults.MAX_BUFFERED_PLAINTEXT <= 1 << 20
    assert defaults.MAX_CONCURRENT_HANDSHAKES <= 4096


# --- handshake message size and total handshake bytes ----------------------------------------


def _fails_with(conn: ClientConnection | ServerConnection, data: bytes) -> AlertDescription:
    with pytest.raises(ProtocolError) as err:
        conn.receive_data(data)
    assert conn.state == "failed"
    sent = conn.data_to_send()
    assert sent  # the alert
    return err.value.alert


def test_rejects_handshake_message_over_the_configured_size() -> None:
    server = ServerConnection(server_config(max_handshake_message_size=16 * 1024))
    header = bytes((1,)) + (16 * 1024 + 1).to_bytes(3, "big")
    # The header alone is enough: the body is never waited for.
    alert = _fails_with(server, plaintext_record(ContentType.handshake, header))
    assert alert == AlertDescription.decode_error


def test_rejects_more_handshake_bytes_than_configured() -> None:
    client = ClientConnection(client_config(), "localhost")  # a hybrid share: ~1.4 KiB hello
    client.start()
    hello = client.data_to_send()
    server = ServerConnection(server_config(max_handshake_bytes=1000))
    assert _fails_with(server, hello) == AlertDescription.decode_error


def test_handshake_bytes_limit_counts_every_message() -> None:
    """The limit is the sum: a hello that fits, then more handshake data, is stopped."""
    client = ClientConnection(client_config(), "localhost")
    client.start()
    hello = client.data_to_send()
    server = ServerConnection(server_config(max_handshake_bytes=len(hello) + 10))
    server.receive_data(hello)
    assert server.state == "handshaking"
    server.data_to_send()
    # 11 more bytes of (plaintext) handshake data: over the limit before it is even parsed.
    with pytest.raises(ProtocolError) as err:
        server.receive_data(plaintext_record(ContentType.handshake, b"\x14" + bytes(10)))
    assert err.value.alert in (AlertDescription.decode_error, AlertDescription.unexpected_message)


def test_full_handshake_fits_the_default_limits() -> None:
    client, server = handshake(client_config(), server_config())
    assert client.state == server.state == "connected"


# --- certificate chain length and size ---------------------------------------------------------


def _long_chain_server(extra: int) -> ServerConfig:
    p = pki()
    chain = (p.server.chain[0], *([p.ca_der] * extra))
    return ServerConfig(certificates=(CertifiedKey(chain=chain, private_key=p.server.private_key),))


def test_client_rejects_chain_longer_than_configured() -> None:
    client = ClientConnection(client_config(max_certificate_chain_length=2), "localhost")
    client.start()
    server = ServerConnection(_long_chain_server(2))
    server.receive_data(client.data_to_send())
    assert _fails_with(client, server.data_to_send()) == AlertDescription.bad_certificate


def test_client_rejects_chain_larger_than_configured() -> None:
    size = len(pki().server.chain[0]) + len(pki().ca_der)
    client = ClientConnection(client_config(max_certificate_chain_size=size - 1), "localhost")
    client.start()
    server = ServerConnection(_long_chain_server(1))
    server.receive_data(client.data_to_send())
    assert _fails_with(client, server.data_to_send()) == AlertDescription.bad_certificate


def test_server_rejects_client_chain_larger_than_configured() -> None:
    p = pki()
    ccfg = client_config(client_certificate=p.client)
    scfg = server_config(
        client_auth="require", client_trust_store=p.store, max_certificate_chain_size=100
    )
    client = ClientConnection(ccfg, "localhost")
    client.start()
    server = ServerConnection(scfg)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert _fails_with(server, client.data_to_send()) == AlertDescription.bad_certificate


def test_chain_within_the_configured_limits_is_accepted() -> None:
    client, _ = handshake(client_config(max_certificate_chain_length=3), _long_chain_server(2))
    assert client.state == "connected"


def test_chain_length_limit_above_the_default_is_honoured() -> None:
    extra = defaults.MAX_CERTIFICATE_CHAIN_LENGTH  # one more than the default allows
    client, _ = handshake(
        client_config(max_certificate_chain_length=extra + 1), _long_chain_server(extra)
    )
    assert client.state == "connected"


# --- handshake timeout in the adapters ----------------------------------------------------------


def test_asyncio_server_cuts_a_dribbling_client_at_the_handshake_timeout(tls_pki: Pki) -> None:
    """One byte every 50 ms keeps the socket busy but must not extend the deadline."""

    async def main() -> float:
        server = await start_server(
            lambda r, w: None, "127.0.0.1", 0, config=tls_pki.server_config(handshake_timeout=0.5)
        )
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        hello = client_hello_bytes(tls_pki)
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def dribble() -> None:
            for b in hello[:-1]:
                writer.write(bytes((b,)))
                await asyncio.sleep(0.05)

        task = asyncio.create_task(dribble())
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
        elapsed = loop.time() - start
        task.cancel()
        assert data == b"" or data[:1] == b"\x15"  # an alert at most, then the close
        writer.close()
        server.close()
        await server.wait_closed()
        return elapsed

    elapsed = run(main())
    assert 0.4 <= elapsed < 2.0


def test_blocking_listener_cuts_a_dribbling_client_at_the_handshake_timeout(
    tls_pki: Pki,
) -> None:
    hello = client_hello_bytes(tls_pki)
    errors: list[BaseException] = []
    with TLSListener("127.0.0.1", 0, tls_pki.server_config(handshake_timeout=0.5)) as listener:

        def accept() -> None:
            try:
                listener.accept(timeout=TIMEOUT)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        with socket.create_connection(listener.address, timeout=TIMEOUT) as raw:
            start = time.monotonic()
            closed_at = None
            for b in hello[:-1]:
                try:
                    raw.sendall(bytes((b,)))
                except OSError:
                    break
                time.sleep(0.05)
                if not thread.is_alive():
                    closed_at = time.monotonic()
                    break
            thread.join(TIMEOUT)
            elapsed = (closed_at or time.monotonic()) - start
    assert len(errors) == 1 and isinstance(errors[0], HandshakeTimeout)
    assert 0.4 <= elapsed < 2.0


# --- buffered plaintext and backpressure ---------------------------------------------------------


def test_asyncio_reader_that_stops_reading_makes_the_writer_wait(tls_pki: Pki) -> None:
    """The server's handler reads nothing; the client keeps writing. The server holds at most
    max_buffered_plaintext (plus one socket read) and the client's drain() blocks."""
    limit = 64 * 1024
    release = asyncio.Event()
    seen: dict[str, int] = {}

    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        await release.wait()
        seen["buffered_before_reading"] = reader._buffered()
        total = 0
        while data := await reader.read(65536):
            total += len(data)
        seen["total"] = total
        writer.close()

    async def main() -> None:
        server = await start_server(
            handler, "127.0.0.1", 0, config=tls_pki.server_config(max_buffered_plaintext=limit)
        )
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await connect(
            "127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"
        )
        chunk = b"z" * 65536
        sent = 0
        blocked = False
        while sent < 64 * 1024 * 1024:
            writer.write(chunk)
            sent += len(chunk)
            try:
                await asyncio.wait_for(writer.drain(), 0.5)
            except TimeoutError:
                blocked = True
                break
        assert blocked, "the writer never had to wait"
        release.set()
        while True:  # now the reader reads: the writer gets going again
            try:
                await asyncio.wait_for(writer.drain(), TIMEOUT)
                break
            except TimeoutError:
                pytest.fail("the writer stayed blocked after the reader started reading")
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        for _ in range(200):
            if "total" in seen:
                break
            await asyncio.sleep(0.05)
        assert seen["total"] == sent
        assert seen["buffered_before_reading"] <= limit + 320 * 1024  # one read may overshoot
        server.close()
        await server.wait_closed()

    run(main())


def test_asyncio_writer_waits_for_a_client_that_does_not_read(tls_pki: Pki) -> None:
    """The server writes to a client that reads nothing: drain() blocks; the transport's
    buffer stays near its high-water mark instead of growing."""
    state: dict[str, Any] = {}
    proceed = asyncio.Event()

    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        chunk = b"w" * 65536
        for _ in range(1024):  # 64 MiB if nothing pushed back
            writer.write(chunk)
            try:
                await asyncio.wait_for(writer.drain(), 0.5)
            except TimeoutError:
                state["blocked"] = True
                state["write_buffer"] = writer.transport.get_write_buffer_size()
                break
        proceed.set()
        writer.close()

    async def main() -> None:
        server = await start_server(handler, "127.0.0.1", 0, config=tls_pki.server_config())
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await connect(
            "127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"
        )
        writer.transport.pause_reading()  # an application that stops reading
        await asyncio.wait_for(proceed.wait(), TIMEOUT * 3)
        assert state.get("blocked"), "the server's writer never waited"
        assert state["write_buffer"] <= 1024 * 1024
        writer.transport.abort()
        server.close()
        await server.wait_closed()

    run(main())


def test_blocking_writer_waits_for_a_reader_that_does_not_read(tls_pki: Pki) -> None:
    done = threading.Event()
    sent_all = threading.Event()
    with TLSListener("127.0.0.1", 0, tls_pki.server_config()) as listener:

        def serve() -> None:
            with listener.accept(timeout=TIMEOUT) as conn:
                conn.settimeout(TIMEOUT)
                conn.sendall(b"v" * (16 * 1024 * 1024))  # far more than the socket buffers
                sent_all.set()
                done.wait(TIMEOUT)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with TLSSocket.connect(
            listener.address,
            config=tls_pki.client_config(),
            server_name="localhost",
            timeout=TIMEOUT,
        ) as client:
            time.sleep(0.5)
            assert not sent_all.is_set(), "sendall returned though nobody read"
            got = 0
            while got < 16 * 1024 * 1024:
                data = client.recv(1 << 20)
                assert data
                got += len(data)
                assert len(client._buffer) <= 1 << 20
            assert sent_all.wait(TIMEOUT)
            done.set()
        thread.join(TIMEOUT)


# --- concurrent handshakes per server -------------------------------------------------------------


def test_asyncio_server_limits_concurrent_handshakes(tls_pki: Pki) -> None:
    """Two slots: two stalled sockets hold them, a real client waits, one more stalled socket
    waits too, and the next connection is refused. Freeing a slot lets the client through."""

    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()

    async def stalled(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(data)
        await w.drain()
        return r, w

    async def main() -> None:
        cfg = tls_pki.server_config(max_concurrent_handshakes=2, handshake_timeout=5.0)
        server = await start_server(handler, "127.0.0.1", 0, config=cfg)
        port = server.sockets[0].getsockname()[1]
        partial = client_hello_bytes(tls_pki)[:40]
        a = await stalled(port, partial)
        b = await stalled(port, partial)
        await asyncio.sleep(0.1)
        good = asyncio.create_task(
            connect("127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost")
        )
        await asyncio.sleep(0.3)
        assert not good.done(), "a third handshake ran while two were in progress"
        d = await stalled(port, partial)  # waits as well (the queue holds two)
        refused_r, refused_w = await stalled(port, partial)  # the slot is taken at byte one
        with contextlib.suppress(ConnectionResetError):  # refused with a reset: as good
            assert await asyncio.wait_for(refused_r.read(), TIMEOUT) == b""
        a[1].close()  # frees a slot: the waiting client goes first
        reader, writer = await asyncio.wait_for(good, TIMEOUT)
        writer.write(b"through\n")
        assert await asyncio.wait_for(reader.readline(), TIMEOUT) == b"through\n"
        writer.close()
        for _, w in (b, d):
            w.close()
        refused_w.close()
        server.close()
        await server.wait_closed()

    run(main())


def test_blocking_reader_holds_at_most_max_buffered_plaintext(tls_pki: Pki) -> None:
    limit = 4096
    total = 1 << 20
    with TLSListener("127.0.0.1", 0, tls_pki.server_config()) as listener:

        def serve() -> None:
            with listener.accept(timeout=TIMEOUT) as conn:
                conn.sendall(b"u" * total)
                conn.recv(1)  # until the client closes

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with TLSSocket.connect(
            listener.address,
            config=tls_pki.client_config(max_buffered_plaintext=limit),
            server_name="localhost",
            timeout=TIMEOUT,
        ) as client:
            got = 0
            most = 0
            while got < total:
                data = client.recv(100)
                got += len(data)
                most = max(most, len(client._buffer))
            assert most <= limit + 16 * 1024  # one read, plus the rest of a record
        thread.join(TIMEOUT)


# --- idle sockets and one address (issue 11 item 8) -------------------------------------------


async def _echo_line(reader: TLSReader, writer: TLSWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()


async def _echo_through(tls_pki: Pki, port: int) -> None:
    """A real client completes a handshake and gets its line back, within TIMEOUT."""
    reader, writer = await asyncio.wait_for(
        connect("127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"),
        TIMEOUT,
    )
    writer.write(b"through\n")
    assert await asyncio.wait_for(reader.readline(), TIMEOUT) == b"through\n"
    writer.close()


@contextlib.asynccontextmanager
async def _echo_server(cfg: ServerConfig) -> AsyncIterator[int]:
    """An echo server on an ephemeral loopback port (yields the port), closed on exit."""
    server = await start_server(_echo_line, "127.0.0.1", 0, config=cfg)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(ConnectionResetError):
        return await asyncio.wait_for(reader.read(), TIMEOUT) == b""
    return True


def test_asyncio_idle_sockets_take_no_handshake_slot(tls_pki: Pki) -> None:
    """Eight sockets that never send a byte do not lock out a server whose limit is four."""

    async def main() -> None:
        cfg = tls_pki.server_config(max_concurrent_handshakes=4, handshake_timeout=5.0)
        async with _echo_server(cfg) as port:
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
            await asyncio.sleep(0.1)
            await _echo_through(tls_pki, port)
            for _, w in idle:
                w.close()

    run(main())


def test_asyncio_server_closes_a_socket_that_sends_nothing(tls_pki: Pki) -> None:
    async def main() -> None:
        cfg = tls_pki.server_config(first_byte_timeout=0.3, handshake_timeout=8.0)
        async with _echo_server(cfg) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            start = time.monotonic()
            assert await _closed_by_server(reader)
            assert 0.2 <= time.monotonic() - start < 4.0  # at the first-byte timeout, not the other
            writer.close()

    run(main())


def test_asyncio_server_limits_unfinished_handshakes_per_address(tls_pki: Pki) -> None:
    async def main() -> None:
        cfg = tls_pki.server_config(max_handshakes_per_address=2, handshake_timeout=5.0)
        async with _echo_server(cfg) as port:
            first = await asyncio.open_connection("127.0.0.1", port)
            second = await asyncio.open_connection("127.0.0.1", port)
            refused_r, refused_w = await asyncio.open_connection("127.0.0.1", port)
            assert await _closed_by_server(refused_r)
            first[1].close()  # frees the address's count: a real client gets through
            await asyncio.sleep(0.1)
            await _echo_through(tls_pki, port)
            await _echo_through(tls_pki, port)  # finished handshakes no longer count
            for w in (second[1], refused_w):
                w.close()

    run(main())
