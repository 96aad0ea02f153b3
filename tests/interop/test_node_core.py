"""Nautilus TLS against Node.js 24 (OpenSSL 3.5), both roles, over real loopback sockets.

The sans-I/O core is driven by a small blocking pump here so that these tests prove the
protocol core itself, independent of the asyncio and blocking adapters.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from interop.node_peer import NodeServer, run_client

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.events import DataReceived
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import NamedGroup

pytestmark = pytest.mark.interop

Bundle = Callable[[str], dict[str, Path]]
LABEL = b"EXPERIMENTAL-nautilus"
DEADLINE_S = 20.0


def _pump(
    conn: Connection,
    sock: socket.socket,
    *,
    until: Callable[[bytes], bool],
    on_data: Callable[[bytes], None] | None = None,
) -> bytes:
    """Write what the connection has, read what the socket has, until ``until(received)``
    is true or the peer closes (bounded in time and iterations). Returns the data received."""
    received = bytearray()
    deadline = time.monotonic() + DEADLINE_S
    sock.settimeout(0.2)
    for _ in range(10_000):
        while (event := conn.next_event()) is not None:
            if isinstance(event, DataReceived):
                received += event.data
                if on_data is not None:
                    on_data(event.data)
        if out := conn.data_to_send():
            sock.sendall(out)
        if until(bytes(received)) or conn.state in ("closed", "failed"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"peer did not finish in {DEADLINE_S}s: {conn!r}")
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if not data:
            conn.receive_data(b"")
            break
        conn.receive_data(data)
    return bytes(received)


@pytest.mark.parametrize(
    ("alg", "group", "scheme"),
    [
        ("mldsa65", NamedGroup.X25519MLKEM768, "mldsa65"),
        ("mldsa44", NamedGroup.SecP256r1MLKEM768, "mldsa44"),
        ("mldsa87", NamedGroup.SecP384r1MLKEM1024, "mldsa87"),
        ("ecdsa-p256", NamedGroup.MLKEM768, "ecdsa_secp256r1_sha256"),
        ("ed25519", NamedGroup.x25519, "ed25519"),
    ],
)
def test_our_client_against_node_server(
    node: Path, pem_bundle: Bundle, alg: str, group: NamedGroup, scheme: str
) -> None:
    certs = pem_bundle(alg)
    config = ClientConfig(
        trust_store=TrustStore.from_pem(certs["ca_pem"].read_bytes()),
        groups=(group,),
        key_share_groups=(group,),
    )
    with NodeServer(
        node, cert=certs["server_pem"], key=certs["server_key"], groups=group.name
    ) as server:
        conn = ClientConnection(config, "localhost")
        with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S) as sock:
            conn.start()
            _pump(conn, sock, until=lambda _: conn.handshake_complete)
            conn.send_data(b"hello node")
            got = _pump(conn, sock, until=lambda data: len(data) >= 10)
            served = server.next_event("handshake")
            ours = conn.export_keying_material(LABEL, None, 32)
            conn.close()
            sock.sendall(conn.data_to_send())
    assert got == b"hello node"
    info = conn.info
    assert info is not None
    assert info.group == group.name
    assert info.signature_scheme == scheme
    assert served["protocol"] == "TLSv1.3"
    assert served["exporter"] == ours.hex()


@pytest.mark.parametrize(
    ("alg", "group", "node_name", "ours"),
    [
        ("mldsa65", "X25519MLKEM768", "X25519MLKEM768", "X25519MLKEM768"),
        ("mldsa87", "SecP384r1MLKEM1024", "SecP384r1MLKEM1024", "SecP384r1MLKEM1024"),
        ("ecdsa-p384", "SecP256r1MLKEM768", "SecP256r1MLKEM768", "SecP256r1MLKEM768"),
        ("rsa2048", "MLKEM1024", "MLKEM1024", "MLKEM1024"),
        ("ecdsa-p256", "P-256", "prime256v1", "secp256r1"),
    ],
)
def test_node_client_against_our_server(
    node: Path, pem_bundle: Bundle, alg: str, group: str, node_name: str, ours: str
) -> None:
    certs = pem_bundle(alg)
    config = ServerConfig(
        certificates=(CertifiedKey.from_files(certs["server_pem"], certs["server_key"]),)
    )
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    outcome: dict[str, object] = {}

    def serve() -> None:
        listener.settimeout(DEADLINE_S)
        try:
            sock, _ = listener.accept()
            with sock:
                conn = ServerConnection(config)
                data = _pump(conn, sock, until=lambda _: False, on_data=conn.send_data)
                outcome["info"] = conn.info
                outcome["data"] = data
        except Exception as exc:  # reported to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    result = run_client(node, port=port, ca=certs["ca_pem"], groups=group, servername="localhost")
    thread.join(DEADLINE_S)
    listener.close()
    assert result.returncode == 0, result.describe()
    hs = result.handshake
    assert hs["authorized"] is True, hs.get("authorizationError")
    assert hs["ephemeralKey"]["name"] == node_name
    assert result.reply == "hello from node"
    assert "error" not in outcome, outcome.get("error")
    info = outcome["info"]
    assert isinstance(info, SessionInfo) and info.group == ours
    assert outcome["data"] == b"hello from node"
