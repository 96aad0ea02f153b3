"""TLS streams for asyncio, over the sans-I/O :class:`~nautilus_tls.connection.Connection`.

A thin adapter: bytes from the socket go into ``Connection.receive_data``, events come out
and are dispatched (plaintext to the :class:`TLSReader`, the finished handshake to whoever
waits for it), and whatever ``Connection.data_to_send`` returns goes to the transport in one
``write`` per batch. No protocol decision is made here.

Reading (``TLSReader``):

* ``read()`` returns ``b""`` after the peer's close_notify (a clean end of stream) and raises
  :class:`~nautilus_tls.errors.MissingCloseNotify` when the stream ends without one (a
  possible truncation attack, RFC 8446 §6.1), unless ``config.ragged_eof`` is ``"allow"``.
  Plaintext that arrived before the end, or before a reset, is always delivered first (also
  by ``read()`` without a size: it returns it, and the next read raises).
* A fatal alert, from the peer or from us, surfaces as the :class:`ProtocolError` whose
  ``.alert`` names it; a lost TCP connection as :class:`ConnectionClosedError`.
* Backpressure: when more than ``config.max_buffered_plaintext`` bytes of plaintext wait to be
  read, the transport stops reading; it resumes once the buffer is down to half of that (or
  as soon as a reader waits for more than the buffer holds). A peer that keeps sending to a
  reader that does not read then finds its writes waiting (TCP flow control), and this
  process holds at most that much plus one read.

Servers (``start_server``): at most ``config.max_concurrent_handshakes`` handshakes run at
once. A connection takes its slot with its first byte (an idle socket holds none), and one that
sends nothing within ``config.first_byte_timeout`` is closed. A connection beyond the limit
waits, its reading paused, for a slot; as many again may wait, and the wait counts against
``config.handshake_timeout``. Connections beyond those are refused (closed at once), and so is
a connection from an address that already has ``config.max_handshakes_per_address``
connections whose handshake has not finished.

Closing (``TLSWriter.close``): close_notify is sent and the TCP write side shut down; the
transport closes when the peer closes too, or after :data:`CLOSE_TIMEOUT` seconds. Neither
``close`` nor ``wait_closed`` raises when the peer has already gone.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Literal, cast

from nautilus_tls import defaults
from nautilus_tls.aio.prefetch import (
    blocks_in_handshake,
    client_judge,
    keep_prefetched,
    prefetch,
    prefetch_within,
)
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import (
    AlertDescription,
    AlertLevel,
    ConfigError,
    ConnectionClosedError,
    HandshakeTimeout,
    LocalProtocolError,
    PeerAlert,
    ProtocolError,
    RemoteProtocolError,
    TLSError,
)
from nautilus_tls.events import (
    ConnectionClosed,
    DataReceived,
    EarlyDataReceived,
    HandshakeCompleted,
)
from nautilus_tls.session.client_store import session_key
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.sslobject import TLSObject
from nautilus_tls.wire.buffer import take_front

__all__ = ["CLOSE_TIMEOUT", "TLSReader", "TLSWriter", "connect", "start_server"]

logger = logging.getLogger("nautilus_tls.aio")

CLOSE_TIMEOUT = defaults.CLOSE_TIMEOUT_SECONDS

Handler = Callable[["TLSReader", "TLSWriter"], Awaitable[None] | None]


def _describe(error: BaseException) -> str:
    """A log line for an error: its type, message and alert (never key material)."""
    return f"{type(error).__name__}: {error}"


class _TLSProtocol(asyncio.Protocol):
    """One TLS connection on one transport: feeds bytes in, drains bytes out."""

    # Slots: one per idle connection adds up, and past 30 attributes CPython stops sharing
    # the keys of instance dicts (a full dict, ~1.2 KiB, per connection).
    __slots__ = (
        "__weakref__",
        "_awaiting_first_byte",
        "_close_timer",
        "_closed",
        "_closing",
        "_conn",
        "_counted_address",
        "_drain_waiters",
        "_eof_written",
        "_error",
        "_first_byte_timeout",
        "_first_byte_timer",
        "_handshake",
        "_handshake_deadline",
        "_handshake_timeout",
        "_handshake_timer",
        "_held",
        "_loop",
        "_lost",
        "_max_buffered",
        "_offload_handshake",
        "_on_established",
        "_paused_reading",
        "_paused_writing",
        "_peer_eof",
        "_queued",
        "_queued_sends",
        "_slot_state",
        "_slots",
        "_transport",
        "_worker",
        "handler_task",
        "reader",
        "writer",
    )

    def __init__(
        self,
        conn: Connection,
        *,
        loop: asyncio.AbstractEventLoop,
        handshake_timeout: float,
        handshake_deadline: float | None = None,
        on_established: Callable[[_TLSProtocol], None] | None = None,
        max_buffered: int = defaults.MAX_BUFFERED_PLAINTEXT,
        slots: _HandshakeSlots | None = None,
        first_byte_timeout: float | None = None,
        offload_handshake: bool = False,
    ) -> None:
        self._conn = conn
        # The verifier may block inside the handshake (a did:web document only the peer
        # names): until the handshake completes, received bytes go to the core in a worker
        # thread, one batch at a time with reading paused, so the event loop never waits.
        # While a batch is out, nothing on the loop touches ``conn``.
        self._offload_handshake = offload_handshake
        self._worker: asyncio.Future[TLSError | None] | None = None
        self._queued: list[bytes] = []  # what arrived while a batch was out
        self._queued_sends: list[bytes] = []  # what the application wrote meanwhile
        self._max_buffered = max_buffered
        self._slots = slots
        # "running" or "waiting" while it counts against the server's handshake slots.
        self._slot_state: Literal["none", "running", "waiting"] = "none"
        # The address counted against the server's per-address limit until the handshake ends.
        self._counted_address: str | None = None
        self._first_byte_timeout = first_byte_timeout
        self._first_byte_timer: asyncio.TimerHandle | None = None
        self._awaiting_first_byte = slots is not None
        self._held: list[bytes] = []  # what arrived while waiting for a slot
        self._loop = loop
        self._handshake_timeout = handshake_timeout
        self._handshake_deadline = handshake_deadline
        self._on_established = on_established
        self._transport: asyncio.Transport | None = None
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._handshake: asyncio.Future[SessionInfo] = loop.create_future()
        self._closed: asyncio.Future[None] = loop.create_future()
        self._error: TLSError | None = None
        self._closing = False  # close() was called
        self._eof_written = False
        self._peer_eof = False  # TCP end of stream seen
        self._lost = False
        self._paused_reading = False
        self._paused_writing = False
        self._drain_waiters: deque[asyncio.Future[None]] = deque()
        self.handler_task: asyncio.Task[Any] | None = None
        self.reader = TLSReader(self, max_buffered)
        self.writer = TLSWriter(self)

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a stream transport
        conn = self._conn
        if isinstance(conn, ServerConnection) and conn.peer_address is None:
            conn.set_peer_address(self._peer_host())  # a risk engine judges by address
        timeout = self._handshake_timeout
        if self._handshake_deadline is not None:
            timeout = max(0.0, self._handshake_deadline - self._loop.time())
        self._handshake_timer = self._loop.call_later(timeout, self._on_handshake_timeout)
        if self._slots is not None:
            if not self._slots.count_address(self, self._peer_host()):
                self._refuse("too many handshakes from this address")
                return
            if self._first_byte_timeout is not None:
                self._first_byte_timer = self._loop.call_later(
                    self._first_byte_timeout, self._on_first_byte_timeout
                )
            return  # the handshake slot is taken with the first byte
        if isinstance(self._conn, ClientConnection):
            try:
                self._conn.start()
            except TLSError as exc:
                self._fail(exc)
                return
        self._flush()

    def data_received(self, data: bytes) -> None:
        if self._error is not None:
            return
        if self._awaiting_first_byte and not self._take_slot(data):
            return
        if self._worker is not None or (
            self._offload_handshake and not self._conn.handshake_complete
        ):
            self._receive_in_worker(data)
            return
        try:
            self._conn.receive_data(data)
        except TLSError as exc:
            self._dispatch()  # what happened before the failure (data, the alert event)
            self._fail(exc)
            return
        self._dispatch()
        self._flush()

    def eof_received(self) -> bool:
        self._peer_eof = True
        if self._error is not None:
            return False
        try:
            self._conn.receive_data(b"")
        except TLSError as exc:
            self._dispatch()
            self._fail(exc)
            return False
        self._dispatch()
        self._flush()
        # After a clean end (close_notify, then FIN) keep the transport open so that the
        # application can still answer and then close (TLS 1.3 half-close, RFC 8446 §6.1).
        return self._error is None and not self._closing and self._conn.handshake_complete

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._cancel_timers()
        self._release_slot()
        if not self._handshake.done():
            err: TLSError = ConnectionClosedError("connection lost during the handshake")
            err.__cause__ = exc
            self._set_handshake_error(err)
        reader = self.reader
        if not reader._eof and reader._exception is None:
            if exc is None and self._closing:
                reader._feed_eof()  # we closed: reading ends quietly
            else:
                lost = ConnectionClosedError(
                    f"connection lost: {exc}"
                    if exc is not None
                    else "connection closed without close_notify"
                )
                lost.__cause__ = exc
                reader._set_exception(lost)
        self._wake_drain_waiters()
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    # --- handshake reads in a worker thread (offload_handshake) -------------------------------

    def _receive_in_worker(self, data: bytes) -> None:
        self._queued.append(data)
        if self._worker is None:
            self._start_worker()

    def _start_worker(self) -> None:
        batch, self._queued = b"".join(self._queued), []
        if self._transport is not None:
            self._transport.pause_reading()  # one batch out at a time: memory stays bounded
        self._worker = self._loop.run_in_executor(None, self._receive_batch, batch)
        self._worker.add_done_callback(self._worker_done)

    def _receive_batch(self, data: bytes) -> TLSError | None:
        try:
            self._conn.receive_data(data)
        except TLSError as exc:
            return exc
        return None

    def _worker_done(self, worker: asyncio.Future[TLSError | None]) -> None:
        self._worker = None
        if worker.cancelled() or self._lost or self._error is not None:
            return  # failed meanwhile (timeout, close, lost): the result no longer matters
        failure = worker.exception()
        if failure is not None:  # a bug below the core's own errors: fail, do not hang
            error: TLSError | None = LocalProtocolError(f"handshake failed: {failure!r}")
        else:
            error = worker.result()
        self._dispatch()
        if error is not None:
            self._fail(error)
            return
        if self._error is not None:  # the events ended it (the peer's alert)
            return
        sends, self._queued_sends = self._queued_sends, []
        try:
            for data in sends:
                self._conn.send_data(data)
        except TLSError as exc:  # what send() would have raised, had the core been free
            self._fail(exc)
            return
        self._flush()
        if self._queued:
            if self._conn.handshake_complete:
                held, self._queued = b"".join(self._queued), []
                self.data_received(held)
            else:
                self._start_worker()
                return
        if self._transport is not None and not self._paused_reading and self._error is None:
            self._transport.resume_reading()

    def resume_writing(self) -> None:
        self._paused_writing = False
        self._wake_drain_waiters()

    # --- events -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        conn = self._conn
        fed = False
        while (event := conn.next_event()) is not None:
            if isinstance(event, DataReceived):
                self.reader._feed(event.data)
                fed = True
            elif isinstance(event, EarlyDataReceived):
                self.reader._feed_early(event.data)
            elif isinstance(event, HandshakeCompleted):
                self._on_handshake_completed(event.info)
            elif isinstance(event, ConnectionClosed):
                if event.clean:
                    self._on_close_notify()
                else:
                    error = conn.error
                    self._fail(
                        error
                        if error is not None
                        else RemoteProtocolError(event.error or "connection failed")
                    )
        if fed:
            self.reader._wake()  # once per batch of records, not once per record
        self._check_backpressure()

    def _on_handshake_completed(self, info: SessionInfo) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        self._release_slot()
        if not self._handshake.done():
            self._handshake.set_result(info)
        if self._on_established is not None:
            self._on_established(self)

    def _on_close_notify(self) -> None:
        if not self._conn.handshake_complete:
            self._fail(PeerAlert(AlertDescription.close_notify, AlertLevel.WARNING))
            return
        self.reader._feed_eof()
        if self._closing and self._transport is not None:
            self._transport.close()  # both sides have said close_notify

    def _on_first_byte_timeout(self) -> None:
        self._first_byte_timer = None
        if self._awaiting_first_byte and self._error is None:
            self._fail(HandshakeTimeout(f"no data within {self._first_byte_timeout:g} s"))

    def _on_handshake_timeout(self) -> None:
        self._handshake_timer = None
        if self._conn.handshake_complete or self._error is not None:
            return
        self._fail(
            HandshakeTimeout(f"the handshake did not finish within {self._handshake_timeout:g} s")
        )

    # --- output -----------------------------------------------------------------------------

    def _flush(self) -> None:
        data = self._conn.data_to_send_buffer()  # asyncio copies only what it cannot send now
        transport = self._transport
        if data and transport is not None and not self._lost and not self._eof_written:
            transport.write(data)

    def _fail(self, error: TLSError) -> None:
        """The connection is over: send what the core queued (the alert), then close."""
        if self._error is not None:
            return
        self._error = error
        self._cancel_timers()
        self._release_slot()
        if self._worker is None:  # else the core is busy in the worker: no alert to send
            self._flush()
        if not self._handshake.done():
            self._set_handshake_error(error)
            if not self._conn.is_client:
                self._log_handshake_failure(error)
        else:
            logger.debug("TLS connection from %s failed: %s", self._peer_name(), _describe(error))
        self.reader._set_exception(error)
        self._wake_drain_waiters()
        transport = self._transport
        if transport is not None and not transport.is_closing():
            if not self._peer_eof and transport.can_write_eof() and _write_eof(transport):
                # Lingering close: FIN after the alert, then drop what still arrives until
                # the peer closes (bounded). Closing at once with unread input would send a
                # RST, which can destroy the alert before the peer reads it.
                self._close_timer = self._loop.call_later(
                    defaults.FAILED_CLOSE_LINGER_SECONDS, transport.close
                )
            else:
                transport.close()

    def _set_handshake_error(self, error: TLSError) -> None:
        self._handshake.set_exception(error)
        if not self._conn.is_client:
            self._handshake.exception()  # nobody awaits it on the server side

    def _log_handshake_failure(self, error: TLSError) -> None:
        level = (
            logging.WARNING
            if isinstance(error, LocalProtocolError) and not isinstance(error, HandshakeTimeout)
            else logging.DEBUG
        )
        alert = error.alert.name if isinstance(error, ProtocolError) else "-"
        logger.log(
            level,
            "TLS handshake with %s failed (alert %s): %s",
            self._peer_name(),
            alert,
            _describe(error),
        )

    def _peer_name(self) -> str:
        peer = self._transport.get_extra_info("peername") if self._transport is not None else None
        if isinstance(peer, tuple) and len(peer) >= 2:
            return f"{peer[0]}:{peer[1]}"
        return str(peer)

    def _peer_host(self) -> str:
        peer = self._transport.get_extra_info("peername") if self._transport is not None else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)

    def _cancel_timers(self) -> None:
        for timer in (self._handshake_timer, self._close_timer, self._first_byte_timer):
            if timer is not None:
                timer.cancel()
        self._handshake_timer = self._close_timer = self._first_byte_timer = None

    # --- handshake slots ----------------------------------------------------------------------

    def _take_slot(self, first: bytes) -> bool:
        """The first bytes arrived: take a handshake slot. True: handle ``first`` now."""
        slots = self._slots
        if slots is None:
            return True
        self._awaiting_first_byte = False
        if self._first_byte_timer is not None:
            self._first_byte_timer.cancel()
            self._first_byte_timer = None
        admitted = slots.admit(self)
        if admitted == "refused":
            self._refuse("too many handshakes")
            return False
        if admitted == "waiting" and self._transport is not None:
            self._held.append(first)
            self._transport.pause_reading()
            return False
        return True

    def _refuse(self, why: str) -> None:
        logger.debug("TLS connection from %s refused: %s", self._peer_name(), why)
        self._release_slot()
        if self._transport is not None:
            self._transport.abort()

    def _slot_granted(self) -> None:
        """A waiting connection may start its handshake now, with what it already sent."""
        if self._transport is None or self._lost or self._error is not None:
            return
        held, self._held = b"".join(self._held), []
        self._loop.call_soon(self._resume_after_wait, held)

    def _resume_after_wait(self, held: bytes) -> None:
        if self._transport is None or self._lost or self._error is not None:
            return
        self.data_received(held)
        if self._error is None and not self._paused_reading and self._worker is None:
            self._transport.resume_reading()

    def _release_slot(self) -> None:
        if self._slots is not None:
            self._slots.release(self)

    # --- flow control -----------------------------------------------------------------------

    def _check_backpressure(self) -> None:
        transport = self._transport
        if (
            not self._paused_reading
            and transport is not None
            and not self._lost
            and not self._closing
            and self.reader._buffered() > self._max_buffered
        ):
            self._paused_reading = True
            transport.pause_reading()

    def _maybe_resume_reading(self, *, force: bool = False) -> None:
        if not self._paused_reading or self._transport is None or self._lost:
            return
        if self._worker is not None:
            self._paused_reading = False  # the worker's end resumes reading
            return
        if force or self.reader._buffered() <= self._max_buffered // 2:
            self._paused_reading = False
            self._transport.resume_reading()

    def _wake_drain_waiters(self) -> None:
        while self._drain_waiters:
            waiter = self._drain_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    # --- used by TLSWriter and connect() ----------------------------------------------------

    async def wait_handshake(self) -> SessionInfo:
        try:
            return await self._handshake
        except BaseException:
            if self._transport is not None and not self._transport.is_closing():
                self._transport.abort()
            raise

    def send(self, data: bytes | bytearray | memoryview) -> None:
        self._check_usable()
        if not data:
            return
        if self._worker is not None:  # the core is busy in the worker: after it
            self._queued_sends.append(bytes(data))
            return
        self._conn.send_data(data)
        self._flush()

    def key_update(self, *, request_peer: bool) -> None:
        self._check_usable()
        if self._worker is not None:
            raise LocalProtocolError("no KeyUpdate before the handshake completes")
        self._conn.request_key_update(request_peer=request_peer)
        self._dispatch()
        self._flush()

    def _check_usable(self) -> None:
        if self._error is not None:
            raise ConnectionClosedError(f"the connection failed: {self._error}") from self._error
        if self._closing:
            raise ConnectionClosedError("the writer is closed")
        if self._lost:
            raise ConnectionClosedError("the connection is lost")

    async def drain(self) -> None:
        if self._error is not None:
            raise ConnectionClosedError(f"the connection failed: {self._error}") from self._error
        if self._lost:
            raise ConnectionClosedError("the connection is lost")
        transport = self._transport
        if transport is None or transport.is_closing():
            await asyncio.sleep(0)
            return
        if self._paused_writing:
            waiter = self._loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter
            if self._lost and self._error is None and not self._closing:
                raise ConnectionClosedError("the connection is lost")

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        transport = self._transport
        if transport is None or self._lost:
            return
        if self._worker is not None:  # mid-handshake, the core busy in the worker: just go
            transport.close()
            return
        if self._error is None:
            self._conn.close()
            self._flush()
        if (
            self._error is not None
            or self._peer_eof
            or self._conn.peer_closed
            or not transport.can_write_eof()
            or not _write_eof(transport)
        ):
            transport.close()
            return
        self._eof_written = True
        # Keep reading so that the peer's close_notify and FIN are seen (and not answered with
        # an RST because of unread data); close anyway after a while.
        self._maybe_resume_reading(force=True)
        self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, transport.close)

    def is_closing(self) -> bool:
        return (
            self._closing
            or self._lost
            or (self._transport is not None and self._transport.is_closing())
        )

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    @property
    def conn(self) -> Connection:
        return self._conn

    @property
    def transport(self) -> asyncio.Transport:
        if self._transport is None:
            raise ConnectionClosedError("no transport yet")
        return self._transport


def _write_eof(transport: asyncio.Transport) -> bool:
    """Shut down our sending side; False when the peer already left. On loopback a reset
    answering our last record can arrive before ``shutdown`` (ENOTCONN): closing must not
    raise for a peer that left first."""
    try:
        transport.write_eof()
    except OSError as exc:
        logger.debug("write_eof failed, the peer has gone: %s", _describe(exc))
        return False
    return True


class _HandshakeSlots:
    """At most ``limit`` handshakes at once on one server; ``limit`` more may wait; at most
    ``per_address`` unfinished handshakes (idle sockets included) from one address."""

    def __init__(self, limit: int, per_address: int = defaults.MAX_HANDSHAKES_PER_ADDRESS) -> None:
        self._limit = limit
        self._per_address = per_address
        self._running = 0
        self._waiting: deque[_TLSProtocol] = deque()
        self._by_address: dict[str, int] = {}

    def count_address(self, protocol: _TLSProtocol, address: str) -> bool:
        """Count a new connection against its address; False: the address is at its limit."""
        count = self._by_address.get(address, 0)
        if count >= self._per_address:
            return False
        self._by_address[address] = count + 1
        protocol._counted_address = address
        return True

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def admit(self, protocol: _TLSProtocol) -> Literal["running", "waiting", "refused"]:
        """Count ``protocol`` in: it may run its handshake now, wait, or is refused."""
        if self._running < self._limit:
            self._running += 1
            protocol._slot_state = "running"
            return "running"
        if len(self._waiting) < self._limit:
            self._waiting.append(protocol)
            protocol._slot_state = "waiting"
            return "waiting"
        return "refused"

    def release(self, protocol: _TLSProtocol) -> None:
        """The handshake ended (or the connection did): give back what it held. Idempotent."""
        address, protocol._counted_address = protocol._counted_address, None
        if address is not None:
            left = self._by_address[address] - 1
            if left:
                self._by_address[address] = left
            else:
                del self._by_address[address]
        state, protocol._slot_state = protocol._slot_state, "none"
        if state == "none":
            return
        if state == "waiting":
            self._waiting.remove(protocol)
            return
        self._running -= 1
        while self._waiting and self._running < self._limit:
            nxt = self._waiting.popleft()
            nxt._slot_state = "running"
            self._running += 1
            nxt._slot_granted()


class TLSReader:
    """Decrypted data from the peer, read like an :class:`asyncio.StreamReader`."""

    def __init__(
        self, protocol: _TLSProtocol, limit: int = defaults.MAX_BUFFERED_PLAINTEXT
    ) -> None:
        self._protocol = protocol
        self._limit = limit
        # Unread data is ``_whole`` (one DataReceived, kept as it came, not copied) or else
        # ``_buffer``; never both. A bulk read takes ``_whole`` as it is: each byte of
        # application data is copied once after decryption (joining a read's records), not
        # three times (join, append to a buffer, slice out of it).
        self._buffer = bytearray()
        self._whole: bytes | None = None
        self._early = bytearray()
        self._eof = False
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def early_data(self) -> bytes:
        """0-RTT data the client sent (server side; empty when none was accepted).

        It is kept apart from :meth:`read` on purpose: an attacker can replay it (RFC 8446
        §8), so act on it only for requests that are safe to repeat."""
        return bytes(self._early)

    def __repr__(self) -> str:
        state = "eof" if self._eof else "error" if self._exception else "open"
        return f"<TLSReader {state} buffered={self._buffered()}>"

    # --- fed by the protocol ------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        # The protocol wakes the reader after the whole batch.
        if self._whole is None and not self._buffer:
            self._whole = data
        else:
            self._settle()
            self._buffer += data

    def _settle(self) -> None:
        """Move ``_whole`` into ``_buffer`` (before appending, searching or trimming)."""
        whole = self._whole
        if whole is not None:
            self._whole = None
            self._buffer += whole

    def _buffered(self) -> int:
        """Bytes received and not read yet."""
        whole = self._whole
        return len(whole) if whole is not None else len(self._buffer)

    def _feed_early(self, data: bytes) -> None:
        self._early += data

    def _feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def _set_exception(self, exc: BaseException) -> None:
        if self._eof or self._exception is not None:
            return
        self._exception = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, name: str) -> None:
        if self._waiter is not None:
            raise RuntimeError(f"{name}() called while another coroutine is waiting for data")
        self._protocol._maybe_resume_reading(force=True)
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _take(self, n: int) -> bytes:
        whole = self._whole
        if whole is None:
            data = take_front(self._buffer, n)
        else:
            self._whole = None
            if n >= len(whole):
                data = whole
            else:
                # The head is copied out, the rest once into the buffer (as a trim would).
                data = whole[:n]
                self._buffer += memoryview(whole)[n:]
        self._protocol._maybe_resume_reading()
        return data

    def _raise_if_failed(self) -> None:
        if self._exception is not None and not self._eof:
            raise self._exception

    # --- public ------------------------------------------------------------------------------

    def at_eof(self) -> bool:
        """True once the peer closed cleanly and everything it sent has been read."""
        return self._eof and not self._buffered()

    def exception(self) -> BaseException | None:
        return self._exception

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (``n < 0``: everything until the end of stream).

        Returns ``b""`` at a clean end (close_notify); raises RemoteProtocolError when the peer
        ended without close_notify, ProtocolError on a fatal alert.
        """
        if n == 0:
            return b""
        if n < 0:
            while not self._eof:
                if self._exception is not None:
                    if self._buffered():
                        break  # what arrived before the error first; the next read raises
                    raise self._exception
                await self._wait("read")
            return self._take(self._buffered())
        while not self._buffered():
            if self._eof:
                return b""
            self._raise_if_failed()
            await self._wait("read")
        return self._take(n)

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; :class:`asyncio.IncompleteReadError` if the stream ends first."""
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        while self._buffered() < n:
            if self._eof:
                partial = self._take(self._buffered())
                raise asyncio.IncompleteReadError(partial, n)
            self._raise_if_failed()
            await self._wait("readexactly")
        return self._take(n)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Data up to and including ``separator`` (see :meth:`asyncio.StreamReader.readuntil`)."""
        if not separator:
            raise ValueError("separator should be at least one-byte string")
        offset = 0
        while True:
            haystack = self._whole if self._whole is not None else self._buffer
            index = haystack.find(separator, offset)
            if index != -1:
                break
            offset = max(0, len(haystack) + 1 - len(separator))
            if offset > self._limit:
                raise asyncio.LimitOverrunError(
                    "separator is not found, and chunk exceed the limit", offset
                )
            if self._eof:
                partial = self._take(self._buffered())
                raise asyncio.IncompleteReadError(partial, None)
            self._raise_if_failed()
            await self._wait("readuntil")
        end = index + len(separator)
        if end > self._limit:
            raise asyncio.LimitOverrunError(
                "separator is found, but chunk is longer than limit", index
            )
        return self._take(end)

    async def readline(self) -> bytes:
        """One line including ``\\n``; the partial last line at the end of stream."""
        try:
            return await self.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError as exc:
            self._settle()
            if self._buffer.startswith(b"\n", exc.consumed):
                del self._buffer[: exc.consumed + 1]
            else:
                self._buffer.clear()
            self._protocol._maybe_resume_reading()
            raise ValueError(exc.args[0]) from exc

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while line := await self.readline():
            yield line


