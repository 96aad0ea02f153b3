"""HTTP/3 through aioquic's h3 layer over our TLS: our GET client and our page server, each
also against UNMODIFIED aioquic in the other role."""

from __future__ import annotations

from typing import Any

from aioquic.asyncio.client import connect as aioquic_connect
from certificates import pki
from quic.quicpeers import (
    AIOQUIC_H3_CLIENT,
    AIOQUIC_H3_SERVER,
    H3_SERVER_BODY,
    HOST,
    aioquic_client_config,
    aioquic_server_config,
    foreign_get,
    port_of,
    run,
)

from nautilus_tls.quic.api import quic_client_config
from nautilus_tls.quic.h3 import Response, http3_get, serve_http3
from nautilus_tls.session_info import SessionInfo

H3 = (b"h3",)


def _client(alg: str = "mldsa65") -> Any:
    return quic_client_config(trust_store=pki(alg).store, alpn_protocols=H3)


def test_gets_the_page_that_names_the_negotiated_group() -> None:
    async def main() -> tuple[Response, SessionInfo]:
        server = await serve_http3(HOST, 0, config=pki().server_config(alpn_protocols=H3))
        try:
            return await http3_get(
                HOST, server.address[1], "/", config=_client(), server_name="localhost"
            )
        finally:
            server.close()

    response, info = run(main())
    assert response.status == 200
    assert b"X25519MLKEM768" in response.body and b"<html>" in response.body
    assert info.alpn == "h3" and info.group == "X25519MLKEM768"


def test_answers_404_for_other_paths() -> None:
    async def main() -> Response:
        server = await serve_http3(HOST, 0, config=pki().server_config(alpn_protocols=H3))
        try:
            response, _ = await http3_get(
                HOST, server.address[1], "/nope", config=_client(), server_name="localhost"
            )
            return response
        finally:
            server.close()

    assert run(main()).status == 404


def test_an_unmodified_aioquic_h3_client_gets_our_page() -> None:
    async def main() -> tuple[int, bytes]:
        server = await serve_http3(
            HOST, 0, config=pki("ecdsa-p256").server_config(alpn_protocols=H3)
        )
        try:
            cfg = aioquic_client_config("ecdsa-p256", alpn="h3")
            return await foreign_get(aioquic_connect, port_of(server), cfg, AIOQUIC_H3_CLIENT)
        finally:
            server.close()

    status, body = run(main())
    assert status == 200 and b"x25519" in body


def test_our_h3_client_gets_from_an_unmodified_aioquic_h3_server() -> None:
    from aioquic.asyncio import serve as aioquic_serve

    async def main() -> tuple[Response, SessionInfo]:
        server = await aioquic_serve(
            HOST,
            0,
            configuration=aioquic_server_config("rsa2048", alpn="h3"),
            create_protocol=AIOQUIC_H3_SERVER,
        )
        try:
            return await http3_get(
                HOST, port_of(server), "/", config=_client("rsa2048"), server_name="localhost"
            )
        finally:
            server.close()

    response, info = run(main())
    assert response.status == 200 and response.body == H3_SERVER_BODY
    assert info.group == "x25519" and info.alpn == "h3"
