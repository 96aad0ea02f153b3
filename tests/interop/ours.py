"""Our side of every interop case: the sans-I/O core driven over a real loopback socket.

The matrix proves the protocol core itself, so it does not go through the asyncio or blocking
adapters (those have their own cases: ``nautilus-tls serve`` in the curl and Chromium
harnesses). :class:`CoreStream` is a deliberately small blocking pump; :class:`CoreServer`
accepts connections on an ephemeral loopback port in a thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from interop.matrix import (
    EXPORTER_LABEL,
    NATURAL_SCHEME,
    Bundle,
    Case,
    Check,
    expect,
    expect_equal,
)

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.events import AlertReceived, ConnectionClosed, DataReceived, Event, KeyUpdated
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme

DEADLINE_S = 30.0
"""Seconds one connection may live (handshake, data, close) before the test gives up."""
MAX_STEPS = 100_000
"""Socket reads per connection, at most (each waits at most POLL_S)."""
POLL_S = 0.5


def group_codes(*names: str) -> tuple[int, ...]:
    return tuple(NamedGroup[name] for name in names)


def suite_codes(*names: str) -> tuple[int, ...]:
    return tuple(CipherSuite[name] for name in names)


def scheme_codes(*names: str) -> tuple[int, ...]:
    return tuple(SignatureScheme[name] for name in names)


def trust(path: Path) -> TrustStore:
    return TrustStore.from_pem(path.read_bytes())


def server_key(bundle: Bundle) -> CertifiedKey:
    return CertifiedKey.from_files(bundle.server_pem, bundle.server_key)


def client_key(bundle: Bundle) -> CertifiedKey:
    return CertifiedKey.from_files(bundle.client_pem, bundle.client_key)


def client_kwargs(case: Case, bundle: Bundle) -> dict[str, Any]:
    """Our ClientConfig for ``case`` against a peer's server with ``bundle``'s certificate:
    the case's group (its only key share) and suite, and its signature scheme when that is not
    the certificate's natural one; for HelloRetryRequest our default groups and shares."""
    kw: dict[str, Any] = {
        "trust_store": trust(bundle.ca_pem),
        "groups": group_codes(case.group),
        "key_share_groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": None,
    }
    if case.feature == "hrr":
        del kw["groups"], kw["key_share_groups"]  # our defaults: PQ first, classical accepted
    if case.scheme != NATURAL_SCHEME[case.cert]:
        kw["signature_schemes"] = scheme_codes(case.scheme)  # all we offer: the peer must use it
    return kw


def check_info(info: SessionInfo | None, case: Case) -> SessionInfo:
    """What our side negotiated must be what the case asks for."""
    expect(info is not None, "our side has no SessionInfo: the handshake did not complete")
    assert info is not None
    expect_equal(info.group, case.group, "group (ours)")
    expect_equal(info.cipher_suite, case.suite, "cipher suite (ours)")
    expect_equal(info.signature_scheme, case.scheme, "server signature scheme (ours)")
    expect_equal(info.hello_retry, case.feature == "hrr", "HelloRetryRequest happened (ours)")
    return info


