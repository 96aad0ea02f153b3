"""``wrap_socket``: TLS over a socket you already connected, shaped like ``ssl.SSLSocket``.

For code written against ``ssl`` (urllib3, http.client, httpcore's sync backend): the
returned :class:`WrappedSocket` is a :class:`~nautilus_tls.sync.socket.TLSSocket` (the same
driver of the sans-I/O core) with the rest of the socket surface such code calls:
``send``, ``recv_into``, ``makefile``, ``shutdown``, ``pending`` and the ``ssl`` queries
(``version()``, ``cipher()``, ``selected_alpn_protocol()``, ``getpeercert()``).
"""

from __future__ import annotations

import io
import select
import socket
import time
from typing import IO, Any, cast

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import ConfigError, ConnectionClosedError
from nautilus_tls.session.client_store import session_key
from nautilus_tls.sslobject import TLSObject
from nautilus_tls.sync.socket import TLSSocket

__all__ = ["IS_READABLE_MAX_READS", "WrappedSocket", "wrap_socket"]

IS_READABLE_MAX_READS = 8
"""Socket reads :meth:`WrappedSocket.is_readable` makes before it gives up and says "readable"
(a peer that only ever sends post-handshake messages cannot keep it busy)."""


class WrappedSocket(TLSSocket):
    """A :class:`TLSSocket` with the ``ssl.SSLSocket`` methods that ``ssl`` users call."""

    def __init__(self, sock: socket.socket, conn: Connection, **kwargs: Any) -> None:
        super().__init__(sock, conn, **kwargs)
        self.ssl_object = TLSObject(conn)
        self._wrote_eof = False

    # --- ssl queries ------------------------------------------------------------------------

    def version(self) -> str | None:
        return self.ssl_object.version()

    def cipher(self) -> tuple[str, str, int] | None:
        return self.ssl_object.cipher()

    def selected_alpn_protocol(self) -> str | None:
        return self.ssl_object.selected_alpn_protocol()

    def getpeercert(self, binary_form: bool = False) -> dict[str, object] | bytes | None:
        return self.ssl_object.getpeercert(binary_form)

    def pending(self) -> int:
        """Decrypted bytes ready for :meth:`recv` without touching the socket."""
        return len(self._buffer)

    def is_readable(self) -> bool:
        """True when :meth:`recv` would not block: plaintext is buffered, or the connection
        has ended (close_notify, TCP end, an error). Records waiting in the socket are
        processed first, so that post-handshake messages (NewSessionTicket, KeyUpdate) do
        not count: an idle pooled connection that reads true has been closed by the peer."""
        for _ in range(IS_READABLE_MAX_READS):
            if self._buffer or self._eof or self._tcp_eof or self._closed or self._error:
                return True
            readable, _, _ = select.select([self._sock], [], [], 0)
            if not readable:
                return False
            try:
                data = self._sock.recv(self._recv_size)  # select said it will not block
            except OSError:
                return True  # the next recv reports it
            self._feed(data)
        return True  # still only handshake messages after that many reads: treat as ended

    # --- the socket surface -----------------------------------------------------------------

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt and send all of ``data`` (records are sealed whole); returns its length."""
        self.sendall(data)
        return len(data)

    def recv_into(self, buffer: bytearray | memoryview, nbytes: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        size = len(view) if nbytes <= 0 else min(nbytes, len(view))
        data = self.recv(size)
        view[: len(data)] = data
        return len(data)

    def shutdown(self, how: int) -> None:
        """``SHUT_WR``/``SHUT_RDWR``: send close_notify, then shut the TCP side down (TLS 1.3
        half-close, RFC 8446 §6.1: the peer may still answer). ``SHUT_RD``: TCP only."""
        if self._closed:
            raise ConnectionClosedError("the socket is closed")
        if how in (socket.SHUT_WR, socket.SHUT_RDWR) and not self._wrote_eof:
            self._wrote_eof = True
            if self._error is None:
                self._conn.close()
                self._flush(best_effort=True)
        self._sock.shutdown(how)

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        """A file object over the plaintext, like :meth:`socket.socket.makefile`. Closing the
        file leaves the connection open."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only 'r', 'w' and 'b')")
        reading = "r" in mode
        writing = "w" in mode
        raw = _PlaintextIO(self, reading=reading, writing=writing or not reading)
        if buffering is None:
            buffering = -1
        if buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffered: io.BufferedIOBase
        if reading and writing:
            buffered = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffered = io.BufferedReader(raw, buffering)
        else:
            buffered = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffered
        text = io.TextIOWrapper(cast(IO[bytes], buffered), encoding, errors, newline)
        text.mode = mode  # type: ignore[misc]  # as socket.makefile does
        return text


class _PlaintextIO(io.RawIOBase):
    """Raw I/O over a :class:`WrappedSocket`'s plaintext (the base of ``makefile``)."""

    def __init__(self, sock: WrappedSocket, *, reading: bool, writing: bool) -> None:
        super().__init__()
        self._tls = sock
        self._reading = reading
        self._writing = writing

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return self._writing

    def readinto(self, buffer: Any) -> int:
        return self._tls.recv_into(buffer)

    def write(self, data: Any) -> int:
        return self._tls.send(data)

    def fileno(self) -> int:
        return self._tls.fileno()


def wrap_socket(
    sock: socket.socket,
    *,
    config: ClientConfig | ServerConfig,
    server_hostname: str | None = None,
    timeout: float | None = None,
    handshake_timeout: float | None = None,
) -> WrappedSocket:
    """Run the TLS handshake over the connected socket ``sock`` and return the TLS socket.

    A :class:`ClientConfig` makes the client side, a :class:`ServerConfig` the server side.
    A client needs ``server_hostname`` (SNI and the name the certificate must match), as with
    ``ssl``. The handshake is bounded by ``config.handshake_timeout`` (or by
    ``handshake_timeout`` when that is shorter, e.g. a caller's connect timeout); ``timeout`` is the
    socket timeout afterwards (default: the one ``sock`` had). The TLS socket owns ``sock``
    from now on, and closes it if the handshake fails (raising the :class:`ProtocolError`
    whose ``.alert`` says why, or :class:`HandshakeTimeout`).
    """
    if timeout is None:
        timeout = sock.gettimeout()
    conn: Connection
    if isinstance(config, ClientConfig):
        if not server_hostname:
            raise ConfigError("wrap_socket needs server_hostname for a client connection")
        port = int(sock.getpeername()[1])
        conn = ClientConnection(
            config,
            server_hostname,
            session_key=session_key(server_hostname, port, config.alpn_protocols),
        )
    elif isinstance(config, ServerConfig):
        peer = sock.getpeername()  # a risk engine (config.risk) judges by address
        address = str(peer[0]) if isinstance(peer, tuple) and peer else None
        conn = ServerConnection(config, peer_address=address)
    else:
        raise ConfigError(
            f"config must be a ClientConfig or a ServerConfig, not {type(config).__name__}"
        )
    tls = WrappedSocket(sock, conn, timeout=timeout, max_buffered=config.max_buffered_plaintext)
    if isinstance(conn, ClientConnection):
        try:
            conn.start()
        except BaseException:
            sock.close()
            raise
    budget = config.handshake_timeout
    if handshake_timeout is not None:
        budget = min(budget, handshake_timeout)
    tls._do_handshake(time.monotonic() + budget, budget)
    return tls
