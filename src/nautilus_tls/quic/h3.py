"""HTTP/3 over our TLS on QUIC, through aioquic's h3 layer: a GET client and a server that
answers requests with a responder function (ALPN ``h3``)."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, ProtocolNegotiated, QuicEvent

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import ConnectionClosedError, TLSError
from nautilus_tls.quic.aioquic_tls import NautilusQuicConnection
from nautilus_tls.quic.api import connect, server_quic_configuration
from nautilus_tls.quic.endpoint import (
    DEFAULT_MAX_CONNECTIONS,
    HandshakeObserver,
    QuicEndpoint,
    start_endpoint,
)
from nautilus_tls.quic.retry import RetryTokens
from nautilus_tls.session_info import SessionInfo

MAX_BODY = 16 * 1024 * 1024  # what a GET reads at most
MAX_REQUEST_BODY = 64 * 1024  # what the server buffers of a request body


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP/3 response as :func:`http3_get` returns it: status, header fields, body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes = field(repr=False)


@dataclass
class _Exchange:
    """One request/response on one stream, as it arrives."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    done: asyncio.Future[None] | None = None


class H3ClientProtocol(QuicConnectionProtocol):
    """aioquic's protocol with an HTTP/3 client on top."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._http = H3Connection(self._quic)
        self._exchanges: dict[int, _Exchange] = {}

    async def get(self, authority: str, path: str, *, limit: int = MAX_BODY) -> Response:
        stream_id = self._quic.get_next_available_stream_id()
        exchange = _Exchange(done=asyncio.get_running_loop().create_future())
        self._exchanges[stream_id] = exchange
        self._http.send_headers(
            stream_id,
            [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", authority.encode("idna")),
                (b":path", path.encode("ascii")),
                (b"user-agent", b"nautilus-tls"),
            ],
            end_stream=True,
        )
        self.transmit()
        assert exchange.done is not None
        try:
            await exchange.done
        finally:
            del self._exchanges[stream_id]
        if len(exchange.body) > limit:
            raise TLSError(f"the HTTP/3 body is longer than {limit} bytes")
        status = dict(exchange.headers).get(b":status", b"0")
        return Response(int(status), tuple(exchange.headers), bytes(exchange.body))

    def quic_event_received(self, event: QuicEvent) -> None:
        # Not passed on to QuicConnectionProtocol: it would make asyncio streams of the
        # HTTP/3 streams (connection events are handled before this method is called).
        if isinstance(event, ConnectionTerminated):
            # A request in flight fails now instead of waiting for a reply that cannot come.
            for exchange in self._exchanges.values():
                if exchange.done is not None and not exchange.done.done():
                    exchange.done.set_exception(
                        ConnectionClosedError(
                            f"the QUIC connection closed (error {event.error_code:#x}:"
                            f" {event.reason_phrase})"
                        )
                    )
            return
        for h3_event in self._http.handle_event(event):
            self._http_event(h3_event)

    def _http_event(self, event: H3Event) -> None:
        if not isinstance(event, HeadersReceived | DataReceived):
            return
        exchange = self._exchanges.get(event.stream_id)
        if exchange is None or exchange.done is None or exchange.done.done():
            return
        if isinstance(event, HeadersReceived):
            exchange.headers.extend(event.headers)
        else:
            exchange.body += event.data
            if len(exchange.body) > MAX_BODY:
                exchange.done.set_result(None)  # get() refuses it; nothing more is kept
                return
        if event.stream_ended:
            exchange.done.set_result(None)


async def http3_get(
    host: str,
    port: int,
    path: str = "/",
    *,
    config: ClientConfig,
    server_name: str | None = None,
    quic: QuicConfiguration | None = None,
    limit: int = MAX_BODY,
) -> tuple[Response, SessionInfo]:
    """GET ``path`` over HTTP/3; the response and what the handshake negotiated."""
    if b"h3" not in config.alpn_protocols:
        raise TLSError("an HTTP/3 client offers ALPN h3")
    async with connect(
        host,
        port,
        config=config,
        server_name=server_name,
        quic=quic,
        create_protocol=H3ClientProtocol,
    ) as client:
        protocol = client.protocol
        assert isinstance(protocol, H3ClientProtocol)
        response = await protocol.get(server_name or host, path, limit=limit)
        return response, client.info


# --- server ------------------------------------------------------------------------------

# (method, path, session) -> (status, content type, body)
Responder = Callable[[str, str, SessionInfo], tuple[int, str, bytes]]


def page_for(info: SessionInfo) -> bytes:
    """The small HTML page the demo server answers ``GET /`` with: it names the group."""
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in (
            ("group", info.group),
            ("cipher suite", info.cipher_suite),
            ("signature scheme", info.signature_scheme),
            ("ALPN", info.alpn),
            ("resumed", info.resumed),
            ("hello retry", info.hello_retry),
        )
    )
    return (
        "<!doctype html><html><head><title>Nautilus TLS over QUIC</title></head><body>"
        f"<h1>Hello over HTTP/3, key exchange {html.escape(str(info.group))}</h1>"
        f"<table>{rows}</table></body></html>"
    ).encode()


def demo_responder(method: str, path: str, info: SessionInfo) -> tuple[int, str, bytes]:
    if method != "GET":
        return 405, "text/plain", b"only GET\n"
    if path != "/":
        return 404, "text/plain", b"not found\n"
    return 200, "text/html; charset=utf-8", page_for(info)


class H3ServerProtocol(QuicConnectionProtocol):
    """aioquic's protocol with an HTTP/3 server answering through a responder."""

    responder: Responder = staticmethod(demo_responder)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._http: H3Connection | None = None
        self._requests: dict[int, _Exchange] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self._http = H3Connection(self._quic)
        if self._http is not None:
            for h3_event in self._http.handle_event(event):
                self._http_event(h3_event)

    def _http_event(self, event: H3Event) -> None:
        if isinstance(event, HeadersReceived):
            request = self._requests.setdefault(event.stream_id, _Exchange())
            request.headers.extend(event.headers)
        elif isinstance(event, DataReceived):
            request = self._requests.setdefault(event.stream_id, _Exchange())
            if len(request.body) + len(event.data) > MAX_REQUEST_BODY:
                self._answer(event.stream_id, 413, "text/plain", b"request body too large\n")
                return
            request.body += event.data
        else:
            return
        if event.stream_ended and event.stream_id in self._requests:
            request = self._requests.pop(event.stream_id)
            headers = dict(request.headers)
            method = headers.get(b":method", b"").decode("ascii", "replace")
            path = headers.get(b":path", b"").decode("ascii", "replace")
            connection = self._quic
            info = (
                connection.session_info if isinstance(connection, NautilusQuicConnection) else None
            )
            if info is None:
                self._answer(event.stream_id, 500, "text/plain", b"no TLS session\n")
                return
            status, content_type, body = type(self).responder(method, path, info)
            self._answer(event.stream_id, status, content_type, body)

    def _answer(self, stream_id: int, status: int, content_type: str, body: bytes) -> None:
        self._requests.pop(stream_id, None)
        assert self._http is not None
        self._http.send_headers(
            stream_id,
            [
                (b":status", str(status).encode()),
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"server", b"nautilus-tls"),
            ],
        )
        self._http.send_data(stream_id, body, end_stream=True)
        self.transmit()


async def serve_http3(
    host: str,
    port: int,
    *,
    config: ServerConfig,
    responder: Responder = demo_responder,
    quic: QuicConfiguration | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    on_handshake: HandshakeObserver | None = None,
    retry: RetryTokens | None = None,
) -> QuicEndpoint:
    """An HTTP/3 server on UDP ``host``:``port``; ``responder`` answers each request,
    ``on_handshake(info, address)`` is told of every completed handshake; ``retry`` validates
    client addresses with a Retry packet first."""
    if b"h3" not in config.alpn_protocols:
        raise TLSError("an HTTP/3 server offers ALPN h3")
    protocol = type("H3Server", (H3ServerProtocol,), {"responder": staticmethod(responder)})
    return await start_endpoint(
        host,
        port,
        configuration=server_quic_configuration(config, quic),
        tls_config=config,
        create_protocol=protocol,
        max_connections=max_connections,
        on_handshake=on_handshake,
        retry=retry,
    )
