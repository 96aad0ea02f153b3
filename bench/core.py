"""The sans-I/O core alone: N client/server handshake pairs in memory, no sockets, no event loop.

A/B tool for hot-path changes on a loaded machine. It reports figures that do not depend on
load (Python function calls per pair, from cProfile) next to CPU time per pair (the minimum
over several batches, the least perturbed). Compare two source trees by alternating runs::

    PYTHONPATH=old/src:. python -m bench.core --n 200
    PYTHONPATH=new/src:. python -m bench.core --n 200

Scenarios: ``full`` (X25519MLKEM768 + ECDSA P-256, the server's two tickets included),
``resumed`` (hybrid psk_dhe_ke from one of those tickets) and ``bulk`` (1 MiB of application
data over an established AES-256-GCM pair, written in 64 KiB calls as ``bench`` does and read
in 256 KiB pieces as asyncio's selector transport does; figures are per MiB).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.pki import CONFIGS, SERVER_NAME, make_pki
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.events import DataReceived
from nautilus_tls.session import MemorySessionStore
from nautilus_tls.wire.enums import CipherSuite

_MAX_ROUNDS = 20
_BULK_WRITE = 64 * 1024
_BULK_READ = 256 * 1024
_MIB = 1 << 20


def _pump(a: Connection, b: Connection) -> None:
    for _ in range(_MAX_ROUNDS):
        moved = False
        for src, dst in ((a, b), (b, a)):
            data = src.data_to_send()
            if data:
                moved = True
                dst.receive_data(data)
        if not moved:
            return
    raise RuntimeError("the pair did not settle")


def _drain(conn: Connection) -> None:
    while conn.next_event() is not None:
        pass


def _connect(
    client_cfg: ClientConfig, server_cfg: ServerConfig
) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(client_cfg, SERVER_NAME)
    server = ServerConnection(server_cfg)
    client.start()
    _pump(client, server)
    _drain(client)
    _drain(server)
    return client, server


def _pair(client_cfg: ClientConfig, server_cfg: ServerConfig) -> tuple[bool, bool]:
    info = _connect(client_cfg, server_cfg)[0].info
    return info is not None, info is not None and info.resumed


def workloads(config: str = "pq-ecdsa") -> dict[str, Callable[[], None]]:
    """One handshake pair per call, for each scenario."""
    tmp = Path(tempfile.mkdtemp(prefix="nautilus-core-"))
    cfg = CONFIGS[config]
    bundle = make_pki(tmp)[cfg.cert_alg]
    cert = CertifiedKey.from_files(bundle.server_pem, bundle.server_key)
    trust = TrustStore.from_pem(bundle.ca_pem.read_bytes())
    server_cfg = ServerConfig(certificates=(cert,), keylog_file=None)

    def client_cfg(store: MemorySessionStore | None) -> ClientConfig:
        return ClientConfig(
            trust_store=trust,
            groups=(cfg.group,),
            key_share_groups=(cfg.group,),
            session_store=store,
            keylog_file=None,
        )

    full_cfg = client_cfg(None)
    store = MemorySessionStore()
    resume_cfg = client_cfg(store)

    def full() -> None:
        done, _ = _pair(full_cfg, server_cfg)
        if not done:
            raise RuntimeError("full handshake did not complete")

    def resumed() -> None:
        done, was_resumed = _pair(resume_cfg, server_cfg)
        if not (done and was_resumed):
            raise RuntimeError("resumed handshake did not resume")

    _pair(resume_cfg, server_cfg)  # the ticket the resumed pairs use
    return {"full": full, "resumed": resumed, "bulk": _bulk(trust, server_cfg, cfg.group)}


def _bulk(trust: TrustStore, server_cfg: ServerConfig, group: int) -> Callable[[], None]:
    """1 MiB from client to server over one established pair, per call."""
    client_cfg = ClientConfig(
        trust_store=trust,
        groups=(group,),
        key_share_groups=(group,),
        cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,),
        keylog_file=None,
    )
    client, server = _connect(client_cfg, server_cfg)
    chunk = b"x" * _BULK_WRITE

    def run() -> None:
        wire = bytearray()
        for _ in range(_MIB // _BULK_WRITE):
            client.send_data(chunk)
            wire += client.data_to_send()
        got = 0
        for start in range(0, len(wire), _BULK_READ):
            server.receive_data(bytes(wire[start : start + _BULK_READ]))
            while (event := server.next_event()) is not None:
                if isinstance(event, DataReceived):
                    got += len(event.data)
        if got != _MIB:
            raise RuntimeError(f"bulk: {got} bytes arrived of {_MIB}")

    return run


def measure(run: Callable[[], None], n: int, batches: int) -> tuple[float, float]:
    """(calls per pair, min CPU ms per pair over ``batches`` batches of ``n``)."""
    for _ in range(5):
        run()
    best = float("inf")
    for _ in range(batches):
        t0 = time.process_time()
        for _ in range(n):
            run()
        best = min(best, (time.process_time() - t0) / n)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        run()
    profile.disable()
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    return calls / n, best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--config", default="pq-ecdsa", choices=sorted(CONFIGS))
    parser.add_argument("--only", default="full,resumed,bulk")
    args = parser.parse_args()
    loads = workloads(args.config)
    for name in args.only.split(","):
        calls, ms = measure(loads[name], args.n, args.batches)
        unit = "MiB " if name == "bulk" else "pair"
        print(f"{name:8s} calls/{unit} {calls:8.0f}  cpu ms/{unit} {ms:6.3f}")


if __name__ == "__main__":
    main()
