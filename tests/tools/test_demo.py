"""``nautilus-tls demo``: the whole post-quantum story on loopback, checked."""

from __future__ import annotations

import pytest

from nautilus_tls.cli import main
from nautilus_tls.tools.demo import run_demo


def test_demo_report_shows_pq_handshake_key_update_and_matching_exporters() -> None:
    report = run_demo()
    assert report.ok, report.render()
    assert report.group == "X25519MLKEM768"
    assert report.signature_scheme == "mldsa65"
    assert report.verified
    assert report.exporter_match and len(report.exporter_client) == 64
    assert report.key_updates == {
        "client": {"sent": 1, "received": 1},
        "server": {"sent": 1, "received": 1},
    }
    assert set(report.timings_ms) >= {
        "certificate generation",
        "handshake",
        "echo",
        "key update + echo",
    }


def test_demo_command_prints_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "X25519MLKEM768" in out
    assert "mldsa65" in out
    assert "exporter match         yes" in out
    assert "Result: OK" in out


def test_demo_with_client_certificate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--mutual"]) == 0
    assert "client.nautilus.test" in capsys.readouterr().out
