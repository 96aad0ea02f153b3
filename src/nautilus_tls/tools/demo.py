"""``nautilus-tls demo``: a post-quantum TLS 1.3 connection from end to end, explained.

One asyncio loop runs a server and a client on 127.0.0.1 (an ephemeral port). A fresh CA
and server certificate are made with ML-DSA-65; the client trusts only that CA and asks for
the hybrid X25519MLKEM768 key exchange. The client then sends data, the server echoes it, the
client asks for a KeyUpdate in both directions, data goes round again, and both sides compute
the same RFC 8446 §7.5 exporter. Then the client comes back twice with the tickets the server
gave it: once resumed (a PSK plus a fresh hybrid key exchange, no certificates), once with
0-RTT early data. :func:`run_demo` returns a :class:`DemoReport`; its
:meth:`~DemoReport.render` is what the CLI prints.
"""

from __future__ import annotations

import asyncio
import datetime
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto.x509 import TrustStore, subject_of, verify_server_chain
from nautilus_tls.errors import TLSError
from nautilus_tls.tools.certgen import write_pem_bundle
from nautilus_tls.wire.enums import NamedGroup

__all__ = ["DEMO_ALPN", "EXPORTER_LABEL", "DemoReport", "run_demo", "run_demo_async"]

DEMO_ALPN = b"nautilus-demo/1"
EXPORTER_LABEL = b"EXPERIMENTAL-nautilus-demo"
EXPORTER_LENGTH = 32
SERVER_NAME = "localhost"
STEP_TIMEOUT = 10.0
EARLY_DATA_LIMIT = 4096
"""Seconds any one step may take before the demo gives up."""

_GROUP_NOTES = {
    "X25519MLKEM768": "hybrid: X25519 ECDH + ML-KEM-768 (FIPS 203)",
    "SecP256r1MLKEM768": "hybrid: P-256 ECDH + ML-KEM-768 (FIPS 203)",
    "SecP384r1MLKEM1024": "hybrid: P-384 ECDH + ML-KEM-1024 (FIPS 203)",
    "MLKEM768": "pure ML-KEM-768 (FIPS 203)",
    "MLKEM1024": "pure ML-KEM-1024 (FIPS 203)",
}
_SCHEME_NOTES = {
    "mldsa44": "ML-DSA-44 (FIPS 204)",
    "mldsa65": "ML-DSA-65 (FIPS 204)",
    "mldsa87": "ML-DSA-87 (FIPS 204)",
}


