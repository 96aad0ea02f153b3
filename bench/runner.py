"""``python -m bench [--quick] [--json] [--results PATH] [--only SECTIONS] [--variants V]``.

Runs every section for every implementation, interleaved round by round, in two variants:
``inproc`` (client and server in one process: one asyncio loop, one Node process, or two
tlslite threads) and ``split`` (the server in a second process). Writes ``bench/RESULTS.md``
after a full run (``--quick`` writes nothing unless ``--results`` is given) and, with
``--json``, prints every figure as JSON on stdout. Progress goes to stderr.

Loopback only, ephemeral ports; every child process is ended by its PID in a ``finally``.
Exit status 1 when a measurement failed (a missing peer is reported and skipped, not failed,
unless ``NAUTILUS_REQUIRE_NODE=1``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import profiling, report, scenarios, tlslite_stack
from bench.node import NodeAgent, find_node
from bench.pki import CONFIGS, Bundle, make_pki
from bench.report import Figure, proc_cpu_seconds
from bench.stacks import NautilusStack, PlainStack, PySslStack, Stack
from bench.worker import raise_fd_limit
from bench.workers import LOADS, WorkersBench, WorkersRun
from nautilus_tls.wire.enums import CipherSuite

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
NOTES = Path(__file__).resolve().parent / "NOTES.md"
SECTIONS = ("hs", "resumed", "ttfb", "bulk", "rss", "workers", "profile")
VARIANTS = ("inproc", "split")
SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
CHILD_START_TIMEOUT = 60.0
CHILD_STOP_TIMEOUT = 5.0
RSS_TIMEOUT = 300.0


@dataclass(frozen=True)
class Settings:
    quick: bool
    rounds: int
    hs_window: float  # seconds per handshake run
    tlslite_window: float
    max_count: int  # connections per handshake run, at most
    ttfb_count: int  # connections per time-to-first-byte run
    tlslite_ttfb_count: int
    bulk_bytes: int
    tlslite_bulk_bytes: int
    rss_connections: int
    profile_handshakes: int
    profile_bulk_bytes: int
    workers_clients: int  # client processes against serve --workers N
    workers_seconds: float  # per workers run


FULL = Settings(
    False, 5, 1.0, 2.0, 20_000, 20, 5, 256 << 20, 256 << 10, 1000, 300, 256 << 20, 4, 4.0
)
QUICK = Settings(True, 5, 0.08, 0.2, 2_000, 3, 1, 8 << 20, 64 << 10, 60, 20, 16 << 20, 4, 0.4)
WORKER_COUNTS = (1, 2)

Value = float | tuple[float, str]
Cell = tuple[Figure, Callable[[], Value]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- child processes -------------------------------------------------------------------------


class Child:
    """``python -m bench.worker ...``: JSON lines out, commands in, ended by PID."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def stderr_tail(self) -> str:
        self._stderr.seek(0)
        return " | ".join(self._stderr.read().strip().splitlines()[-5:])

    def line(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"worker {self.args[:3]} silent for {timeout}s") from None
        if line is None:
            raise RuntimeError(f"worker {self.args[:3]} exited: {self.stderr_tail()}")
        obj: dict[str, Any] = json.loads(line)
        return obj

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.send("quit")
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=CHILD_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=CHILD_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=CHILD_STOP_TIMEOUT)
        self._reader.join(CHILD_STOP_TIMEOUT)
        self._stderr.close()


class ServerChild(Child):
    def __init__(self, stack: str, config: str, pki: Path, *, early: bool = False) -> None:
        args = ["serve", "--stack", stack, "--config", config, "--pki", str(pki)]
        super().__init__([*args, "--early"] if early else args)
        self.port = int(self.line(CHILD_START_TIMEOUT)["listening"])

    def rss(self) -> int:
        self.send("rss")
        return int(self.line(30.0)["rss"])


# --- the benchmark ---------------------------------------------------------------------------


