"""Where Nautilus spends its time: a full PQ handshake and a bulk transfer, both ends in-process.

Each workload is profiled twice: with pyinstrument (a sampling profiler, little overhead; its
"own time" of a Python function includes the C calls it makes) and with cProfile
(deterministic, inflates Python-call-heavy code, but names C functions such as
``AESGCM.encrypt``). Both are summarised as the top functions by own time. pyinstrument is in
the ``bench`` extra; without it only cProfile runs.
"""

from __future__ import annotations

import asyncio
import cProfile
import importlib.util
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.pki import CONFIGS, Bundle
from bench.stacks import NautilusStack
from nautilus_tls.wire.enums import CipherSuite

TOP = 15


def _short(path: str) -> str:
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        i = path.rfind(marker)
        if i != -1:
            return path[i + len(marker) :]
    return Path(path).name if path.startswith("/") else path


def _handshake_workload(bundles: dict[str, Bundle], n: int, config: str) -> Callable[[], None]:
    cfg = CONFIGS[config]
    stack = NautilusStack(bundles[cfg.cert_alg], cfg)

    async def body(port: int) -> None:
        client = stack.client()
        await scenarios.warm_up([client], port)
        await scenarios.handshakes([client], port, duration=3600.0, max_count=n)

    def run() -> None:
        asyncio.run(scenarios.in_process(stack, body))

    return run


def _bulk_workload(bundles: dict[str, Bundle], total: int) -> Callable[[], None]:
    cfg = CONFIGS["pq-ecdsa"]
    stack = NautilusStack(bundles[cfg.cert_alg], cfg, suite=CipherSuite.TLS_AES_256_GCM_SHA384)

    async def body(port: int) -> None:
        await scenarios.bulk(stack.client(), port, total=total)

    def run() -> None:
        asyncio.run(scenarios.in_process(stack, body))

    return run


def _pyinstrument(run: Callable[[], None]) -> dict[str, Any]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    t0 = time.perf_counter()
    profiler.start()
    run()
    profiler.stop()
    seconds = time.perf_counter() - t0
    session = profiler.last_session
    root = session.root_frame(trim_stem=False) if session is not None else None
    own: dict[tuple[str, str], float] = {}
    stack = [root] if root is not None else []
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.is_synthetic:
            continue
        where = f"{_short(frame.file_path or '?')}:{frame.line_no}"
        key = (frame.function, where)
        own[key] = own.get(key, 0.0) + frame.total_self_time
    total = sum(own.values()) or 1.0
    top = sorted(own.items(), key=lambda kv: kv[1], reverse=True)[:TOP]
    return {
        "tool": "pyinstrument",
        "seconds": seconds,
        "sampled": total,
        "top": [
            {"function": f, "where": w, "own_s": t, "own_pct": 100.0 * t / total}
            for (f, w), t in top
        ],
    }


def _cprofile(run: Callable[[], None]) -> dict[str, Any]:
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    run()
    profiler.disable()
    seconds = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = [
        (func, line, path, tt, nc)
        for (path, line, func), (_cc, nc, tt, _ct, _callers) in raw.items()
    ]
    total = sum(r[3] for r in rows) or 1.0
    rows.sort(key=lambda r: r[3], reverse=True)
    return {
        "tool": "cProfile",
        "seconds": seconds,
        "sampled": total,
        "top": [
            {
                "function": func,
                "where": f"{_short(path)}:{line}" if path != "~" else "(C)",
                "own_s": tt,
                "own_pct": 100.0 * tt / total,
                "calls": nc,
            }
            for func, line, path, tt, nc in rows[:TOP]
        ],
    }


def profile_all(bundles: dict[str, Bundle], *, handshakes: int, bulk_bytes: int) -> dict[str, Any]:
    """Profiles of ``handshakes`` sequential PQ handshakes (ML-DSA-65, then ECDSA P-256
    certificates) and of ``bulk_bytes`` of bulk transfer."""
    have_pyinstrument = importlib.util.find_spec("pyinstrument") is not None
    out: dict[str, Any] = {"note": None if have_pyinstrument else "pyinstrument not installed"}
    workloads = {
        "handshake": (
            _handshake_workload(bundles, handshakes, "pq-mldsa65"),
            handshakes,
            "handshake",
        ),
        "handshake-ecdsa": (
            _handshake_workload(bundles, handshakes, "pq-ecdsa"),
            handshakes,
            "handshake",
        ),
        "bulk": (_bulk_workload(bundles, bulk_bytes), bulk_bytes / 2**20, "MiB"),
    }
    for name, (run, units, unit) in workloads.items():
        run()  # warm: imports, caches
        entry: dict[str, Any] = {"units": units, "unit": unit, "profiles": []}
        if have_pyinstrument:
            entry["profiles"].append(_pyinstrument(run))
        entry["profiles"].append(_cprofile(run))
        t0 = time.perf_counter()
        run()
        entry["unprofiled_seconds"] = time.perf_counter() - t0
        out[name] = entry
    return out
