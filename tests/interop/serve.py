"""``nautilus-tls serve`` as a child process, for the peers that need a real server program
(curl, Chromium, tshark): started on port 0, ready when it prints ``listening on HOST:PORT``,
one JSON object per handshake with ``--json-log``, ended by its PID.

The command is the console script next to this Python (``<venv>/bin/nautilus-tls``), or
``python -m nautilus_tls`` when the script is not installed.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from interop.procs import LineProcess

START_S = 30.0  # importing cryptography and making keys on a loaded 2-core machine
EVENT_S = 30.0


def command() -> list[str]:
    script = Path(sys.executable).with_name("nautilus-tls")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "nautilus_tls"]


@functools.cache
def availability() -> str | None:
    """None when ``nautilus-tls serve --mode http --json-log --keylog`` exists, else why not."""
    try:
        done = subprocess.run(
            [*command(), "serve", "--help"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run {' '.join(command())}: {exc}"
    if done.returncode != 0:
        return f"`nautilus-tls serve --help` failed: {(done.stderr or done.stdout).strip()[-300:]}"
    missing = [
        opt for opt in ("--mode", "--json-log", "--keylog", "--port") if opt not in done.stdout
    ]
    if missing:
        return f"`nautilus-tls serve` lacks {', '.join(missing)}"
    return None


class NautilusServe:
    """``nautilus-tls serve --port 0 --json-log ARGS`` on 127.0.0.1; a context manager."""

    def __init__(self, *args: str | Path, host: str = "127.0.0.1") -> None:
        argv = [*command(), "serve", "--host", host, "--port", "0", "--json-log", *map(str, args)]
        self.process = LineProcess(argv)
        self.port = 0

    def __enter__(self) -> NautilusServe:
        self.process.start()
        try:
            match = self.process.wait_for(
                r"^listening on \[?[^\]]*\]?:(\d+)$", START_S, stream="stdout"
            )
        except BaseException:
            self.process.stop()
            raise
        self.port = int(match.group(1))
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()

    def next_handshake(self, timeout: float = EVENT_S) -> dict[str, Any]:
        """The next ``--json-log`` record (one per finished handshake)."""
        match = self.process.wait_for(r"^\{.*\}$", timeout, stream="stdout")
        record: dict[str, Any] = json.loads(match.group(0))
        return record

    def tail(self) -> str:
        return self.process.tail()
