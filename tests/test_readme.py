"""The README's Python blocks run as written, in the order a reader meets them, in one
namespace (a later block uses the ``config`` an earlier one made).

What the test adds is only what the README says is there: the development certificates
(its "Development certificates" block, run first, in a scratch directory), the echo server of
its asyncio block running while the later blocks talk to "the echo server above", and, for
the httpx block, ``nautilus-tls serve --mode http``, and for the stapling block a transparency
log (``nautilus-tls ledger serve``) holding the server's certificate. The README's ports
(8443, 8600) become free ports so that the test can run beside anything on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from interop.procs import LineProcess
from interop.serve import command

from nautilus_tls.config import CertifiedKey

README = Path(__file__).resolve().parent.parent / "README.md"
TIMEOUT = 60.0


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), re.S | re.M)


def block(marker: str) -> str:
    found = [b for b in python_blocks() if marker in b]
    assert len(found) == 1, f"one README block with {marker!r}, found {len(found)}"
    return found[0]


CERTS, ASYNCIO, BLOCKING, HTTPX, SANS_IO, PLUGIN, STAPLING, QUIC, PAKE = (
    "write_pem_bundle(",
    "async def serve()",
    "TLSListener(",
    "HTTPTransport(",
    "ClientConnection(config",
    "extension_hooks=(Hello(),)",
    "TransparencyStapler(",
    "async def quic_demo()",
    "PakeClient(",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(code: str, namespace: dict[str, Any], port: int | None = None) -> None:
    if port is not None:
        code = code.replace("8443", str(port))
    exec(compile(code, str(README), "exec"), namespace)


@contextlib.contextmanager
def echo_server(namespace: dict[str, Any]) -> Iterator[None]:
    """The asyncio block's ``serve()``, in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    task: asyncio.Task[None] | None = None
    started = threading.Event()

    def main() -> None:
        nonlocal task
        asyncio.set_event_loop(loop)
        task = loop.create_task(namespace["serve"]())
        started.set()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        yield
    finally:
        assert started.wait(TIMEOUT) and task is not None
        loop.call_soon_threadsafe(task.cancel)
        thread.join(TIMEOUT)
        loop.close()


def wait_listening(port: int) -> None:
    for _ in range(600):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_every_python_block_is_run_here() -> None:
    markers = (CERTS, ASYNCIO, BLOCKING, HTTPX, SANS_IO, PLUGIN, STAPLING, QUIC, PAKE)
    assert len(python_blocks()) == len(markers)
    for marker in markers:
        block(marker)


def test_the_readme_blocks_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    module = types.ModuleType("readme")  # a real module: the README defines a dataclass
    monkeypatch.setitem(sys.modules, "readme", module)
    namespace: dict[str, Any] = module.__dict__
    run(block(CERTS), namespace)
    assert (tmp_path / "certs" / "ca.pem").exists()

    echo_port = free_port()
    run(block(ASYNCIO), namespace, echo_port)
    with echo_server(namespace):
        wait_listening(echo_port)
        asyncio.run(asyncio.wait_for(namespace["main"](), TIMEOUT))
        out = capsys.readouterr().out.splitlines()
        assert out[0] == "X25519MLKEM768 TLS_AES_256_GCM_SHA384 mldsa65 None"
        assert out[1] == "b'hello'" and re.fullmatch(r"[0-9a-f]{64}", out[2])

        run(block(BLOCKING), namespace, echo_port)
        assert capsys.readouterr().out.splitlines() == ["b'hello' X25519MLKEM768", "b'ping'"]

        run(block(SANS_IO), namespace, echo_port)
        assert capsys.readouterr().out.splitlines() == ["b'sans-I/O'"]

    http_port = free_port()
    argv = [*command(), "serve", "--mode", "http", "--host", "127.0.0.1", "--port", str(http_port),
            "--cert", "certs/server.pem", "--key", "certs/server.key"]  # fmt: skip
    with LineProcess(argv, cwd=tmp_path) as server:
        server.wait_for(r"^listening on ", TIMEOUT, stream="stdout")
        run(block(HTTPX), namespace, http_port)
    assert capsys.readouterr().out.splitlines() == ["HTTP/1.1 X25519MLKEM768"]

    run(block(PLUGIN), namespace)
    assert namespace["config"].extension_hooks[0].ext_type == 0xFF42

    # The PAKE block logs in over two connections in memory: no certificate anywhere.
    capsys.readouterr()
    run(block(PAKE), namespace)
    assert capsys.readouterr().out.splitlines() == ["opaque opaque X25519MLKEM768"]

    # The QUIC block runs its own server on an ephemeral UDP port.
    capsys.readouterr()
    run(block(QUIC), namespace)
    assert capsys.readouterr().out.splitlines() == ["b'hello over QUIC' X25519MLKEM768"]

    # The stapling block, against `nautilus-tls ledger serve` (which writes log.pub) holding
    # the certificate its sh block adds; `certified` is the key pair that block serves.
    ledger_port = free_port()
    ledger = [*command(), "ledger", "serve", "--port", str(ledger_port), "--db", "ledger.sqlite"]
    add = [*command(), "ledger", "add", "--log", f"http://127.0.0.1:{ledger_port}",
           "--cert", "certs/server.pem"]  # fmt: skip
    with LineProcess(ledger, cwd=tmp_path) as log_server:
        log_server.wait_for(r"listening on http://", TIMEOUT, stream="stdout")
        added = LineProcess(add, cwd=tmp_path).start()
        assert added.wait(TIMEOUT) == 0, added.tail()
        added.stop()
        namespace["certified"] = CertifiedKey.from_files("certs/server.pem", "certs/server.key")
        try:
            run(block(STAPLING).replace("8600", str(ledger_port)), namespace)
            assert namespace["client"].require_transparency is not None
            assert namespace["stapler"] in namespace["server"].extension_hooks
        finally:
            if "stapler" in namespace:
                namespace["stapler"].close()
