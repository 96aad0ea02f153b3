"""Run the interoperability matrix and print it: ``python -m tools.interop``.

Every case of every peer (tests/interop/peer_*.py: Node.js 24, the openssl CLI, Python's ssl,
tlslite-ng, GnuTLS, curl, headless Chromium, tshark, aioquic and qh3 over QUIC) runs, several at a time, and ends as pass, fail
(with the reason), unsupported (by the peer, with the reason), skipped (the peer is not
installed here, with the reason) or xfail/xpass (a known bug of ours). The table goes to
stdout; ``--out DIR`` (default docs/interop) gets ``latest.json`` and ``latest.md``.

Exit status 1 when a case fails or xpasses, when a peer named in NAUTILUS_REQUIRE_PEERS is
missing, or when a case that passed in the baseline (``--baseline``, default the
``latest.json`` being replaced) no longer passes, unless only because its peer is missing
here; 0 otherwise. Examples::

    python -m tools.interop                          # everything, results in docs/interop/
    python -m tools.interop --peers node,openssl -j 2 --out /tmp/interop
    python -m tools.interop --list                   # the cases, without running them
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))  # the harnesses live with the tests (pytest's pythonpath)

from interop.matrix import Case, Env, Outcome, Peer, Status, required_peers, run_case  # noqa: E402
from interop.registry import PEERS  # noqa: E402

STATUS_ORDER = [
    Status.PASS,
    Status.FAIL,
    Status.XFAIL,
    Status.XPASS,
    Status.UNSUPPORTED,
    Status.SKIPPED,
]
COLUMNS = ("peer", "our role", "feature", "group", "suite", "authentication", "result", "detail")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.interop", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--peers",
        help="comma-separated peer names (default: all): " + ", ".join(p.name for p in PEERS),
    )
    parser.add_argument("-k", "--match", help="only cases whose id contains this text")
    parser.add_argument("-j", "--jobs", type=int, default=min(4, (os.cpu_count() or 2) + 1),
                        help="cases run at once (default: cores + 1, at most 4)")  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "interop", help="where latest.json/md go"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; write no files")
    parser.add_argument(
        "--baseline", type=Path, help="an earlier latest.json (default: the one in --out)"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--width", type=int, default=110, help="detail column width on the terminal"
    )
    return parser.parse_args(argv)


def select(args: argparse.Namespace) -> list[tuple[Peer, Case]]:
    wanted = {n.strip() for n in args.peers.split(",")} if args.peers else None
    if wanted:
        unknown = wanted - {p.name for p in PEERS}
        if unknown:
            raise SystemExit(f"unknown peer(s): {', '.join(sorted(unknown))}")
    chosen = []
    for peer in PEERS:
        if wanted and peer.name not in wanted:
            continue
        for case in peer.cases():
            if args.match and args.match not in case.id:
                continue
            chosen.append((peer, case))
    return chosen


def run_all(chosen: list[tuple[Peer, Case]], jobs: int) -> list[Outcome]:
    env = Env.temporary()
    outcomes: dict[int, Outcome] = {}
    total = len(chosen)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(run_case, peer, case, env): i for i, (peer, case) in enumerate(chosen)
        }
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            i = futures[future]
            outcome = future.result()  # run_case never raises for a failing case
            outcomes[i] = outcome
            if outcome.status in (Status.FAIL, Status.XPASS):
                print(
                    f"[{done}/{total}] {outcome.status.upper()} {outcome.case.id}: {outcome.detail}",
                    flush=True,
                )
            elif done % 25 == 0 or done == total:
                print(f"[{done}/{total}] done", flush=True)
    return [outcomes[i] for i in range(total)]


def versions(peers: list[Peer]) -> dict[str, str]:
    found = {}
    for peer in peers:
        try:
            found[peer.name] = peer.version()
        except Exception as exc:  # a version probe must not stop the report
            found[peer.name] = f"unknown ({type(exc).__name__})"
    return found


def counts(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = {}
    for o in outcomes:
        table.setdefault(o.case.peer, Counter())[str(o.status)] += 1
    return {
        peer: {str(s): c[str(s)] for s in STATUS_ORDER if c[str(s)]} for peer, c in table.items()
    }


def regressions(
    outcomes: list[Outcome], baseline: dict[str, Any] | None
) -> tuple[list[str], list[str]]:
    """(errors, warnings) from comparing with an earlier run."""
    if not baseline:
        return [], []
    before = {c["id"]: c["status"] for c in baseline.get("cases", [])}
    errors, warnings = [], []
    now = {o.case.id: o for o in outcomes}
    for case_id, status in before.items():
        if status != "pass":
            continue
        outcome = now.get(case_id)
        if outcome is None:
            continue  # not selected this time, or the case changed name
        if outcome.status == Status.SKIPPED:
            warnings.append(f"{case_id}: passed before, skipped now ({outcome.detail})")
        elif outcome.status not in (Status.PASS,):
            errors.append(f"{case_id}: passed before, {outcome.status} now ({outcome.detail})")
    return errors, warnings


def cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def rows(outcomes: list[Outcome]) -> list[tuple[str, ...]]:
    return [
        (o.case.peer, o.case.role, o.case.feature, o.case.group, o.case.suite, o.case.auth, str(o.status),
         o.detail + (f" [{o.case.note}]" if o.case.note and o.status == Status.PASS else ""))
        for o in outcomes
    ]  # fmt: skip


def print_table(outcomes: list[Outcome], width: int) -> None:
    table = [COLUMNS, *rows(outcomes)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS) - 1)]
    for n, r in enumerate(table):
        line = "  ".join(v.ljust(widths[i]) for i, v in enumerate(r[:-1]))
        print(f"{line}  {cell(r[-1], width)}")
        if n == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * min(width, 40))


def markdown(report: dict[str, Any], outcomes: list[Outcome]) -> str:
    lines = [
        "# Interoperability matrix — latest run",
        "",
        f"Generated {report['generated']} by `python -m tools.interop` on {report['machine']} "
        f"in {report['seconds']:.0f} s. Regenerate with `make interop-matrix` (see docs/interop/README.md).",
        "",
        "| peer | version | pass | fail | xfail | xpass | unsupported | skipped |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for peer, c in report["summary"].items():
        lines.append(
            f"| {peer} | {report['versions'].get(peer, '?')} | {c.get('pass', 0)} | {c.get('fail', 0)} | "
            f"{c.get('xfail', 0)} | {c.get('xpass', 0)} | {c.get('unsupported', 0)} | {c.get('skipped', 0)} |"
        )
    lines += [
        "",
        "Roles are *ours*: `client` means Nautilus TLS was the client and the peer the server.",
        "",
    ]
    for peer in report["summary"]:
        lines += [
            f"## {peer}",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + " --- |" * len(COLUMNS),
        ]
        for r in rows([o for o in outcomes if o.case.peer == peer]):
            lines.append("| " + " | ".join(v.replace("|", "\\|") for v in r) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = select(args)
    if args.list:
        for _, case in chosen:
            print(case.id + (f"  (unsupported: {case.unsupported})" if case.unsupported else ""))
        print(f"{len(chosen)} cases")
        return 0
    if not chosen:
        print("no case selected", file=sys.stderr)
        return 2
    baseline_path = args.baseline or (args.out / "latest.json")
    baseline = json.loads(baseline_path.read_text()) if baseline_path.is_file() else None
    peers = list(dict.fromkeys(peer for peer, _ in chosen))
    print(
        f"interop matrix: {len(chosen)} cases, {len(peers)} peers, {args.jobs} at a time",
        flush=True,
    )
    for peer in peers:
        missing = peer.availability()
        print(
            f"  {peer.name:<11} {peer.version() if not missing else 'NOT AVAILABLE: ' + missing}",
            flush=True,
        )
    start = time.monotonic()
    outcomes = run_all(chosen, args.jobs)
    seconds = time.monotonic() - start
    print()
    print_table(outcomes, args.width)
    summary = counts(outcomes)
    report: dict[str, Any] = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores",
        "seconds": round(seconds, 1),
        "versions": versions(peers),
        "required_peers": sorted(required_peers()),
        "summary": summary,
        "cases": [o.as_dict() for o in outcomes],
    }
    errors, warnings = regressions(outcomes, baseline)
    print()
    print(f"{'peer':<11} " + " ".join(f"{s!s:>11}" for s in STATUS_ORDER))
    for name, c in summary.items():
        print(f"{name:<11} " + " ".join(f"{c.get(str(s), 0):>11}" for s in STATUS_ORDER))
    total = Counter(str(o.status) for o in outcomes)
    print(f"{'total':<11} " + " ".join(f"{total.get(str(s), 0):>11}" for s in STATUS_ORDER))
    print(f"{len(outcomes)} cases in {seconds:.0f} s")
    skipped = [o for o in outcomes if o.status == Status.SKIPPED]
    for reason in sorted({o.detail for o in skipped}):
        peers_hit = sorted({o.case.peer for o in skipped if o.detail == reason})
        print(f"SKIPPED ({', '.join(peers_hit)}): {reason}")
    for w in warnings:
        print(f"WARNING {w}")
    for e in errors:
        print(f"REGRESSION {e}")
    if not args.no_write:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / "latest.md").write_text(markdown(report, outcomes) + "\n")
        print(f"wrote {args.out / 'latest.json'} and {args.out / 'latest.md'}")
    failed = [o for o in outcomes if o.status in (Status.FAIL, Status.XPASS)]
    for o in failed:
        print(f"{str(o.status).upper()} {o.case.id}: {o.detail}")
    # The plain closing line CI reads ("N passed, N failed").
    print(f"interop: {total.get('pass', 0)} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