class Bench:
    def __init__(self, settings: Settings, sections: set[str], variants: list[str]) -> None:
        self.s = settings
        self.sections = sections
        self.variants = variants
        self.figures: dict[str, Figure] = {}
        self.errors: list[str] = []
        self.skipped: list[str] = []
        self.machine = report.machine_info()
        self.stack = contextlib.ExitStack()
        self.tmp = Path(
            self.stack.enter_context(tempfile.TemporaryDirectory(prefix="nautilus-bench-"))
        )
        self.bundles: dict[str, Bundle] = make_pki(self.tmp / "pki")
        self.node: Path | None = None
        self.node_agents: dict[str, NodeAgent] = {}
        self.node_ports: dict[tuple[str, str], int] = {}  # (variant, cert alg) -> port
        self.tlslite_ok = False
        self.tlslite_port = 0
        self.servers: dict[str, ServerChild] = {}
        self.round = 0
        self.cpu_runs: dict[tuple[str, str], dict[int, float]] = {}

    # --- setup ---------------------------------------------------------------------------

    def setup(self) -> None:
        node, tried = find_node()
        if node is None:
            msg = f"Node 24 not found ({tried}): its columns are empty"
            if os.environ.get("NAUTILUS_REQUIRE_NODE") == "1":
                self.errors.append(msg)
            else:
                self.skipped.append(msg)
        else:
            self.node = node
            for name in ("inproc", "split-server", "split-client"):
                agent = NodeAgent(node)
                self.stack.callback(agent.stop)
                self.node_agents[name] = agent
            info = self.node_agents["inproc"].call(cmd="info")
            self.machine["node"] = f"{info['node']} (OpenSSL {info['openssl']})"
            for variant, agent_name in (("inproc", "inproc"), ("split", "split-server")):
                for alg, bundle in self.bundles.items():
                    reply = self.node_agents[agent_name].call(
                        cmd="serve", cert=str(bundle.server_pem), key=str(bundle.server_key)
                    )
                    self.node_ports[(variant, alg)] = int(reply["port"])
        reason = tlslite_stack.unavailable()
        if reason is not None:
            self.skipped.append(f"tlslite-ng: {reason}")
        else:
            self.tlslite_ok = True
            self.machine["tlslite"] = tlslite_stack.version()
            server = tlslite_stack.TlsliteServer(self.bundles["ecdsa-p256"]).start()
            self.stack.callback(server.stop)
            self.tlslite_port = server.port
        self.machine["pyssl_suite"] = asyncio.run(self._pyssl_suite())
        if "split" in self.variants and self.sections & {"hs", "resumed", "ttfb", "bulk"}:
            self._start_servers()

    async def _pyssl_suite(self) -> str:
        stack = PySslStack(self.bundles["ecdsa-p256"])

        async def body(port: int) -> str:
            client = stack.client()
            opened = await client.open(port)
            cipher = opened.writer.get_extra_info("ssl_object").cipher()[0]
            opened.writer.write(b"E")
            await client.close(opened)
            return str(cipher)

        return await scenarios.in_process(stack, body)

    def _start_servers(self) -> None:
        pki = self.tmp / "pki"
        specs = {
            "nautilus/mldsa65": ("nautilus", "pq-mldsa65", False),
            "nautilus/ecdsa-p256": ("nautilus", "pq-ecdsa", False),
            "nautilus-early/ecdsa-p256": ("nautilus", "pq-ecdsa", True),
            "pyssl/ecdsa-p256": ("pyssl", "x25519-ecdsa", False),
            "plain": ("plain", "pq-ecdsa", False),
        }
        if self.tlslite_ok:
            specs["tlslite/ecdsa-p256"] = ("tlslite", "pq-ecdsa", False)
        for name, (stack, config, early) in specs.items():
            child = ServerChild(stack, config, pki, early=early)
            self.stack.callback(child.stop)
            self.servers[name] = child

    def close(self) -> None:
        self.stack.close()

    # --- helpers -----------------------------------------------------------------------------

    def figure(
        self,
        section: str,
        variant: str,
        impl: str,
        what: str,
        unit: str,
        *,
        key: str,
        higher_is_better: bool = True,
    ) -> Figure:
        fig = Figure(key, section, variant, impl, what, unit, higher_is_better)
        self.figures[key] = fig
        return fig

    def run_cells(self, title: str, cells: list[Cell]) -> None:
        failed: set[str] = set()
        for r in range(self.s.rounds):
            self.round = r
            t0 = time.perf_counter()
            for fig, fn in cells:
                if fig.key in failed:
                    fig.runs.append(None)
                    continue
                try:
                    value = fn()
                except Exception as exc:
                    failed.add(fig.key)
                    fig.runs.append(None)
                    self.errors.append(f"{fig.key}: {type(exc).__name__}: {exc}")
                    log(f"  ! {fig.key}: {type(exc).__name__}: {exc}")
                    continue
                if isinstance(value, tuple):
                    value, note = value
                    if note and note not in fig.notes:
                        fig.notes.append(note)
                fig.runs.append(value)
            log(f"  {title}: round {r + 1}/{self.s.rounds} in {time.perf_counter() - t0:.1f}s")

    def _server_port(self, name: str) -> int:
        return self.servers[name].port

    def _stack(self, impl: str, config: str, suite: int | None = None) -> Stack:
        cfg = CONFIGS[config]
        bundle = self.bundles[cfg.cert_alg]
        if impl == "nautilus":
            return NautilusStack(bundle, cfg, suite=suite)
        if impl == "pyssl":
            return PySslStack(bundle)
        return PlainStack()

    def _split_name(self, impl: str, config: str, *, early: bool = False) -> str:
        if impl == "plain":
            return "plain"
        alg = CONFIGS[config].cert_alg
        return f"{impl}{'-early' if early else ''}/{alg}"

    def _node(self, variant: str) -> NodeAgent:
        return self.node_agents["inproc" if variant == "inproc" else "split-client"]

    def _run_py(
        self,
        variant: str,
        stack: Stack,
        split_name: str,
        body: Callable[[int], Any],
        *,
        early: bool = False,
    ) -> Any:
        if variant == "inproc":
            return asyncio.run(scenarios.in_process(stack, body, early=early))
        return asyncio.run(body(self._server_port(split_name)))

    # --- sections ------------------------------------------------------------------------------

    def handshake_cells(self, variant: str, *, resumed: bool) -> list[Cell]:
        cells: list[Cell] = []
        section = "resumed" if resumed else "hs"
        for conc_name, conc in (("seq", 1), ("c32", 32)):
            if resumed:
                plan = [("nautilus", "pq-ecdsa"), ("node", "pq-ecdsa"), ("pyssl", "x25519-ecdsa")]
            else:
                plan = [
                    ("nautilus", "pq-mldsa65"),
                    ("node", "pq-mldsa65"),
                    ("nautilus", "pq-ecdsa"),
                    ("node", "pq-ecdsa"),
                    ("nautilus", "x25519-ecdsa"),
                    ("node", "x25519-ecdsa"),
                    ("pyssl", "x25519-ecdsa"),
                    ("plain", "tcp"),
                ]
                if conc == 1:
                    plan.append(("tlslite", "pq-ecdsa"))
            for impl, config in plan:
                if (impl == "node" and self.node is None) or (
                    impl == "tlslite" and not self.tlslite_ok
                ):
                    continue
                key = (
                    f"resumed/{variant}/{conc_name}/{impl}"
                    if resumed
                    else f"hs/{variant}/{conc_name}/{config}/{impl}"
                )
                what = CONFIGS[config].label if config in CONFIGS else "(no TLS)"
                if resumed:
                    what = f"{'sequential' if conc == 1 else '32 in flight'}, {what}"
                fig = self.figure(section, variant, impl, what, "handshakes/s", key=key)
                cells.append((fig, self._handshake_fn(variant, impl, config, conc, resumed)))
        return cells

    def _handshake_fn(
        self, variant: str, impl: str, config: str, conc: int, resumed: bool
    ) -> Callable[[], Value]:
        s = self.s
        key = (
            f"resumed/{variant}/{'seq' if conc == 1 else 'c32'}/{impl}"
            if resumed
            else f"hs/{variant}/{'seq' if conc == 1 else 'c32'}/{config}/{impl}"
        )
        if impl == "node":
            cfg = CONFIGS[config]

            def node_fn() -> Value:
                agent = self._node(variant)
                command = {
                    "port": self.node_ports[(variant, cfg.cert_alg)],
                    "ca": str(self.bundles[cfg.cert_alg].ca_pem),
                    "groups": cfg.node_group,
                    "concurrency": conc,
                    "resume": resumed,
                }
                agent.call(cmd="prepare", **command)
                server = self.node_agents["split-server"].proc.pid
                before = proc_cpu_seconds(server)
                r = agent.call(
                    cmd="handshakes",
                    durationMs=int(s.hs_window * 1000),
                    maxCount=s.max_count,
                    **command,
                )
                n = r["count"]
                if variant == "inproc":
                    self._record_cpu(key, "both", r["cpuSeconds"] / n)
                else:
                    self._record_cpu(key, "server", (proc_cpu_seconds(server) - before) / n)
                    self._record_cpu(key, "client", r["cpuSeconds"] / n)
                return _with_resumed(n / r["seconds"], n, r["resumed"], resumed)

            return node_fn
        if impl == "tlslite":

            def tlslite_fn() -> Value:
                split = variant == "split"
                server = self.servers["tlslite/ecdsa-p256"] if split else None
                port = server.port if server is not None else self.tlslite_port
                tlslite_stack.warm_up(port)
                snap = self._cpu_snapshot(variant, server.proc.pid if server else None)
                count, seconds = tlslite_stack.handshakes(
                    port, duration=s.tlslite_window, max_count=s.max_count
                )
                self._record_cpu_since(key, snap, count)
                return count / seconds, f"{count} handshakes per run"

            return tlslite_fn
        config = "pq-ecdsa" if config == "tcp" else config
        stack = self._stack(impl, config)
        split_name = self._split_name(impl, config)

        async def body(port: int) -> scenarios.HandshakeRun:
            clients = [stack.client(resume=resumed) for _ in range(conc)]
            await scenarios.warm_up(clients, port)
            server = self.servers[split_name].proc.pid if variant == "split" else None
            snap = self._cpu_snapshot(variant, server)
            run = await scenarios.handshakes(
                clients, port, duration=s.hs_window, max_count=s.max_count
            )
            self._record_cpu_since(key, snap, run.count)
            return run

        def py_fn() -> Value:
            run: scenarios.HandshakeRun = self._run_py(variant, stack, split_name, body)
            return _with_resumed(run.rate, run.count, run.resumed, resumed)

        return py_fn

    # --- CPU time per connection (robust to other load on the machine) ------------------------

    def _cpu_snapshot(self, variant: str, server_pid: int | None) -> list[tuple[str, int, float]]:
        """(side, pid, CPU seconds) now; pid 0 is this process."""
        sides = (
            [("both", 0)] if variant == "inproc" else [("server", server_pid or 0), ("client", 0)]
        )
        return [(side, pid, proc_cpu_seconds(pid)) for side, pid in sides]

    def _record_cpu_since(self, key: str, snap: list[tuple[str, int, float]], count: int) -> None:
        for side, pid, before in snap:
            self._record_cpu(key, side, (proc_cpu_seconds(pid) - before) / max(1, count))

    def _record_cpu(self, key: str, side: str, seconds: float) -> None:
        self.cpu_runs.setdefault((key, side), {})[self.round] = seconds * 1000

    def cpu_figures(self) -> None:
        """Turn the CPU samples of the handshake sections into figures (ms per connection)."""
        for (key, side), by_round in self.cpu_runs.items():
            base = self.figures[key]
            fig = self.figure(
                "cpu",
                base.variant,
                base.impl,
                f"{base.what} - {side}",
                "ms",
                key=f"cpu/{key}/{side}",
                higher_is_better=False,
            )
            fig.runs = [by_round.get(r) for r in range(self.s.rounds)]

    def ttfb_cells(self, variant: str) -> list[Cell]:
        cells: list[Cell] = []
        plan = [
            ("full", "nautilus", "pq-mldsa65"),
            ("full", "node", "pq-mldsa65"),
            ("full", "nautilus", "pq-ecdsa"),
            ("full", "node", "pq-ecdsa"),
            ("full", "tlslite", "pq-ecdsa"),
            ("full", "nautilus", "x25519-ecdsa"),
            ("full", "node", "x25519-ecdsa"),
            ("full", "pyssl", "x25519-ecdsa"),
            ("full", "plain", "tcp"),
            ("resumed", "nautilus", "pq-ecdsa"),
            ("resumed", "node", "pq-ecdsa"),
            ("resumed", "pyssl", "x25519-ecdsa"),
            ("0rtt", "nautilus", "pq-ecdsa"),
        ]
        for mode, impl, config in plan:
            if (impl == "node" and self.node is None) or (
                impl == "tlslite" and not self.tlslite_ok
            ):
                continue
            label = CONFIGS[config].label if config in CONFIGS else "(no TLS)"
            fig = self.figure(
                "ttfb",
                variant,
                impl,
                f"{mode}: {label}",
                "ms",
                key=f"ttfb/{variant}/{mode}/{config}/{impl}",
                higher_is_better=False,
            )
            cells.append((fig, self._ttfb_fn(variant, mode, impl, config)))
        return cells

    def _ttfb_fn(self, variant: str, mode: str, impl: str, config: str) -> Callable[[], Value]:
        s = self.s
        if impl == "node":
            cfg = CONFIGS[config]

            def node_fn() -> Value:
                r = self._node(variant).call(
                    cmd="ttfb",
                    port=self.node_ports[(variant, cfg.cert_alg)],
                    ca=str(self.bundles[cfg.cert_alg].ca_pem),
                    groups=cfg.node_group,
                    count=s.ttfb_count,
                    resume=mode == "resumed",
                )
                return _with_matched(r["median"] * 1000, r["matched"], s.ttfb_count, mode)

            return node_fn
        if impl == "tlslite":

            def tlslite_fn() -> Value:
                port = (
                    self.tlslite_port
                    if variant == "inproc"
                    else self._server_port("tlslite/ecdsa-p256")
                )
                tlslite_stack.time_to_first_byte(port, count=1)  # warm
                return tlslite_stack.time_to_first_byte(port, count=s.tlslite_ttfb_count) * 1000

            return tlslite_fn
        config = "pq-ecdsa" if config == "tcp" else config
        stack = self._stack(impl, config)
        early = mode == "0rtt"

        async def body(port: int) -> tuple[float, int]:
            client = stack.client(resume=mode != "full")
            await scenarios.warm_up([client], port)
            return await scenarios.time_to_first_byte(client, port, count=s.ttfb_count, mode=mode)

        def py_fn() -> Value:
            median, matched = self._run_py(
                variant, stack, self._split_name(impl, config, early=early), body, early=early
            )
            return _with_matched(median * 1000, matched, s.ttfb_count, mode)

        return py_fn

    def bulk_cells(self, variant: str) -> list[Cell]:
        cells: list[Cell] = []
        plan: list[tuple[str, str]] = [("nautilus", suite) for suite in SUITES]
        plan += [("node", suite) for suite in SUITES]
        plan += [("pyssl", "TLS_AES_256_GCM_SHA384"), ("plain", "(no TLS)")]
        plan += [("tlslite", "TLS_AES_256_GCM_SHA384")]
        for impl, suite in plan:
            if (impl == "node" and self.node is None) or (
                impl == "tlslite" and not self.tlslite_ok
            ):
                continue
            fig = self.figure(
                "bulk", variant, impl, suite, "MiB/s", key=f"bulk/{variant}/{impl}/{suite}"
            )
            cells.append((fig, self._bulk_fn(variant, impl, suite)))
        return cells

    def _bulk_fn(self, variant: str, impl: str, suite: str) -> Callable[[], Value]:
        s = self.s
        mib = s.bulk_bytes / 2**20
        if impl == "node":
            bundle = self.bundles["ecdsa-p256"]

            def node_fn() -> Value:
                r = self._node(variant).call(
                    cmd="bulk",
                    port=self.node_ports[(variant, "ecdsa-p256")],
                    ca=str(bundle.ca_pem),
                    ciphers=suite,
                    total=s.bulk_bytes,
                    chunk=64 * 1024,
                    timeout=600.0,
                )
                if r["cipher"] != suite:
                    raise RuntimeError(f"node negotiated {r['cipher']}, not {suite}")
                return mib / r["seconds"]

            return node_fn
        if impl == "tlslite":

            def tlslite_fn() -> Value:
                port = (
                    self.tlslite_port
                    if variant == "inproc"
                    else self._server_port("tlslite/ecdsa-p256")
                )
                total = s.tlslite_bulk_bytes
                seconds = tlslite_stack.bulk(port, total=total)
                return total / 2**20 / seconds, f"{total >> 10} KiB per run (it is slow)"

            return tlslite_fn
        stack = self._stack(
            impl,
            "x25519-ecdsa" if impl == "pyssl" else "pq-ecdsa",
            CipherSuite[suite] if impl == "nautilus" else None,
        )

        async def body(port: int) -> float:
            return await scenarios.bulk(stack.client(), port, total=s.bulk_bytes)

        def py_fn() -> Value:
            config = "x25519-ecdsa" if impl == "pyssl" else "pq-ecdsa"
            seconds = self._run_py(variant, stack, self._split_name(impl, config), body)
            note = f"negotiated {self.machine['pyssl_suite']}" if impl == "pyssl" else ""
            return mib / seconds, note

        return py_fn

    def rss_cells(self) -> list[Cell]:
        cells: list[Cell] = []
        n = self.s.rss_connections
        pki = self.tmp / "pki"
        for impl, config in (
            ("nautilus", "pq-ecdsa"),
            ("pyssl", "x25519-ecdsa"),
            ("plain", "pq-ecdsa"),
        ):
            common = ["--stack", impl, "--config", config, "--pki", str(pki), "--n", str(n)]
            # --quick: both ends in one process only (each run is a fresh process or two).
            split_too = "split" in self.variants and not self.s.quick
            modes = ["both"] + (["server", "client"] if split_too else [])
            figs = {
                mode: self.figure(
                    "rss",
                    "inproc" if mode == "both" else "split",
                    impl,
                    {
                        "both": "per end, both in 1 process",
                        "server": "server process",
                        "client": "client process",
                    }[mode],
                    "KiB",
                    key=f"rss/{mode}/{impl}",
                    higher_is_better=False,
                )
                for mode in modes
            }
            split_result: dict[str, float] = {}

            def both(common: list[str] = common) -> Value:
                child = Child(["rss", *common])
                try:
                    line = child.line(RSS_TIMEOUT)
                finally:
                    child.stop()
                return line["both"] / 1024, f"{line['connections']} connections per run"

            def split(
                impl: str = impl,
                config: str = config,
                common: list[str] = common,
                result: dict[str, float] = split_result,
            ) -> Value:
                server = ServerChild(impl, config, pki)
                client: Child | None = None
                try:
                    client = Child(["rss", *common, "--port", str(server.port)])
                    client.line(RSS_TIMEOUT)  # warm
                    before = server.rss()
                    client.send("go")
                    opened = client.line(RSS_TIMEOUT)
                    after = server.rss()
                    client.send("done")
                finally:
                    if client is not None:
                        client.stop()
                    server.stop()
                result["client"] = opened["client"] / 1024
                return (after - before) / n / 1024, f"{opened['connections']} connections per run"

            def client_value(result: dict[str, float] = split_result) -> Value:
                return result.pop("client")

            cells.append((figs["both"], both))
            if "server" in figs:
                cells.append((figs["server"], split))
                cells.append((figs["client"], client_value))
        return cells

    def run_workers(self) -> None:
        """``serve --workers 1`` against ``--workers 2``, the same client processes for both,
        interleaved round by round (the order alternates)."""
        bundle = self.bundles["mldsa65"]
        try:
            harness = WorkersBench(
                list(WORKER_COUNTS),
                self.s.workers_clients,
                cert=bundle.server_pem,
                key=bundle.server_key,
                ca=bundle.ca_pem,
            )
        except Exception as exc:
            self.errors.append(f"workers: {type(exc).__name__}: {exc}")
            log(f"  ! workers: {type(exc).__name__}: {exc}")
            return
        with harness:
            self.run_cells("workers", self.workers_cells(harness))

    def workers_cells(self, harness: WorkersBench) -> list[Cell]:
        runs: dict[tuple[str, int], WorkersRun] = {}
        cores = self.machine["cores"] or 1
        one, top = WORKER_COUNTS[0], WORKER_COUNTS[-1]

        def measure() -> Value:
            runs.clear()
            order = WORKER_COUNTS if self.round % 2 == 0 else WORKER_COUNTS[::-1]
            for load in LOADS:
                for n in order:
                    runs[(load, n)] = harness.run(n, self.s.workers_seconds, load)
            return runs[(next(iter(LOADS)), one)].rate

        def measured(load: str, n: int) -> WorkersRun:
            if (load, n) not in runs:
                raise RuntimeError("no workers run this round (see the first workers error)")
            return runs[(load, n)]

        def value_of(load: str, n: int, get: Callable[[WorkersRun], float]) -> Callable[[], Value]:
            return lambda: get(measured(load, n))

        def ceiling_of(load: str) -> Callable[[], Value]:
            return lambda: measured(load, top).ceiling(cores) / measured(load, one).rate

        def balance_of(load: str) -> Callable[[], Value]:
            return lambda: measured(load, top).smaller_worker_share

        spec: list[tuple[str, str, str, bool, Callable[[WorkersRun], float]]] = [
            ("rate", "handshakes/s, measured", "handshakes/s", True, lambda r: r.rate),
            (
                "capacity",
                "server capacity: N cores / server CPU per handshake (derived)",
                "handshakes/s",
                True,
                lambda r: r.capacity,
            ),
            (
                "server_ms",
                "server CPU per handshake (all its processes)",
                "ms",
                False,
                lambda r: r.server_ms,
            ),
            ("client_ms", "client CPU per handshake", "ms", False, lambda r: r.client_ms),
            ("server_cores", "cores busy: server", "cores", False, lambda r: r.server_cores),
            ("client_cores", "cores busy: clients", "cores", False, lambda r: r.client_cores),
            ("other_cores", "cores busy: other processes", "cores", False, lambda r: r.other_cores),
        ]
        cells: list[Cell] = []
        for load in LOADS:
            for name, what, unit, higher, get in spec:
                for n in WORKER_COUNTS:
                    fig = self.figure(
                        "workers",
                        f"serve --workers {n}",
                        "nautilus",
                        f"{load} load: {what}",
                        unit,
                        key=f"workers/{load}/{n}/{name}",
                        higher_is_better=higher,
                    )
                    cells.append((fig, measure if not cells else value_of(load, n, get)))
            ceiling = self.figure(
                "workers",
                f"serve --workers {top}",
                "nautilus",
                f"{load} load: the most this run allowed, (cores - other processes' cores) / "
                f"(server + client CPU per handshake), over {one} worker's rate",
                "x",
                key=f"workers/{load}/{top}/ceiling",
            )
            cells.append((ceiling, ceiling_of(load)))
            balance = self.figure(
                "workers",
                f"serve --workers {top}",
                "nautilus",
                f"{load} load: least busy worker's share of the workers' CPU",
                "%",
                key=f"workers/{load}/{top}/balance",
            )
            cells.append((balance, balance_of(load)))
        return cells

    # --- the whole run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        t0 = time.perf_counter()
        busy0, own0 = report.cpu_busy_seconds(), report.own_cpu_seconds()
        self.machine["load_before"] = report.load_average()
        profiles: dict[str, Any] | None = None
        try:
            self.setup()
            for variant in self.variants:
                if "hs" in self.sections:
                    log(f"full handshakes ({variant})")
                    self.run_cells(
                        f"handshakes {variant}", self.handshake_cells(variant, resumed=False)
                    )
                if "resumed" in self.sections:
                    log(f"resumed handshakes ({variant})")
                    self.run_cells(
                        f"resumed {variant}", self.handshake_cells(variant, resumed=True)
                    )
                if "ttfb" in self.sections:
                    log(f"time to first byte ({variant})")
                    self.run_cells(f"ttfb {variant}", self.ttfb_cells(variant))
                if "bulk" in self.sections:
                    log(f"bulk ({variant})")
                    self.run_cells(f"bulk {variant}", self.bulk_cells(variant))
            self.cpu_figures()
            if "rss" in self.sections:
                log("idle connection memory")
                self.run_cells("rss", self.rss_cells())
            if "workers" in self.sections:
                log(f"serve --workers {' vs '.join(map(str, WORKER_COUNTS))}")
                self.run_workers()
            if "profile" in self.sections:
                log("profiles")
                try:
                    profiles = profiling.profile_all(
                        self.bundles,
                        handshakes=self.s.profile_handshakes,
                        bulk_bytes=self.s.profile_bulk_bytes,
                    )
                except Exception as exc:
                    self.errors.append(f"profile: {type(exc).__name__}: {exc}")
        finally:
            self.close()
        wall = time.perf_counter() - t0
        others = (report.cpu_busy_seconds() - busy0) - (report.own_cpu_seconds() - own0)
        self.machine["load_after"] = report.load_average()
        self.machine["other_cores"] = max(0.0, others / wall)
        results: dict[str, Any] = {
            "started": started,
            "wall_seconds": wall,
            "machine": self.machine,
            "settings": asdict(self.s),
            "figures": {k: f.as_dict() for k, f in self.figures.items()},
            "targets": report.evaluate(self.figures),
            "other_ratios": self.other_ratios(),
            "profiles": profiles,
            "skipped": self.skipped,
            "errors": self.errors,
        }
        if NOTES.exists():
            results["analysis"] = NOTES.read_text()
        return results

    def other_ratios(self) -> list[dict[str, Any]]:
        pairs: list[tuple[str, str, str]] = []
        for v, vn in (("inproc", "1 process"), ("split", "2 processes")):
            for c, cn in (("seq", "sequential"), ("c32", "32 in flight")):
                pairs += [
                    (
                        f"Nautilus / Node, PQ + ECDSA handshakes ({vn}, {cn})",
                        f"hs/{v}/{c}/pq-ecdsa/nautilus",
                        f"hs/{v}/{c}/pq-ecdsa/node",
                    ),
                    (
                        f"Nautilus / Node, x25519 + ECDSA handshakes ({vn}, {cn})",
                        f"hs/{v}/{c}/x25519-ecdsa/nautilus",
                        f"hs/{v}/{c}/x25519-ecdsa/node",
                    ),
                    (
                        f"Nautilus / Python ssl, both x25519 + ECDSA ({vn}, {cn})",
                        f"hs/{v}/{c}/x25519-ecdsa/nautilus",
                        f"hs/{v}/{c}/x25519-ecdsa/pyssl",
                    ),
                    (
                        f"Nautilus / plain TCP (harness floor), PQ + ECDSA ({vn}, {cn})",
                        f"hs/{v}/{c}/pq-ecdsa/nautilus",
                        f"hs/{v}/{c}/tcp/plain",
                    ),
                    (
                        f"Nautilus / Node, resumed ({vn}, {cn})",
                        f"resumed/{v}/{c}/nautilus",
                        f"resumed/{v}/{c}/node",
                    ),
                ]
            pairs += [
                (
                    f"Time to first byte, full PQ + ECDSA: Nautilus / Python ssl x25519 ({vn}; lower is better)",
                    f"ttfb/{v}/full/pq-ecdsa/nautilus",
                    f"ttfb/{v}/full/x25519-ecdsa/pyssl",
                ),
                (
                    f"Time to first byte, resumed: Nautilus / Python ssl ({vn}; lower is better)",
                    f"ttfb/{v}/resumed/pq-ecdsa/nautilus",
                    f"ttfb/{v}/resumed/x25519-ecdsa/pyssl",
                ),
                (
                    f"Time to first byte, 0-RTT / resumed, Nautilus ({vn}; lower is better)",
                    f"ttfb/{v}/0rtt/pq-ecdsa/nautilus",
                    f"ttfb/{v}/resumed/pq-ecdsa/nautilus",
                ),
            ]
            sides = ("both",) if v == "inproc" else ("server", "client")
            for c, cn in (("seq", "sequential"), ("c32", "32 in flight")):
                for side in sides:
                    pairs += [
                        (
                            f"CPU per connection, Nautilus PQ + ECDSA / Python ssl x25519 + ECDSA "
                            f"({vn}, {cn}, {side}; lower is better)",
                            f"cpu/hs/{v}/{c}/pq-ecdsa/nautilus/{side}",
                            f"cpu/hs/{v}/{c}/x25519-ecdsa/pyssl/{side}",
                        ),
                        (
                            f"CPU per connection, Nautilus / Node, PQ + ML-DSA-65 "
                            f"({vn}, {cn}, {side}; lower is better)",
                            f"cpu/hs/{v}/{c}/pq-mldsa65/nautilus/{side}",
                            f"cpu/hs/{v}/{c}/pq-mldsa65/node/{side}",
                        ),
                        (
                            f"CPU per connection, resumed, Nautilus / Python ssl "
                            f"({vn}, {cn}, {side}; lower is better)",
                            f"cpu/resumed/{v}/{c}/nautilus/{side}",
                            f"cpu/resumed/{v}/{c}/pyssl/{side}",
                        ),
                    ]
            for suite in SUITES:
                pairs.append(
                    (
                        f"Bulk {suite}: Nautilus / Node ({vn})",
                        f"bulk/{v}/nautilus/{suite}",
                        f"bulk/{v}/node/{suite}",
                    )
                )
            pairs.append(
                (
                    f"Bulk: Python ssl / plain TCP ({vn})",
                    f"bulk/{v}/pyssl/TLS_AES_256_GCM_SHA384",
                    f"bulk/{v}/plain/(no TLS)",
                )
            )
        rows = []
        for label, a, b in pairs:
            r = report.ratio_stats(self.figures.get(a), self.figures.get(b))
            if r is not None:
                rows.append({"label": label, "a": a, "b": b, "ratio": r})
        return rows


