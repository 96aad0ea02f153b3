"""The asyncio Transport over TLS: create_connection / create_server / start_tls with plain
asyncio Protocols, over loopback."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from certificates import Pki

from nautilus_tls.aio import TLSReader, TLSWriter, start_server
from nautilus_tls.aio.transport import (
    TLSTransport,
    create_connection,
    create_server,
    start_tls,
    start_tls_streams,
)
from nautilus_tls.errors import BadCertificate, ConfigError, MissingCloseNotify
from nautilus_tls.httpx import AsyncHTTPTransport, session_info
from nautilus_tls.sslobject import TLSObject

T = TypeVar("T")
TIMEOUT = 10.0


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, 30)

    return asyncio.run(bounded())


class Recorder(asyncio.Protocol):
    """Records what the transport tells it; ``lost`` resolves with connection_lost's argument."""

    def __init__(self, *, keep_open_on_eof: bool = False) -> None:
        self.transport: Any = None
        self.data = bytearray()
        self.got_data = asyncio.Event()
        self.eof = asyncio.Event()
        self.keep_open_on_eof = keep_open_on_eof
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.got_data.set()

    def eof_received(self) -> bool:
        self.eof.set()
        return self.keep_open_on_eof

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class UpperEcho(Recorder):
    """Server side: answers each chunk upper-cased; on the peer's EOF answers "bye" and closes."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.transport.write(data.upper())

    def eof_received(self) -> bool:
        super().eof_received()
        self.transport.write(b"bye")
        self.transport.close()
        return True


async def _server(pki: Pki, factory: Any = UpperEcho, **kw: Any) -> tuple[asyncio.Server, int]:
    server = await create_server(factory, "127.0.0.1", 0, config=pki.server_config(**kw))
    return server, server.sockets[0].getsockname()[1]


async def _plain_connection(port: int) -> asyncio.Transport:
    loop = asyncio.get_running_loop()
    plain, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    assert isinstance(plain, asyncio.Transport)
    return plain


async def _wait_for(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), TIMEOUT)


def test_round_trips_data_and_half_closes_with_write_eof(tls_pki: Pki) -> None:
    async def main() -> tuple[bytes, Exception | None]:
        server, port = await _server(tls_pki)
        async with server:
            transport, proto = await create_connection(
                Recorder, "127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"
            )
            assert isinstance(proto, Recorder) and isinstance(transport, TLSTransport)
            transport.write(b"hello")
            await _wait_for(proto.got_data)
            assert transport.can_write_eof()
            transport.write_eof()  # close_notify; the server still answers
            with pytest.raises(RuntimeError):
                transport.write(b"late")
            await _wait_for(proto.eof)
            lost = await asyncio.wait_for(proto.lost, TIMEOUT)
            return bytes(proto.data), lost

    data, lost = run(main())
    assert data == b"HELLObye"
    assert lost is None


def test_exposes_ssl_object_like_ssl(tls_pki: Pki) -> None:
    async def main() -> dict[str, Any]:
        server, port = await _server(tls_pki, alpn_protocols=(b"h2", b"http/1.1"))
        async with server:
            transport, proto = await create_connection(
                Recorder,
                "127.0.0.1",
                port,
                config=tls_pki.client_config(alpn_protocols=(b"h2",)),
                server_name="localhost",
            )
            ssl_object = transport.get_extra_info("ssl_object")
            assert isinstance(ssl_object, TLSObject)
            seen = {
                "alpn": ssl_object.selected_alpn_protocol(),
                "version": ssl_object.version(),
                "cipher": ssl_object.cipher(),
                "peercert": ssl_object.getpeercert(binary_form=True),
                "info": ssl_object.session_info,
                "sslcontext": transport.get_extra_info("sslcontext"),
                "peername": transport.get_extra_info("peername"),
                "tls_info": transport.get_extra_info("tls_info"),
            }
            transport.close()
            assert await asyncio.wait_for(proto.lost, TIMEOUT) is None
            return seen

    seen = run(main())
    assert seen["alpn"] == "h2" and seen["version"] == "TLSv1.3"
    assert seen["cipher"][1] == "TLSv1.3" and seen["cipher"][2] in (128, 256)
    assert seen["peercert"] == tls_pki.server.chain[0]
    assert seen["info"] is seen["tls_info"] and seen["info"].alpn == "h2"
    assert seen["sslcontext"] is not None  # truthy: frameworks read it as "this is https"
    assert seen["peername"][0] == "127.0.0.1"


def test_rejects_untrusted_server_in_create_connection(tls_pki: Pki, other_pki: Pki) -> None:
    async def main() -> None:
        server, port = await _server(tls_pki)
        async with server:
            with pytest.raises(BadCertificate):
                await create_connection(
                    Recorder,
                    "127.0.0.1",
                    port,
                    config=other_pki.client_config(),
                    server_name="localhost",
                )

    run(main())


def test_pause_reading_holds_data_until_resumed(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await _server(tls_pki)
        async with server:
            transport, proto = await create_connection(
                Recorder, "127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"
            )
            assert isinstance(proto, Recorder)
            transport.pause_reading()
            assert not transport.is_reading()
            transport.write(b"abc")
            await asyncio.sleep(0.3)
            assert proto.data == b""
            transport.resume_reading()
            await _wait_for(proto.got_data)
            assert proto.data == b"ABC"
            transport.close()
            await asyncio.wait_for(proto.lost, TIMEOUT)

    run(main())


def test_protocol_error_in_data_received_aborts_the_connection(tls_pki: Pki) -> None:
    class Broken(Recorder):
        def data_received(self, data: bytes) -> None:
            raise ValueError("application bug")

    async def main() -> Exception | None:
        loop = asyncio.get_running_loop()
        reported: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: reported.append(context))
        server, port = await _server(tls_pki)
        async with server:
            transport, proto = await create_connection(
                Broken, "127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"
            )
            assert isinstance(proto, Recorder)
            transport.write(b"x")
            lost = await asyncio.wait_for(proto.lost, TIMEOUT)
        assert isinstance(reported[0]["exception"], ValueError)
        return lost

    assert run(main()) is None  # we aborted: nothing failed in TLS


def test_start_tls_upgrades_both_ends_after_a_starttls_line(tls_pki: Pki) -> None:
    async def main() -> tuple[bytes, str]:
        served: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def plain_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert await reader.readline() == b"STARTTLS\r\n"
            tls_reader, tls_writer = await start_tls_streams(
                reader, writer, config=tls_pki.server_config()
            )
            data = await tls_reader.read(100)
            tls_writer.write(data[::-1])
            await tls_writer.drain()
            served.set_result(tls_writer.info.cipher_suite)
            tls_writer.close()
            await tls_writer.wait_closed()

        server = await asyncio.start_server(plain_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            plain = await _plain_connection(port)
            plain.write(b"STARTTLS\r\n")  # the ClientHello may share the server's read
            proto = Recorder()
            transport = await start_tls(
                plain, proto, config=tls_pki.client_config(), server_hostname="localhost"
            )
            transport.write(b"stressed")
            await _wait_for(proto.eof)
            await asyncio.wait_for(proto.lost, TIMEOUT)
            return bytes(proto.data), await served

    data, suite = run(main())
    assert data == b"desserts"
    assert suite.startswith("TLS_")


def test_start_tls_failure_aborts_the_transport(tls_pki: Pki, other_pki: Pki) -> None:
    async def main() -> None:
        server, port = await _server(tls_pki)
        async with server:
            plain = await _plain_connection(port)
            with pytest.raises(BadCertificate):
                await start_tls(
                    plain, Recorder(), config=other_pki.client_config(), server_hostname="localhost"
                )
            assert plain.is_closing()

    run(main())


def test_rejects_start_tls_without_server_hostname_or_config(tls_pki: Pki) -> None:
    async def main() -> None:
        server, port = await _server(tls_pki)
        async with server:
            plain = await _plain_connection(port)
            with pytest.raises(ConfigError, match="server_hostname"):
                await start_tls(plain, Recorder(), config=tls_pki.client_config())
            with pytest.raises(ConfigError, match="ClientConfig or a ServerConfig"):
                await start_tls(plain, Recorder(), config=object())  # type: ignore[arg-type]
            plain.close()

    run(main())


def test_start_tls_streams_survives_the_plain_writer_being_collected(tls_pki: Pki) -> None:
    async def main() -> bytes:
        server, port = await _server(tls_pki)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            tls_reader, tls_writer = await start_tls_streams(
                reader, writer, config=tls_pki.client_config(), server_hostname="localhost"
            )
            del reader, writer  # asyncio.StreamWriter.__del__ closes its transport
            gc.collect()
            tls_writer.write(b"still here")
            data = await asyncio.wait_for(tls_reader.readexactly(10), TIMEOUT)
            tls_writer.close()
            return data

    assert run(main()) == b"STILL HERE"


def test_uvicorn_serves_https_over_the_tls_transport(tls_pki: Pki) -> None:
    """uvicorn's own HTTP protocol, unchanged, on create_server: scope["scheme"] is https and
    httpx (through nautilus_tls.httpx) gets the answer over a resumed second connection."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = f"{scope['scheme']} {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    async def main() -> list[tuple[str, bool]]:
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        config.load()
        state = uvicorn.Server(config).server_state

        def protocol() -> asyncio.Protocol:
            made: asyncio.Protocol = config.http_protocol_class(
                config=config, server_state=state, app_state={}
            )
            return made

        server = await create_server(
            protocol, "127.0.0.1", 0, config=tls_pki.server_config(alpn_protocols=(b"http/1.1",))
        )
        port = server.sockets[0].getsockname()[1]
        seen: list[tuple[str, bool]] = []
        async with server:
            transport = AsyncHTTPTransport(
                config=tls_pki.client_config(),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
            )
            async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
                for path in ("/a", "/b"):
                    response = await client.get(f"https://localhost:{port}{path}")
                    info = session_info(response)
                    seen.append((response.text, info is not None and info.resumed))
        return seen

    assert run(main()) == [("https /a", False), ("https /b", True)]


class Flow(Recorder):
    """Counts the flow-control calls the transport makes."""

    def __init__(self) -> None:
        super().__init__()
        self.paused = asyncio.Event()
        self.resumed = asyncio.Event()

    def pause_writing(self) -> None:
        self.paused.set()

    def resume_writing(self) -> None:
        self.resumed.set()


def test_pauses_and_resumes_writing_with_the_socket_buffer(tls_pki: Pki) -> None:
    sink: list[Recorder] = []

    def slow_reader() -> Recorder:
        proto = Recorder()
        sink.append(proto)
        return proto

    async def main() -> int:
        server, port = await _server(tls_pki, factory=slow_reader)
        async with server:
            transport, proto = await create_connection(
                Flow, "127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"
            )
            assert isinstance(proto, Flow)
            await asyncio.sleep(0.1)
            sink[0].transport.pause_reading()  # the server stops reading
            chunk = b"x" * 65536
            for _ in range(256):  # 16 MiB, far beyond the socket buffers
                transport.write(chunk)
                if proto.paused.is_set():
                    break
                await asyncio.sleep(0)
            assert proto.paused.is_set()
            sink[0].transport.resume_reading()
            await _wait_for(proto.resumed)
            transport.abort()
            await asyncio.wait_for(proto.lost, TIMEOUT)
            return len(sink[0].data)

    assert run(main()) > 0


def test_reports_truncation_without_close_notify_to_connection_lost(tls_pki: Pki) -> None:
    async def cut(reader: TLSReader, writer: TLSWriter) -> None:
        writer.write(b"partial")
        await writer.drain()
        writer.transport.close()  # TCP FIN without close_notify

    async def main() -> tuple[bytes, Exception | None]:
        server = await start_server(cut, "127.0.0.1", 0, config=tls_pki.server_config())
        port = server.sockets[0].getsockname()[1]
        async with server:
            _, proto = await create_connection(
                Recorder, "127.0.0.1", port, config=tls_pki.client_config(), server_name="localhost"
            )
            assert isinstance(proto, Recorder)
            lost = await asyncio.wait_for(proto.lost, TIMEOUT)
            return bytes(proto.data), lost

    data, lost = run(main())
    assert data == b"partial"  # what came before the cut is delivered first
    assert isinstance(lost, MissingCloseNotify)


def test_rejects_a_client_that_sends_garbage_before_any_protocol_exists(
    tls_pki: Pki,
) -> None:
    made: list[Recorder] = []

    def factory() -> Recorder:
        proto = Recorder()
        made.append(proto)
        return proto

    async def main() -> bytes:
        server, port = await _server(tls_pki, factory=factory)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # not a TLS record
            answer = await asyncio.wait_for(reader.read(), TIMEOUT)
            writer.close()
            return answer

    answer = run(main())
    assert answer[:1] == b"\x15"  # an alert record, then the close
    assert made == []  # the application never saw the connection
