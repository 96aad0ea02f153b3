"""The asyncio stacks under test, behind one shape so that one harness drives them all.

A stack makes servers (:meth:`serve`) and client slots (:meth:`client`). A client slot is one
sequence of connections with its own session state (a resumption ticket is used once, so 32
connections in flight are 32 slots). :meth:`Client.open` returns the stream pair and what the
handshake did; :meth:`Client.close` ends the connection and keeps the session for the next.

* :class:`NautilusStack` - ``nautilus_tls.aio`` with one group offered and one key share.
* :class:`PySslStack` - Python's ``ssl`` over asyncio (OpenSSL 3.0: x25519, its best case).
* :class:`PlainStack` - asyncio TCP without TLS: the floor of the harness itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bench.pki import SERVER_NAME, Bundle, HsConfig
from nautilus_tls.aio import connect, start_server
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.session import MemorySessionStore

HOST = "127.0.0.1"
EARLY_DATA_LIMIT = 16384
Handler = Callable[[Any, Any], Awaitable[None]]


@dataclass
class Opened:
    reader: Any
    writer: Any
    resumed: bool = False
    early_accepted: bool = False


class Client(Protocol):
    async def open(self, port: int, *, early_data: bytes | None = None) -> Opened: ...

    async def close(self, opened: Opened) -> None: ...


class Stack(Protocol):
    name: str

    async def serve(self, handler: Handler, *, early: bool = False) -> asyncio.Server: ...

    def client(self, *, resume: bool = False) -> Client: ...


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def _close_stream(writer: Any) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


# --- Nautilus --------------------------------------------------------------------------------


class NautilusStack:
    name = "nautilus"

    def __init__(self, bundle: Bundle, config: HsConfig, *, suite: int | None = None) -> None:
        self._config = config
        self._suite = suite
        self._cert = CertifiedKey.from_files(bundle.server_pem, bundle.server_key)
        self._trust = TrustStore.from_pem(bundle.ca_pem.read_bytes())

    def server_config(self, *, early: bool = False) -> ServerConfig:
        return ServerConfig(
            certificates=(self._cert,),
            max_early_data=EARLY_DATA_LIMIT if early else 0,
            keylog_file=None,
        )

    async def serve(self, handler: Handler, *, early: bool = False) -> asyncio.Server:
        return await start_server(handler, HOST, 0, config=self.server_config(early=early))

    def client(self, *, resume: bool = False) -> NautilusClient:
        group = self._config.group
        kw: dict[str, Any] = {}
        if self._suite is not None:
            kw["cipher_suites"] = (self._suite,)
        config = ClientConfig(
            trust_store=self._trust,
            groups=(group,),
            key_share_groups=(group,),
            session_store=MemorySessionStore() if resume else None,
            keylog_file=None,
            **kw,
        )
        return NautilusClient(config)


class NautilusClient:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    async def open(self, port: int, *, early_data: bytes | None = None) -> Opened:
        reader, writer = await connect(
            HOST, port, config=self.config, server_name=SERVER_NAME, early_data=early_data
        )
        info = writer.info
        return Opened(reader, writer, info.resumed, info.early_data == "accepted")

    async def close(self, opened: Opened) -> None:
        await _close_stream(opened.writer)


# --- Python's ssl ----------------------------------------------------------------------------


class _ResumingContext(ssl.SSLContext):
    """asyncio cannot pass ``session=`` to the SSL object; this context does it for it."""

    next_session: ssl.SSLSession | None = None

    def wrap_bio(  # type: ignore[override]
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        chosen = session if session is not None else self.next_session
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, chosen)


class PySslStack:
    """Python's ssl module over asyncio; OpenSSL's defaults (x25519 first, 2 tickets)."""

    name = "pyssl"

    def __init__(self, bundle: Bundle) -> None:
        self._bundle = bundle
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(bundle.server_pem, bundle.server_key)
        self._server_ctx = ctx

    async def serve(self, handler: Handler, *, early: bool = False) -> asyncio.Server:
        return await asyncio.start_server(handler, HOST, 0, ssl=self._server_ctx)

    def client(self, *, resume: bool = False) -> PySslClient:
        ctx = _ResumingContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(self._bundle.ca_pem)
        return PySslClient(ctx, resume)


class PySslClient:
    def __init__(self, ctx: _ResumingContext, resume: bool) -> None:
        self._ctx = ctx
        self._resume = resume

    async def open(self, port: int, *, early_data: bytes | None = None) -> Opened:
        reader, writer = await asyncio.open_connection(
            HOST, port, ssl=self._ctx, server_hostname=SERVER_NAME
        )
        obj = writer.get_extra_info("ssl_object")
        return Opened(reader, writer, bool(obj is not None and obj.session_reused))

    async def close(self, opened: Opened) -> None:
        if self._resume:
            obj = opened.writer.get_extra_info("ssl_object")
            if obj is not None and obj.session is not None:
                self._ctx.next_session = obj.session  # the newest ticket, used once
        await _close_stream(opened.writer)


# --- plain TCP -------------------------------------------------------------------------------


class PlainStack:
    """asyncio streams without TLS: what the harness costs by itself."""

    name = "plain"

    async def serve(self, handler: Handler, *, early: bool = False) -> asyncio.Server:
        return await asyncio.start_server(handler, HOST, 0)

    def client(self, *, resume: bool = False) -> PlainClient:
        return PlainClient()


class PlainClient:
    async def open(self, port: int, *, early_data: bytes | None = None) -> Opened:
        reader, writer = await asyncio.open_connection(HOST, port)
        return Opened(reader, writer)

    async def close(self, opened: Opened) -> None:
        await _close_stream(opened.writer)
