"""Session resumption and 0-RTT against stacks we did not write, both roles:
Node.js 24 (OpenSSL 3.5), the openssl 3.0 CLI, and Python's ssl module (OpenSSL 3.0).

OpenSSL 3.0 has no ML-KEM, so those peers negotiate x25519 (our server falls back to it;
our client is told to offer x25519 first to avoid a HelloRetryRequest).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from interop.procs import LineProcess
from interop.serve import NautilusServe

from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.sync import TLSSocket
from nautilus_tls.wire.enums import NamedGroup

pytestmark = pytest.mark.interop

Bundle = Callable[[str], dict[str, Path]]
TIMEOUT = 30.0


def _openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("SKIPPED INTEROP: the openssl CLI is not installed (Debian package openssl)")
    return path


def _client_config(ca: Path, *, group: NamedGroup = NamedGroup.X25519MLKEM768) -> ClientConfig:
    return ClientConfig(
        trust_store=TrustStore.from_file(ca),
        session_store=MemorySessionStore(),
        key_share_groups=(group,),
    )


def _exchange(config: ClientConfig, port: int, *, early: bytes | None = None) -> TLSSocket:
    """Connect, send a line, read what comes back (tickets arrive on the way), close."""
    tls = TLSSocket.connect(
        ("127.0.0.1", port), config=config, server_name="localhost", timeout=2.0, early_data=early
    )
    try:
        tls.sendall(b"ping\n")
        # s_server does not answer; the tickets came before our data anyway.
        with contextlib.suppress(TimeoutError):
            tls.recv(100)
    finally:
        tls.close()
    return tls


# --- Node.js 24 ------------------------------------------------------------------------------


def test_our_client_resumes_with_node_server(node: Path, pem_bundle: Bundle) -> None:
    from interop.node_peer import NodeServer

    certs = pem_bundle("mldsa65")
    config = _client_config(certs["ca_pem"])
    with NodeServer(
        node, cert=certs["server_pem"], key=certs["server_key"], groups="X25519MLKEM768"
    ) as server:
        first = _exchange(config, server.port)
        second = _exchange(config, server.port)
    assert first.info is not None and not first.info.resumed
    assert second.info is not None and second.info.resumed
    assert second.info.group == "X25519MLKEM768"  # psk_dhe_ke with a fresh hybrid exchange


def test_node_client_resumes_with_our_server(node: Path, pem_bundle: Bundle) -> None:
    certs = pem_bundle("mldsa65")
    script = Path(__file__).parent / "peers" / "node_resume_client.js"
    with NautilusServe("--cert", certs["server_pem"], "--key", certs["server_key"]) as server:
        opts = {"port": server.port, "ca": str(certs["ca_pem"]), "groups": "X25519MLKEM768"}
        done = subprocess.run(
            [str(node), str(script), json.dumps(opts)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        logged = [server.next_handshake(), server.next_handshake()]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert [line["reused"] for line in lines] == [False, True]
    assert all(line["group"] == "X25519MLKEM768" for line in lines)
    assert [r["resumed"] for r in logged] == [False, True]


# --- openssl CLI 3.0 ----------------------------------------------------------------------------


def _s_client(openssl: str, port: int, ca: Path, *extra: str | Path) -> str:
    """Run s_client: send a line, wait for its echo (the tickets come before it), then end
    stdin so that s_client closes. Returns everything it printed."""
    proc = LineProcess(
        [
            openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
            "-CAfile", str(ca), "-tls1_3", *map(str, extra),
        ],
        stdin=True,
    )  # fmt: skip
    with proc:
        proc.write("hello\n")
        proc.wait_for(r"^hello$", TIMEOUT, stream="stdout")
        proc.close_stdin()
        proc.wait(TIMEOUT)
        return proc.text()


def test_openssl_s_client_resumes_and_sends_early_data_to_our_server(
    pem_bundle: Bundle, tmp_path: Path
) -> None:
    openssl = _openssl()
    certs = pem_bundle("ecdsa-p256")
    sess = tmp_path / "sess.pem"
    early = tmp_path / "early.txt"
    early.write_text("GET /early\n")
    args = ("--cert", certs["server_pem"], "--key", certs["server_key"])
    with NautilusServe(*args, "--early-data") as server:
        first = _s_client(openssl, server.port, certs["ca_pem"], "-sess_out", sess)
        assert "New, TLSv1.3" in first, first[-2000:]
        assert sess.exists()
        second = _s_client(openssl, server.port, certs["ca_pem"], "-sess_in", sess)
        assert "Reused, TLSv1.3" in second, second[-2000:]
        third = _s_client(
            openssl, server.port, certs["ca_pem"], "-sess_in", sess, "-early_data", early
        )
        assert "Early data was accepted" in third, third[-2000:]
        records = [server.next_handshake() for _ in range(3)]
    assert [(r["resumed"], r["early_data"]) for r in records] == [
        (False, "none"),
        (True, "none"),
        (True, "accepted"),
    ]
    assert records[0]["group"] == "x25519"


def test_openssl_s_client_early_data_rejected_when_replayed_to_our_server(
    pem_bundle: Bundle, tmp_path: Path
) -> None:
    """The same ticket's 0-RTT a second time (s_client does not consume tickets): our
    anti-replay refuses the early data, the connection resumes in 1-RTT."""
    openssl = _openssl()
    certs = pem_bundle("ecdsa-p256")
    sess = tmp_path / "sess.pem"
    early = tmp_path / "early.txt"
    early.write_text("POST /transfer\n")
    args = ("--cert", certs["server_pem"], "--key", certs["server_key"], "--early-data")
    with NautilusServe(*args) as server:
        _s_client(openssl, server.port, certs["ca_pem"], "-sess_out", sess)
        accepted = _s_client(
            openssl, server.port, certs["ca_pem"], "-sess_in", sess, "-early_data", early
        )
        replayed = _s_client(
            openssl, server.port, certs["ca_pem"], "-sess_in", sess, "-early_data", early
        )
        records = [server.next_handshake() for _ in range(3)]
    assert "Early data was accepted" in accepted, accepted[-2000:]
    assert "Early data was rejected" in replayed, replayed[-2000:]
    assert [r["early_data"] for r in records] == ["none", "accepted", "rejected"]
    assert records[2]["resumed"] is True


def test_our_server_without_early_data_never_offers_it(pem_bundle: Bundle, tmp_path: Path) -> None:
    openssl = _openssl()
    certs = pem_bundle("ecdsa-p256")
    sess = tmp_path / "sess.pem"
    early = tmp_path / "early.txt"
    early.write_text("GET /\n")
    with NautilusServe("--cert", certs["server_pem"], "--key", certs["server_key"]) as server:
        _s_client(openssl, server.port, certs["ca_pem"], "-sess_out", sess)
        out = _s_client(
            openssl, server.port, certs["ca_pem"], "-sess_in", sess, "-early_data", early
        )
        records = [server.next_handshake() for _ in range(2)]
    # The ticket carries no max_early_data, so s_client resumes without sending 0-RTT.
    assert "Reused, TLSv1.3" in out, out[-2000:]
    assert "Early data was accepted" not in out
    assert records[1]["resumed"] is True and records[1]["early_data"] == "none"


def _s_server(openssl: str, certs: dict[str, Path], *extra: str) -> tuple[LineProcess, int]:
    proc = LineProcess(
        [
            openssl, "s_server", "-accept", "0", "-tls1_3",
            "-cert", certs["server_pem"], "-key", certs["server_key"], *extra,
        ],
        stdin=True,  # s_server stops at end of stdin
    )  # fmt: skip
    proc.start()
    try:
        match = proc.wait_for(r"^ACCEPT .*:(\d+)$", TIMEOUT)
    except BaseException:
        proc.stop()
        raise
    return proc, int(match.group(1))


def test_our_client_resumes_and_sends_early_data_to_openssl_s_server(pem_bundle: Bundle) -> None:
    openssl = _openssl()
    certs = pem_bundle("ecdsa-p256")
    config = _client_config(certs["ca_pem"], group=NamedGroup.x25519)
    proc, port = _s_server(openssl, certs, "-early_data")
    try:
        first = _exchange(config, port)
        second = _exchange(config, port)
        third = _exchange(config, port, early=b"early from nautilus\n")
        proc.wait_for(r"early from nautilus", TIMEOUT)
    finally:
        proc.stop()
    assert first.info is not None and not first.info.resumed
    assert second.info is not None and second.info.resumed
    assert third.info is not None and third.info.resumed and third.info.early_data == "accepted"


# --- Python's ssl module ------------------------------------------------------------------------


def test_python_ssl_client_reuses_its_session_with_our_server(pem_bundle: Bundle) -> None:
    certs = pem_bundle("ecdsa-p256")
    ctx = ssl.create_default_context(cafile=str(certs["ca_pem"]))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with NautilusServe("--cert", certs["server_pem"], "--key", certs["server_key"]) as server:
        session = None
        reused = []
        for _ in range(2):
            with (
                socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw,
                ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
            ):
                tls.sendall(b"ping")
                assert tls.recv(4) == b"ping"  # tickets arrive before the echo
                reused.append(tls.session_reused)
                session = tls.session
        records = [server.next_handshake() for _ in range(2)]
    assert reused == [False, True]
    assert [r["resumed"] for r in records] == [False, True]


def test_our_client_resumes_with_python_ssl_server(pem_bundle: Bundle) -> None:
    certs = pem_bundle("ecdsa-p256")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(certs["server_pem"]), str(certs["server_key"]))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    reused: list[bool] = []

    def serve() -> None:
        listener.settimeout(TIMEOUT)
        for _ in range(2):
            raw, _ = listener.accept()
            with ctx.wrap_socket(raw, server_side=True) as tls:
                tls.settimeout(TIMEOUT)
                tls.sendall(tls.recv(100))
                reused.append(tls.session_reused)
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    config = _client_config(certs["ca_pem"], group=NamedGroup.x25519)
    try:
        first = _exchange(config, port)
        second = _exchange(config, port)
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert first.info is not None and not first.info.resumed
    assert second.info is not None and second.info.resumed
    assert reused == [False, True]


# --- tlslite-ng 0.8 ------------------------------------------------------------------------------


def _tlslite() -> object:
    return pytest.importorskip(
        "tlslite.api",
        reason="SKIPPED INTEROP: tlslite-ng is not installed (pip install tlslite-ng==0.8.2 kyber-py)",
    )


def test_tlslite_client_resumes_with_our_server(pem_bundle: Bundle) -> None:
    api: Any = _tlslite()
    certs = pem_bundle("ecdsa-p256")
    settings = api.HandshakeSettings()
    settings.minVersion = settings.maxVersion = (3, 4)
    settings.eccCurves = ["x25519mlkem768", "x25519"]
    settings.keyShares = ["x25519mlkem768"]
    resumed = []
    with NautilusServe("--cert", certs["server_pem"], "--key", certs["server_key"]) as server:
        session = None
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw:
                tls = api.TLSConnection(raw)
                tls.handshakeClientCert(settings=settings, session=session, serverName="localhost")
                tls.write(b"hi")
                assert tls.read(max=2) == b"hi"  # tickets arrive before the echo
                resumed.append(tls.resumed)
                session = tls.session
                tls.close()
        records = [server.next_handshake() for _ in range(2)]
    assert resumed == [False, True]
    assert [(r["resumed"], r["group"]) for r in records] == [
        (False, "X25519MLKEM768"),
        (True, "X25519MLKEM768"),
    ]


def test_our_client_resumes_with_tlslite_server(pem_bundle: Bundle) -> None:
    api: Any = _tlslite()
    certs = pem_bundle("ecdsa-p256")
    chain = api.X509CertChain()
    chain.parsePemList(certs["server_pem"].read_text())
    key = api.parsePEMKey(certs["server_key"].read_text(), private=True)
    settings = api.HandshakeSettings()
    settings.minVersion = (3, 4)
    settings.ticketKeys = [bytes(range(32))]
    settings.eccCurves = ["x25519mlkem768", "x25519"]
    settings.keyShares = ["x25519mlkem768"]
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        listener.settimeout(TIMEOUT)
        try:
            for _ in range(2):
                raw, _ = listener.accept()
                raw.settimeout(TIMEOUT)
                tls = api.TLSConnection(raw)
                tls.handshakeServer(certChain=chain, privateKey=key, settings=settings)
                tls.write(tls.read(max=2))
                tls.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    config = _client_config(certs["ca_pem"])
    try:
        first = _exchange_echo(config, port)
        second = _exchange_echo(config, port)
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert not errors, errors
    assert first.info is not None and not first.info.resumed
    # tlslite-ng does not report TLS 1.3 PSK resumption on its side (its `resumed` stays
    # False); ours is proven by the PSK-keyed Finished that verified.
    assert second.info is not None and second.info.resumed
    assert second.info.group == "X25519MLKEM768"


def _exchange_echo(config: ClientConfig, port: int) -> TLSSocket:
    tls = TLSSocket.connect(
        ("127.0.0.1", port), config=config, server_name="localhost", timeout=TIMEOUT
    )
    try:
        tls.sendall(b"hi")
        assert tls.recv(2) == b"hi"
    finally:
        tls.close()
    return tls