class CoreStream:
    """A :class:`Connection` over a connected blocking socket, with a deadline."""

    def __init__(self, conn: Connection, sock: socket.socket, *, deadline_s: float = DEADLINE_S):
        self.conn = conn
        self.sock = sock
        self.deadline = time.monotonic() + deadline_s
        self.buffer = bytearray()
        self.events: list[Event] = []
        self.eof = False  # the TCP stream ended
        self.close_notify = False  # the peer's close_notify arrived

    # --- plumbing -----------------------------------------------------------------------------

    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def _collect(self) -> None:
        while (event := self.conn.next_event()) is not None:
            self.events.append(event)
            if isinstance(event, DataReceived):
                self.buffer += event.data
            elif isinstance(event, ConnectionClosed) and event.clean:
                self.close_notify = True

    def _step(self) -> bool:
        """Read once (at most POLL_S) and feed the core; False when the TCP stream ended."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no progress within the {DEADLINE_S:g}s deadline: {self.conn!r}")
        self.sock.settimeout(min(POLL_S, remaining))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        try:
            if not data:
                self.eof = True
                self.conn.receive_data(b"")
            else:
                self.conn.receive_data(data)
        finally:
            self._collect()
            with contextlib.suppress(OSError):
                self._flush()  # our answer: a KeyUpdate, the next flight, or our fatal alert
        return bool(data)

    def _until(self, done: Callable[[], bool], what: str) -> None:
        for _ in range(MAX_STEPS):
            if done():
                return
            if self.eof or self.close_notify:
                raise Check(
                    f"peer closed the connection while waiting for {what}{self.alerts_text()}"
                )
            self._step()
        raise TimeoutError(f"gave up waiting for {what} after {MAX_STEPS} reads")

    # --- what a test does ---------------------------------------------------------------------

    def handshake(self) -> SessionInfo:
        self._flush()
        self._until(lambda: self.conn.handshake_complete, "the handshake")
        self._flush()
        info = self.conn.info
        assert info is not None
        return info

    def send(self, data: bytes) -> None:
        self.conn.send_data(data)
        self._flush()

    def recv_exactly(self, count: int) -> bytes:
        self._until(lambda: len(self.buffer) >= count, f"{count} bytes of data")
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def recv_until(self, marker: bytes) -> bytes:
        self._until(lambda: marker in self.buffer, f"data ending in {marker!r}")
        end = self.buffer.index(marker) + len(marker)
        data = bytes(self.buffer[:end])
        del self.buffer[:end]
        return data

    def recv_some(self) -> bytes:
        """Whatever data arrives next; b"" once the peer closed."""
        for _ in range(MAX_STEPS):
            if self.buffer:
                data = bytes(self.buffer)
                self.buffer.clear()
                return data
            if self.eof or self.close_notify:
                return b""
            self._step()
        raise TimeoutError(f"no data after {MAX_STEPS} reads")

    def key_update(self, *, request_peer: bool = True) -> None:
        self.conn.request_key_update(request_peer=request_peer)
        self._flush()

    def exporter(
        self, label: str = EXPORTER_LABEL, context: bytes | None = None, length: int = 32
    ) -> str:
        return self.conn.export_keying_material(label.encode(), context, length).hex()

    def close(self) -> None:
        """Send close_notify (when the connection still stands) and wait briefly for the peer's."""
        if self.conn.state not in ("closed", "failed"):
            self.conn.close()
            with contextlib.suppress(OSError):
                self._flush()
        end = min(self.deadline, time.monotonic() + 5.0)
        while not (self.eof or self.close_notify) and time.monotonic() < end:
            try:
                self._step()
            except Exception:
                break

    # --- what happened ------------------------------------------------------------------------

    def key_updates(self, direction: str, *, requested_by_peer: bool | None = None) -> int:
        return sum(
            1
            for e in self.events
            if isinstance(e, KeyUpdated)
            and e.direction == direction
            and (requested_by_peer is None or e.requested_by_peer == requested_by_peer)
        )

    def alerts_text(self) -> str:
        alerts = [e.description for e in self.events if isinstance(e, AlertReceived)]
        return f" (alerts received: {alerts})" if alerts else ""


def connect(
    port: int,
    config: ClientConfig,
    *,
    host: str = "127.0.0.1",
    server_name: str | None = "localhost",
    deadline_s: float = DEADLINE_S,
) -> CoreStream:
    """Connect our client and run the handshake."""
    sock = socket.create_connection((host, port), timeout=deadline_s)
    conn = ClientConnection(config, server_name)
    stream = CoreStream(conn, sock, deadline_s=deadline_s)
    try:
        conn.start()
        stream.handshake()
    except BaseException:
        sock.close()
        raise
    return stream


Handler = Callable[[CoreStream], dict[str, Any]]


@dataclass
class Served:
    """What one accepted connection did: the handler's report, or the error that ended it."""

    info: SessionInfo | None = None
    report: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    stream: CoreStream | None = None


