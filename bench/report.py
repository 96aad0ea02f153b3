"""Figures, ratios against the targets, the machine, and RESULTS.md.

A figure is one measured quantity with one value per round (``None`` where that run failed).
Rounds interleave all the implementations of a section, so the ratio of two figures is
computed per round (same minute, same machine load) and reported as the median of those
per-round ratios, with their min and max.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    section: str
    variant: str
    impl: str
    what: str  # configuration, mode or suite
    unit: str
    higher_is_better: bool
    runs: list[float | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def values(self) -> list[float]:
        return [v for v in self.runs if v is not None]

    def stats(self) -> dict[str, float] | None:
        vals = self.values()
        if not vals:
            return None
        return {"min": min(vals), "median": statistics.median(vals), "max": max(vals)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "variant": self.variant,
            "impl": self.impl,
            "what": self.what,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "runs": self.runs,
            "stats": self.stats(),
            "notes": self.notes,
        }


def ratio_stats(a: Figure | None, b: Figure | None) -> dict[str, Any] | None:
    """a / b per round where both have a value: median, min, max and the per-round list."""
    if a is None or b is None:
        return None
    per_round = [
        x / y for x, y in zip(a.runs, b.runs, strict=False) if x is not None and y is not None and y
    ]
    if not per_round:
        return None
    return {
        "median": statistics.median(per_round),
        "min": min(per_round),
        "max": max(per_round),
        "rounds": per_round,
    }


# --- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str
    ours: str
    theirs: str
    op: str  # ">=" or "<="
    threshold: float
    aim: float | None = None


def targets() -> list[Target]:
    """The ratio targets of performance round 2 (issue 20; round 1's were 0.75x of Node,
    0.8x of Python ssl, 1.0x resumed, 1.0x bulk and 0.25x memory), for each variant and
    concurrency."""
    out: list[Target] = []
    for v, vname in (("inproc", "1 process"), ("split", "2 processes")):
        for c, cname in (("seq", "sequential"), ("c32", "32 in flight")):
            out.append(
                Target(
                    f"PQ + ML-DSA-65 full handshakes vs Node 24, same config ({vname}, {cname})",
                    f"hs/{v}/{c}/pq-mldsa65/nautilus",
                    f"hs/{v}/{c}/pq-mldsa65/node",
                    ">=",
                    1.0,
                )
            )
        for c, cname in (("seq", "sequential"), ("c32", "32 in flight")):
            out.append(
                Target(
                    f"PQ + ECDSA full handshakes vs Python ssl x25519 + ECDSA ({vname}, {cname})",
                    f"hs/{v}/{c}/pq-ecdsa/nautilus",
                    f"hs/{v}/{c}/x25519-ecdsa/pyssl",
                    ">=",
                    1.0,
                )
            )
        for c, cname in (("seq", "sequential"), ("c32", "32 in flight")):
            out.append(
                Target(
                    f"Resumed (hybrid psk_dhe_ke) vs Python ssl resumed ({vname}, {cname})",
                    f"resumed/{v}/{c}/nautilus",
                    f"resumed/{v}/{c}/pyssl",
                    ">=",
                    1.2,
                )
            )
        out.append(
            Target(
                f"Bulk AES-256-GCM vs Python ssl over asyncio ({vname})",
                f"bulk/{v}/nautilus/TLS_AES_256_GCM_SHA384",
                f"bulk/{v}/pyssl/TLS_AES_256_GCM_SHA384",
                ">=",
                1.5,
            )
        )
        out.append(
            Target(
                f"Time to first byte, full PQ + ECDSA vs Python ssl x25519 ({vname}; lower is better)",
                f"ttfb/{v}/full/pq-ecdsa/nautilus",
                f"ttfb/{v}/full/x25519-ecdsa/pyssl",
                "<=",
                1.0,
            )
        )
        out.append(
            Target(
                f"PQ + ECDSA handshakes vs tlslite-ng, sequential ({vname})",
                f"hs/{v}/seq/pq-ecdsa/nautilus",
                f"hs/{v}/seq/pq-ecdsa/tlslite",
                ">=",
                10.0,
            )
        )
        out.append(
            Target(
                f"Bulk AES-256-GCM vs tlslite-ng ({vname})",
                f"bulk/{v}/nautilus/TLS_AES_256_GCM_SHA384",
                f"bulk/{v}/tlslite/TLS_AES_256_GCM_SHA384",
                ">=",
                500.0,
            )
        )
    for mode, mname in (
        ("both", "both ends in 1 process, per end"),
        ("server", "server process"),
        ("client", "client process"),
    ):
        out.append(
            Target(
                f"RSS per idle connection vs Python ssl ({mname})",
                f"rss/{mode}/nautilus",
                f"rss/{mode}/pyssl",
                "<=",
                0.1,
            )
        )
    # serve --workers on a machine whose cores the clients share: measured with clients that
    # cost the server's CPU and with clients that cost almost none, and derived from the
    # server's CPU per handshake (see the "serve --workers" section and bench/NOTES.md).
    for load, metric, label in (
        ("flight", "rate", "server-bound load (cheap clients), handshakes/s measured"),
        ("flight", "capacity", "server-bound load, capacity: N cores / server CPU per handshake"),
        ("full", "rate", "full-handshake clients on the same cores, handshakes/s measured"),
    ):
        out.append(
            Target(
                f"`serve --workers 2` vs 1 worker, {label} (see serve --workers below)",
                f"workers/{load}/2/{metric}",
                f"workers/{load}/1/{metric}",
                ">=",
                1.8,
            )
        )
    return out


def evaluate(figures: dict[str, Figure]) -> list[dict[str, Any]]:
    rows = []
    for t in targets():
        r = ratio_stats(figures.get(t.ours), figures.get(t.theirs))
        verdict = "n/a"
        if r is not None:
            ok = r["median"] >= t.threshold if t.op == ">=" else r["median"] <= t.threshold
            verdict = "PASS" if ok else "MISS"
        rows.append(
            {
                "target": t.label,
                "ours": t.ours,
                "theirs": t.theirs,
                "op": t.op,
                "threshold": t.threshold,
                "aim": t.aim,
                "ratio": r,
                "verdict": verdict,
            }
        )
    return rows


# --- the machine -----------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and its reaped children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` (0: this process, all its threads)."""
    if pid == 0:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)