def _with_resumed(rate: float, count: int, resumed: int, wanted: bool) -> Value:
    if wanted and resumed != count:
        return rate, f"only {resumed} of {count} resumed"
    return rate


def _with_matched(value: float, matched: int, count: int, mode: str) -> Value:
    if matched != count:
        return value, f"{mode}: {matched} of {count} connections as intended"
    return value


def render_only(source: Path, target: Path) -> int:
    """RESULTS.md from an earlier run's JSON, with the current NOTES.md as the analysis."""
    results = json.loads(source.read_text())
    figures: dict[str, Figure] = {}
    for key, d in results["figures"].items():
        fig = Figure(
            key, d["section"], d["variant"], d["impl"], d["what"], d["unit"], d["higher_is_better"]
        )
        fig.runs = d["runs"]
        fig.notes = d["notes"]
        figures[key] = fig
    results["targets"] = report.evaluate(figures)
    results["analysis"] = NOTES.read_text() if NOTES.exists() else None
    target.write_text(report.render_markdown(results, figures))
    log(f"wrote {target} from {source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a one-minute smoke run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument(
        "--results", type=Path, help="write RESULTS.md here (full run: bench/RESULTS.md)"
    )
    parser.add_argument("--no-results", action="store_true", help="write no RESULTS.md")
    parser.add_argument("--only", help=f"comma-separated sections of {','.join(SECTIONS)}")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="inproc,split")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: rewrite RESULTS.md from a saved --json output (and NOTES.md)",
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        return render_only(args.render, args.results or RESULTS)
    sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    variants = [v for v in args.variants.split(",") if v]
    if not sections <= set(SECTIONS) or not set(variants) <= set(VARIANTS):
        parser.error("unknown section or variant")
    raise_fd_limit()
    settings = QUICK if args.quick else FULL
    bench = Bench(settings, sections, variants)
    results = bench.run()
    target = args.results or (None if args.quick or args.no_results else RESULTS)
    if target is not None and not args.no_results:
        target.write_text(report.render_markdown(results, bench.figures))
        log(f"wrote {target}")
    if args.json:
        json.dump(results, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    for row in results["targets"]:
        r = row["ratio"]
        shown = f"{r['median']:.2f}x" if r else "n/a"
        log(f"  {row['verdict']:4} {shown:>9}  {row['target']}")
    log(f"done in {results['wall_seconds']:.0f}s; {len(results['errors'])} error(s)")
    return 1 if results["errors"] else 0
