"""HTTP/3 through aioquic's h3 layer over our TLS: our GET client and our page server, each
also against UNMODIFIED aioquic in the other role."""

from __future__ import annotations

import asyncio
from typing import Any

from aioquic.asyncio.client import connect as aioquic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.events import ProtocolNegotiated, QuicEvent
from certificates import pki
from quic.quicpeers import HOST, aioquic_client_config, aioquic_server_config, port_of, run

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


class _AioquicH3Client(QuicConnectionProtocol):
    """An unmodified aioquic HTTP/3 GET client (aioquic's h3 over aioquic's TLS)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.http = H3Connection(self._quic)
        self.status = 0
        self.body = b""
        self.done = asyncio.get_event_loop().create_future()

    async def get(self, path: str) -> None:
        stream_id = self._quic.get_next_available_stream_id()
        self.http.send_headers(
            stream_id,
            [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", b"localhost"),
                (b":path", path.encode()),
            ],
            end_stream=True,
        )
        self.transmit()
        await self.done

    def quic_event_received(self, event: QuicEvent) -> None:
        for e in self.http.handle_event(event):
            if isinstance(e, HeadersReceived):
                self.status = int(dict(e.headers)[b":status"])
            elif isinstance(e, DataReceived):
                self.body += e.data
            if (
                isinstance(e, HeadersReceived | DataReceived)
                and e.stream_ended
                and not self.done.done()
            ):
                self.done.set_result(None)


def test_an_unmodified_aioquic_h3_client_gets_our_page() -> None:
    async def main() -> tuple[int, bytes]:
        server = await serve_http3(
            HOST, 0, config=pki("ecdsa-p256").server_config(alpn_protocols=H3)
        )
        try:
            cfg = aioquic_client_config("ecdsa-p256", alpn="h3")
            async with aioquic_connect(
                HOST, port_of(server), configuration=cfg, create_protocol=_AioquicH3Client
            ) as p:
                assert isinstance(p, _AioquicH3Client)
                await p.get("/")
                return p.status, p.body
        finally:
            server.close()

    status, body = run(main())
    assert status == 200 and b"x25519" in body


class _AioquicH3Server(QuicConnectionProtocol):
    """An unmodified aioquic HTTP/3 server answering every GET with a fixed body."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.http: H3Connection | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated):
            self.http = H3Connection(self._quic)
        if self.http is None:
            return
        for e in self.http.handle_event(event):
            if isinstance(e, HeadersReceived) and e.stream_ended:
                self.http.send_headers(e.stream_id, [(b":status", b"200")])
                self.http.send_data(e.stream_id, b"aioquic says hi" * 100, end_stream=True)
                self.transmit()


def test_our_h3_client_gets_from_an_unmodified_aioquic_h3_server() -> None:
    from aioquic.asyncio import serve as aioquic_serve

    async def main() -> tuple[Response, SessionInfo]:
        server = await aioquic_serve(
            HOST,
            0,
            configuration=aioquic_server_config("rsa2048", alpn="h3"),
            create_protocol=_AioquicH3Server,
        )
        try:
            return await http3_get(
                HOST, port_of(server), "/", config=_client("rsa2048"), server_name="localhost"
            )
        finally:
            server.close()

    response, info = run(main())
    assert response.status == 200 and response.body == b"aioquic says hi" * 100
    assert info.group == "x25519" and info.alpn == "h3"
