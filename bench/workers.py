"""``python -m bench.workers [--workers 1,2,4] [--clients C] [--seconds S] [--json]``: how
``nautilus-tls serve --workers N`` scales.

For each N, a server with N pre-forked workers (one port, SO_REUSEPORT) answers full
handshakes (no resumption: each client connection is new) from C client processes for S
seconds; the figure is handshakes per second over all clients, and the speed-up against the
first N. Clients and server share the machine's cores: on a machine with few cores the
clients cap the figure, so read it together with the printed core count. Loopback only; the
server is ended by its PID.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nautilus_tls import ClientConfig, TLSSocket, TrustStore
from nautilus_tls.tools.certgen import write_pem_bundle

START_TIMEOUT = 60.0


def _client(port: int, ca: str, seconds: float, results: multiprocessing.Queue[int]) -> None:
    config = ClientConfig(trust_store=TrustStore.from_file(ca))
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with TLSSocket.connect(("127.0.0.1", port), config=config, server_name="localhost"):
            done += 1
    results.put(done)


def _start_server(workers: int, certs: dict[str, Path]) -> tuple[subprocess.Popen[str], int]:
    argv = [sys.executable, "-m", "nautilus_tls", "serve", "--port", "0", "--quiet",
            "--workers", str(workers), "--tickets", "0",
            "--cert", str(certs["server_pem"]), "--key", str(certs["server_key"])]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if line.startswith("listening on "):
            return server, int(line.rsplit(":", 1)[1])
        if not line and server.poll() is not None:
            break
    _stop(server)
    raise RuntimeError(f"serve --workers {workers} did not start")


def _stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(30)
    if server.stdout is not None:
        server.stdout.close()


def measure(workers: int, clients: int, seconds: float, certs: dict[str, Path]) -> float:
    """Full handshakes per second that ``serve --workers workers`` answers."""
    server, port = _start_server(workers, certs)
    try:
        context = multiprocessing.get_context("spawn")
        results: multiprocessing.Queue[int] = context.Queue()
        procs = [
            context.Process(target=_client, args=(port, str(certs["ca_pem"]), seconds, results))
            for _ in range(clients)
        ]
        started = time.monotonic()
        for proc in procs:
            proc.start()
        total = sum(results.get(timeout=seconds + START_TIMEOUT) for _ in procs)
        elapsed = time.monotonic() - started
        for proc in procs:
            proc.join(30)
        return total / max(elapsed, seconds)
    finally:
        _stop(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2,4")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement (default 5)")
    parser.add_argument("--alg", default="mldsa65", help="server certificate algorithm")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    certs = write_pem_bundle(tempfile.mkdtemp(prefix="bench-workers-"), args.alg, ["localhost"])
    rows = []
    for count in counts:
        rate = measure(count, args.clients, args.seconds, certs)
        rows.append({"workers": count, "handshakes_per_second": round(rate, 1)})
        print(f"workers={count}: {rate:.1f} handshakes/s", file=sys.stderr, flush=True)
    base = rows[0]["handshakes_per_second"] or 1.0
    for row in rows:
        row["speedup"] = round(float(row["handshakes_per_second"]) / float(base), 2)
    if args.json:
        print(json.dumps({"cores": os.cpu_count(), "clients": args.clients, "rows": rows}))
    else:
        print(f"{os.cpu_count()} cores, {args.clients} client processes, {args.alg} certificate")
        for row in rows:
            print(
                f"  {row['workers']:>3} workers  {row['handshakes_per_second']:>8} /s  x{row['speedup']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
