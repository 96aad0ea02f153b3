"""TLS as an asyncio Transport: any :class:`asyncio.Protocol` (uvicorn's, aiohttp's, yours)
over Nautilus TLS, the way ``loop.create_connection(..., ssl=...)`` gives it ``ssl``.

:func:`create_connection` and :func:`create_server` mirror the loop methods of the same
names; :func:`start_tls` upgrades a transport that is already connected (after a STARTTLS
exchange, say) and :func:`start_tls_streams` does the same for an ``asyncio.open_connection``
pair. The TLS work is the stream adapter's (:mod:`nautilus_tls.aio.streams`: the same
``_TLSProtocol`` over the sans-I/O core, with its handshake timeout, backpressure and
lingering close); a :class:`TLSTransport` only moves plaintext between a :class:`TLSReader` /
:class:`TLSWriter` pair and the application's protocol:

* ``data_received`` gets the plaintext in order; ``eof_received`` the peer's close_notify
  (returning a true value keeps our side open, as with TCP); ``connection_lost(exc)`` comes
  once, with the :class:`~nautilus_tls.errors.TLSError` that ended the connection or
  ``None`` after a clean close.
* ``write_eof`` sends close_notify and half-closes TCP (RFC 8446 §6.1: the peer may still
  answer); ``close`` does the same but delivers nothing more; ``abort`` drops the connection.
* ``pause_reading`` stops delivery; the stream's bounded buffer then stops reading the socket.
  ``pause_writing``/``resume_writing`` follow the socket's write buffer.
* ``get_extra_info('ssl_object')`` is a :class:`~nautilus_tls.sslobject.TLSObject`
  (``selected_alpn_protocol()``, ``version()``, ``cipher()``, ``getpeercert()``,
  ``session_info``); ``'sslcontext'`` is the :class:`ClientConfig` / :class:`ServerConfig`
  (frameworks test it to tell ``https`` from ``http``); ``'cipher'`` and ``'peercert'`` have
  ``ssl``'s meaning; ``'tls_info'`` is the :class:`SessionInfo`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from typing import Any

from nautilus_tls.aio.prefetch import blocks_in_handshake, client_judge
from nautilus_tls.aio.streams import TLSReader, TLSWriter, _TLSProtocol, connect, start_server
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import ConfigError, ConnectionClosedError, TLSError
from nautilus_tls.session.client_store import session_key
from nautilus_tls.sslobject import TLSObject

__all__ = ["TLSTransport", "create_connection", "create_server", "start_tls", "start_tls_streams"]

logger = logging.getLogger("nautilus_tls.aio")

READ_SIZE = 64 * 1024
"""Most plaintext handed to one ``data_received`` call."""

ProtocolFactory = Callable[[], asyncio.BaseProtocol]

_PLAIN_WRITERS: weakref.WeakKeyDictionary[_TLSProtocol, asyncio.StreamWriter] = (
    weakref.WeakKeyDictionary()
)


class TLSTransport(asyncio.Transport):
    """A TLS connection seen as an asyncio transport (see the module docstring)."""

    def __init__(
        self, tls: _TLSProtocol, protocol: asyncio.BaseProtocol, config: ClientConfig | ServerConfig
    ) -> None:
        super().__init__()
        self._tls = tls
        self._app = protocol
        self._config = config
        self._ssl_object = TLSObject(tls.conn)
        self._reading = asyncio.Event()
        self._reading.set()
        self._closing = False  # close() or abort(): nothing more is delivered
        self._eof_written = False
        self._app_paused_writing = False
        self._pump_task: asyncio.Task[None] | None = None
        self._drain_task: asyncio.Task[None] | None = None

    def _start(self) -> asyncio.Task[None]:
        """Tell the protocol it is connected and start delivering; the task ends after
        ``connection_lost``."""
        self._app.connection_made(self)
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        return self._pump_task

    async def _pump(self) -> None:
        error: BaseException | None = None
        reader = self._tls.reader
        try:
            while True:
                await self._reading.wait()
                data = await reader.read(READ_SIZE)
                if self._closing:
                    break
                if not data:  # the peer's close_notify
                    keep_open = isinstance(self._app, asyncio.Protocol) and self._app.eof_received()
                    if not keep_open:
                        self._tls.close()
                    break
                if isinstance(self._app, asyncio.Protocol):
                    self._app.data_received(data)
        except TLSError as exc:
            error = exc
        except Exception as exc:  # the application's data_received / eof_received raised
            asyncio.get_running_loop().call_exception_handler(
                {"message": "error in a protocol on a nautilus_tls transport", "exception": exc}
            )
            self.abort()
        await self._tls.wait_closed()
        self._app.connection_lost(None if self._closing else _as_exception(error))

    # --- reading ------------------------------------------------------------------------------

    def is_reading(self) -> bool:
        return self._reading.is_set() and not self._closing

    def pause_reading(self) -> None:
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    # --- writing ------------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._eof_written:
            raise RuntimeError("write() after write_eof()")
        if self._closing:
            return  # as asyncio's transports do after close(): dropped
        try:
            self._tls.send(data)
        except ConnectionClosedError as exc:
            logger.debug("write on a closed nautilus_tls transport dropped: %s", exc)
            return  # connection_lost tells the protocol
        if self._tls._paused_writing and not self._app_paused_writing:
            self._app_paused_writing = True
            self._app.pause_writing()
            # Held so the task is not collected before it runs.
            self._drain_task = asyncio.get_running_loop().create_task(self._resume_when_drained())

    async def _resume_when_drained(self) -> None:
        try:
            await self._tls.drain()
        except TLSError:
            return  # the connection is gone; connection_lost follows
        self._app_paused_writing = False
        self._app.resume_writing()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Send close_notify and half-close TCP; data from the peer is still delivered."""
        if self._eof_written:
            return
        self._eof_written = True
        self._tls.close()

    def get_write_buffer_size(self) -> int:
        try:
            return self._tls.transport.get_write_buffer_size()
        except ConnectionClosedError:
            return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._tls.transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._tls.transport.get_write_buffer_limits()

    # --- closing ------------------------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._closing or self._tls.is_closing()

    def close(self) -> None:
        """close_notify, then close; ``connection_lost(None)`` follows."""
        if self._closing:
            return
        self._closing = True
        self._reading.set()  # let the pump see the end
        self._tls.close()

    def abort(self) -> None:
        self._closing = True
        self._reading.set()
        with contextlib.suppress(ConnectionClosedError):
            self._tls.transport.abort()

    # --- the rest -----------------------------------------------------------------------------

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._app = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._app

    @property
    def writer(self) -> TLSWriter:
        """The stream writer underneath (key_update, export_keying_material)."""
        return self._tls.writer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._ssl_object
        if name == "sslcontext":
            return self._config
        if name == "cipher":
            return self._ssl_object.cipher() or default
        if name == "peercert":
            cert = self._ssl_object.getpeercert()
            return cert if cert is not None else default
        return self._tls.writer.get_extra_info(name, default)

    def __repr__(self) -> str:
        return f"<TLSTransport {self._tls.conn!r}>"