def machine_info() -> dict[str, Any]:
    import ssl

    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_ssl_openssl": ssl.OPENSSL_VERSION,
        "cryptography": cryptography.__version__,
        "cryptography_openssl": backend.openssl_version_text(),
    }


# --- RESULTS.md ------------------------------------------------------------------------------

IMPL_NAMES = {
    "nautilus": "Nautilus TLS",
    "pyssl": "Python ssl (asyncio)",
    "node": "Node 24",
    "tlslite": "tlslite-ng",
    "plain": "plain TCP (asyncio)",
}
CONFIG_NAMES = {
    "pq-mldsa65": "X25519MLKEM768 + ML-DSA-65",
    "pq-ecdsa": "X25519MLKEM768 + ECDSA P-256",
    "x25519-ecdsa": "x25519 + ECDSA P-256",
    "tcp": "(no TLS)",
}
VARIANT_NAMES = {"inproc": "1 process", "split": "server in 2nd process"}


def _num(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _mmm(f: Figure) -> str:
    s = f.stats()
    if s is None:
        return "failed | | "
    return f"{_num(s['min'])} | **{_num(s['median'])}** | {_num(s['max'])}"


def _ratio(r: dict[str, Any] | None) -> str:
    if r is None:
        return "n/a"
    return f"**{r['median']:.2f}x** ({r['min']:.2f}-{r['max']:.2f})"


def _figure_table(figs: list[Figure], what_title: str, extra: str = "") -> list[str]:
    head = f"| variant | implementation | {what_title} | min | median | max | runs |{extra}"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for f in figs:
        notes = "; ".join(f.notes)
        what = CONFIG_NAMES.get(f.what, f.what)
        lines.append(
            f"| {VARIANT_NAMES.get(f.variant, f.variant)} | {IMPL_NAMES.get(f.impl, f.impl)} | "
            f"{what} | {_mmm(f)} | {len(f.values())} |" + (f" {notes} |" if extra else "")
        )
    return lines


def _select(figures: dict[str, Figure], section: str) -> list[Figure]:
    return [f for f in figures.values() if f.section == section]


def render_markdown(results: dict[str, Any], figures: dict[str, Figure]) -> str:
    m = results["machine"]
    s = results["settings"]
    out: list[str] = [
        "# Benchmark results",
        "",
        "Generated by `python -m bench` (do not edit by hand). Loopback only; every figure is "
        f"the min / **median** / max of {s['rounds']} runs; every ratio is computed per round "
        "(all implementations of a section are interleaved round by round) and reported as the "
        "median of the per-round ratios with their range.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; {m['platform']}",
        f"- Python {m['python']}; Python's ssl: {m['python_ssl_openssl']}",
        f"- cryptography {m['cryptography']} ({m['cryptography_openssl']})",
        f"- Node: {m.get('node', 'not available')}; tlslite-ng: {m.get('tlslite', 'not available')}",
        f"- Run: {results['started']}, {results['wall_seconds']:.0f} s wall; mode "
        f"{'quick (smoke run, not for comparison)' if s['quick'] else 'full'}",
        f"- Load: load average {m['load_before'][0]:.2f} before, {m['load_after'][0]:.2f} after; "
        f"other processes used on average {m['other_cores']:.2f} of the {m['cores']} cores "
        "during the run.",
    ]
    if m["other_cores"] > 0.2:
        out.append(
            "- **Note:** other work ran on this machine during the benchmark (other engineers "
            "share its 2 cores). Absolute figures are perturbed, and the two-process variant "
            "most (it needs both cores); ratios are computed per round to cancel most of it, "
            "but their ranges are wider than on an idle machine."
        )
    for reason in results.get("skipped", []):
        out.append(f"- **Skipped:** {reason}")
    for err in results.get("errors", []):
        out.append(f"- **Error:** {err}")

    out += [
        "",
        "## Targets",
        "",
        "| target | ratio (median, range) | needed | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for row in results["targets"]:
        need = f"{row['op']} {row['threshold']:g}x" + (
            f" (aim {row['aim']:g}x)" if row["aim"] else ""
        )
        out.append(f"| {row['target']} | {_ratio(row['ratio'])} | {need} | {row['verdict']} |")

    out += [
        "",
        "## Other ratios (same run)",
        "",
        "| comparison | ratio (median, range) |",
        "| --- | --- |",
    ]
    for row in results["other_ratios"]:
        out.append(f"| {row['label']} | {_ratio(row['ratio'])} |")

    sections = [
        (
            "hs",
            "Full handshakes per second",
            "configuration",
            "Each connection: TCP connect, TLS 1.3 handshake, one 4-byte echo, close (close_notify "
            "both ways). Servers send their default session tickets; clients do not resume. "
            "tlslite-ng is sequential only.",
        ),
        (
            "resumed",
            "Resumed handshakes per second",
            "configuration",
            "Each client slot uses the newest ticket from its previous connection once. Nautilus "
            "and Node: X25519MLKEM768 (psk_dhe_ke, hybrid); Python ssl: x25519 (psk_dhe_ke).",
        ),
        (
            "cpu",
            "CPU time per connection (ms)",
            "configuration - process",
            "CPU seconds the processes used during the timed handshake runs, divided by the "
            "connections: 'both' is the one process holding both ends, 'server' / 'client' the "
            "two processes of the split variant. Less sensitive than rates to other work on "
            "the machine, since waiting for a core costs no CPU time.",
        ),
        (
            "ttfb",
            "Time to first echoed byte (ms)",
            "mode / configuration",
            "From connect() to the first echoed byte, sequential; each run's figure is the "
            "median over its connections. 0-RTT: the request rides in the ClientHello's early "
            "data and the server answers once the handshake completes.",
        ),
        (
            "bulk",
            "Bulk throughput (MiB/s)",
            "cipher suite",
            "One connection, client to server, 64 KiB writes (each awaited with drain), until "
            "the server acknowledges the last byte. Python ssl negotiates its default "
            "TLS_AES_256_GCM_SHA384 (its TLS 1.3 suites cannot be chosen from Python).",
        ),
        (
            "rss",
            "Resident memory per idle established connection (KiB)",
            "measured",
            f"{s['rss_connections']:,} connections, each after a handshake and one echo, held "
            "open. 'both': both ends in one process, RSS added / (2 x connections). "
            "'server' / 'client': server and client in separate processes, each process's RSS "
            "added / connections. Each run is a fresh process; Nautilus and Python ssl use "
            "ECDSA P-256 certificates (Nautilus with X25519MLKEM768).",
        ),
        (
            "workers",
            "serve --workers: 1 against 2 pre-forked workers",
            "load: figure",
            f"`nautilus-tls serve --workers N --tickets 0` (ML-DSA-65 certificate, serve's "
            f"defaults otherwise; N = 1 and 2, both up for the whole section) and "
            f"{s.get('workers_clients', '?')} client processes on the same machine, "
            f"{s.get('workers_seconds', '?')} s per run, both N in each round (the order "
            "alternates). CPU times come from /proc: the server's processes (parent and "
            "workers), each client's own process time, and the whole machine (/proc/stat), "
            "whose rest is 'other processes'. Two client loads: **full**, whole handshakes "
            "through the blocking `TLSSocket`, one connection after the other; and **flight** "
            "(server-bound), where each connection sends a ClientHello recorded once (its "
            "answer checked once by a real client: chain, CertificateVerify and Finished), "
            "ends its side and reads the server's whole flight, so the server does all of a "
            "full handshake's work but the client's Finished (ML-KEM encapsulation, X25519, "
            "the ML-DSA-65 signature, the key schedule) while the client does almost none. "
            "**What the figures mean:** full-handshake clients cost about as much CPU per "
            "handshake as the server, so on 2 shared cores they cap the measured ratio at "
            "the 'most this run allowed' row, far below 2x: the full-load rate ratio says "
            "more about the clients than about `--workers`. The flight load's rate ratio is "
            "the measured scaling of the server itself, as far as the cores the other "
            "processes leave allow (their row); the capacity row (N cores / server CPU per "
            "handshake) is what N workers would answer with N cores to themselves, assuming "
            "the kernel keeps every worker busy ('least busy worker' shows how evenly "
            "SO_REUSEPORT spread the connections); it is the least sensitive to other load.",
        ),
    ]
    for key, title, what_title, text in sections:
        figs = _select(figures, key)
        if not figs:
            continue
        out += ["", f"## {title}", "", text, ""]
        if key in ("hs", "cpu"):
            for c, cname in (("seq", "sequential"), ("c32", "32 in flight")):
                sub = [f for f in figs if f"/{c}/" in f.key]
                if sub:
                    out += [f"### {cname}", ""]
                    out += _figure_table(sub, what_title, " notes |")
                    out.append("")
        else:
            out += _figure_table(figs, what_title, " notes |")

    prof = results.get("profiles")
    if prof:
        out += ["", "## Where the time goes (Nautilus, both ends in one process)", ""]
        if prof.get("note"):
            out.append(f"({prof['note']}: cProfile only.)")
        for name, title in (
            ("handshake", "Full PQ handshake (X25519MLKEM768 + ML-DSA-65)"),
            ("handshake-ecdsa", "Full PQ handshake (X25519MLKEM768 + ECDSA P-256)"),
            ("bulk", "Bulk transfer (AES-256-GCM, 64 KiB writes)"),
        ):
            entry = prof.get(name)
            if not entry:
                continue
            per = entry["unprofiled_seconds"] / entry["units"] * 1000
            out += [
                "",
                f"### {title}",
                "",
                f"{entry['units']:g} {entry['unit']}(s); without a profiler "
                f"{per:.3f} ms per {entry['unit']} (both ends). Both profilers slow Python "
                "code down more than C code, so read the shares, and the ms column (the share "
                "times the unprofiled cost) as an estimate.",
            ]
            for p in entry["profiles"]:
                out += [
                    "",
                    f"{p['tool']}: top functions by own time ({p['sampled']:.2f} s recorded, "
                    f"{p['seconds']:.2f} s wall with the profiler)",
                    "",
                    "| own % | ~ms per " + entry["unit"] + " | function | where |",
                    "| --- | --- | --- | --- |",
                ]
                for row in p["top"]:
                    out.append(
                        f"| {row['own_pct']:.1f} | {row['own_pct'] * per / 100:.3f} | "
                        f"`{row['function']}` | {row['where']} |"
                    )
    analysis = results.get("analysis")
    if analysis:
        out += ["", "## Analysis", "", analysis.strip()]
    out.append("")
    return "\n".join(out)
