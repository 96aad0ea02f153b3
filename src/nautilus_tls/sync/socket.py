"""Blocking TLS sockets over the sans-I/O :class:`~nautilus_tls.connection.Connection`.

The same core as the asyncio adapter: bytes read from the socket go into
``Connection.receive_data``, events come out, ``Connection.data_to_send`` goes to
``socket.sendall``. Nothing here decides anything about the protocol.

``recv`` returns ``b""`` after the peer's close_notify and raises
:class:`~nautilus_tls.errors.MissingCloseNotify` when the stream ends without one (possible
truncation), unless ``config.ragged_eof`` is ``"allow"``. Plaintext that arrived before the
end, or before a reset, is delivered first. A lost TCP connection
raises :class:`~nautilus_tls.errors.ConnectionClosedError`; a socket timeout stays
:class:`TimeoutError` (the connection is still usable afterwards).

Backpressure comes with blocking sockets: ``sendall`` waits while the peer does not read,
and ``recv`` reads from the socket only when its buffer is empty, at most
``config.max_buffered_plaintext`` bytes (and at most 64 KiB) at a time, so a connection never
holds more decrypted data than that plus one record.

A ``TLSSocket`` is not thread-safe: use it from one thread at a time.
"""

from __future__ import annotations

import logging
import socket
import time
from types import TracebackType

from nautilus_tls import defaults
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import (
    AlertDescription,
    AlertLevel,
    ConnectionClosedError,
    HandshakeTimeout,
    LocalProtocolError,
    PeerAlert,
    ProtocolError,
    RemoteProtocolError,
    TLSError,
)
from nautilus_tls.events import ConnectionClosed, DataReceived, EarlyDataReceived
from nautilus_tls.session.client_store import session_key
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.buffer import take_front

__all__ = ["TLSListener", "TLSSocket"]

logger = logging.getLogger("nautilus_tls.sync")

RECV_SIZE = 64 * 1024
"""Bytes asked of the socket per ``recv`` (a read is at most this; records are ≤ 16 KiB)."""


