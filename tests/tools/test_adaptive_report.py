"""The adaptive-negotiation report, run end to end with small sizes: simulation, real peers
on loopback, PNG plots and the generated block of the document."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from nautilus_tls.tools import adaptive_report

PNG = b"\x89PNG\r\n\x1a\n"


def test_writes_plots_and_replaces_only_the_generated_block(tmp_path: Path) -> None:
    doc = tmp_path / adaptive_report.DOCUMENT
    doc.write_text(
        f"# Title\n\nhand-written\n\n{adaptive_report.BEGIN}\nold\n{adaptive_report.END}\n\ntail\n"
    )
    status = adaptive_report.main(
        ["--servers", "6", "--connections", "3", "--live-connections", "2",
         "--oracle-rounds", "1", "--docs", str(tmp_path)]
    )  # fmt: skip
    assert status == 0
    text = doc.read_text()
    assert text.startswith("# Title\n\nhand-written\n") and text.endswith("\n\ntail\n")
    assert "\nold\n" not in text
    assert "| adaptive |" in text and "ours-secp256r1" in text
    assert "outside the policy 0 times" in text
    plots = sorted(p.name for p in (tmp_path / "adaptive").iterdir())
    assert plots == ["live.png", "sim-hrr-by-kind.png", "sim-regret.png", "sim-summary.png"]
    for name in plots:
        assert (tmp_path / "adaptive" / name).read_bytes().startswith(PNG)
        assert f"(adaptive/{name})" in text


def test_creates_the_document_when_missing(tmp_path: Path) -> None:
    assert (
        adaptive_report.main(
            ["--servers", "3", "--connections", "2", "--no-live", "--docs", str(tmp_path)]
        )
        == 0
    )
    text = (tmp_path / adaptive_report.DOCUMENT).read_text()
    assert adaptive_report.BEGIN in text and "live.png" not in text


def test_replace_block_appends_when_there_are_no_markers() -> None:
    assert adaptive_report.replace_block("# A\n", "B") == "# A\n\nB\n"
