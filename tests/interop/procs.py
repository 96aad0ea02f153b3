"""A peer program run as a child process, its output read line by line by two threads.

Used by the harnesses whose peer speaks text (openssl s_server/s_client, tshark/dumpcap,
curl, Chromium, ``nautilus-tls serve``). Every wait is bounded; the process is ended by its
own PID (SIGTERM, then SIGKILL) in :meth:`LineProcess.stop`, which a ``with`` block calls.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

STOP_TIMEOUT = 5.0
"""Seconds between the polite signal and SIGKILL, and for the reader threads to finish."""
MAX_LINES = 20_000
"""Lines kept per stream; a chatty peer cannot fill memory."""


class LineProcess:
    """``argv`` with stdout and stderr read into one queue of ``(stream, line)``."""

    def __init__(
        self,
        argv: Sequence[str | Path],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        stdin: bool = False,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self._cwd = cwd
        self._env = env
        self._want_stdin = stdin
        self._stop_signal = stop_signal
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.lines: list[tuple[str, str]] = []  # everything seen by wait_for/drain, in order
        self._readers: list[threading.Thread] = []
        self._open_streams = 0
        self.proc: subprocess.Popen[str] | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> LineProcess:
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if self._want_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            cwd=self._cwd,
            env=self._env,
            bufsize=1,
        )
        self._open_streams = 2
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            reader = threading.Thread(target=self._read, args=(name, stream), daemon=True)
            reader.start()
            self._readers.append(reader)
        return self

    def _read(self, name: str, stream: IO[str] | None) -> None:
        assert stream is not None
        for count, line in enumerate(stream, start=1):
            if count <= MAX_LINES:
                self._queue.put((name, line.rstrip("\r\n")))
        self._queue.put(None)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> int | None:
        """End the process by its PID; returns its exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, self._stop_signal)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        for reader in self._readers:
            reader.join(timeout=STOP_TIMEOUT)
        self.drain()
        return proc.returncode

    def wait(self, timeout: float) -> int | None:
        """Wait for the process to exit on its own (bounded); its exit status or None."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self) -> LineProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- talking to it ------------------------------------------------------------------------

    def write(self, text: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.close()

    def _next(self, timeout: float) -> tuple[str, str] | None:
        """The next line, None at the end of both streams; raises queue.Empty on timeout."""
        while True:
            if self._open_streams == 0:
                return None
            item = self._queue.get(timeout=timeout)
            if item is None:
                self._open_streams -= 1
                continue
            self.lines.append(item)
            return item

    def wait_for(
        self, pattern: str | re.Pattern[str], timeout: float, *, stream: str | None = None
    ) -> re.Match[str]:
        """The first new line matching ``pattern`` (on ``stream`` when given).

        Raises TimeoutError after ``timeout`` seconds and EOFError when the output ends first;
        both messages carry the last lines seen.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                item = self._next(remaining)
            except queue.Empty:
                break
            if item is None:
                raise EOFError(
                    f"{Path(self.argv[0]).name} ended before printing /{regex.pattern}/"
                    f"{self.tail()}"
                )
            name, line = item
            if stream is not None and name != stream:
                continue
            if match := regex.search(line):
                return match
        raise TimeoutError(
            f"{Path(self.argv[0]).name} printed no /{regex.pattern}/ in {timeout:g}s{self.tail()}"
        )

    def drain(self) -> None:
        """Move whatever is queued into :attr:`lines` without waiting."""
        while True:
            try:
                if self._next(0.0) is None:
                    return
            except queue.Empty:
                return

    def text(self, stream: str | None = None) -> str:
        self.drain()
        return "\n".join(line for name, line in self.lines if stream is None or name == stream)

    def tail(self, count: int = 12) -> str:
        shown = [f"{name}: {line}" for name, line in self.lines[-count:]]
        return ("\n  last output:\n  " + "\n  ".join(shown)) if shown else " (no output)"