class CoreServer:
    """Our server on an ephemeral loopback port; ``handler`` runs per accepted connection.

    With ``max_connections=1`` the connection is handled in the server thread; with more, each
    in a thread of its own (a browser may open a connection that it never uses).
    """

    def __init__(
        self,
        config: ServerConfig,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        max_connections: int = 1,
        deadline_s: float = DEADLINE_S,
    ) -> None:
        self.config = config
        self.handler = handler
        self.host = host
        self.max_connections = max_connections
        self.deadline_s = deadline_s
        self.served: list[Served] = []  # in the order the connections finished
        self._changed = threading.Condition()
        self._accepting_done = False
        self._active = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, 0), family=family)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        end = time.monotonic() + self.deadline_s * max(1, self.max_connections)
        try:
            for _ in range(self.max_connections):
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return
                self._listener.settimeout(remaining)
                try:
                    sock, _ = self._listener.accept()
                except OSError:
                    return  # closed by __exit__, or timed out
                with self._changed:
                    self._active += 1
                if self.max_connections == 1:
                    self._handle(sock)
                else:
                    threading.Thread(target=self._handle, args=(sock,), daemon=True).start()
        finally:
            with self._changed:
                self._accepting_done = True
                self._changed.notify_all()

    def _handle(self, sock: socket.socket) -> None:
        served = Served()
        with sock:
            stream = CoreStream(ServerConnection(self.config), sock, deadline_s=self.deadline_s)
            served.stream = stream
            try:
                stream.handshake()
                served.report = self.handler(stream)
            except BaseException as exc:
                served.error = exc
            served.info = stream.conn.info
        with self._changed:
            self.served.append(served)
            self._active -= 1
            self._changed.notify_all()

    def _finished(self) -> bool:
        return self._accepting_done and self._active == 0

    def first(self, predicate: Callable[[Served], bool], timeout: float = DEADLINE_S) -> Served:
        """The first finished connection for which ``predicate`` holds (bounded wait)."""

        def found() -> Served | None:
            return next((s for s in self.served if predicate(s)), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or self._finished(), timeout)
            result = found()
            errors = [repr(s.error) for s in self.served if s.error is not None]
        if result is None:
            raise Check(f"no connection to our server did what was expected; errors: {errors}")
        return result

    def wait(self, count: int = 1, timeout: float = DEADLINE_S) -> list[Served]:
        """The first ``count`` finished connections (bounded by ``timeout``)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.served) >= count or self._finished(), timeout)
            served = list(self.served)
        if len(served) < count:
            raise Check(f"our server handled {len(served)} of {count} connections")
        return served[:count]

    def one(self, timeout: float = DEADLINE_S) -> Served:
        """The first connection; its error, if it had one, is raised here."""
        served = self.wait(1, timeout)[0]
        if served.error is not None:
            raise served.error
        return served

    def __enter__(self) -> CoreServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):  # wakes a thread blocked in accept(); close() does not
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=self.deadline_s)


# --- server handlers ---------------------------------------------------------------------------

KEY_UPDATE_MARKER = b"[key-update]"
"""A client that sends data containing this asks our echo server to send a KeyUpdate
(update_requested) before echoing it."""


def echo_handler(
    *,
    exporter_label: str = EXPORTER_LABEL,
    exporter_context: bytes | None = None,
    exporter_length: int = 32,
) -> Handler:
    """Echo until the peer closes; on KEY_UPDATE_MARKER, update keys (asking the peer too)."""

    def handle(stream: CoreStream) -> dict[str, Any]:
        report: dict[str, Any] = {
            "exporter": stream.exporter(exporter_label, exporter_context, exporter_length),
            "received": b"",
        }
        received = bytearray()
        for _ in range(10_000):
            data = stream.recv_some()
            if not data:
                break
            received += data
            if KEY_UPDATE_MARKER in data:
                stream.key_update(request_peer=True)
            stream.send(data)
        report["received"] = bytes(received)
        report["clean_close"] = stream.close_notify
        stream.close()
        return report

    return handle


HTTP_BODY = b"<!doctype html><title>nautilus</title><p id=ok>Hello over TLS 1.3 from Nautilus</p>\n"


def http_handler() -> Handler:
    """Answer one HTTP/1.1 request per connection with a small page (Connection: close)."""

    def handle(stream: CoreStream) -> dict[str, Any]:
        head = stream.recv_until(b"\r\n\r\n")
        response = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Length: "
            + str(len(HTTP_BODY)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + HTTP_BODY
        )
        stream.send(response)
        stream.close()
        return {"request": head.split(b"\r\n", 1)[0].decode("latin-1")}

    return handle
