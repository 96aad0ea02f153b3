"""Node 24 against Node 24, with certificates from certgen: proves the peer harness and the certs.

If these fail, interop failures elsewhere say nothing about Nautilus TLS.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from interop.node_peer import NodeServer, run_client

from nautilus_tls.tools.certgen import ALGORITHMS, CLIENT_NAME

pytestmark = pytest.mark.interop

Bundle = Callable[[str], dict[str, Path]]


def test_accepts_mldsa65_chain_with_x25519mlkem768(node: Path, pem_bundle: Bundle) -> None:
    certs = pem_bundle("mldsa65")
    with NodeServer(
        node, cert=certs["server_pem"], key=certs["server_key"], groups="X25519MLKEM768"
    ) as server:
        result = run_client(
            node,
            port=server.port,
            ca=certs["ca_pem"],
            groups="X25519MLKEM768",
            message="ping ML-DSA",
        )
        served = server.next_event("handshake")

    assert result.returncode == 0, result.describe()
    hs = result.handshake
    assert hs["protocol"] == "TLSv1.3"
    assert hs["ephemeralKey"]["name"] == "X25519MLKEM768"
    assert hs["authorized"] is True, hs["authorizationError"]
    assert hs["peerSubject"]["CN"] == "localhost"
    assert hs["cipher"]["standardName"] == served["cipher"]["standardName"]
    assert len(bytes.fromhex(hs["exporter"])) == 32
    assert hs["exporter"] == served["exporter"]
    assert result.reply == "ping ML-DSA"


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_accepts_every_certificate_algorithm(node: Path, pem_bundle: Bundle, alg: str) -> None:
    certs = pem_bundle(alg)
    with NodeServer(node, cert=certs["server_pem"], key=certs["server_key"]) as server:
        result = run_client(node, port=server.port, ca=certs["ca_pem"])
    assert result.returncode == 0, result.describe()
    assert result.handshake["authorized"] is True
    assert result.reply == "hello from node"


@pytest.mark.parametrize(
    "group",
    [
        "X25519MLKEM768",
        "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024",
        "MLKEM768",
        "MLKEM1024",
        "X25519",
    ],
)
def test_negotiates_each_group(node: Path, pem_bundle: Bundle, group: str) -> None:
    certs = pem_bundle("ecdsa-p256")
    with NodeServer(
        node, cert=certs["server_pem"], key=certs["server_key"], groups=group
    ) as server:
        result = run_client(node, port=server.port, ca=certs["ca_pem"], groups=group)
    assert result.returncode == 0, result.describe()
    assert result.handshake["ephemeralKey"]["name"] == group


@pytest.mark.parametrize(
    "suite", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
)
def test_negotiates_each_cipher_suite(node: Path, pem_bundle: Bundle, suite: str) -> None:
    certs = pem_bundle("ecdsa-p256")
    with NodeServer(
        node, cert=certs["server_pem"], key=certs["server_key"], ciphersuites=suite
    ) as server:
        result = run_client(node, port=server.port, ca=certs["ca_pem"])
    assert result.returncode == 0, result.describe()
    assert result.handshake["cipher"]["standardName"] == suite


def test_mutual_authentication_with_mldsa_client_certificate(
    node: Path, pem_bundle: Bundle
) -> None:
    certs = pem_bundle("mldsa65")
    with NodeServer(
        node,
        cert=certs["server_pem"],
        key=certs["server_key"],
        ca=certs["ca_pem"],
        requestCert=True,
        rejectUnauthorized=True,
    ) as server:
        result = run_client(
            node,
            port=server.port,
            ca=certs["ca_pem"],
            cert=certs["client_pem"],
            key=certs["client_key"],
        )
        served = server.next_event("handshake")
    assert result.returncode == 0, result.describe()
    assert served["authorized"] is True, served["authorizationError"]
    assert served["peerSubject"]["CN"] == CLIENT_NAME


def test_server_rejects_missing_client_certificate(node: Path, pem_bundle: Bundle) -> None:
    certs = pem_bundle("ecdsa-p256")
    with NodeServer(
        node,
        cert=certs["server_pem"],
        key=certs["server_key"],
        ca=certs["ca_pem"],
        requestCert=True,
        rejectUnauthorized=True,
    ) as server:
        result = run_client(node, port=server.port, ca=certs["ca_pem"])
        error = server.next_event("error")
    assert result.reply is None, result.describe()
    assert error["where"] == "tlsClientError"


def test_client_rejects_unknown_ca(node: Path, pem_bundle: Bundle) -> None:
    certs, other = pem_bundle("mldsa65"), pem_bundle("mldsa44")
    with NodeServer(node, cert=certs["server_pem"], key=certs["server_key"]) as server:
        result = run_client(node, port=server.port, ca=other["ca_pem"])
    assert result.returncode == 1, result.describe()
    error = result.event("error")
    assert error is not None and error["code"] == "UNABLE_TO_VERIFY_LEAF_SIGNATURE"


def test_client_rejects_wrong_server_name(node: Path, pem_bundle: Bundle) -> None:
    certs = pem_bundle("ecdsa-p256")
    with NodeServer(node, cert=certs["server_pem"], key=certs["server_key"]) as server:
        result = run_client(node, port=server.port, ca=certs["ca_pem"], servername="example.com")
    assert result.returncode == 1, result.describe()
    error = result.event("error")
    assert error is not None and error["code"] == "ERR_TLS_CERT_ALTNAME_INVALID"


def test_negotiates_alpn_and_exports_with_context(node: Path, pem_bundle: Bundle) -> None:
    certs = pem_bundle("ecdsa-p256")
    with NodeServer(
        node,
        cert=certs["server_pem"],
        key=certs["server_key"],
        alpn=["h2", "http/1.1"],
        exporterContext="00ff",
    ) as server:
        result = run_client(
            node, port=server.port, ca=certs["ca_pem"], alpn=["http/1.1"], exporterContext="00ff"
        )
        served = server.next_event("handshake")
    assert result.returncode == 0, result.describe()
    assert result.handshake["alpnProtocol"] == served["alpnProtocol"] == "http/1.1"
    assert result.handshake["exporter"] == served["exporter"]


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_connects_over_ipv6_loopback(node: Path, pem_bundle: Bundle) -> None:
    certs = pem_bundle("mldsa65")
    with NodeServer(node, host="::1", cert=certs["server_pem"], key=certs["server_key"]) as server:
        # SNI "localhost": Node 24's checkServerIdentity cannot match an IPv6 literal host
        # (domainToASCII("::1") is empty), even against an IP Address ::1 SAN entry.
        result = run_client(
            node, host="::1", port=server.port, ca=certs["ca_pem"], servername="localhost"
        )
    assert result.returncode == 0, result.describe()
    assert result.handshake["authorized"] is True


def test_accepts_ipv4_address_san_without_sni(node: Path, pem_bundle: Bundle) -> None:
    certs = pem_bundle("mldsa44")
    with NodeServer(node, cert=certs["server_pem"], key=certs["server_key"]) as server:
        result = run_client(node, port=server.port, ca=certs["ca_pem"], servername="")
    assert result.returncode == 0, result.describe()
    assert result.handshake["authorized"] is True
    assert result.handshake["servername"] is None
