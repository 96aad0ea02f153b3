"""Run a fuzz target for a bounded time: ``python tests/fuzz/run.py --target server --seconds 60``.

With atheris installed (the ``test`` extra on Linux x86-64) this is coverage-guided libFuzzer
with a structure-aware mutator; otherwise a plain random mutator over the same seeds and the
same mutations (``--engine random`` forces it). Either way the seeds are regenerated from live
deterministic handshakes (see tests/fuzz/world.py) and every input in
tests/fuzz/corpus/regressions/ for the target runs first.

Exit status 0: no finding. On a finding the input is written to ``--artifacts``
(``<target>-crash-<sha1>``) and the status is non-zero; turn it into a regression with
``cp ARTIFACT tests/fuzz/corpus/regressions/<target>-<what-it-is>.bin``.

It reports the executions it reached: libFuzzer's ``stat::number_of_executed_units: N``
(atheris) or ``fuzz: target=<name> engine=random execs=<n> ...`` (the fallback). Extra
libFuzzer flags go after ``--`` (e.g. ``-- -jobs=2 -workers=2``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REGRESSIONS = HERE / "corpus" / "regressions"
sys.path.insert(0, str(HERE.parent))  # tests/, so that `fuzz` and its helpers import


def _have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _regressions(target: str) -> list[Path]:
    return sorted(REGRESSIONS.glob(f"{target}-*.bin"))


def _seeds(target: Any, scenarios: list[str]) -> list[bytes]:
    """The target's seeds; with ``scenarios`` (server and client targets), only theirs."""
    seeds: list[bytes] = target.seeds()
    if not scenarios:
        return seeds
    from fuzz import world

    names = [sc.name for sc in world.scenarios()]
    unknown = set(scenarios) - set(names)
    if unknown or target.name in ("codec", "quic"):
        raise SystemExit(f"--scenario: not a scenario of the {target.name} target: {unknown}")
    return [s for s in seeds if len(s) >= 2 and names[s[0] % len(names)] in scenarios]


def _write_seeds(target: Any, directory: Path, scenarios: list[str]) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    seeds = _seeds(target, scenarios)
    for seed in seeds:
        (directory / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    return len(seeds)


def _random_byte_mutate(rng: random.Random) -> Callable[[bytes, int], bytes]:
    def mutate(data: bytes, max_size: int) -> bytes:
        buf = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 3, 8))):
            op = rng.randrange(6)
            pos = rng.randrange(len(buf) + 1)
            if op == 0 and buf:
                buf[pos % len(buf)] = rng.randrange(256)
            elif op == 1 and buf:
                buf[pos % len(buf)] ^= 1 << rng.randrange(8)
            elif op == 2:
                buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
            elif op == 3 and buf:
                del buf[pos : pos + rng.randrange(1, 33)]
            elif op == 4 and buf:
                start = rng.randrange(len(buf))
                piece = buf[start : start + rng.randrange(1, 65)]
                buf[pos:pos] = piece
            elif buf:
                interesting = (0, 1, 0x7F, 0x80, 0xFF, 0x40, 0x3F)
                buf[pos % len(buf)] = rng.choice(interesting)
        return bytes(buf[:max_size])

    return mutate


def run_random(
    target: Any, seconds: float, artifacts: Path, seed: int, scenarios: list[str]
) -> int:
    """A dumb but dependable loop: mutate seeds at random for ``seconds``."""
    rng = random.Random(seed)
    byte_mutate = _random_byte_mutate(rng)
    corpus = _seeds(target, scenarios)
    deadline = time.monotonic() + seconds
    execs = 0
    findings = 0
    while time.monotonic() < deadline:
        parent = rng.choice(corpus)
        data = target.mutate(parent, 1 << 17, rng.randrange(1 << 32), byte_mutate)
        for _ in range(rng.randrange(3)):
            data = target.mutate(data, 1 << 17, rng.randrange(1 << 32), byte_mutate)
        execs += 1
        try:
            target.one_input(data)
        except Exception:
            findings += 1
            path = artifacts / f"{target.name}-crash-{hashlib.sha1(data).hexdigest()}"
            path.write_bytes(data)
            traceback.print_exc()
            print(f"fuzz: finding written to {path}", file=sys.stderr)
            break
        if execs % 64 == 0 and len(corpus) < 4096:
            corpus.append(data)  # keep some mutants around as parents
    print(
        f"fuzz: target={target.name} engine=random execs={execs} seconds={seconds:g} "
        f"findings={findings}",
        flush=True,
    )
    return 1 if findings else 0


def run_atheris(
    target_name: str,
    seconds: float,
    artifacts: Path,
    work: Path | None,
    extra: list[str],
    scenarios: list[str],
) -> int:
    import atheris

    with atheris.instrument_imports(include=["nautilus_tls"]):
        from fuzz.targets import TARGETS

    target = TARGETS[target_name]
    for path in _regressions(target_name):
        target.one_input(path.read_bytes())
    tmp = tempfile.TemporaryDirectory(prefix=f"fuzz-{target_name}-")
    seeds_dir = Path(tmp.name) / "seeds"
    _write_seeds(target, seeds_dir, scenarios)
    work_dir = work or Path(tmp.name) / "corpus"
    work_dir.mkdir(parents=True, exist_ok=True)

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        return target.mutate(data, max_size, seed, atheris.Mutate)

    argv = [
        sys.argv[0],
        f"-max_total_time={max(1, int(seconds))}",
        "-timeout=20",
        "-rss_limit_mb=3072",
        f"-max_len={1 << 17}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/{target_name}-",
        *extra,
        str(work_dir),
        str(seeds_dir),
    ]

    atheris.Setup(argv, target.one_input, custom_mutator=mutator)
    atheris.Fuzz()
    return 0  # not reached: libFuzzer exits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, choices=("server", "client", "codec", "quic"))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    parser.add_argument("--artifacts", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--corpus", type=Path, help="working corpus directory (kept)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "0")))
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        help="server/client: start only from this scenario's seeds (repeatable)",
    )
    parser.add_argument("libfuzzer_args", nargs="*", help="extra libFuzzer flags (after --)")
    args = parser.parse_args(argv)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _have_atheris() else "random"
    if engine == "atheris":
        return run_atheris(
            args.target,
            args.seconds,
            args.artifacts,
            args.corpus,
            args.libfuzzer_args,
            args.scenario,
        )
    from fuzz.targets import TARGETS

    target = TARGETS[args.target]
    for path in _regressions(args.target):
        target.one_input(path.read_bytes())
    return run_random(target, args.seconds, args.artifacts, args.seed, args.scenario)


if __name__ == "__main__":
    sys.exit(main())