def _as_exception(error: BaseException | None) -> Exception | None:
    return error if isinstance(error, Exception) or error is None else None


async def create_connection(
    protocol_factory: ProtocolFactory,
    host: str,
    port: int,
    *,
    config: ClientConfig,
    server_name: str | None = None,
    **kwargs: Any,
) -> tuple[TLSTransport, asyncio.BaseProtocol]:
    """Like :meth:`asyncio.loop.create_connection` with TLS: connect, handshake, then
    ``protocol.connection_made(transport)``. Raises what :func:`nautilus_tls.aio.connect`
    raises (the handshake's :class:`ProtocolError`, :class:`HandshakeTimeout`, ``OSError``)."""
    _, writer = await connect(host, port, config=config, server_name=server_name, **kwargs)
    transport = TLSTransport(writer._protocol, protocol_factory(), config)
    transport._start()
    return transport, transport.get_protocol()


async def create_server(
    protocol_factory: ProtocolFactory,
    host: str | None = None,
    port: int | None = None,
    *,
    config: ServerConfig,
    on_handshake: Callable[[TLSWriter], None] | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """Like :meth:`asyncio.loop.create_server` with TLS: each connection gets a protocol from
    ``protocol_factory`` once its handshake has finished (with the handshake limits of
    :func:`nautilus_tls.aio.start_server`, which this is built on). ``on_handshake(writer)``,
    if given, is called first (``writer.info`` says what was negotiated: a server logs it)."""

    async def handler(reader: TLSReader, writer: TLSWriter) -> None:
        if on_handshake is not None:
            on_handshake(writer)
        transport = TLSTransport(writer._protocol, protocol_factory(), config)
        await transport._start()

    return await start_server(handler, host, port, config=config, **kwargs)


def _connection_for(
    transport: asyncio.BaseTransport,
    config: ClientConfig | ServerConfig,
    server_hostname: str | None,
) -> Connection:
    peer = transport.get_extra_info("peername")
    if isinstance(config, ServerConfig):
        address = str(peer[0]) if isinstance(peer, tuple) and peer else None
        return ServerConnection(config, peer_address=address)
    if not isinstance(config, ClientConfig):
        raise ConfigError(
            f"config must be a ClientConfig or a ServerConfig, not {type(config).__name__}"
        )
    if not server_hostname:
        raise ConfigError("start_tls needs server_hostname for a client connection")
    port = int(peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
    return ClientConnection(
        config,
        server_hostname,
        session_key=session_key(server_hostname, port, config.alpn_protocols),
    )


async def _upgrade(
    transport: asyncio.Transport,
    config: ClientConfig | ServerConfig,
    server_hostname: str | None,
    already_read: bytes = b"",
) -> _TLSProtocol:
    conn = _connection_for(transport, config, server_hostname)
    verifier = config.verifier if isinstance(config, ClientConfig) else client_judge(config)
    tls = _TLSProtocol(
        conn,
        loop=asyncio.get_running_loop(),
        handshake_timeout=config.handshake_timeout,
        max_buffered=config.max_buffered_plaintext,
        offload_handshake=blocks_in_handshake(verifier),
    )
    transport.set_protocol(tls)
    tls.connection_made(transport)
    if already_read:
        tls.data_received(already_read)  # e.g. a ClientHello read with the STARTTLS command
    transport.resume_reading()  # in case the previous protocol had paused it
    await tls.wait_handshake()
    return tls


async def start_tls(
    transport: asyncio.Transport,
    protocol: asyncio.BaseProtocol,
    *,
    config: ClientConfig | ServerConfig,
    server_hostname: str | None = None,
) -> TLSTransport:
    """Run TLS over a connected transport (a ClientConfig: client, a ServerConfig: server) and
    return the TLS transport, now driving ``protocol``; ``transport`` belongs to it from now
    on. A client needs ``server_hostname``. On failure the transport is aborted and the
    handshake's error raised."""
    tls = await _upgrade(transport, config, server_hostname)
    tls_transport = TLSTransport(tls, protocol, config)
    tls_transport._start()
    return tls_transport


async def start_tls_streams(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    config: ClientConfig | ServerConfig,
    server_hostname: str | None = None,
) -> tuple[TLSReader, TLSWriter]:
    """Run TLS over an ``asyncio.open_connection`` (or ``start_server``) pair and return the
    TLS streams; the plain pair must not be used afterwards. Bytes the plain reader already
    holds (a ClientHello that came with a STARTTLS command) go to the TLS side first."""
    buffered = getattr(reader, "_buffer", None)  # asyncio keeps no public accessor for it
    already_read = b""
    if isinstance(buffered, bytearray):
        already_read = bytes(buffered)
        buffered.clear()
    transport = writer.transport
    if not isinstance(transport, asyncio.Transport):
        raise ConfigError("start_tls_streams needs a stream transport")
    tls = await _upgrade(transport, config, server_hostname, already_read)
    # asyncio's StreamWriter closes its transport when it is garbage-collected: keep the plain
    # writer alive exactly as long as the TLS protocol that now owns that transport.
    _PLAIN_WRITERS[tls] = writer
    return tls.reader, tls.writer
