"""``python -m bench.quic``: QUIC handshakes per second and HTTP/3 download throughput, our TLS
on aioquic's transport against aioquic alone and qh3 alone (issue 13 item 7).

- Handshakes: client and server of one stack in this process, datagrams handed over in memory
  (no sockets, no timers: the CPU cost of a QUIC handshake, TLS included), sequentially.
- HTTP/3 download: a server and a client of one stack over loopback UDP (asyncio), one GET of
  a body of ``--body-mib`` MiB; throughput = body bytes / time from request to last byte.

Every figure is the min / median / max of ``--rounds`` rounds, the stacks interleaved round by
round. Writes bench/QUIC_RESULTS.md (``--out``). Same machine, one run: numbers for comparing
the stacks with each other, not absolute claims.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aioquic.asyncio import serve as aioquic_serve
from aioquic.asyncio.client import connect as aioquic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3Connection
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ProtocolNegotiated
from cryptography import x509

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.quic.aioquic_tls import NautilusQuicConnection
from nautilus_tls.quic.api import quic_client_config
from nautilus_tls.quic.h3 import http3_get, serve_http3
from nautilus_tls.tools import certgen
from nautilus_tls.wire.enums import NamedGroup

CLIENT_ADDR = ("10.0.0.1", 1234)
SERVER_ADDR = ("10.0.0.2", 443)
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Pki:
    ca_der: bytes
    server_der: bytes
    server_key: Any


def make_pki(alg: str) -> Pki:
    ca_der, ca_key = certgen.make_ca(certgen.ca_alg_for(alg), f"bench CA ({alg})")
    der, key = certgen.make_leaf(ca_der, ca_key, alg, ["localhost", HOST])
    return Pki(ca_der, der, key)


# --- stacks: (client factory, server factory) for in-memory handshakes ----------------------


def ours(
    pki: Pki, groups: tuple[int, ...], alpn: str = "bench"
) -> tuple[Callable[[], Any], Callable[[bytes], Any]]:
    ccfg = quic_client_config(
        trust_store=TrustStore.from_certificates([pki.ca_der]),
        alpn_protocols=(alpn.encode(),),
        groups=groups,
        session_store=None,
    )
    scfg = ServerConfig(
        certificates=(CertifiedKey(chain=(pki.server_der,), private_key=pki.server_key),),
        alpn_protocols=(alpn.encode(),),
        groups=groups,
    )

    def client() -> Any:
        qc = QuicConfiguration(is_client=True, alpn_protocols=[alpn], server_name="localhost")
        return NautilusQuicConnection(configuration=qc, tls_config=ccfg)

    def server(odcid: bytes) -> Any:
        qc = QuicConfiguration(is_client=False, alpn_protocols=[alpn])
        return NautilusQuicConnection(
            configuration=qc, tls_config=scfg, original_destination_connection_id=odcid
        )

    return client, server


def foreign(
    module: str, pki: Pki, alpn: str = "bench"
) -> tuple[Callable[[], Any], Callable[[bytes], Any]]:
    """aioquic or qh3 alone (its own TLS), with the ECDSA leaf."""
    if module == "aioquic":
        config_cls: Any = QuicConfiguration
        conn_cls: Any = QuicConnection
    else:
        import qh3

        config_cls, conn_cls = qh3.QuicConfiguration, qh3.QuicConnection
    ca_pem = certgen.cert_to_pem(pki.ca_der)

    def client() -> Any:
        qc = config_cls(is_client=True, alpn_protocols=[alpn], server_name="localhost")
        qc.load_verify_locations(cadata=ca_pem)
        return conn_cls(configuration=qc)

    def server(odcid: bytes) -> Any:
        qc = config_cls(is_client=False, alpn_protocols=[alpn])
        if module == "aioquic":
            qc.certificate = x509.load_der_x509_certificate(pki.server_der)
            qc.private_key = pki.server_key
        else:
            qc.load_cert_chain(
                certgen.cert_to_pem(pki.server_der), certgen.key_to_pem(pki.server_key)
            )
        return conn_cls(configuration=qc, original_destination_connection_id=odcid)

    return client, server


def one_handshake(make_client: Callable[[], Any], make_server: Callable[[bytes], Any]) -> None:
    now = 100.0
    client = make_client()
    client.connect(SERVER_ADDR, now=now)
    server = make_server(client.original_destination_connection_id)
    for _ in range(40):
        moved = False
        for data, _ in client.datagrams_to_send(now=now):
            server.receive_datagram(data, CLIENT_ADDR, now=now)
            moved = True
        for data, _ in server.datagrams_to_send(now=now):
            client.receive_datagram(data, SERVER_ADDR, now=now)
            moved = True
        if client._handshake_complete and server._handshake_complete:
            return
        if not moved:
            break
        now += 0.001
    raise RuntimeError("handshake did not complete")


def handshakes_per_second(stack: tuple[Callable[[], Any], Callable[[bytes], Any]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        one_handshake(*stack)
    return n / (time.perf_counter() - start)


# --- HTTP/3 download over loopback UDP --------------------------------------------------------


def _h3_server_protocol(
    base: type[Any], h3: type[Any], negotiated: type[Any], body: bytes
) -> type[Any]:
    class Server(base):  # type: ignore[misc, valid-type]
        http: Any = None

        def quic_event_received(self, event: Any) -> None:
            if isinstance(event, negotiated):
                self.http = h3(self._quic)
            if self.http is None:
                return
            for e in self.http.handle_event(event):
                if type(e).__name__ == "HeadersReceived" and e.stream_ended:
                    self.http.send_headers(e.stream_id, [(b":status", b"200")])
                    self.http.send_data(e.stream_id, body, end_stream=True)
                    self.transmit()

    return Server


def _h3_client_protocol(base: type[Any], h3: type[Any]) -> type[Any]:
    class Client(base):  # type: ignore[misc, valid-type]
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.http = h3(self._quic)
            self.received = 0
            self.done = asyncio.get_running_loop().create_future()

        async def get(self) -> int:
            sid = self._quic.get_next_available_stream_id()
            self.http.send_headers(
                sid,
                [
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":authority", b"localhost"),
                    (b":path", b"/"),
                ],
                end_stream=True,
            )
            self.transmit()
            await self.done
            return self.received

        def quic_event_received(self, event: Any) -> None:
            for e in self.http.handle_event(event):
                if type(e).__name__ == "DataReceived":
                    self.received += len(e.data)
                ended = type(e).__name__ in ("DataReceived", "HeadersReceived") and e.stream_ended
                if ended and not self.done.done():
                    self.done.set_result(None)

    return Client


async def _download_foreign(module: str, pki: Pki, body: bytes) -> float:
    if module == "aioquic":
        serve_fn, connect_fn, proto, cfg_cls, h3 = (
            aioquic_serve,
            aioquic_connect,
            QuicConnectionProtocol,
            QuicConfiguration,
            H3Connection,
        )
        negotiated: Any = ProtocolNegotiated
    else:
        import qh3

        serve_fn, connect_fn, proto, cfg_cls, h3 = (
            qh3.serve,
            qh3.connect,
            qh3.QuicConnectionProtocol,
            qh3.QuicConfiguration,
            qh3.H3Connection,
        )
        negotiated = qh3.quic_events.ProtocolNegotiated
    scfg = cfg_cls(is_client=False, alpn_protocols=["h3"], max_datagram_frame_size=65536)
    if module == "aioquic":
        scfg.certificate = x509.load_der_x509_certificate(pki.server_der)
        scfg.private_key = pki.server_key
    else:
        scfg.load_cert_chain(
            certgen.cert_to_pem(pki.server_der), certgen.key_to_pem(pki.server_key)
        )
    server = await serve_fn(
        HOST,
        0,
        configuration=scfg,
        create_protocol=_h3_server_protocol(proto, h3, negotiated, body),
    )
    port = server._transport.get_extra_info("sockname")[1]
    ccfg = cfg_cls(is_client=True, alpn_protocols=["h3"], server_name="localhost")
    ccfg.load_verify_locations(cadata=certgen.cert_to_pem(pki.ca_der))
    try:
        async with connect_fn(
            HOST, port, configuration=ccfg, create_protocol=_h3_client_protocol(proto, h3)
        ) as client:
            start = time.perf_counter()
            received = await client.get()
            elapsed = time.perf_counter() - start
    finally:
        server.close()
    if received != len(body):
        raise RuntimeError(f"{module}: got {received} of {len(body)} bytes")
    return len(body) / elapsed / 1e6


async def _download_ours(pki: Pki, body: bytes) -> float:
    scfg = ServerConfig(
        certificates=(CertifiedKey(chain=(pki.server_der,), private_key=pki.server_key),),
        alpn_protocols=(b"h3",),
    )
    ccfg: ClientConfig = quic_client_config(
        trust_store=TrustStore.from_certificates([pki.ca_der]),
        alpn_protocols=(b"h3",),
        session_store=None,
    )
    server = await serve_http3(
        HOST, 0, config=scfg, responder=lambda m, p, i: (200, "application/octet-stream", body)
    )
    try:
        start = time.perf_counter()
        response, _ = await http3_get(
            HOST, server.address[1], "/", config=ccfg, server_name="localhost", limit=len(body)
        )
        elapsed = time.perf_counter() - start  # includes the handshake (one RTT on loopback)
    finally:
        server.close()
    if len(response.body) != len(body):
        raise RuntimeError("ours: short body")
    return len(body) / elapsed / 1e6


# --- the run ----------------------------------------------------------------------------------


def _fmt(values: list[float]) -> str:
    return f"{min(values):.1f} / **{statistics.median(values):.1f}** / {max(values):.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quic")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--handshakes", type=int, default=30, help="handshakes per round and stack")
    parser.add_argument("--body-mib", type=int, default=8)
    parser.add_argument("--out", default=str(Path(__file__).with_name("QUIC_RESULTS.md")))
    args = parser.parse_args(argv)

    ecdsa, mldsa = make_pki("ecdsa-p256"), make_pki("mldsa65")
    hybrid = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)
    classical = (NamedGroup.x25519,)
    stacks = {
        "ours: X25519MLKEM768 + ML-DSA-65": ours(mldsa, hybrid),
        "ours: X25519MLKEM768 + ECDSA P-256": ours(ecdsa, hybrid),
        "ours: x25519 + ECDSA P-256": ours(ecdsa, classical),
        "aioquic 1.7.2 alone: x25519 + ECDSA P-256": foreign("aioquic", ecdsa),
        "qh3 2.1 alone: X25519MLKEM768 + ECDSA P-256": foreign("qh3", ecdsa),
    }
    body = os.urandom(args.body_mib * 1024 * 1024)
    downloads: dict[str, Callable[[], Any]] = {
        "ours (aioquic transport + h3), X25519MLKEM768 + ECDSA": lambda: _download_ours(
            ecdsa, body
        ),
        "aioquic 1.7.2 alone, x25519 + ECDSA": lambda: _download_foreign("aioquic", ecdsa, body),
        "qh3 2.1 alone, X25519MLKEM768 + ECDSA": lambda: _download_foreign("qh3", ecdsa, body),
    }
    for stack in stacks.values():  # warm-up (imports, first-use caches)
        one_handshake(*stack)
    hs: dict[str, list[float]] = {k: [] for k in stacks}
    dl: dict[str, list[float]] = {k: [] for k in downloads}
    load_before = os.getloadavg()[0]
    started = time.time()
    for _ in range(args.rounds):
        for name, stack in stacks.items():
            hs[name].append(handshakes_per_second(stack, args.handshakes))
        for name, run in downloads.items():
            dl[name].append(asyncio.run(run()))
    wall = time.time() - started
    import aioquic
    import cryptography
    import qh3

    lines = [
        "# QUIC benchmark results",
        "",
        "Generated by `python -m bench.quic` (do not edit by hand): issue 13 item 7. Same machine,"
        " one run, loopback only; each figure is min / **median** / max over "
        f"{args.rounds} rounds, stacks interleaved round by round.",
        "",
        "## Machine",
        "",
        f"- {platform.platform()}, {os.cpu_count()} cores; Python {platform.python_version()}",
        f"- aioquic {aioquic.__version__}, qh3 {qh3.__version__}, cryptography {cryptography.__version__}",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, {wall:.0f} s wall;"
        f" load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after (the machine is shared)",
        "",
        f"## QUIC handshakes per second (client and server in one process, in memory, {args.handshakes} sequential per round)",
        "",
        "| stack | handshakes/s |",
        "| --- | ---: |",
        *(f"| {name} | {_fmt(v)} |" for name, v in hs.items()),
        "",
        f"## HTTP/3 download throughput (one GET of {args.body_mib} MiB over loopback UDP, MB/s)",
        "",
        "| stack | MB/s |",
        "| --- | ---: |",
        *(f"| {name} | {_fmt(v)} |" for name, v in dl.items()),
        "",
        "Notes: a handshake here is the whole QUIC handshake with both ends' CPU (packet"
        " protection, TLS, certificate verification). Throughput is the transport's (our TLS"
        " only sets up the keys): ours runs on aioquic's transport, so it should track aioquic;"
        " its figure includes the handshake of its own connection (one round trip on loopback).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
