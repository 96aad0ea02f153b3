"""``python -m bench.workers [--workers 1,2,4] [--clients C] [--seconds S] [--rounds R]
[--load full|flight] [--json]``:
how ``nautilus-tls serve --workers N`` scales; :class:`WorkersBench` is also the ``workers``
section of ``python -m bench``.

One server per N (N pre-forked workers on one port, SO_REUSEPORT) stays up for the whole
run, and so do C client processes that each make full handshakes (no tickets, no
resumption: every connection is new) one after the other with the blocking
:class:`~nautilus_tls.TLSSocket`. A run points all C clients at one server for S seconds and
takes, besides the handshakes per second over all clients, the CPU time the server's
processes and the clients used (``/proc/PID/stat`` of the server and its workers; each
client's own ``process_time``).

Clients and server share the machine's cores, so on a machine with few cores the rate with
more workers is capped by the clients' CPU, not by the server: the run also gives the server
CPU per handshake, from which the server's capacity (N cores / CPU per handshake: what N
workers answer with N cores to themselves) follows, and the ceiling the rate could reach on
this machine with these clients (cores / (server + client CPU per handshake)). Loopback only;
every process is ended by its PID.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.report import cpu_busy_seconds, proc_cpu_seconds
from nautilus_tls import ClientConfig, ClientConnection, TLSSocket, TrustStore
from nautilus_tls.tools.certgen import write_pem_bundle

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
WARM_SECONDS = 0.3
FLIGHT_SLACK = 64
"""Bytes a flight may differ from the checked one (an ECDSA signature's DER length varies);
an alert instead of a flight is far shorter."""
LOADS = {
    "full": "full handshakes: each client connection runs a whole TLSSocket handshake",
    "flight": "server-bound: each client connection sends a recorded ClientHello, ends its "
    "side and reads the server's whole flight (ServerHello..Finished)",
}
"""Client loads. ``flight`` leaves the server all of a full handshake's work but the client's
Finished (ML-KEM encapsulation, X25519, the ML-DSA-65 CertificateVerify, the key schedule),
while the client does almost none: no key generation, no verification."""


@dataclass(frozen=True)
class WorkersRun:
    """One timed run of the clients against ``serve --workers N``."""

    workers: int
    load: str  # a key of LOADS
    handshakes: int
    rate: float  # handshakes per second, summed over the clients
    seconds: float  # wall time of the run (the window of the CPU figures)
    server_cpu: float  # CPU seconds of the server's processes (parent and workers)
    worker_cpu: tuple[float, ...]  # CPU seconds of each worker
    client_cpu: float  # CPU seconds of the client processes
    machine_cpu: float  # CPU seconds all processes on the machine used during the run

    @property
    def server_ms(self) -> float:
        """Server CPU per handshake (ms), all its processes."""
        return self.server_cpu / max(1, self.handshakes) * 1000

    @property
    def client_ms(self) -> float:
        return self.client_cpu / max(1, self.handshakes) * 1000

    @property
    def server_cores(self) -> float:
        """Cores the server kept busy on average during the run."""
        return self.server_cpu / self.seconds

    @property
    def client_cores(self) -> float:
        return self.client_cpu / self.seconds

    @property
    def other_cores(self) -> float:
        """Cores that processes other than the server and the clients kept busy."""
        return max(0.0, self.machine_cpu - self.server_cpu - self.client_cpu) / self.seconds

    @property
    def capacity(self) -> float:
        """Handshakes per second N workers answer with N cores to themselves: N / server CPU
        per handshake. Assumes every worker can be kept busy, which the rate cannot show
        when the clients share the cores."""
        return self.workers / max(1e-9, self.server_cpu / max(1, self.handshakes))

    def ceiling(self, cores: int) -> float:
        """The highest rate these clients and this server could reach together on the cores
        the other processes left them: (cores - other cores) / (server + client CPU per
        handshake)."""
        per = (self.server_cpu + self.client_cpu) / max(1, self.handshakes)
        return max(0.0, cores - self.other_cores) / max(1e-9, per)

    @property
    def smaller_worker_share(self) -> float:
        """The least busy worker's share of the workers' CPU (50% is an even split of 2)."""
        total = sum(self.worker_cpu)
        return min(self.worker_cpu) / total * 100 if total > 0 else 0.0


# --- the client processes ---------------------------------------------------------------------


def _full(port: int, config: ClientConfig) -> None:
    with TLSSocket.connect(("127.0.0.1", port), config=config, server_name="localhost"):
        pass


def _read_to_eof(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _flight(port: int, hello: bytes) -> bytes:
    """Send ``hello`` and end our side; the server answers with its whole flight (it handles
    the ClientHello before it sees the end of input), then closes for want of a Finished."""
    with socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT) as sock:
        sock.sendall(hello)
        sock.shutdown(socket.SHUT_WR)
        return _read_to_eof(sock)


def _recorded_hello(port: int, config: ClientConfig) -> tuple[bytes, int]:
    """A ClientHello and the length of the server's flight answering it, checked once by the
    connection that wrote the hello: the flight must complete its handshake (certificate
    chain, CertificateVerify and Finished verified)."""
    client = ClientConnection(config, "localhost")
    client.start()
    hello = client.data_to_send()
    flight = _flight(port, hello)
    client.receive_data(flight)
    if not client.handshake_complete:
        raise RuntimeError(
            f"the server's flight ({len(flight)} bytes) did not complete a handshake"
        )
    return hello, len(flight)


def _client(conn: Connection, ca: str) -> None:
    """Serve run requests ``(port, seconds, load)`` until ``None``; answer ``(count, cpu,
    elapsed)`` or ``("error", text)``. ``load`` is "full" (whole handshakes through
    ``TLSSocket``) or "flight" (a recorded ClientHello per connection, see :data:`LOADS`)."""
    config = ClientConfig(trust_store=TrustStore.from_file(ca))
    hellos: dict[int, tuple[bytes, int]] = {}
    while (request := conn.recv()) is not None:
        port, seconds, load = request
        try:
            if load == "flight" and port not in hellos:
                hellos[port] = _recorded_hello(port, config)
            cpu0, t0 = time.process_time(), time.perf_counter()
            done = 0
            deadline = t0 + seconds
            while time.perf_counter() < deadline:
                if load == "full":
                    _full(port, config)
                else:
                    hello, expected = hellos[port]
                    got = len(_flight(port, hello))
                    if abs(got - expected) > FLIGHT_SLACK:
                        raise RuntimeError(f"a flight of {got} bytes, not ~{expected}")
                done += 1
            conn.send((done, time.process_time() - cpu0, time.perf_counter() - t0))
        except Exception as exc:  # reported to the parent, which records the failure
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


# --- the servers --------------------------------------------------------------------------------


class _Server:
    """``nautilus-tls serve --workers N --tickets 0`` on 127.0.0.1:0, ended by its PID."""

    def __init__(self, workers: int, cert: Path, key: Path) -> None:
        self.workers = workers
        argv = [sys.executable, "-m", "nautilus_tls", "serve", "--host", "127.0.0.1",
                "--port", "0", "--quiet", "--workers", str(workers), "--tickets", "0",
                "--cert", str(cert), "--key", str(key)]  # fmt: skip
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.port = 0
        self.worker_pids: list[int] = []
        self._started = threading.Event()
        # serve prints a line per handshake even with --quiet: a pipe nobody reads fills up
        # after a few hundred handshakes and then blocks the server, so a thread reads it all.
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        """``listening on HOST:PORT`` (and, with workers, ``N workers: PID...``), then drain."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if self._started.is_set():
                continue
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                if self.workers == 1:  # no fork: the serve process is the worker
                    self.worker_pids = [self.proc.pid]
                    self._started.set()
            elif self.port and line.split(":", 1)[0].endswith(" workers"):
                self.worker_pids = [int(pid) for pid in line.split(":", 1)[1].split()]
                self._started.set()

    def wait_listening(self) -> None:
        if not self._started.wait(START_TIMEOUT) or self.proc.poll() is not None:
            raise RuntimeError(f"serve --workers {self.workers} did not start")

    def pids(self) -> list[int]:
        """The parent (idle when forked, but counted) and the workers."""
        return sorted({self.proc.pid, *self.worker_pids})

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# --- the harness ----------------------------------------------------------------------------------


class WorkersBench:
    """Servers with each worker count and the client processes, up until :meth:`close`."""

    def __init__(self, counts: list[int], clients: int, *, cert: Path, key: Path, ca: Path) -> None:
        self.counts = counts
        self.servers: dict[int, _Server] = {}
        self.clients: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        try:
            # Everything starts at once: the imports of the servers and the clients overlap.
            for n in counts:
                self.servers[n] = _Server(n, cert, key)
            context = multiprocessing.get_context("spawn")
            for _ in range(clients):
                ours, theirs = context.Pipe()
                proc = context.Process(target=_client, args=(theirs, str(ca)), daemon=True)
                proc.start()
                theirs.close()
                self.clients.append((proc, ours))
            for server in self.servers.values():
                server.wait_listening()
            for n in counts:  # first handshakes (imports, caches) are not measured
                for load in LOADS:
                    self.run(n, WARM_SECONDS, load)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> WorkersBench:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, workers: int, seconds: float, load: str = "full") -> WorkersRun:
        """All clients against ``serve --workers workers`` for ``seconds`` with ``load``."""
        server = self.servers[workers]
        pids = server.pids()
        before = {pid: proc_cpu_seconds(pid) for pid in pids}
        busy0 = cpu_busy_seconds()
        t0 = time.perf_counter()
        for _, conn in self.clients:
            conn.send((server.port, seconds, load))
        replies = []
        for _, conn in self.clients:
            if not conn.poll(seconds + START_TIMEOUT):
                raise RuntimeError(f"a client did not answer within {seconds + START_TIMEOUT}s")
            replies.append(conn.recv())
        wall = time.perf_counter() - t0
        busy = cpu_busy_seconds() - busy0
        cpu = {pid: proc_cpu_seconds(pid) - before[pid] for pid in pids}
        errors = [r[1] for r in replies if r[0] == "error"]
        if errors:
            raise RuntimeError(f"client failed against {workers} worker(s): {errors[0]}")
        return WorkersRun(
            workers=workers,
            load=load,
            handshakes=sum(r[0] for r in replies),
            rate=sum(r[0] / r[2] for r in replies),
            seconds=wall,
            server_cpu=sum(cpu.values()),
            worker_cpu=tuple(cpu[pid] for pid in server.worker_pids),
            client_cpu=sum(r[1] for r in replies),
            machine_cpu=busy,
        )

    def close(self) -> None:
        for proc, conn in self.clients:
            with contextlib.suppress(OSError):
                conn.send(None)
            proc.join(STOP_TIMEOUT)
            if proc.is_alive():
                proc.kill()
                proc.join(STOP_TIMEOUT)
            conn.close()
        self.clients = []
        for server in self.servers.values():
            server.stop()
        self.servers = {}