class TLSWriter:
    """Sends plaintext to the peer, like an :class:`asyncio.StreamWriter`."""

    def __init__(self, protocol: _TLSProtocol) -> None:
        self._protocol = protocol

    def __repr__(self) -> str:
        return f"<TLSWriter {self._protocol.conn!r}>"

    @property
    def transport(self) -> asyncio.Transport:
        return self._protocol.transport

    @property
    def info(self) -> SessionInfo:
        """What the handshake negotiated."""
        info = self._protocol.conn.info
        if info is None:
            raise LocalProtocolError("the handshake is not complete")
        return info

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt and send ``data`` (call :meth:`drain` to respect flow control)."""
        self._protocol.send(data)  # sealed at once: no copy needed to keep it

    def writelines(self, data: Iterable[bytes | bytearray | memoryview]) -> None:
        self._protocol.send(b"".join(data))

    async def drain(self) -> None:
        await self._protocol.drain()

    def can_write_eof(self) -> bool:
        return False

    def close(self) -> None:
        """Send close_notify and close the connection (see the module docstring)."""
        self._protocol.close()

    def is_closing(self) -> bool:
        return self._protocol.is_closing()

    async def wait_closed(self) -> None:
        """Wait until the transport is closed (never raises for a connection error)."""
        await self._protocol.wait_closed()

    def key_update(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3); with ``request_peer`` the peer updates too."""
        self._protocol.key_update(request_peer=request_peer)

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 8446 §7.5 exporter."""
        return self._protocol.conn.export_keying_material(label, context, length)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``tls_info`` (SessionInfo), ``peercert`` (the peer's end-entity certificate, DER),
        ``key_updates`` ({"sent": n, "received": m}), ``ssl_object`` (a
        :class:`~nautilus_tls.sslobject.TLSObject`, for code written for ``ssl``), else what
        the transport knows (``peername``, ``sockname``, ``socket``...)."""
        protocol = self._protocol
        info = protocol.conn.info
        if name == "tls_info":
            return info if info is not None else default
        if name == "ssl_object":
            return TLSObject(protocol.conn)
        if name == "peercert":
            if info is None or not info.peer_certificates:
                return default
            return info.peer_certificates[0]
        if name == "key_updates":
            conn = protocol._conn
            return {"sent": conn.key_updates_sent, "received": conn.key_updates_received}
        try:
            transport = protocol.transport
        except ConnectionClosedError:
            return default
        return transport.get_extra_info(name, default)


