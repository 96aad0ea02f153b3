"""Our TLS on QUIC against qh3 2.1 (a fork of aioquic with its own TLS and hybrid
X25519MLKEM768), both roles, over loopback UDP: HTTP/3 GET, echo streams, resumption.

qh3 offers no ML-DSA signature schemes, so it cannot accept an ML-DSA certificate: the last
test pins down how that fails (ECDSA certificates everywhere else)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from certificates import pki

# qh3 comes with the test extra (like aioquic): missing means a broken install, not a skip.
from qh3 import H3Connection, QuicConfiguration, QuicConnectionProtocol, h3_events, quic_events
from qh3 import connect as qh3_connect
from qh3 import serve as qh3_serve
from quic.quicpeers import (
    H3_SERVER_BODY,
    HOST,
    foreign_get,
    h3_client_protocol,
    h3_server_protocol,
    port_of,
    run,
)

from nautilus_tls.quic.api import connect, echo, quic_client_config, serve
from nautilus_tls.quic.h3 import http3_get, serve_http3
from nautilus_tls.quic.retry import RetryTokens
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.tools.certgen import cert_to_pem, key_to_pem

pytestmark = pytest.mark.interop

ALG = "ecdsa-p256"
QH3_H3_CLIENT = h3_client_protocol(QuicConnectionProtocol, H3Connection, h3_events)
QH3_H3_SERVER = h3_server_protocol(
    QuicConnectionProtocol, H3Connection, h3_events, quic_events.ProtocolNegotiated
)


def _qh3_server_config(alpn: str) -> Any:
    # qh3's h3 announces SETTINGS_H3_DATAGRAM; RFC 9297 §2.1.1 then wants the
    # max_datagram_frame_size transport parameter, which aioquic's h3 (ours) checks.
    cfg = QuicConfiguration(is_client=False, alpn_protocols=[alpn], max_datagram_frame_size=65536)
    server = pki(ALG).server
    cfg.load_cert_chain(cert_to_pem(server.chain[0]), key_to_pem(server.private_key))
    return cfg


def _qh3_client_config(alpn: str, alg: str = ALG) -> Any:
    cfg = QuicConfiguration(is_client=True, alpn_protocols=[alpn], server_name="localhost")
    cfg.load_verify_locations(cadata=cert_to_pem(pki(alg).ca_der))
    return cfg


def _our_client(alpn: bytes, **kw: Any) -> Any:
    return quic_client_config(trust_store=pki(ALG).store, alpn_protocols=(alpn,), **kw)


def test_a_qh3_h3_client_gets_our_page_over_x25519mlkem768() -> None:
    async def main() -> tuple[int, bytes]:
        server = await serve_http3(HOST, 0, config=pki(ALG).server_config(alpn_protocols=(b"h3",)))
        try:
            cfg = _qh3_client_config("h3")
            return await foreign_get(qh3_connect, port_of(server), cfg, QH3_H3_CLIENT)
        finally:
            server.close()

    status, body = run(main())
    assert status == 200 and b"X25519MLKEM768" in body


def test_our_h3_client_gets_from_a_qh3_h3_server_over_x25519mlkem768() -> None:
    async def main() -> tuple[int, bytes, SessionInfo]:
        server = await qh3_serve(
            HOST, 0, configuration=_qh3_server_config("h3"), create_protocol=QH3_H3_SERVER
        )
        try:
            response, info = await http3_get(
                HOST, port_of(server), "/", config=_our_client(b"h3"), server_name="localhost"
            )
            return response.status, response.body, info
        finally:
            server.close()

    status, body, info = run(main())
    assert status == 200 and body == H3_SERVER_BODY
    assert info.group == "X25519MLKEM768" and info.alpn == "h3"


def _qh3_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    asyncio.ensure_future(echo(reader, writer))  # noqa: RUF006  # the server keeps the loop


def test_our_client_resumes_with_a_qh3_server_and_sends_0rtt() -> None:
    tickets: dict[bytes, Any] = {}
    config = _our_client(b"nautilus-echo", session_store=MemorySessionStore())

    async def main() -> list[SessionInfo]:
        server = await qh3_serve(
            HOST, 0, configuration=_qh3_server_config("nautilus-echo"),
            session_ticket_fetcher=tickets.pop, session_ticket_handler=lambda t: tickets.__setitem__(t.ticket, t),
            stream_handler=_qh3_echo,
        )  # fmt: skip
        infos = []
        try:
            for early in (None, b"early echo"):  # the second resumes and sends 0-RTT
                async with connect(
                    HOST, port_of(server), config=config, server_name="localhost", early_data=early
                ) as c:
                    if early is not None:
                        assert await c.early_reply() == early
                    assert await c.request(b"echo me") == b"echo me"
                    infos.append(c.info)
        finally:
            server.close()
        return infos

    first, second = run(main())
    assert first.group == "X25519MLKEM768"
    assert not first.resumed and second.resumed
    assert second.early_data == "accepted"


def test_a_qh3_client_resumes_with_our_server_and_sends_0rtt() -> None:
    tickets: list[Any] = []
    # qh3 builds its ClientHello in a fixed 2048-byte buffer: a hybrid share plus a ticket
    # with a SHA-384 binder overflows it (BufferWriteError in qh3), so this server prefers
    # TLS_AES_128_GCM_SHA256 (a 32-byte binder).
    scfg = pki(ALG).server_config(
        alpn_protocols=(b"nautilus-echo",), cipher_suites=(0x1301,), max_early_data=0xFFFFFFFF
    )

    async def main() -> list[tuple[bool, bool]]:
        server = await serve(echo, HOST, 0, config=scfg)
        seen = []
        try:
            for attempt in range(2):  # the second resumes, and sends before it is connected
                cfg = _qh3_client_config("nautilus-echo")
                if tickets:
                    cfg.session_ticket = tickets[-1]
                async with qh3_connect(
                    HOST, port_of(server), configuration=cfg,
                    session_ticket_handler=tickets.append, wait_connected=attempt == 0,
                ) as client:  # fmt: skip
                    reader, writer = await client.create_stream()
                    writer.write(b"ping")
                    writer.write_eof()
                    assert await reader.read() == b"ping"
                    tls = client._quic.tls
                    seen.append((bool(tls.session_resumed), bool(tls.early_data_accepted)))
        finally:
            server.close()
        return seen

    assert run(main()) == [(False, False), (True, True)]


def test_qh3_cannot_accept_an_ml_dsa_certificate_and_says_handshake_failure() -> None:
    # qh3 2.1 lists no ML-DSA signature scheme, so our ML-DSA-65 server has nothing to sign
    # with that the client accepts: RFC 8446 §4.4.2.2, handshake_failure (CRYPTO_ERROR 0x128).
    async def main() -> int:
        server = await serve(
            echo, HOST, 0, config=pki("mldsa65").server_config(alpn_protocols=(b"nautilus-echo",))
        )
        try:
            async with qh3_connect(
                HOST, port_of(server), configuration=_qh3_client_config("nautilus-echo", "mldsa65")
            ):
                return 0
        except ConnectionError:
            return 1
        finally:
            server.close()

    assert run(main()) == 1


def test_our_client_rotates_quic_keys_by_policy_with_a_qh3_server() -> None:
    # RFC 9001 §6 key updates driven by rekey_bytes; qh3 (a separate QUIC stack) follows.
    config = _our_client(b"nautilus-echo", rekey_bytes=16 * 1024)
    payload = bytes(range(256)) * 200

    async def main() -> tuple[list[bytes], SessionInfo]:
        server = await qh3_serve(
            HOST, 0, configuration=_qh3_server_config("nautilus-echo"), stream_handler=_qh3_echo
        )
        try:
            async with connect(HOST, port_of(server), config=config, server_name="localhost") as c:
                replies = [await c.request(payload) for _ in range(4)]
                return replies, c.info
        finally:
            server.close()

    replies, info = run(main())
    assert replies == [payload] * 4
    assert info.key_updates_sent >= 3


def test_a_qh3_client_follows_our_h3_servers_retry() -> None:
    async def main() -> tuple[int, bytes, int]:
        server = await serve_http3(
            HOST, 0, config=pki(ALG).server_config(alpn_protocols=(b"h3",)), retry=RetryTokens()
        )
        try:
            cfg = _qh3_client_config("h3")
            status, body = await foreign_get(qh3_connect, port_of(server), cfg, QH3_H3_CLIENT)
            return status, body, server.retries_sent
        finally:
            server.close()

    status, body, retries = run(main())
    # qh3's client checks our retry_source_connection_id (RFC 9000 §7.3) before any page.
    assert status == 200 and b"X25519MLKEM768" in body and retries >= 1


def test_our_h3_client_follows_a_qh3_servers_retry() -> None:
    async def main() -> tuple[int, bytes]:
        server = await qh3_serve(
            HOST,
            0,
            configuration=_qh3_server_config("h3"),
            create_protocol=QH3_H3_SERVER,
            retry=True,
        )
        try:
            response, _ = await http3_get(
                HOST, port_of(server), "/", config=_our_client(b"h3"), server_name="localhost"
            )
            return response.status, response.body
        finally:
            server.close()

    status, body = run(main())
    assert status == 200 and body == H3_SERVER_BODY
