"""The risk-adaptive evaluation script, run small: levels rise and decay, honest hybrid
clients are never refused, nothing is negotiated below the policy, and the plot is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nautilus_tls.risk import Level
from nautilus_tls.tools.risk_report import main, plot, run_scenario

pytest.importorskip("matplotlib")


def test_scenario_raises_and_decays_levels_without_refusing_honest_hybrid_clients(
    tmp_path: Path,
) -> None:
    report = run_scenario(duration=400, step=10, samples=2)
    assert report.refusals("honest hybrid") == 0
    assert report.below_policy == 0
    attacker = report.levels["attacker"]
    first_high = attacker.index(Level.HIGH)
    assert report.phases[0].start <= report.times[first_high] < report.phases[0].end + 10
    # After the burst the attacker's level comes back down before the operator steps in.
    threat_start = report.phases[2].start
    assert any(
        v == Level.BASELINE and report.times[first_high] < t < threat_start
        for t, v in zip(report.times, attacker, strict=True)
    )
    # The attacker's classical probe is refused exactly while it is held above the baseline.
    for level, refused in zip(attacker, report.refused["attacker classical"], strict=True):
        assert refused == (level != Level.BASELINE)
    # An honest classical client is refused only while everyone is raised (operator level or
    # distributed burst), never for the single attacker's burst.
    for level, refused in zip(
        report.levels["honest"], report.refused["honest classical"], strict=True
    ):
        assert refused == (level != Level.BASELINE)
    assert report.max_level("downgrader") >= Level.ELEVATED
    assert set(report.handshake_ms) == {"baseline", "elevated", "high"}
    assert all(ms > 0 for ms in report.handshake_ms.values())
    changes = report.as_dict()["changes"]
    assert isinstance(changes, list) and any(
        "failed" in c["reason"] or "protocol" in c["reason"] for c in changes
    )
    png = plot(report, tmp_path / "levels.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_writes_the_json_report_and_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["--out", str(out), "--duration", "200", "--step", "20", "--samples", "1"]) == 0
    data = json.loads((out / "risk-report.json").read_text())
    assert data["refusals"]["honest hybrid"] == 0
    assert data["handshakes_below_policy"] == 0
    assert (out / "risk-levels.png").stat().st_size > 1000
    assert "handshake_ms_by_level" in capsys.readouterr().out