def _reject_ssl(kwargs: dict[str, Any]) -> None:
    if "ssl" in kwargs:
        raise ConfigError("nautilus_tls does the TLS itself: do not pass ssl=")


async def connect(
    host: str,
    port: int,
    *,
    config: ClientConfig,
    server_name: str | None = None,
    early_data: bytes | None = None,
    connect_timeout: float | None = None,
    **kwargs: Any,
) -> tuple[TLSReader, TLSWriter]:
    """Open a TCP connection, run the TLS handshake and return ``(reader, writer)``.

    ``server_name`` (SNI and the name the certificate must match) defaults to ``host``.
    ``early_data`` goes out as 0-RTT when a stored ticket for this server allows it;
    ``writer.info.early_data`` says whether the server accepted it ("accepted") or not
    ("rejected": send it again) or no 0-RTT happened ("none"). Beyond the ticket's
    max_early_data it is not cut: ``writer.info.early_data_sent`` bytes go early and, when
    accepted, the rest follows as ordinary data right after the handshake.
    ``config.handshake_timeout`` bounds TCP connect and handshake together;
    ``connect_timeout``, if given, bounds the TCP connect alone as well. Raises the
    :class:`~nautilus_tls.errors.ProtocolError` that ended the handshake (its ``.alert`` says
    which alert), :class:`~nautilus_tls.errors.HandshakeTimeout`, or the ``OSError`` of the
    TCP connect. Other keyword arguments go to :meth:`asyncio.loop.create_connection`.
    A ``config.verifier`` with blocking look-ups (a DID verifier expecting a did:web DID)
    makes them first, in a worker thread, within the same deadline.
    """
    _reject_ssl(kwargs)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + config.handshake_timeout
    await prefetch_within(config.verifier, config.handshake_timeout)  # e.g. a did:web document
    name = server_name if server_name is not None else host
    conn = ClientConnection(
        config,
        name,
        early_data=early_data,
        session_key=session_key(name, port, config.alpn_protocols),
    )

    offload = blocks_in_handshake(config.verifier)

    def factory() -> _TLSProtocol:
        return _TLSProtocol(
            conn,
            loop=loop,
            handshake_timeout=config.handshake_timeout,
            handshake_deadline=deadline,
            max_buffered=config.max_buffered_plaintext,
            offload_handshake=offload,
        )

    limit = config.handshake_timeout
    connect_deadline = deadline
    if connect_timeout is not None and loop.time() + connect_timeout < deadline:
        limit, connect_deadline = connect_timeout, loop.time() + connect_timeout
    try:
        async with asyncio.timeout_at(connect_deadline):
            _, protocol = await loop.create_connection(factory, host, port, **kwargs)
    except TimeoutError as exc:
        raise HandshakeTimeout(
            f"TCP connect to {host}:{port} did not finish within {limit:g} s"
        ) from exc
    await protocol.wait_handshake()
    return protocol.reader, protocol.writer


