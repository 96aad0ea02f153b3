"""``python -m bench.aio_counts``: the asyncio adapter costs no more event-loop round trips per
connection than Python's ssl over asyncio (loop iterations, transport writes, receives)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _table(mode: str) -> dict[str, list[float]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "bench.aio_counts", "--n", "5", "--stacks", "nautilus,pyssl",
         "--mode", mode],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.rsplit(None, 2) for line in done.stdout.splitlines()[1:]]
    return {label.strip(): [float(a), float(b)] for label, a, b in rows}


def test_full_and_resumed_handshakes_take_no_more_loop_round_trips_than_python_ssl() -> None:
    for mode in ("full", "resumed"):
        table = _table(mode)
        for label in ("loop iterations", "transport writes", "socket receives"):
            ours, theirs = table[label]
            assert 0 < ours <= theirs, (mode, label, ours, theirs)
        assert table["Python calls"][0] > 0
