"""QUIC peers for the tests: our TLS on aioquic's transport (NautilusQuicConnection) and
UNMODIFIED aioquic, over loopback UDP (asyncio) or datagram by datagram in memory.

Certificates come from the tests' one PKI (certificates.py). Everything is bounded: loops
have a round limit and every await a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from aioquic.asyncio import serve as aioquic_serve
from aioquic.asyncio.client import connect as aioquic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import QuicEvent
from certificates import pki

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.quic.aioquic_tls import NautilusQuicConnection
from nautilus_tls.quic.api import echo as echo_handler
from nautilus_tls.quic.endpoint import QuicEndpoint, open_connection, start_endpoint
from nautilus_tls.quic.retry import RetryTokens
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.tools.certgen import cert_to_pem
from nautilus_tls.wire.enums import NamedGroup

HOST = "127.0.0.1"
ECHO_ALPN = "nautilus-echo"
TIMEOUT = 20.0
T = TypeVar("T")

# What browsers send over QUIC, and the QUIC default of issue 13 item 4.
TWO_SHARES = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)
GROUPS = (NamedGroup.X25519MLKEM768, NamedGroup.x25519, NamedGroup.secp256r1)


def run(coro: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


# --- configurations ---------------------------------------------------------------------------


def our_client_config(alg: str = "mldsa65", **kw: Any) -> ClientConfig:
    kw.setdefault("groups", GROUPS)
    kw.setdefault("key_share_groups", TWO_SHARES)
    kw.setdefault("alpn_protocols", (ECHO_ALPN.encode(),))
    return pki(alg).client_config(**kw)


def our_server_config(alg: str = "mldsa65", **kw: Any) -> ServerConfig:
    kw.setdefault("alpn_protocols", (ECHO_ALPN.encode(),))
    return pki(alg).server_config(**kw)


def quic_config(*, is_client: bool, alpn: str = ECHO_ALPN, **kw: Any) -> QuicConfiguration:
    return QuicConfiguration(is_client=is_client, alpn_protocols=[alpn], **kw)


def aioquic_server_config(alg: str, alpn: str = ECHO_ALPN) -> QuicConfiguration:
    """An unmodified aioquic server configuration with the test PKI's ``alg`` leaf."""
    from cryptography import x509

    cfg = quic_config(is_client=False, alpn=alpn)
    server = pki(alg).server
    cfg.certificate = x509.load_der_x509_certificate(server.chain[0])
    cfg.private_key = server.private_key
    return cfg


def aioquic_client_config(alg: str, alpn: str = ECHO_ALPN) -> QuicConfiguration:
    cfg = quic_config(is_client=True, alpn=alpn, server_name="localhost")
    cfg.load_verify_locations(cadata=cert_to_pem(pki(alg).ca_der))
    return cfg


# --- loopback UDP -----------------------------------------------------------------------------


_tasks: set[asyncio.Task[None]] = set()


def echo_stream_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    task = asyncio.ensure_future(echo_handler(reader, writer))
    _tasks.add(task)  # kept until done: asyncio holds tasks only weakly
    task.add_done_callback(_tasks.discard)


async def start_aioquic_echo(
    cfg: QuicConfiguration, *, tickets: bool = False, retry: bool = False
) -> QuicServer:
    """An unmodified aioquic echo server; with ``tickets``, it issues and takes tickets; with
    ``retry``, it validates addresses with Retry packets."""
    store: dict[bytes, Any] = {}
    return await aioquic_serve(
        HOST,
        0,
        configuration=cfg,
        stream_handler=echo_stream_handler,
        session_ticket_fetcher=store.pop if tickets else None,
        session_ticket_handler=(lambda t: store.__setitem__(t.ticket, t)) if tickets else None,
        retry=retry,
    )


async def start_our_echo(
    tls_config: ServerConfig,
    cfg: QuicConfiguration | None = None,
    *,
    accepted: list[QuicConnectionProtocol] | None = None,
    retry: RetryTokens | None = None,
) -> QuicEndpoint:
    """Our echo server; every connection it accepts is appended to ``accepted`` (to read
    the server side's session after the client is gone); ``retry`` validates addresses."""

    def keep(*args: Any, **kw: Any) -> QuicConnectionProtocol:
        protocol = QuicConnectionProtocol(*args, **kw)
        if accepted is not None:
            accepted.append(protocol)
        return protocol

    return await start_endpoint(
        HOST,
        0,
        configuration=cfg or quic_config(is_client=False),
        tls_config=tls_config,
        create_protocol=keep,
        stream_handler=echo_stream_handler,
        retry=retry,
    )


def port_of(server: QuicServer | QuicEndpoint) -> int:
    transport = server._transport
    assert transport is not None
    return int(transport.get_extra_info("sockname")[1])


async def echo_once(protocol: QuicConnectionProtocol, payload: bytes) -> bytes:
    reader, writer = await protocol.create_stream()
    writer.write(payload)
    writer.write_eof()
    return await reader.read()


def session_info_of(protocol: QuicConnectionProtocol) -> SessionInfo:
    """What our TLS negotiated on ``protocol``'s connection (which must be ours)."""
    connection = protocol._quic
    assert isinstance(connection, NautilusQuicConnection)
    info = connection.session_info
    assert info is not None
    return info


def our_client(
    port: int, tls_config: ClientConfig, cfg: QuicConfiguration | None = None
) -> AbstractAsyncContextManager[QuicConnectionProtocol]:
    return open_connection(
        HOST, port, configuration=cfg or quic_config(is_client=True), tls_config=tls_config
    )


