"""The asyncio adapter over loopback: handshake, streams, KeyUpdate, exporters, closing, errors."""

from __future__ import annotations

import asyncio
import errno
import logging
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from certificates import Pki
from loopback import python_ssl_server

from nautilus_tls import defaults
from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.aio.streams import _TLSProtocol
from nautilus_tls.config import ClientConfig
from nautilus_tls.connection import ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    ConfigError,
    ConnectionClosedError,
    HandshakeTimeout,
    MissingCloseNotify,
    ProtocolError,
    RemoteProtocolError,
)

T = TypeVar("T")
TIMEOUT = 10.0
Handler = Callable[[TLSReader, TLSWriter], Awaitable[None]]


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, 30)

    return asyncio.run(bounded())


async def echo(reader: TLSReader, writer: TLSWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


async def serve(handler: Handler, pki: Pki, **kw: Any) -> tuple[asyncio.Server, int]:
    server = await start_server(handler, "127.0.0.1", 0, config=pki.server_config(**kw))
    return server, server.sockets[0].getsockname()[1]


async def open_client(port: int, pki: Pki, **kw: Any) -> tuple[TLSReader, TLSWriter]:
    return await asyncio.wait_for(
        connect("127.0.0.1", port, config=pki.client_config(**kw), server_name="localhost"), TIMEOUT
    )


async def stop(server: asyncio.Server) -> None:
    server.close()
    await asyncio.wait_for(server.wait_closed(), TIMEOUT)


def test_handshake_negotiates_hybrid_pq_and_echoes(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        info = writer.info
        assert info.group == "X25519MLKEM768"
        assert info.signature_scheme == "mldsa65"
        assert info.server_name == "localhost"
        assert writer.get_extra_info("tls_info") is info
        assert writer.get_extra_info("peercert") == tls_pki.server.chain[0]
        assert writer.get_extra_info("peername")[1] == port
        assert writer.get_extra_info("sockname")[0] == "127.0.0.1"
        writer.write(b"hello\n")
        writer.writelines([b"one ", b"two\n"])
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), TIMEOUT) == b"hello\n"
        assert await asyncio.wait_for(reader.readuntil(b" "), TIMEOUT) == b"one "
        assert await asyncio.wait_for(reader.readexactly(4), TIMEOUT) == b"two\n"
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        assert writer.is_closing()
        await stop(server)

    run(main())