class TLSSocket:
    """A TLS 1.3 connection over a connected, blocking socket.

    Make one with :meth:`connect` (client) or :meth:`TLSListener.accept` (server).
    """

    def __init__(
        self,
        sock: socket.socket,
        conn: Connection,
        *,
        timeout: float | None = None,
        max_buffered: int = RECV_SIZE,
    ) -> None:
        self._sock = sock
        self._recv_size = max(1, min(RECV_SIZE, max_buffered))
        self._conn = conn
        self._timeout = timeout
        self._buffer = bytearray()
        self._eof = False  # clean end: close_notify received
        self._tcp_eof = False
        self._error: TLSError | None = None
        self._closed = False
        # 0-RTT data the client sent (server side), kept apart from recv(): it may be a replay.
        self.early_data = b""

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        address: tuple[str, int],
        *,
        config: ClientConfig,
        server_name: str | None = None,
        timeout: float | None = None,
        early_data: bytes | None = None,
    ) -> TLSSocket:
        """Connect to ``address``, run the handshake and return the socket.

        ``server_name`` defaults to the host. ``early_data`` goes out as 0-RTT when a stored
        ticket allows it (``info.early_data`` and ``info.early_data_sent`` say what happened;
        see :class:`~nautilus_tls.connection.ClientConnection`). The TCP connect and the handshake together are
        bounded by ``config.handshake_timeout``; ``timeout`` applies to later reads and writes.
        Raises the :class:`ProtocolError` that ended the handshake (``.alert`` names it) or
        :class:`HandshakeTimeout`; an ``OSError`` from the TCP connect is not wrapped.
        """
        host, _port = address[0], address[1]
        deadline = time.monotonic() + config.handshake_timeout
        sock = socket.create_connection(address, timeout=config.handshake_timeout)
        name = server_name if server_name is not None else host
        conn = ClientConnection(
            config,
            name,
            early_data=early_data,
            session_key=session_key(name, address[1], config.alpn_protocols),
        )
        tls = cls(sock, conn, timeout=timeout, max_buffered=config.max_buffered_plaintext)
        try:
            conn.start()
        except BaseException:
            sock.close()
            raise
        tls._do_handshake(deadline, config.handshake_timeout)
        return tls

    def _do_handshake(self, deadline: float, budget: float) -> None:
        conn = self._conn
        try:
            while not conn.handshake_complete:
                self._flush()
                if self._error is not None:
                    raise self._error
                if self._eof or self._tcp_eof:
                    raise PeerAlert(AlertDescription.close_notify, AlertLevel.WARNING)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HandshakeTimeout(f"the handshake did not finish within {budget:g} s")
                self._sock.settimeout(remaining)
                try:
                    data = self._sock.recv(RECV_SIZE)
                except TimeoutError:
                    raise HandshakeTimeout(
                        f"the handshake did not finish within {budget:g} s"
                    ) from None
                except OSError as exc:
                    raise ConnectionClosedError("connection lost during the handshake") from exc
                self._feed(data)
            self._flush()  # the client's Finished
        except BaseException:
            self._close_socket()
            raise
        self._sock.settimeout(self._timeout)

    # --- the core, driven ---------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        """Give the core what the socket read; failures are recorded, the alert sent."""
        if not data:
            self._tcp_eof = True
        try:
            self._conn.receive_data(data)
        except TLSError as exc:
            self._process_events()
            self._flush(best_effort=True)
            if self._error is None:
                self._error = exc
            self._linger_and_close()
            return
        self._process_events()
        self._flush()

    def _process_events(self) -> None:
        conn = self._conn
        while (event := conn.next_event()) is not None:
            if isinstance(event, DataReceived):
                self._buffer += event.data
            elif isinstance(event, EarlyDataReceived):
                self.early_data += event.data
            elif isinstance(event, ConnectionClosed):
                if event.clean:
                    self._eof = True
                elif self._error is None:
                    error = conn.error
                    self._error = (
                        error
                        if error is not None
                        else RemoteProtocolError(event.error or "connection failed")
                    )

    def _flush(self, *, best_effort: bool = False) -> None:
        data = self._conn.data_to_send_buffer()
        if not data or self._closed:
            return
        try:
            self._sock.sendall(data)
        except OSError as exc:
            if best_effort:
                return
            raise ConnectionClosedError(f"connection lost: {exc}") from exc

    def _linger_and_close(self) -> None:
        """After a fatal alert: FIN, then drop input until the peer closes (bounded), so that
        unread input does not turn our close into a RST that destroys the alert in flight."""
        if self._closed:
            return
        deadline = time.monotonic() + defaults.FAILED_CLOSE_LINGER_SECONDS
        try:
            self._sock.shutdown(socket.SHUT_WR)
            while (remaining := deadline - time.monotonic()) > 0:
                self._sock.settimeout(remaining)
                if not self._sock.recv(RECV_SIZE):
                    break
        except OSError:
            pass
        self._close_socket()

    def _close_socket(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()

    # --- public -------------------------------------------------------------------------------

    @property
    def info(self) -> SessionInfo:
        """What the handshake negotiated."""
        info = self._conn.info
        if info is None:
            raise LocalProtocolError("the handshake is not complete")
        return info

    @property
    def key_updates_sent(self) -> int:
        return self._conn.key_updates_sent

    @property
    def key_updates_received(self) -> int:
        return self._conn.key_updates_received

    @property
    def connection(self) -> Connection:
        """The sans-I/O connection underneath (for inspection)."""
        return self._conn

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt and send all of ``data``."""
        if self._closed and self._error is None:
            raise ConnectionClosedError("the socket is closed")
        if self._error is not None:
            raise ConnectionClosedError(f"the connection failed: {self._error}") from self._error
        self._conn.send_data(data)
        self._flush()

    def recv(self, n: int) -> bytes:
        """Up to ``n`` bytes of plaintext; ``b""`` at a clean end of stream."""
        if n < 0:
            raise ValueError("negative buffer size")
        if n == 0:
            return b""
        while not self._buffer:
            if self._eof:
                return b""
            if self._error is not None:
                raise self._error
            if self._closed:
                raise ConnectionClosedError("the socket is closed")
            if self._tcp_eof:
                return b""  # the core reported everything it had to say about the end
            try:
                data = self._sock.recv(self._recv_size)
            except TimeoutError:
                raise
            except OSError as exc:
                error = ConnectionClosedError(f"connection lost: {exc}")
                error.__cause__ = exc
                self._error = error
                self._close_socket()
                raise error from exc
            self._feed(data)
        return take_front(self._buffer, n)

    def key_update(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3); with ``request_peer`` the peer updates too."""
        if self._error is not None:
            raise ConnectionClosedError(f"the connection failed: {self._error}") from self._error
        self._conn.request_key_update(request_peer=request_peer)
        self._process_events()
        self._flush()

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 8446 §7.5 exporter."""
        return self._conn.export_keying_material(label, context, length)

    def close(self) -> None:
        """Send close_notify (best effort) and close the socket."""
        if self._closed:
            return
        if self._error is None:
            self._conn.close()
            self._flush(best_effort=True)
        self._close_socket()

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout
        if not self._closed:
            self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._timeout

    def getpeername(self) -> tuple[str, int]:
        peer: tuple[str, int] = self._sock.getpeername()[:2]
        return peer

    def getsockname(self) -> tuple[str, int]:
        name: tuple[str, int] = self._sock.getsockname()[:2]
        return name

    def fileno(self) -> int:
        return self._sock.fileno()

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<TLSSocket {self._conn!r}>"


class TLSListener:
    """A listening TCP socket whose :meth:`accept` returns handshaken :class:`TLSSocket` s."""

    def __init__(self, host: str, port: int, config: ServerConfig, *, backlog: int = 128) -> None:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
            0
        ][0]
        self._sock = socket.create_server((host, port), family=family, backlog=backlog)
        self._config = config

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (the real port when 0 was asked for)."""
        name: tuple[str, int] = self._sock.getsockname()[:2]
        return name

    def accept(self, *, timeout: float | None = None) -> TLSSocket:
        """Wait for a client and run the handshake (bounded by ``config.handshake_timeout``).

        ``timeout`` bounds the wait for a client and becomes the socket's I/O timeout. A failed
        handshake is logged (without secrets), the socket closed, and the error raised.
        """
        self._sock.settimeout(timeout)
        sock, addr = self._sock.accept()
        config = self._config
        tls = TLSSocket(
            sock,
            ServerConnection(config, peer_address=str(addr[0])),
            timeout=timeout,
            max_buffered=config.max_buffered_plaintext,
        )
        try:
            tls._do_handshake(time.monotonic() + config.handshake_timeout, config.handshake_timeout)
        except TLSError as exc:
            alert = exc.alert.name if isinstance(exc, ProtocolError) else "-"
            level = (
                logging.WARNING
                if isinstance(exc, LocalProtocolError) and not isinstance(exc, HandshakeTimeout)
                else logging.DEBUG
            )
            logger.log(
                level,
                "TLS handshake with %s:%s failed (alert %s): %s",
                addr[0],
                addr[1],
                alert,
                exc,
            )
            raise
        return tls

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def __enter__(self) -> TLSListener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
