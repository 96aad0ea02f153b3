"""``python -m bench.workers`` runs end to end: a server with one and with two pre-forked
workers answers full handshakes from client processes and the figures come out as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_workers_bench_measures_one_and_two_workers() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "bench.workers", "--workers", "1,2", "--clients", "2",
         "--seconds", "0.5", "--alg", "ecdsa-p256", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert [row["workers"] for row in result["rows"]] == [1, 2]
    assert all(row["handshakes_per_second"] > 0 for row in result["rows"])
    assert result["rows"][0]["speedup"] == 1.0
