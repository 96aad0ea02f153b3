"""Pre-forked workers on one port: N processes, each with its own listening socket bound with
``SO_REUSEPORT``, so the kernel spreads new connections over them (Linux, BSD).

The parent binds the address first (with ``SO_REUSEPORT``, without listening) to learn the
port when asked for port 0 and to keep it while the workers run; it never accepts. Each
worker binds and listens on that port in its own process and runs ``serve(sock)``. The parent
waits; SIGTERM or SIGINT makes it end every worker by its PID (SIGTERM, then SIGKILL after
:data:`STOP_GRACE` seconds) and return. A worker that exits on its own ends the group: the
parent stops the others and reports the failure. SIGHUP to the parent is passed on to every
worker (which ignores it unless ``serve`` watches it, as ``--threat-level-file`` does).

A parent that dies without stopping them (SIGKILL, a crash) takes the workers along on Linux:
each asks the kernel for SIGTERM when its parent goes (``PR_SET_PDEATHSIG``), else they would
keep the port open, orphaned.

Worker state that must be common (ticket keys) is the caller's business: see
:class:`~nautilus_tls.session.file_store.FileTicketKeyStore`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

__all__ = ["MAX_WORKERS", "STOP_GRACE", "Workers", "bind_reuseport", "run_workers"]

MAX_WORKERS = 256
STOP_GRACE = 5.0
"""Seconds a worker has to finish after SIGTERM before it gets SIGKILL."""
START_TIMEOUT = 60.0
"""Seconds the workers have to bind and listen before the parent gives up."""


def bind_reuseport(host: str, port: int, *, listen: bool, backlog: int = 1024) -> socket.socket:
    """A TCP socket with ``SO_REUSEPORT`` bound to ``(host, port)``; listening if ``listen``."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("this system has no SO_REUSEPORT: --workers needs it")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Workers:
    """The running group: the reserved address and the workers' PIDs."""

    def __init__(self, reservation: socket.socket, pids: list[int]) -> None:
        self.reservation = reservation
        self.pids = pids

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.reservation.getsockname()[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """SIGTERM every live worker by PID, SIGKILL what is left after the grace period."""
        for pid in self.pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while self.pids and time.monotonic() < deadline:
            self._reap(block=False)
            time.sleep(0.05)
        for pid in self.pids:
            _signal(pid, signal.SIGKILL)
        while self.pids:
            self._reap(block=True)

    def _reap(self, *, block: bool) -> tuple[int, int] | None:
        """Collect one finished worker: (pid, exit status), or None if none finished."""
        for pid in list(self.pids):
            try:
                done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                self.pids.remove(pid)
                return pid, os.waitstatus_to_exitcode(status)
        return None


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when ``parent`` dies (Linux; elsewhere the
    parent's own stop() is all there is); exit at once if it is already gone."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died between fork and prctl, before the kernel watched for it:
    # then this worker has already been re-parented and no signal will come.
    if os.getppid() != parent:
        raise SystemExit(0)


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone: waitpid collects it
        os.kill(pid, number)


def run_workers(
    count: int,
    host: str,
    port: int,
    serve: Callable[[socket.socket], None],
    *,
    on_started: Callable[[Workers], None] | None = None,
) -> int:
    """Fork ``count`` workers that each ``serve`` a listening socket on ``(host, port)``;
    return 0 after SIGTERM/SIGINT ended them, 1 when a worker exited on its own."""
    if not 1 <= count <= MAX_WORKERS:
        raise ValueError(f"the number of workers must be 1..{MAX_WORKERS}")
    reservation = bind_reuseport(host, port, listen=False)
    bound_host, bound_port = reservation.getsockname()[:2]
    parent = os.getpid()
    workers = Workers(reservation, [])
    stopping = False

    def on_signal(number: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    def forward(number: int, frame: FrameType | None) -> None:
        # SIGHUP asks a server to re-read its files (serve --threat-level-file); by default it
        # would end the parent alone and leave the workers running, orphaned.
        for pid in workers.pids:
            _signal(pid, number)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    if hasattr(signal, "SIGHUP"):
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, forward)
    ready_read, ready_write = os.pipe()
    try:
        for _ in range(count):
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(ready_read)
                _worker(reservation, bound_host, bound_port, serve, ready_write, parent)
            workers.pids.append(pid)
        os.close(ready_write)
        ready_write = -1
        if not _wait_ready(ready_read, count):
            print("the workers did not start listening in time; stopping", file=sys.stderr)
            return 1
        if on_started is not None:
            on_started(workers)
        status = 0
        while not stopping:
            finished = workers._reap(block=False)
            if finished is not None:
                pid, code = finished
                print(f"worker {pid} exited with status {code}; stopping", file=sys.stderr)
                status = 1
                break
            time.sleep(0.1)
        return status
    finally:
        for fd in (ready_read, ready_write):
            if fd >= 0:
                os.close(fd)
        workers.stop()
        reservation.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_ready(fd: int, count: int) -> bool:
    """Whether ``count`` workers reported listening (one byte each) within START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    seen = 0
    while seen < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return False
        chunk = os.read(fd, count - seen)
        if not chunk:  # every worker closed the pipe: some died before listening
            return False
        seen += len(chunk)
    return True


def _worker(
    reservation: socket.socket,
    host: str,
    port: int,
    serve: Callable[[socket.socket], None],
    ready: int,
    parent: int,
) -> NoReturn:
    """The child after fork: never returns into the parent's code."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # first: the parent's handler is inherited
        _die_with_parent(parent)
        reservation.close()
        # A terminal's Ctrl-C reaches every process of the group; the parent ends the workers.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(signal, "SIGHUP"):  # not the parent's forwarding; serve may watch it itself
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        sock = bind_reuseport(host, port, listen=True)
        os.write(ready, b"1")  # the kernel queues connections for us from here on
        os.close(ready)
        serve(sock)
    except BaseException as exc:  # anything: the child must not return into the parent's code
        if not isinstance(exc, SystemExit | KeyboardInterrupt):
            print(f"worker {os.getpid()}: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = 1
        elif isinstance(exc, SystemExit) and isinstance(exc.code, int):
            code = exc.code
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