def test_partial_and_whole_reads_return_the_stream_in_order(tls_pki: Pki) -> None:
    # A read that takes a whole batch hands it over without a copy; one after a partial
    # read (or a readline) must still return only what is left.
    async def batches(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(b"first-batch")
        await reader.readexactly(2)
        writer.write(b"second\nrest")
        await reader.readexactly(2)
        writer.write(b"third")
        writer.write(b"fourth")

    async def main() -> None:
        server, port = await serve(batches, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        assert await asyncio.wait_for(reader.readexactly(5), TIMEOUT) == b"first"
        assert await asyncio.wait_for(reader.read(100), TIMEOUT) == b"-batch"
        writer.write(b"go")
        assert await asyncio.wait_for(reader.readline(), TIMEOUT) == b"second\n"
        assert await asyncio.wait_for(reader.read(100), TIMEOUT) == b"rest"
        writer.write(b"go")
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b"thirdfourth"
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        await stop(server)

    run(main())


def test_reads_of_any_size_over_large_batches_return_the_exact_stream(tls_pki: Pki) -> None:
    # Large batches are kept as they arrive; partial reads, readexactly across batch
    # boundaries and readline searching a kept batch must still give back the exact stream.
    rng = random.Random(20261205)
    lines = b"".join(b"line %d\n" % i for i in range(50))
    blob = rng.randbytes(300_000)
    tail = rng.randbytes(70_000)
    stream = lines + blob + tail

    async def bursts(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(lines + blob)
        await reader.readexactly(2)
        writer.write(tail)
        await reader.read()

    async def main() -> None:
        server, port = await serve(bursts, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        got = bytearray()
        for i in range(50):
            assert await asyncio.wait_for(reader.readline(), TIMEOUT) == b"line %d\n" % i
            got += b"line %d\n" % i
        writer.write(b"go")
        while len(got) < len(stream):
            size = rng.choice((1, 7, 4096, 16_384, 65_536, 100_000))
            size = min(size, len(stream) - len(got))
            chunk = await asyncio.wait_for(reader.readexactly(size), TIMEOUT)
            assert type(chunk) is bytes
            got += chunk
        assert bytes(got) == stream
        assert reader._buffered() == 0
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        await stop(server)

    run(main())


def test_key_update_both_directions_and_exporters_agree(tls_pki: Pki) -> None:
    async def main() -> None:
        server_writer: asyncio.Future[TLSWriter] = asyncio.get_running_loop().create_future()

        async def handler(reader: TLSReader, writer: TLSWriter) -> None:
            server_writer.set_result(writer)
            await echo(reader, writer)

        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        peer = await asyncio.wait_for(server_writer, TIMEOUT)
        before = writer.export_keying_material(b"EXPERIMENTAL-test", b"ctx", 32)
        assert before == peer.export_keying_material(b"EXPERIMENTAL-test", b"ctx", 32)
        writer.key_update(request_peer=True)
        writer.write(b"after update")
        assert await asyncio.wait_for(reader.readexactly(12), TIMEOUT) == b"after update"
        assert writer.get_extra_info("key_updates") == {"sent": 1, "received": 1}
        assert peer.get_extra_info("key_updates") == {"sent": 1, "received": 1}
        # The exporter does not change with the traffic keys (RFC 8446 §7.5).
        assert writer.export_keying_material(b"EXPERIMENTAL-test", b"ctx", 32) == before
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        await stop(server)

    run(main())


def test_clean_close_reads_as_empty_bytes(tls_pki: Pki) -> None:
    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(b"bye")
        writer.close()

    async def main() -> None:
        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b"bye"
        assert await reader.read(10) == b""
        assert reader.at_eof()
        with pytest.raises(asyncio.IncompleteReadError):
            await reader.readexactly(1)
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        await stop(server)

    run(main())


def test_eof_without_close_notify_raises_truncation(tls_pki: Pki) -> None:
    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(b"partial")
        await writer.drain()
        writer.transport.close()  # TCP FIN without close_notify

    async def main() -> None:
        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        assert await asyncio.wait_for(reader.readexactly(7), TIMEOUT) == b"partial"
        with pytest.raises(RemoteProtocolError, match="truncation"):
            await asyncio.wait_for(reader.read(100), TIMEOUT)
        with pytest.raises(ConnectionClosedError):
            writer.write(b"more")
        writer.close()
        await stop(server)

    run(main())


def test_half_close_lets_the_server_answer_after_close_notify(tls_pki: Pki) -> None:
    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        request = await reader.read()  # until the client's close_notify
        writer.write(b"got " + request)

    async def main() -> None:
        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        writer.write(b"question")
        writer.close()
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b"got question"
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        await stop(server)

    run(main())


def test_rejects_server_from_unknown_ca(
    tls_pki: Pki, other_pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki)
        with pytest.raises(BadCertificate) as info:
            await asyncio.wait_for(
                connect(
                    "127.0.0.1", port, config=other_pki.client_config(), server_name="localhost"
                ),
                TIMEOUT,
            )
        assert info.value.alert == AlertDescription.unknown_ca
        await stop(server)

    with caplog.at_level(logging.DEBUG, logger="nautilus_tls.aio"):
        run(main())


def test_rejects_wrong_server_name(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki)
        with pytest.raises(BadCertificate):
            await asyncio.wait_for(
                connect(
                    "127.0.0.1", port, config=tls_pki.client_config(), server_name="example.com"
                ),
                TIMEOUT,
            )
        await stop(server)

    run(main())


def test_server_name_defaults_to_host(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki)
        _reader, writer = await asyncio.wait_for(
            connect("127.0.0.1", port, config=tls_pki.client_config()), TIMEOUT
        )
        assert writer.info.peer_certificate_subject is not None
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        await stop(server)

    run(main())


def test_failed_server_handshake_is_logged_without_running_handler(
    tls_pki: Pki, other_pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        calls.append("handler")

    async def main() -> None:
        server, port = await serve(
            handler, tls_pki, client_auth="require", client_trust_store=tls_pki.store
        )
        # The client finishes its side (TLS 1.3 client auth), then learns of the rejection.
        reader, writer = await open_client(port, tls_pki, client_certificate=other_pki.client)
        with pytest.raises(ProtocolError) as info:
            await asyncio.wait_for(reader.read(), TIMEOUT)
        assert info.value.alert == AlertDescription.unknown_ca
        writer.close()
        await stop(server)

    with caplog.at_level(logging.DEBUG, logger="nautilus_tls.aio"):
        run(main())
    assert calls == []
    assert any(
        "handshake" in r.getMessage() and "unknown_ca" in r.getMessage() for r in caplog.records
    )


def test_mutual_tls_reports_client_certificate(tls_pki: Pki) -> None:
    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write((writer.info.peer_certificate_subject or "none").encode())

    async def main() -> None:
        server, port = await serve(
            handler, tls_pki, client_auth="require", client_trust_store=tls_pki.store
        )
        reader, writer = await open_client(port, tls_pki, client_certificate=tls_pki.client)
        assert b"client.nautilus.test" in await asyncio.wait_for(reader.read(), TIMEOUT)
        assert writer.info.client_certificate_scheme == "mldsa65"
        writer.close()
        await stop(server)

    run(main())


def test_client_handshake_timeout(tls_pki: Pki) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers the ClientHello
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(HandshakeTimeout):
            await asyncio.wait_for(
                connect(
                    "127.0.0.1",
                    port,
                    config=tls_pki.client_config(handshake_timeout=0.3),
                    server_name="localhost",
                ),
                TIMEOUT,
            )
        assert loop.time() - start < 5
        await stop(server)

    run(main())


def test_server_closes_a_silent_client_after_the_handshake_timeout(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki, handshake_timeout=0.3)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""  # closed by the server
        writer.close()
        await stop(server)

    run(main())


def test_garbage_from_client_gets_an_alert_and_a_close(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
        assert data[:1] == b"\x15"  # an alert record
        writer.close()
        await stop(server)

    run(main())


def test_backpressure_pauses_reading_and_resumes(tls_pki: Pki) -> None:
    total = 4 * defaults.MAX_BUFFERED_PLAINTEXT

    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        chunk = b"x" * 65536
        for _ in range(total // len(chunk)):
            writer.write(chunk)
            await writer.drain()

    async def main() -> None:
        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while writer.transport.is_reading() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert not writer.transport.is_reading()
        buffered = reader._buffered()
        # Paused once over the limit; one socket read (asyncio reads up to 256 KiB) may overshoot.
        assert (
            defaults.MAX_BUFFERED_PLAINTEXT
            < buffered
            <= defaults.MAX_BUFFERED_PLAINTEXT + 320 * 1024
        )
        got = 0
        while got < total:
            got += len(await asyncio.wait_for(reader.read(65536), TIMEOUT))
        assert got == total
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
        writer.close()
        await stop(server)

    run(main())


def test_readuntil_limit_and_readline_value_error(tls_pki: Pki) -> None:
    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(b"y" * (defaults.MAX_BUFFERED_PLAINTEXT + 10))
        await writer.drain()
        await reader.read()

    async def main() -> None:
        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        with pytest.raises(asyncio.LimitOverrunError):
            await asyncio.wait_for(reader.readuntil(b"\n"), TIMEOUT)
        writer.close()
        await stop(server)

    run(main())


def test_async_line_iteration(tls_pki: Pki) -> None:
    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(b"a\nb\nc")

    async def main() -> None:
        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        lines = [line async for line in reader]
        assert lines == [b"a\n", b"b\n", b"c"]
        writer.close()
        await stop(server)

    run(main())


def test_handler_exception_aborts_the_connection(tls_pki: Pki) -> None:
    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        raise RuntimeError("handler bug")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        seen: list[BaseException] = []
        loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx["exception"]))
        server, port = await serve(handler, tls_pki)
        reader, writer = await open_client(port, tls_pki)
        # No close_notify: the client must not mistake the crash for a clean end.
        with pytest.raises((RemoteProtocolError, ConnectionClosedError)):
            await asyncio.wait_for(reader.read(), TIMEOUT)
        assert any(isinstance(e, RuntimeError) for e in seen)
        writer.close()
        await stop(server)

    run(main())


def test_rejects_ssl_argument(tls_pki: Pki) -> None:
    async def main() -> None:
        with pytest.raises(ConfigError):
            await connect("127.0.0.1", 1, config=tls_pki.client_config(), ssl=True)

    run(main())


def test_alpn_is_negotiated(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki, alpn_protocols=(b"h2", b"http/1.1"))
        _reader, writer = await open_client(port, tls_pki, alpn_protocols=(b"http/1.1",))
        assert writer.info.alpn == "http/1.1"
        writer.close()
        await stop(server)

    run(main())


# --- peers that leave without close_notify (issue 11, item 18) -----------------------------


async def open_python_ssl_client(
    port: int, pki_dir: Path, **kw: Any
) -> tuple[TLSReader, TLSWriter]:
    config = ClientConfig(
        trust_store=TrustStore.from_file(pki_dir / "ca.pem"), x509_profile="private", **kw
    )
    return await asyncio.wait_for(
        connect("127.0.0.1", port, config=config, server_name="localhost"), TIMEOUT
    )


@pytest.mark.parametrize("size", [65536, -1])
def test_read_delivers_the_reply_before_a_reset(openssl_pki: Path, size: int) -> None:
    async def main() -> None:
        with python_ssl_server(openssl_pki, then="reset") as port:
            reader, writer = await open_python_ssl_client(port, openssl_pki)
            writer.write(b"ping")
            await writer.drain()
            assert await asyncio.wait_for(reader.read(size), TIMEOUT) == b"ping"
            with pytest.raises(ConnectionClosedError, match="reset"):
                await asyncio.wait_for(reader.read(size), TIMEOUT)
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)

    run(main())


def test_ragged_eof_allow_ends_reading_cleanly(openssl_pki: Path) -> None:
    async def main() -> None:
        with python_ssl_server(openssl_pki, then="close", connections=2) as port:
            for ragged, end in (("error", MissingCloseNotify), ("allow", None)):
                reader, writer = await open_python_ssl_client(port, openssl_pki, ragged_eof=ragged)
                writer.write(b"ping")
                assert await asyncio.wait_for(reader.read(100), TIMEOUT) == b"ping"
                if end is None:
                    assert await asyncio.wait_for(reader.read(100), TIMEOUT) == b""
                else:
                    with pytest.raises(end, match="without close_notify") as exc:
                        await asyncio.wait_for(reader.read(100), TIMEOUT)
                    assert "(alert:" not in str(exc.value)
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), TIMEOUT)

    run(main())


def test_close_does_not_raise_when_the_peer_has_already_left(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await serve(echo, tls_pki)
        _reader, writer = await open_client(port, tls_pki)
        transport = writer.transport

        def peer_gone() -> None:  # what shutdown() says after a reset beat it (loopback)
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")

        transport.write_eof = peer_gone  # type: ignore[method-assign]
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        assert transport.is_closing()
        await stop(server)

    run(main())


def test_the_per_connection_protocol_object_has_no_instance_dict(tls_pki: Pki) -> None:
    """Idle connections are cheap: the protocol holds its state in slots (past 30 attributes a
    dict stops sharing keys between instances and costs ~1.2 KiB per connection)."""

    async def main() -> _TLSProtocol:
        conn = ServerConnection(tls_pki.server_config())
        return _TLSProtocol(conn, loop=asyncio.get_running_loop(), handshake_timeout=1.0)

    protocol = asyncio.run(main())
    assert not hasattr(protocol, "__dict__")