def aioquic_client(
    port: int, cfg: QuicConfiguration
) -> AbstractAsyncContextManager[QuicConnectionProtocol]:
    return aioquic_connect(HOST, port, configuration=cfg)


# --- in memory, datagram by datagram ------------------------------------------------------

CLIENT_ADDR = ("1.2.3.4", 1234)
SERVER_ADDR = ("2.3.4.5", 4433)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0


def memory_pair(
    client_tls: ClientConfig | None,
    server_tls: ServerConfig | None,
    *,
    client_quic: QuicConfiguration | None = None,
    server_quic: QuicConfiguration | None = None,
) -> tuple[QuicConnection, Callable[[bytes], QuicConnection]]:
    """A client (ours when ``client_tls`` is given, else aioquic) and a factory for the
    server given the client's original destination connection ID."""
    ccfg = client_quic or quic_config(is_client=True, server_name="localhost")
    client: QuicConnection
    if client_tls is not None:
        client = NautilusQuicConnection(configuration=ccfg, tls_config=client_tls)
    else:
        client = QuicConnection(configuration=ccfg)

    def server(odcid: bytes) -> QuicConnection:
        scfg = server_quic or quic_config(is_client=False)
        if server_tls is not None:
            return NautilusQuicConnection(
                configuration=scfg, tls_config=server_tls, original_destination_connection_id=odcid
            )
        return QuicConnection(configuration=scfg, original_destination_connection_id=odcid)

    return client, server


def exchange(
    client: QuicConnection,
    server: QuicConnection,
    clock: Clock,
    *,
    rounds: int = 30,
    tamper: Callable[[QuicConnection, bytes], bytes] | None = None,
) -> None:
    """Carry datagrams both ways until both sides are quiet (bounded)."""
    for _ in range(rounds):
        moved = False
        for src, dst, addr in ((client, server, CLIENT_ADDR), (server, client, SERVER_ADDR)):
            for data, _ in src.datagrams_to_send(now=clock.now):
                moved = True
                if tamper is not None:
                    data = tamper(src, data)
                dst.receive_datagram(data, addr, now=clock.now)
        clock.now += 0.001
        if not moved:
            return
    raise AssertionError("the QUIC exchange did not settle")


def events_of(conn: QuicConnection) -> list[QuicEvent]:
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


async def gather_bounded(*aws: Awaitable[T]) -> list[T]:
    return list(await asyncio.wait_for(asyncio.gather(*aws), TIMEOUT))


# --- HTTP/3 peers on another stack (aioquic's or qh3's own TLS and h3) ----------------------

H3_SERVER_BODY = b"a foreign HTTP/3 server says hi\n" * 64


def h3_client_protocol(base: type[Any], h3_connection: type[Any], h3_events: Any) -> type[Any]:
    """A GET client protocol for an aioquic-like stack (``base`` its QuicConnectionProtocol)."""

    class Client(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            self.http = h3_connection(self._quic)
            self.status = 0
            self.body = b""
            self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def get(self, path: str) -> None:
            stream_id = self._quic.get_next_available_stream_id()
            headers = [(b":method", b"GET"), (b":scheme", b"https")]
            headers += [(b":authority", b"localhost"), (b":path", path.encode())]
            self.http.send_headers(stream_id, headers, end_stream=True)
            self.transmit()
            await self.done

        def quic_event_received(self, event: Any) -> None:
            for e in self.http.handle_event(event):
                if isinstance(e, h3_events.HeadersReceived):
                    self.status = int(dict(e.headers)[b":status"])
                elif isinstance(e, h3_events.DataReceived):
                    self.body += e.data
                else:
                    continue
                if e.stream_ended and not self.done.done():
                    self.done.set_result(None)

    return Client


def h3_server_protocol(
    base: type[Any], h3_connection: type[Any], h3_events: Any, negotiated: type[Any]
) -> type[Any]:
    """A server protocol for an aioquic-like stack answering every GET with H3_SERVER_BODY."""

    class Server(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            self.http: Any = None

        def quic_event_received(self, event: Any) -> None:
            if isinstance(event, negotiated):
                self.http = h3_connection(self._quic)
            if self.http is None:
                return
            for e in self.http.handle_event(event):
                if isinstance(e, h3_events.HeadersReceived) and e.stream_ended:
                    self.http.send_headers(e.stream_id, [(b":status", b"200")])
                    self.http.send_data(e.stream_id, H3_SERVER_BODY, end_stream=True)
                    self.transmit()

    return Server


def _aioquic_h3() -> tuple[type[Any], type[Any]]:
    from aioquic.h3 import events as h3_events
    from aioquic.h3.connection import H3Connection
    from aioquic.quic.events import ProtocolNegotiated

    return (
        h3_client_protocol(QuicConnectionProtocol, H3Connection, h3_events),
        h3_server_protocol(QuicConnectionProtocol, H3Connection, h3_events, ProtocolNegotiated),
    )


AIOQUIC_H3_CLIENT, AIOQUIC_H3_SERVER = _aioquic_h3()


async def foreign_get(
    connect: Callable[..., Any], port: int, cfg: Any, client: type[Any], path: str = "/"
) -> tuple[int, bytes]:
    """GET ``path`` with another stack's ``connect`` and its ``client`` protocol."""
    async with connect(HOST, port, configuration=cfg, create_protocol=client) as protocol:
        await protocol.get(path)
        return protocol.status, protocol.body
