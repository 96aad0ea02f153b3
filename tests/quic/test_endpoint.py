"""Our QUIC client and server endpoints over loopback UDP, with our TLS on both sides."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading

from aio.test_prefetch import SlowResolver, ThreadRecordingResolver, _heartbeat
from aioquic._buffer import Buffer
from aioquic.quic.packet import QuicPacketType, QuicProtocolVersion, pull_quic_header
from certificates import pki
from cryptography.hazmat.primitives.asymmetric import ed25519
from did.test_verifier import _spki, holder
from did_server import document_server
from quic.quicpeers import (
    ECHO_ALPN,
    HOST,
    echo_once,
    echo_stream_handler,
    our_client,
    our_client_config,
    our_server_config,
    port_of,
    quic_config,
    run,
    session_info_of,
    start_our_echo,
)

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.did.document import did_document
from nautilus_tls.did.resolver import DidResolver
from nautilus_tls.did.verifier import DidPeerVerifier
from nautilus_tls.errors import HandshakeTimeout
from nautilus_tls.quic.endpoint import start_endpoint
from nautilus_tls.quic.keys import retry_integrity_tag
from nautilus_tls.quic.retry import RetryTokens
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import NamedGroup


def test_echoes_over_a_hybrid_ml_kem_ml_dsa_65_connection() -> None:
    async def main() -> tuple[bytes, SessionInfo]:
        server = await start_our_echo(our_server_config("mldsa65"))
        try:
            async with our_client(port_of(server), our_client_config("mldsa65")) as protocol:
                return await echo_once(protocol, b"post-quantum QUIC" * 1000), session_info_of(
                    protocol
                )
        finally:
            server.close()

    reply, info = run(main())
    assert reply == b"post-quantum QUIC" * 1000
    assert (info.group, info.signature_scheme) == ("X25519MLKEM768", "mldsa65")
    assert info.alpn == "nautilus-echo" and not info.hello_retry


def test_our_server_forces_a_hello_retry_request_against_our_client() -> None:
    async def main() -> SessionInfo:
        server = await start_our_echo(our_server_config(groups=(NamedGroup.secp256r1,)))
        try:
            async with our_client(port_of(server), our_client_config()) as protocol:
                assert await echo_once(protocol, b"after HRR") == b"after HRR"
                return session_info_of(protocol)
        finally:
            server.close()

    info = run(main())
    assert info.hello_retry and info.group == "secp256r1"


def _initial_like(version: int, size: int) -> bytes:
    # A long-header Initial: form+fixed bits, version, 8-byte DCID, 8-byte SCID, padding.
    header = bytes([0xC0]) + version.to_bytes(4, "big") + b"\x08" + os.urandom(8) + b"\x08"
    return header + os.urandom(8) + bytes(size - len(header) - 8)


def _send_and_receive(port: int, datagram: bytes) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.sendto(datagram, (HOST, port))
        try:
            return sock.recv(2048)
        except TimeoutError:
            return None


def test_answers_an_unknown_version_with_version_negotiation_and_ignores_short_initials() -> None:
    async def main() -> tuple[bytes | None, bytes | None, int]:
        server = await start_our_echo(our_server_config())
        try:
            port = port_of(server)
            loop = asyncio.get_running_loop()
            vn = await loop.run_in_executor(
                None, _send_and_receive, port, _initial_like(0x0A0A0A0A, 1200)
            )
            short = await loop.run_in_executor(
                None, _send_and_receive, port, _initial_like(QuicProtocolVersion.VERSION_1, 600)
            )
            return vn, short, server.connections
        finally:
            server.close()

    vn, short, connections = run(main())
    assert vn is not None and vn[1:5] == bytes(4)  # RFC 9000 §17.2.1: version 0
    assert QuicProtocolVersion.VERSION_1.to_bytes(4, "big") in vn
    assert short is None and connections == 0  # RFC 9000 §14.1: under 1200 bytes, dropped


def test_stops_accepting_new_connections_at_the_limit() -> None:
    async def main() -> tuple[int, bool]:
        server = await start_endpoint(
            HOST,
            0,
            configuration=quic_config(is_client=False),
            tls_config=our_server_config(),
            max_connections=1,
        )
        try:
            port = port_of(server)
            async with our_client(port, our_client_config()):
                try:
                    async with our_client(port, our_client_config(handshake_timeout=1.0)):
                        second = True
                except HandshakeTimeout:
                    second = False
                return server.connections, second
        finally:
            server.close()

    connections, second = run(main())
    assert connections == 1 and not second


def test_with_retry_our_client_proves_its_address_and_then_connects() -> None:
    async def main() -> tuple[bytes, int, int]:
        server = await start_our_echo(our_server_config(), retry=RetryTokens())
        try:
            async with our_client(port_of(server), our_client_config()) as protocol:
                reply = await echo_once(protocol, b"after Retry")
                return reply, server.retries_sent, server.connections
        finally:
            server.close()

    reply, retries, connections = run(main())
    # The client checks the server's retry_source_connection_id transport parameter (RFC 9000
    # §7.3): a server that got it wrong would fail the handshake, not echo.
    assert reply == b"after Retry" and connections == 1
    # One Retry per datagram of the first flight: a hybrid ClientHello spans two (stateless,
    # so the server cannot tell); the client acts on the first only (RFC 9000 §17.2.5.2).
    assert 1 <= retries <= 2


def _initial_with_token(token: bytes, dcid: bytes, size: int = 1200) -> bytes:
    header = (
        bytes([0xC0])
        + QuicProtocolVersion.VERSION_1.to_bytes(4, "big")
        + bytes([len(dcid)]) + dcid + b"\x08" + os.urandom(8)
        + bytes([0x40 | (len(token) >> 8), len(token) & 0xFF]) + token
    )  # fmt: skip
    rest = size - len(header) - 2
    return header + bytes([0x40 | (rest >> 8), rest & 0xFF]) + bytes(rest)


def test_with_retry_a_first_initial_gets_a_retry_and_leaves_no_connection() -> None:
    dcid = os.urandom(8)

    async def main() -> tuple[bytes | None, bytes | None, bytes | None, int]:
        server = await start_our_echo(our_server_config(), retry=RetryTokens())
        try:
            port = port_of(server)
            loop = asyncio.get_running_loop()
            first = await loop.run_in_executor(
                None, _send_and_receive, port, _initial_with_token(b"", dcid)
            )
            forged = await loop.run_in_executor(
                None, _send_and_receive, port, _initial_with_token(os.urandom(60), dcid)
            )
            short = await loop.run_in_executor(
                None, _send_and_receive, port, _initial_with_token(b"", dcid, size=1100)
            )
            return first, forged, short, server.connections
        finally:
            server.close()

    first, forged, short, connections = run(main())
    assert connections == 0  # no state for an address not yet validated
    assert short is None  # RFC 9000 §14.1: under 1200 bytes, dropped before any Retry
    for reply in (first, forged):  # a token that is not ours counts as none (§8.1.3)
        assert reply is not None
        header = pull_quic_header(Buffer(data=reply), host_cid_length=8)
        assert header.packet_type == QuicPacketType.RETRY and header.token
        assert len(reply) < 1200 / 3  # RFC 9000 §8: no amplification
        # RFC 9001 §5.8: the integrity tag over the pseudo-packet naming our original DCID.
        assert reply[-16:] == retry_integrity_tag(dcid, reply[:-16])


def test_did_web_documents_are_fetched_off_the_event_loop_by_client_and_server() -> None:
    server_key, client_key = (
        ed25519.Ed25519PrivateKey.generate(),
        ed25519.Ed25519PrivateKey.generate(),
    )
    web = ThreadRecordingResolver(config=pki().client_config(), timeout=5.0)
    resolver = DidResolver(web)

    async def main() -> tuple[bytes, threading.Thread, int]:
        loop_thread = threading.current_thread()
        server_tls = ServerConfig(
            certificates=(holder(server_key, server_did).credential,),
            alpn_protocols=(ECHO_ALPN.encode(),),
            client_auth="require",
            client_verifier=DidPeerVerifier(trust_dids=(client_did,), resolver=resolver),
        )
        server = await start_our_echo(server_tls)
        fetched_before_any_client = len(web.fetch_threads)
        try:
            client_tls = ClientConfig(
                verifier=DidPeerVerifier(expect_did=server_did, resolver=resolver),
                client_certificate=holder(client_key, client_did).credential,
                alpn_protocols=(ECHO_ALPN.encode(),),
            )
            async with our_client(port_of(server), client_tls) as protocol:
                reply = await echo_once(protocol, b"did:web over QUIC")
        finally:
            server.close()
        return reply, loop_thread, fetched_before_any_client

    with document_server({}) as docs:
        server_did = f"did:web:{docs.authority}:server"
        client_did = f"did:web:{docs.authority}:client"
        for did, key in ((server_did, server_key), (client_did, client_key)):
            path = "/" + did.rsplit(":", 1)[1] + "/did.json"
            docs.routes[path] = (200, json.dumps(did_document(did, _spki(key))).encode())
        reply, loop_thread, before = run(main())
    assert reply == b"did:web over QUIC"
    assert before == 1  # the server fetched its listed client DID before binding
    # One fetch per DID, both in worker threads; the handshakes found them cached.
    assert len(web.fetch_threads) == 2
    assert all(t is not loop_thread for t in web.fetch_threads)


def test_a_did_web_only_the_client_names_does_not_stall_the_quic_servers_loop() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    web = SlowResolver(1.0, config=pki().client_config(), timeout=5.0)
    seen: list[tuple[SessionInfo, threading.Thread]] = []

    async def main() -> tuple[bytes, float, threading.Thread]:
        gaps: list[float] = []
        stop = asyncio.Event()
        beat = asyncio.ensure_future(_heartbeat(gaps, stop))
        verifier = DidPeerVerifier(resolve_any=True, resolver=DidResolver(web))
        server_tls = our_server_config(client_auth="require", client_verifier=verifier)
        server = await start_endpoint(
            HOST,
            0,
            configuration=quic_config(is_client=False),
            tls_config=server_tls,
            stream_handler=echo_stream_handler,
            on_handshake=lambda info, _: seen.append((info, threading.current_thread())),
        )
        try:
            client_tls = our_client_config(client_certificate=holder(key, did).credential)
            async with our_client(port_of(server), client_tls) as protocol:
                reply = await echo_once(protocol, b"named by the client, over QUIC")
        finally:
            server.close()
        stop.set()
        await beat
        return reply, max(gaps), threading.current_thread()

    with document_server({}) as docs:
        did = f"did:web:{docs.authority}"
        docs.routes["/.well-known/did.json"] = (
            200,
            json.dumps(did_document(did, _spki(key))).encode(),
        )
        reply, longest_gap, loop_thread = run(main())
    assert reply == b"named by the client, over QUIC"
    assert len(web.fetch_threads) == 1 and web.fetch_threads[0] is not loop_thread
    assert longest_gap < 0.5, longest_gap  # the fetch took a second
    # The handshake completed in a worker; the observer still ran on the loop.
    assert [(info.peer_did, thread) for info, thread in seen] == [(did, loop_thread)]
