"""``python -m bench.floor``: the crypto floor it times is the crypto a full pair really makes,
and the tool runs end to end against Python's ssl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.core import workloads
from bench.floor import FLOOR_CALLS, profiled_calls

ROOT = Path(__file__).resolve().parent.parent


def test_the_floor_counts_the_crypto_calls_of_full_and_resumed_pq_ecdsa_pairs() -> None:
    pairs = workloads("pq-ecdsa")
    for scenario in ("full", "resumed"):
        assert profiled_calls(pairs[scenario], n=3) == FLOOR_CALLS[scenario], scenario


def test_the_floor_tool_reports_all_three_workloads_and_the_budget() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "bench.floor", "--n", "3", "--rounds", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for label in (
        "full:",
        "resumed:",
        "pyssl",
        "floor",
        "nautilus",
        "budget at 1.0x",
        "budget at 1.2x",
    ):
        assert label in done.stdout, done.stdout  # fmt: skip
    assert "WARNING" not in done.stdout, done.stdout