@dataclass
class DemoReport:
    """What the demo negotiated, observed and measured."""

    alg: str = "mldsa65"
    address: str = ""
    cert_dir: str = ""
    version: str | None = None
    group: str | None = None
    cipher_suite: str | None = None
    signature_scheme: str | None = None
    alpn: str | None = None
    server_subject: str | None = None
    client_subject: str | None = None
    chain_length: int = 0
    verified: bool = False
    verification: str = "not run"
    echo_ok: bool = False
    echo_after_key_update_ok: bool = False
    key_updates: dict[str, dict[str, int]] = field(default_factory=dict)
    exporter_client: str = ""
    exporter_server: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    resumed: bool = False
    resumed_group: str | None = None
    early_data: str = "none"
    early_echo_ok: bool = False
    error: str | None = None

    @property
    def exporter_match(self) -> bool:
        return bool(self.exporter_client) and self.exporter_client == self.exporter_server

    @property
    def key_update_ok(self) -> bool:
        client, server = self.key_updates.get("client", {}), self.key_updates.get("server", {})
        return all(side.get(k, 0) >= 1 for side in (client, server) for k in ("sent", "received"))

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.verified
            and self.echo_ok
            and self.echo_after_key_update_ok
            and self.key_update_ok
            and self.exporter_match
            and self.resumed
            and self.early_data == "accepted"
            and self.early_echo_ok
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "alg": self.alg,
            "address": self.address,
            "cert_dir": self.cert_dir,
            "version": self.version,
            "group": self.group,
            "cipher_suite": self.cipher_suite,
            "signature_scheme": self.signature_scheme,
            "alpn": self.alpn,
            "server_certificate": self.server_subject,
            "client_certificate": self.client_subject,
            "verified": self.verified,
            "verification": self.verification,
            "echo_ok": self.echo_ok,
            "echo_after_key_update_ok": self.echo_after_key_update_ok,
            "key_updates": self.key_updates,
            "exporter_client": self.exporter_client,
            "exporter_server": self.exporter_server,
            "exporter_match": self.exporter_match,
            "timings_ms": self.timings_ms,
            "resumed": self.resumed,
            "resumed_group": self.resumed_group,
            "early_data": self.early_data,
            "early_echo_ok": self.early_echo_ok,
            "error": self.error,
        }

    def render(self) -> str:
        """A readable summary for a terminal."""

        def yes(flag: bool) -> str:
            return "yes" if flag else "NO"

        def row(label: str, value: object) -> str:
            return f"  {label:<22} {value}"

        group = self.group or "-"
        scheme = self.signature_scheme or "-"
        lines = [
            f"Nautilus TLS demo: post-quantum TLS 1.3 over 127.0.0.1 ({self.address or 'not started'})",
            "",
            "Negotiated",
            row("protocol", self.version or "-"),
            row("key exchange", f"{group}  ({_GROUP_NOTES.get(group, 'classical')})"),
            row("cipher suite", self.cipher_suite or "-"),
            row("signature scheme", f"{scheme}  ({_SCHEME_NOTES.get(scheme, 'classical')})"),
            row("ALPN", self.alpn or "-"),
            row("server certificate", self.server_subject or "-"),
        ]
        if self.client_subject:
            lines.append(row("client certificate", self.client_subject))
        lines += [
            row("verification", self.verification),
            "",
            "Data",
            row("echo", "ok" if self.echo_ok else "FAILED"),
        ]
        client, server = self.key_updates.get("client", {}), self.key_updates.get("server", {})
        lines += [
            row(
                "key update",
                f"client sent {client.get('sent', 0)}, received {client.get('received', 0)}; "
                f"server sent {server.get('sent', 0)}, received {server.get('received', 0)}"
                f" -> {'ok' if self.key_update_ok else 'FAILED'}",
            ),
            row("echo after key update", "ok" if self.echo_after_key_update_ok else "FAILED"),
            "",
            f"Exporter (RFC 8446 §7.5, label {EXPORTER_LABEL.decode()!r}, {EXPORTER_LENGTH} bytes)",
            row("client", self.exporter_client or "-"),
            row("server", self.exporter_server or "-"),
            row("exporter match", yes(self.exporter_match)),
            "",
            "Coming back with a session ticket",
            row(
                "resumed",
                f"{yes(self.resumed)}  (PSK + fresh {self.resumed_group or '-'}: forward secret)",
            ),
            row(
                "0-RTT early data",
                f"{self.early_data}, echoed {'ok' if self.early_echo_ok else 'FAILED'}",
            ),
            "",
            "Timings",
        ]
        for step, ms in self.timings_ms.items():
            lines.append(row(step, f"{ms:8.1f} ms"))
        lines.append("")
        if self.cert_dir:
            lines.append(f"Certificates were made in {self.cert_dir} (deleted afterwards).")
        if self.error:
            lines.append(f"Result: FAILED: {self.error}")
        else:
            lines.append("Result: OK" if self.ok else "Result: FAILED")
        return "\n".join(lines)


@contextmanager
def _timed(report: DemoReport, step: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        report.timings_ms[step] = (time.perf_counter() - start) * 1000.0


def _key_updates(writer: TLSWriter) -> dict[str, int]:
    counts = writer.get_extra_info("key_updates", {})
    return {"sent": int(counts.get("sent", 0)), "received": int(counts.get("received", 0))}


async def run_demo_async(*, alg: str = "mldsa65", mutual: bool = False) -> DemoReport:
    """The demo inside a running event loop (see :func:`run_demo`)."""
    report = DemoReport(alg=alg)
    with tempfile.TemporaryDirectory(prefix="nautilus-demo-") as tmp:
        report.cert_dir = tmp
        try:
            await _run(report, Path(tmp), alg=alg, mutual=mutual)
        except (TLSError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            report.error = f"{type(exc).__name__}: {exc}"
    return report


def run_demo(*, alg: str = "mldsa65", mutual: bool = False) -> DemoReport:
    """Run the demo in a new event loop and return its report (``report.ok`` says if it passed)."""
    return asyncio.run(run_demo_async(alg=alg, mutual=mutual))


async def _run(report: DemoReport, cert_dir: Path, *, alg: str, mutual: bool) -> None:
    with _timed(report, "certificate generation"):
        paths = write_pem_bundle(cert_dir, alg, [SERVER_NAME, "127.0.0.1"])
        ca_store = TrustStore.from_file(paths["ca_pem"])
        server_key = CertifiedKey.from_files(paths["server_pem"], paths["server_key"])
        client_key = CertifiedKey.from_files(paths["client_pem"], paths["client_key"])

    server_config = ServerConfig(
        certificates=(server_key,),
        alpn_protocols=(DEMO_ALPN,),
        client_auth="require" if mutual else "none",
        client_trust_store=ca_store if mutual else None,
        max_early_data=EARLY_DATA_LIMIT,
    )
    client_config = ClientConfig(
        trust_store=ca_store,
        groups=(NamedGroup.X25519MLKEM768,),
        key_share_groups=(NamedGroup.X25519MLKEM768,),
        alpn_protocols=(DEMO_ALPN,),
        client_certificate=client_key if mutual else None,
    )

    loop = asyncio.get_running_loop()
    server_side: asyncio.Future[TLSWriter] = loop.create_future()

    async def echo(reader: TLSReader, writer: TLSWriter) -> None:
        if not server_side.done():
            server_side.set_result(writer)
        try:
            if reader.early_data:  # an echo is safe to repeat, so 0-RTT data is fine here
                writer.write(reader.early_data)
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except TLSError:
            pass  # the client side reports what went wrong

    server = await start_server(echo, "127.0.0.1", 0, config=server_config)
    try:
        host, port = server.sockets[0].getsockname()[:2]
        report.address = f"{host}:{port}"
        with _timed(report, "handshake"):
            reader, writer = await asyncio.wait_for(
                connect("127.0.0.1", port, config=client_config, server_name=SERVER_NAME),
                STEP_TIMEOUT,
            )
        try:
            await _exchange(report, reader, writer, server_side, ca_store)
        finally:
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), STEP_TIMEOUT)
        await _come_back(report, port, client_config)
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), STEP_TIMEOUT)


