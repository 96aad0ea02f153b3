"""``python -m bench.workers`` runs end to end: a server with one and with two pre-forked
workers answers full handshakes (or, with the server-bound load, whole server flights) from
client processes and the figures come out as JSON; ``python -m bench`` judges the workers
target on them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.report import Figure, evaluate

ROOT = Path(__file__).resolve().parent.parent


def _workers_bench(*args: str) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "bench.workers", "--workers", "1,2", "--clients", "2",
         "--seconds", "0.5", "--alg", "ecdsa-p256", "--json", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_workers_bench_measures_one_and_two_workers() -> None:
    result = _workers_bench()
    assert [row["workers"] for row in result["rows"]] == [1, 2]
    assert all(row["handshakes_per_second"] > 0 for row in result["rows"])
    assert all(row["server_ms_per_handshake"] > 0 for row in result["rows"])
    assert all(row["client_ms_per_handshake"] > 0 for row in result["rows"])
    assert result["rows"][0]["speedup"] == 1.0


def test_the_server_bound_load_leaves_the_cpu_to_the_server() -> None:
    # The point of the flight load: the server does a handshake's work, the clients little.
    result = _workers_bench("--load", "flight")
    assert result["load"] == "flight"
    for row in result["rows"]:
        assert row["handshakes_per_second"] > 0
        assert row["client_ms_per_handshake"] < row["server_ms_per_handshake"] / 2, row


def _figure(key: str, runs: list[float | None]) -> Figure:
    fig = Figure(key, "workers", "serve --workers 1", "nautilus", "x", "handshakes/s", True)
    fig.runs = runs
    return fig


def test_the_workers_targets_are_judged_per_round_against_1_8x() -> None:
    figures = {
        f.key: f
        for f in (
            _figure("workers/flight/1/rate", [100.0, 100.0, 100.0]),
            _figure("workers/flight/2/rate", [190.0, 170.0, 185.0]),
            _figure("workers/flight/1/capacity", [250.0, 250.0, None]),
            _figure("workers/flight/2/capacity", [400.0, 420.0, 480.0]),
        )
    }
    rows = {row["ours"]: row for row in evaluate(figures) if row["ours"].startswith("workers/")}
    assert rows["workers/flight/2/rate"]["ratio"]["median"] == 1.85
    assert rows["workers/flight/2/rate"]["verdict"] == "PASS"
    # A round without a 1-worker figure is left out, not counted as zero.
    assert rows["workers/flight/2/capacity"]["ratio"]["rounds"] == [1.6, 1.68]
    assert rows["workers/flight/2/capacity"]["verdict"] == "MISS"
    assert rows["workers/full/2/rate"]["verdict"] == "n/a"
    assert all(row["threshold"] == 1.8 for row in rows.values())
