"""httpx through nautilus_tls.httpx against a server we did not write: Node 24's http2 module
(OpenSSL 3.5 inside) with an ML-DSA-65 (or ECDSA) certificate and X25519MLKEM768 as its only
group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from interop.node_peer import HTTPS_SCRIPT, NodeServer

from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.httpx import AsyncHTTPTransport, HTTPTransport, session_info

pytestmark = pytest.mark.interop

TIMEOUT = 15.0
NEW_CONNECTION_EACH = httpx.Limits(max_connections=1, max_keepalive_connections=0)


def _node_https(node: Path, certs: dict[str, Path]) -> NodeServer:
    return NodeServer(
        node,
        script=HTTPS_SCRIPT,
        cert=certs["server_pem"],
        key=certs["server_key"],
        groups="X25519MLKEM768",
    )


def _config(certs: dict[str, Path]) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_file(certs["ca_pem"]))


@pytest.mark.parametrize(
    ("alg", "scheme"), [("mldsa65", "mldsa65"), ("ecdsa-p256", "ecdsa_secp256r1_sha256")]
)
def test_http2_client_talks_to_node_over_post_quantum_tls(
    node: Path, pem_bundle: Callable[[str], dict[str, Path]], alg: str, scheme: str
) -> None:
    certs = pem_bundle(alg)
    transport = HTTPTransport(config=_config(certs), http2=True)
    with (
        _node_https(node, certs) as server,
        httpx.Client(transport=transport, timeout=TIMEOUT) as client,
    ):
        first = client.get(f"https://localhost:{server.port}/one")
        second = client.get(f"https://localhost:{server.port}/two")
    assert first.http_version == "HTTP/2" and second.http_version == "HTTP/2"
    assert first.json()["alpn"] == "h2" and first.json()["httpVersion"] == "2.0"
    assert second.json()["path"] == "/two"
    assert first.json()["protocol"] == "TLSv1.3"
    info = session_info(second)
    assert info is not None
    assert info.group == "X25519MLKEM768" and info.signature_scheme == scheme
    assert info.alpn == "h2"


def test_http1_client_resumes_with_node_tickets(
    node: Path, pem_bundle: Callable[[str], dict[str, Path]]
) -> None:
    certs = pem_bundle("mldsa65")
    transport = HTTPTransport(config=_config(certs), limits=NEW_CONNECTION_EACH)
    with (
        _node_https(node, certs) as server,
        httpx.Client(transport=transport, timeout=TIMEOUT) as client,
    ):
        responses = [client.get(f"https://localhost:{server.port}/{n}") for n in range(3)]
    assert [r.http_version for r in responses] == ["HTTP/1.1"] * 3
    assert [r.json()["sessionReused"] for r in responses] == [False, True, True]
    infos = [session_info(r) for r in responses]
    assert [i.resumed for i in infos if i is not None] == [False, True, True]


def test_async_client_talks_http2_to_node(
    node: Path, pem_bundle: Callable[[str], dict[str, Path]]
) -> None:
    certs = pem_bundle("mldsa65")

    async def main(port: int) -> list[httpx.Response]:
        transport = AsyncHTTPTransport(config=_config(certs), http2=True)
        async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
            return list(
                await asyncio.gather(
                    *(client.get(f"https://localhost:{port}/{n}") for n in range(4))
                )
            )

    with _node_https(node, certs) as server:
        responses = asyncio.run(asyncio.wait_for(main(server.port), 60))
    assert sorted(r.json()["path"] for r in responses) == ["/0", "/1", "/2", "/3"]
    assert {r.http_version for r in responses} == {"HTTP/2"}
    infos = {id(session_info(r)) for r in responses}
    assert len(infos) == 1  # multiplexed on one connection
