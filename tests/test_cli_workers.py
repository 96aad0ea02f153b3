"""``nautilus-tls serve --workers N``: pre-forked processes on one port that resume each
other's tickets, ended by their PIDs when the parent is told to stop."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from interop.procs import LineProcess
from interop.serve import command

from nautilus_tls.cli import main
from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.httpx import HTTPTransport, session_info

START_S = 60.0
MAX_CONNECTIONS = 40  # the kernel picks a worker per connection: 2**-39 to miss one of two


def _row(page: str, name: str) -> str:
    match = re.search(rf"<th>{name}</th><td>([^<]*)</td>", page)
    assert match is not None, page
    return match.group(1)


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return ""


def test_two_workers_both_answer_and_resume_each_others_tickets(
    tls_pem_dir: dict[str, Path],
) -> None:
    argv = [*command(), "serve", "--host", "127.0.0.1", "--port", "0", "--mode", "http",
            "--workers", "2", "--cert", tls_pem_dir["server_pem"], "--key", tls_pem_dir["server_key"]]  # fmt: skip
    server = LineProcess(argv)
    with server:
        port = int(server.wait_for(r"^listening on 127\.0\.0\.1:(\d+)$", START_S).group(1))
        pids = [int(p) for p in server.wait_for(r"^2 workers: (\d+) (\d+)$", START_S).groups()]
        assert all(_alive(pid) for pid in pids)

        config = ClientConfig(trust_store=TrustStore.from_file(tls_pem_dir["ca_pem"]))
        no_reuse = httpx.Limits(max_connections=1, max_keepalive_connections=0)
        answered: dict[int, list[bool]] = {}
        with httpx.Client(
            transport=HTTPTransport(config=config, limits=no_reuse), timeout=20
        ) as client:
            for _ in range(MAX_CONNECTIONS):
                response = client.get(f"https://localhost:{port}/")
                info = session_info(response)
                assert response.status_code == 200 and info is not None
                worker = int(_row(response.text, "worker"))
                assert _row(response.text, "resumed") == str(info.resumed)
                answered.setdefault(worker, []).append(info.resumed)
                if len(answered) == 2 and all(any(r) for r in answered.values()):
                    break
        assert set(answered) == set(pids)
        # The first connection is the only full handshake: every later one resumed with a
        # ticket, whichever worker had issued it.
        first = next(iter(answered.values()))[0]
        assert first is False
        assert sum(not r for rs in answered.values() for r in rs) == 1

        os.kill(server.pid, signal.SIGTERM)
        assert server.wait(30) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def test_early_data_with_workers_needs_a_shared_anti_replay_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["serve", "--port", "0", "--workers", "2", "--early-data"])
    assert status == 2
    assert "--early-data with --workers needs --ticket-store" in capsys.readouterr().err


def test_worker_count_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", "0"])
    assert exited.value.code == 2
    assert "--workers takes 1..256, got 0" in capsys.readouterr().err


def test_workers_with_quic_is_refused_instead_of_serving_tcp(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Before the check, the workers served TCP on the port while the user expected QUIC.
    argv = ["serve", "--quic", "--workers", "2", "--port", "0",
            "--cert", str(tls_pem_dir["server_pem"]), "--key", str(tls_pem_dir["server_key"])]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--workers" in err and "--quic" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_when_the_parent_is_killed(tls_pem_dir: dict[str, Path]) -> None:
    # SIGKILL leaves the parent no chance to stop its workers: the kernel must (prctl).
    argv = [*command(), "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "2",
            "--cert", tls_pem_dir["server_pem"], "--key", tls_pem_dir["server_key"]]  # fmt: skip
    server = LineProcess(argv)
    with server:
        pids = [int(p) for p in server.wait_for(r"^2 workers: (\d+) (\d+)$", START_S).groups()]
        assert all(_alive(pid) for pid in pids)
        try:
            os.kill(server.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = [pid for pid in pids if _alive(pid)]
        finally:
            for pid in pids:  # whatever the outcome, no worker outlives the test
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    assert left == [], f"workers {left} outlived their SIGKILLed parent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("parent_alive", [True, False])
def test_a_worker_asks_for_sigterm_with_its_parent_or_exits_if_it_is_gone(
    parent_alive: bool,
) -> None:
    # The race: a parent that died before prctl sends no signal, so the worker checks.
    script = (
        "import ctypes, os, signal; from nautilus_tls.prefork import _die_with_parent\n"
        f"_die_with_parent(os.getppid() if {parent_alive} else -1)\n"
        "sig = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)\n"
        "print(signal.Signals(sig.value).name)\n"  # PR_GET_PDEATHSIG
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("SIGTERM\n" if parent_alive else "")