async def _come_back(report: DemoReport, port: int, config: ClientConfig) -> None:
    """Two more connections with the tickets from the first: resumed, then 0-RTT."""
    with _timed(report, "resumed handshake"):
        reader, writer = await asyncio.wait_for(
            connect("127.0.0.1", port, config=config, server_name=SERVER_NAME), STEP_TIMEOUT
        )
    report.resumed = writer.info.resumed
    report.resumed_group = writer.info.group
    writer.close()
    await asyncio.wait_for(writer.wait_closed(), STEP_TIMEOUT)

    early = b"GET /news (0-RTT)\n"
    with _timed(report, "0-RTT to first echo"):
        reader, writer = await asyncio.wait_for(
            connect("127.0.0.1", port, config=config, server_name=SERVER_NAME, early_data=early),
            STEP_TIMEOUT,
        )
        echoed = await asyncio.wait_for(reader.readexactly(len(early)), STEP_TIMEOUT)
    report.early_data = writer.info.early_data
    report.early_echo_ok = echoed == early
    writer.close()
    await asyncio.wait_for(writer.wait_closed(), STEP_TIMEOUT)


async def _exchange(
    report: DemoReport,
    reader: TLSReader,
    writer: TLSWriter,
    server_side: asyncio.Future[TLSWriter],
    ca_store: TrustStore,
) -> None:
    info = writer.info
    report.version = info.version
    report.group = info.group
    report.cipher_suite = info.cipher_suite
    report.signature_scheme = info.signature_scheme
    report.alpn = info.alpn
    report.server_subject = info.peer_certificate_subject
    report.chain_length = len(info.peer_certificates)

    # The handshake already verified the chain (or it would have failed); check it again
    # explicitly so the report can say what was verified against what.
    with _timed(report, "chain verification"):
        try:
            verify_server_chain(
                info.peer_certificates, SERVER_NAME, ca_store, datetime.datetime.now(datetime.UTC)
            )
        except TLSError as exc:
            report.verification = f"FAILED: {exc}"
        else:
            report.verified = True
            report.verification = (
                f"OK: {report.chain_length}-certificate chain valid for {SERVER_NAME!r}, "
                f"issued by the demo CA"
            )

    server_writer = await asyncio.wait_for(asyncio.shield(server_side), STEP_TIMEOUT)
    server_info = server_writer.info
    if server_info.peer_certificates:
        report.client_subject = subject_of(server_info.peer_certificates[0])

    message = b"hello, post-quantum world\n"
    with _timed(report, "echo"):
        writer.write(message)
        await writer.drain()
        report.echo_ok = (
            await asyncio.wait_for(reader.readexactly(len(message)), STEP_TIMEOUT) == message
        )

    second = b"same connection, fresh traffic keys\n"
    with _timed(report, "key update + echo"):
        writer.key_update(request_peer=True)
        writer.write(second)
        await writer.drain()
        echoed = await asyncio.wait_for(reader.readexactly(len(second)), STEP_TIMEOUT)
        report.echo_after_key_update_ok = echoed == second
    report.key_updates = {"client": _key_updates(writer), "server": _key_updates(server_writer)}

    with _timed(report, "exporter"):
        client_secret = writer.export_keying_material(EXPORTER_LABEL, b"", EXPORTER_LENGTH)
        server_secret = server_writer.export_keying_material(EXPORTER_LABEL, b"", EXPORTER_LENGTH)
    report.exporter_client = client_secret.hex()
    report.exporter_server = server_secret.hex()
