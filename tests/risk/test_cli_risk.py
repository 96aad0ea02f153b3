"""``serve --risk-adaptive``: the acceptance test of issue 21 item 4, and the threat level.

After a burst of at least 20 failed handshakes from one address within a minute, that
address is held at post-quantum key exchange: a classical-only client from it is refused
with insufficient_security and a log line naming the reason, while a hybrid client still
connects. The operator's threat level (flag or file, re-read on SIGHUP) holds everyone.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import time
from pathlib import Path

import pytest
from certificates import write_pem_files
from test_cli import TIMEOUT, ServerProcess, connect_json, serve

from nautilus_tls.cli import main


def wait_for_level(server: ServerProcess, level: str) -> dict[str, object]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = server.next_line(max(0.1, deadline - time.monotonic()))
        if line.startswith("{"):
            record: dict[str, object] = json.loads(line)
            if record.get("event") == "risk_level" and record["to"] == level:
                return record
    raise AssertionError(f"the server logged no change to {level}")


def stop_and_read_stderr(server: ServerProcess) -> str:
    os.kill(server.proc.pid, signal.SIGTERM)
    try:
        server.proc.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(TIMEOUT)
    assert server.proc.stderr is not None
    return server.proc.stderr.read()


def client_args(port: int, ca: Path, *extra: str) -> list[str]:
    return [f"127.0.0.1:{port}", "--servername", "localhost", "--cafile", str(ca), *extra]


def test_a_burst_of_failed_handshakes_holds_the_address_at_post_quantum_only(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    stranger_ca = write_pem_files(tmp_path / "other", "ecdsa-p256")["ca_pem"]
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
        "--json-log", "--risk-adaptive",
    ) as server:  # fmt: skip
        # Before the burst a classical-only client is fine (the policy is hybrid).
        status, record, err = connect_json(
            capsys, *client_args(server.port, pem["ca_pem"], "--groups", "x25519", "--send", "hi")
        )
        assert status == 0, err
        assert record["group"] == "x25519"
        logged = server.json_record()
        assert logged["risk_level"] == "baseline"

        # 20 handshakes that fail: the clients do not trust the server and say so (an alert).
        for _ in range(20):
            capsys.readouterr()
            assert main(["connect", *client_args(server.port, stranger_ca), "--json"]) != 0
        change = wait_for_level(server, "high")
        assert change["address"] == "127.0.0.1"
        assert "20 fatal alerts from 127.0.0.1 within 60 s" in str(change["reason"])

        status, record, err = connect_json(
            capsys, *client_args(server.port, pem["ca_pem"], "--groups", "x25519", "--send", "hi")
        )
        assert status != 0
        assert "insufficient_security" in err  # the alert says no more than that...

        status, record, err = connect_json(
            capsys, *client_args(server.port, pem["ca_pem"], "--send", "hybrid")
        )
        assert status == 0, err
        assert record["group"] == "X25519MLKEM768" and record["reply"] == "hybrid"
        logged = server.json_record()
        assert logged["risk_level"] == "high"
        assert "20 fatal alerts" in str(logged["risk_reason"])
        stderr = stop_and_read_stderr(server)
    # ...the server's log names the level and why it refused.
    refused = [line for line in stderr.splitlines() if "insufficient_security" in line]
    assert refused, stderr
    assert "risk level high: 20 fatal alerts from 127.0.0.1 within 60 s" in refused[0]


def test_threat_level_file_is_re_read_on_sighup(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    threat = tmp_path / "threat"
    threat.write_text("low\n")
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
        "--json-log", "--risk-adaptive", "--threat-level-file", str(threat),
    ) as server:  # fmt: skip
        classical = client_args(server.port, pem["ca_pem"], "--groups", "x25519", "--send", "x")
        status, _, err = connect_json(capsys, *classical)
        assert status == 0, err
        threat.write_text("high\n")
        os.kill(server.proc.pid, signal.SIGHUP)
        change = wait_for_level(server, "high")
        assert change["address"] is None and "SIGHUP" in str(change["reason"])
        status, _, err = connect_json(capsys, *classical)
        assert status != 0 and "insufficient_security" in err
        threat.write_text("nonsense\n")
        os.kill(server.proc.pid, signal.SIGHUP)  # refused: the level stays high
        threat.write_text("low\n")
        os.kill(server.proc.pid, signal.SIGHUP)
        wait_for_level(server, "baseline")
        status, _, err = connect_json(capsys, *classical)
        assert status == 0, err


def test_threat_level_flag_holds_every_client(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
        "--risk-adaptive", "--threat-level", "elevated",
    ) as server:  # fmt: skip
        status, _, err = connect_json(
            capsys, *client_args(server.port, pem["ca_pem"], "--groups", "x25519", "--send", "x")
        )
        assert status != 0 and "insufficient_security" in err
        status, _record, err = connect_json(
            capsys, *client_args(server.port, pem["ca_pem"], "--send", "x")
        )
        assert status == 0, err


def test_threat_level_without_risk_adaptive_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--port", "0", "--threat-level", "high"]) == 2
    assert "--risk-adaptive" in capsys.readouterr().err


def test_sighup_to_the_workers_parent_reaches_every_worker(
    tls_pem_dir: dict[str, Path], tmp_path: Path
) -> None:
    # Before, SIGHUP ended the parent of `serve --workers N` and left the workers orphaned.
    pem = tls_pem_dir
    threat = tmp_path / "threat"
    threat.write_text("low\n")
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--workers", "2",
        "--json-log", "--risk-adaptive", "--threat-level-file", str(threat),
    ) as server:  # fmt: skip
        threat.write_text("high\n")
        # The workers watch SIGHUP once their event loops run, a moment after "listening":
        # repeat it until both have changed (a worker already at high logs nothing again).
        changes, deadline = 0, time.monotonic() + TIMEOUT
        while changes < 2 and time.monotonic() < deadline:
            os.kill(server.proc.pid, signal.SIGHUP)
            with contextlib.suppress(queue.Empty):
                while True:
                    line = server.next_line(0.5)
                    changes += line.startswith("{") and json.loads(line).get("to") == "high"
        assert changes == 2
        assert server.proc.poll() is None