# --- the command line ---------------------------------------------------------------------------


def _summary(runs: list[WorkersRun], base: list[WorkersRun], cores: int) -> dict[str, Any]:
    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    return {
        "workers": runs[0].workers,
        "handshakes_per_second": med([r.rate for r in runs]),
        "speedup": med([r.rate / b.rate for r, b in zip(runs, base, strict=True)]),
        "capacity_speedup": med([r.capacity / b.capacity for r, b in zip(runs, base, strict=True)]),
        "ceiling_speedup": med(
            [r.ceiling(cores) / b.rate for r, b in zip(runs, base, strict=True)]
        ),
        "server_ms_per_handshake": med([r.server_ms for r in runs]),
        "client_ms_per_handshake": med([r.client_ms for r in runs]),
        "server_cores": med([r.server_cores for r in runs]),
        "client_cores": med([r.client_cores for r in runs]),
        "other_cores": med([r.other_cores for r in runs]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2,4")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per run (default 5)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the counts (default 1)")
    parser.add_argument("--load", default="full", choices=sorted(LOADS), help="client load")
    parser.add_argument("--alg", default="mldsa65", help="server certificate algorithm")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    certs = write_pem_bundle(tempfile.mkdtemp(prefix="bench-workers-"), args.alg, ["localhost"])
    cores = os.cpu_count() or 1
    by_count: dict[int, list[WorkersRun]] = {n: [] for n in counts}
    with WorkersBench(
        counts, args.clients, cert=certs["server_pem"], key=certs["server_key"], ca=certs["ca_pem"]
    ) as bench:
        for r in range(args.rounds):
            # Alternate the order so a drift in the machine's load favours no count.
            for n in counts if r % 2 == 0 else counts[::-1]:
                run = bench.run(n, args.seconds, args.load)
                by_count[n].append(run)
                print(
                    f"workers={n}: {run.rate:.1f} handshakes/s; CPU per handshake server "
                    f"{run.server_ms:.2f} ms, clients {run.client_ms:.2f} ms; cores busy: "
                    f"server {run.server_cores:.2f}, clients {run.client_cores:.2f}, other "
                    f"processes {run.other_cores:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
    base = by_count[counts[0]]
    rows = [_summary(by_count[n], base, cores) for n in counts]
    if args.json:
        print(
            json.dumps({"cores": cores, "clients": args.clients, "load": args.load, "rows": rows})
        )
        return 0
    print(
        f"{cores} cores, {args.clients} client processes, {args.alg} certificate, {args.load} load"
    )
    for row in rows:
        print(
            f"  {row['workers']:>3} workers  {row['handshakes_per_second']:>8} /s  "
            f"x{row['speedup']} measured, x{row['capacity_speedup']} server capacity, "
            f"x{row['ceiling_speedup']} the most these clients allow; server "
            f"{row['server_ms_per_handshake']} ms + clients {row['client_ms_per_handshake']} ms "
            f"CPU per handshake"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
