"""tlslite-ng 0.8 (pure Python, ML-KEM from kyber-py) in the same harness shape, with threads.

tlslite-ng is blocking, so its server is a thread per connection behind a listening thread,
and the client runs in the caller's thread. In the one-process variant both ends share this
process (and its GIL), as the asyncio stacks share one loop. tlslite-ng has no ML-DSA: it is
measured with X25519MLKEM768 + ECDSA P-256, sequential only (it is slow), AES-256-GCM.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import statistics
import threading
import time
from typing import Any

from bench.pki import SERVER_NAME, Bundle
from bench.wire import BULK, BULK_ACK, CHUNK, ECHO_REQUEST, PING, READ_SIZE, bulk_header

HOST = "127.0.0.1"
TIMEOUT = 30.0
MAX_CONNECTIONS = 100_000  # a bound on the accept loop
GROUP = "x25519mlkem768"
CIPHER = "aes256gcm"


def unavailable() -> str | None:
    """Why tlslite-ng cannot run here, or None."""
    if importlib.util.find_spec("tlslite") is None:
        return "tlslite-ng is not installed (pip install tlslite-ng==0.8.2 kyber-py)"
    try:
        from tlslite.utils.compat import ML_KEM_AVAILABLE  # type: ignore[import-untyped]
    except ImportError:
        return "tlslite-ng is too old (no ML-KEM support)"
    if not ML_KEM_AVAILABLE:
        return "tlslite-ng found no ML-KEM implementation (pip install kyber-py)"
    return None


def version() -> str:
    import tlslite  # type: ignore[import-untyped]

    return str(getattr(tlslite, "__version__", "?"))


def _api() -> Any:
    from tlslite import api

    return api


def _settings() -> Any:
    settings = _api().HandshakeSettings()
    settings.minVersion = (3, 4)
    settings.maxVersion = (3, 4)
    settings.eccCurves = [GROUP]
    settings.keyShares = [GROUP]
    settings.dhGroups = []
    settings.cipherNames = [CIPHER]
    return settings


def _read(conn: Any) -> bytes:
    try:
        return bytes(conn.read(max=READ_SIZE))
    except Exception:  # close_notify or a reset: both are the end here
        return b""


class TlsliteServer:
    """Listens on an ephemeral loopback port; a thread per connection."""

    def __init__(self, bundle: Bundle) -> None:
        api = _api()
        self._chain = api.X509CertChain()
        self._chain.parsePemList(bundle.server_pem.read_text())
        self._key = api.parsePEMKey(bundle.server_key.read_text(), private=True)
        self._settings = _settings()
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._stopped = False

    def start(self) -> TlsliteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        # Closing a socket does not wake a thread blocked in accept(); a connection does.
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=5):
            pass
        self._thread.join(TIMEOUT)
        self._listener.close()

    def _accept_loop(self) -> None:
        for _ in range(MAX_CONNECTIONS):
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            if self._stopped:
                raw.close()
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(TIMEOUT)
        conn = _api().TLSConnection(raw)
        try:
            conn.handshakeServer(
                certChain=self._chain, privateKey=self._key, settings=self._settings
            )
            buf = _read(conn)
            if buf[:1] == BULK:
                total = int.from_bytes(buf[1:9], "big")
                got = len(buf) - 9
                while got < total:
                    data = _read(conn)
                    if not data:
                        return
                    got += len(data)
                conn.write(BULK_ACK)
            else:
                payload = buf[1:]
                while payload:
                    conn.write(payload)
                    payload = _read(conn)
            while _read(conn):
                pass
        except Exception:
            pass  # the client went away
        finally:
            with contextlib.suppress(Exception):
                conn.close()
            raw.close()


def _connect(port: int) -> Any:
    raw = socket.create_connection((HOST, port), timeout=TIMEOUT)
    conn = _api().TLSConnection(raw)
    conn.handshakeClientCert(settings=_settings(), serverName=SERVER_NAME)
    return conn


def _echo_once(port: int) -> float:
    t0 = time.perf_counter()
    conn = _connect(port)
    conn.write(ECHO_REQUEST)
    got = b""
    for _ in range(100):
        if len(got) >= len(PING):
            break
        got += _read(conn)
    ttfb = time.perf_counter() - t0
    conn.close()
    if got != PING:
        raise RuntimeError(f"tlslite: bad echo {got!r}")
    return ttfb


def warm_up(port: int) -> None:
    _echo_once(port)


def handshakes(port: int, *, duration: float, max_count: int) -> tuple[int, float]:
    """Sequential connections (connect, handshake, one echo, close) until the deadline."""
    t0 = time.perf_counter()
    count = 0
    while count < max_count and time.perf_counter() - t0 < duration:
        _echo_once(port)
        count += 1
    return count, time.perf_counter() - t0


def time_to_first_byte(port: int, *, count: int) -> float:
    return statistics.median(_echo_once(port) for _ in range(count))


def bulk(port: int, *, total: int, chunk: int = CHUNK) -> float:
    if total <= 0 or total % chunk:
        raise ValueError("total must be a positive multiple of chunk")
    conn = _connect(port)
    data = b"x" * chunk
    t0 = time.perf_counter()
    conn.write(bulk_header(total))
    for _ in range(total // chunk):
        conn.write(data)
    ack = _read(conn)
    seconds = time.perf_counter() - t0
    conn.close()
    if ack != BULK_ACK:
        raise RuntimeError(f"tlslite: bad bulk ack {ack!r}")
    return seconds