async def start_server(
    handler: Handler,
    host: str | None = None,
    port: int | None = None,
    *,
    config: ServerConfig,
    **kwargs: Any,
) -> asyncio.Server:
    """Listen for TLS connections; ``handler(reader, writer)`` runs after each handshake.

    A ``config.client_verifier`` with blocking look-ups (a DID verifier naming did:web DIDs)
    makes them in a worker thread before listening and then as often as it asks, so that
    handshakes on the event loop find them cached (:mod:`nautilus_tls.aio.prefetch`).

    When a coroutine handler returns, its connection is closed (close_notify first). A failed
    handshake is logged on the ``nautilus_tls.aio`` logger (no secrets) and the socket closed.
    Other keyword arguments go to :meth:`asyncio.loop.create_server`.
    """
    _reject_ssl(kwargs)
    loop = asyncio.get_running_loop()

    def on_established(protocol: _TLSProtocol) -> None:
        try:
            result = handler(protocol.reader, protocol.writer)
        except Exception as exc:
            _report_handler_error(loop, protocol, exc)
            return
        if inspect.isawaitable(result):
            task: asyncio.Task[Any] = loop.create_task(_await(result))
            protocol.handler_task = task
            task.add_done_callback(lambda t: _handler_done(loop, protocol, t))

    slots = _HandshakeSlots(config.max_concurrent_handshakes, config.max_handshakes_per_address)
    offload = blocks_in_handshake(client_judge(config))

    def factory() -> _TLSProtocol:
        return _TLSProtocol(
            ServerConnection(config),
            loop=loop,
            handshake_timeout=config.handshake_timeout,
            on_established=on_established,
            max_buffered=config.max_buffered_plaintext,
            slots=slots,
            first_byte_timeout=config.first_byte_timeout,
            offload_handshake=offload,
        )

    interval = await prefetch(config.client_verifier)  # before any client can be judged
    server = await loop.create_server(factory, host, port, **kwargs)
    keep_prefetched(server, config.client_verifier, interval)
    return server


async def _await(awaitable: Awaitable[None]) -> None:
    await awaitable


def _handler_done(
    loop: asyncio.AbstractEventLoop, protocol: _TLSProtocol, task: asyncio.Task[Any]
) -> None:
    if task.cancelled():
        protocol.close()
        return
    exc = task.exception()
    if exc is not None:
        _report_handler_error(loop, protocol, exc)
    else:
        protocol.close()


def _report_handler_error(
    loop: asyncio.AbstractEventLoop, protocol: _TLSProtocol, exc: BaseException
) -> None:
    loop.call_exception_handler(
        {"message": "unhandled exception in a nautilus_tls connection handler", "exception": exc}
    )
    try:
        transport = protocol.transport
    except ConnectionClosedError:
        return
    transport.abort()
