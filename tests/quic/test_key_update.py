"""QUIC key updates by policy (issue 21 item 1 over QUIC, RFC 9001 §6): our connection asks
aioquic for a key update when ``rekey_*`` is due, only once the previous one is known to work,
and counts updates both ways; the peers are UNMODIFIED aioquic, in memory and over UDP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aioquic import tls
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import StreamDataReceived
from quic.quicpeers import (
    Clock,
    aioquic_client,
    aioquic_client_config,
    aioquic_server_config,
    echo_once,
    events_of,
    exchange,
    memory_pair,
    our_client,
    our_client_config,
    our_server_config,
    port_of,
    quic_config,
    run,
    session_info_of,
    start_aioquic_echo,
    start_our_echo,
)

from nautilus_tls.quic.aioquic_tls import NautilusQuicConnection
from nautilus_tls.quic.key_update import PolicyCryptoPair
from nautilus_tls.wire.enums import NamedGroup

ALG = "ecdsa-p256"  # aioquic has no ML-DSA
CLASSICAL = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)  # aioquic answers x25519
CHUNK = b"q" * 3000


def _handshake(
    client: QuicConnection, make_server: Callable[[bytes], QuicConnection], clock: Clock
) -> QuicConnection:
    """Run ``client``'s handshake with the server ``make_server`` builds, in memory."""
    client.connect(("2.3.4.5", 4433), now=clock.now)
    first = client.datagrams_to_send(now=clock.now)
    server = make_server(client._peer_cid.cid)
    for data, _ in first:
        server.receive_datagram(data, ("1.2.3.4", 1234), now=clock.now)
    exchange(client, server, clock)
    return server


def _pair(
    client_kw: dict[str, Any], *, rekey_clock: Callable[[], float] | None = None
) -> tuple[NautilusQuicConnection, QuicConnection, Clock]:
    """Our client (with ``client_kw`` on its config, ``rekey_clock`` timing its policy) and
    an unmodified aioquic server, in memory, handshake done and confirmed."""
    clock = Clock()
    cfg = our_client_config(ALG, groups=CLASSICAL, key_share_groups=CLASSICAL, **client_kw)
    _, make_server = memory_pair(None, None, server_quic=aioquic_server_config(ALG))
    client = NautilusQuicConnection(
        configuration=quic_config(is_client=True, server_name="localhost"),
        tls_config=cfg,
        clock=rekey_clock,
    )
    server = _handshake(client, make_server, clock)
    assert client.session_info is not None and client._handshake_confirmed
    return client, server, clock


def _send(client: QuicConnection, server: QuicConnection, clock: Clock, n: int) -> bytes:
    """``n`` chunks on one stream from the client, exchanged one by one; what arrived."""
    stream = client.get_next_available_stream_id()
    got = bytearray()
    for i in range(n):
        client.send_stream_data(stream, CHUNK, end_stream=i == n - 1)
        exchange(client, server, clock)
        for event in events_of(server):
            if isinstance(event, StreamDataReceived):
                got += event.data
    return bytes(got)


def _server_key_phase_flips(server: QuicConnection) -> int:
    return server._cryptos[tls.Epoch.ONE_RTT].send.key_phase


def test_rekey_records_drives_key_updates_that_unmodified_aioquic_follows() -> None:
    client, server, clock = _pair({"rekey_records": 3})
    got = _send(client, server, clock, 12)
    assert got == CHUNK * 12  # every byte crossed every key change
    info = client.session_info
    assert info is not None
    assert info.key_updates_sent >= 2 and info.key_updates_received == 0
    # aioquic followed each update: its key phase has the parity of our count.
    assert _server_key_phase_flips(server) == info.key_updates_sent % 2


def test_rekey_bytes_counts_protected_payload() -> None:
    client, server, clock = _pair({"rekey_bytes": 10 * len(CHUNK)})
    _send(client, server, clock, 5)
    info = client.session_info
    assert info is not None and info.key_updates_sent == 0  # budget not yet spent
    _send(client, server, clock, 8)
    info = client.session_info
    assert info is not None and info.key_updates_sent == 1


def test_without_a_policy_no_key_update_is_started() -> None:
    client, server, clock = _pair({})
    _send(client, server, clock, 10)
    info = client.session_info
    assert info is not None
    assert (info.key_updates_sent, info.key_updates_received) == (0, 0)


def test_rekey_seconds_follows_the_injected_clock() -> None:
    # The policy's clock is ours to set; aioquic's own time moves separately.
    now = [0.0]
    client, server, clock = _pair({"rekey_seconds": 60}, rekey_clock=lambda: now[0])
    _send(client, server, clock, 3)
    assert client.session_info is not None and client.session_info.key_updates_sent == 0
    now[0] = 61.0
    got = _send(client, server, clock, 3)
    assert got == CHUNK * 3
    assert client.session_info.key_updates_sent == 1
    now[0] = 100.0  # 39 s under the new key: not yet
    _send(client, server, clock, 3)
    assert client.session_info.key_updates_sent == 1


def test_no_second_update_before_the_first_is_acknowledged() -> None:
    # RFC 9001 §6.1: a new update needs an acknowledgement of a packet under the current keys.
    client, _server, clock = _pair({"rekey_records": 1})
    stream = client.get_next_available_stream_id()
    for _ in range(4):  # sent, never delivered: no acknowledgement can come
        client.send_stream_data(stream, CHUNK)
        client.datagrams_to_send(now=clock.now)
        clock.now += 0.001
    info = client.session_info
    # The handshake's packets were acknowledged: one update; the next waits for an ack.
    assert info is not None and info.key_updates_sent == 1
    pair = client._cryptos[tls.Epoch.ONE_RTT]
    assert isinstance(pair, PolicyCryptoPair) and pair.first_packet_of_phase is not None
    assert client._spaces[tls.Epoch.ONE_RTT].largest_acked_packet < pair.first_packet_of_phase


def test_the_peers_key_updates_are_counted_as_received() -> None:
    # aioquic's own request_key_update() on the server: our client follows and counts it.
    client, server, clock = _pair({})
    _send(client, server, clock, 1)
    server.request_key_update()
    _send(client, server, clock, 2)
    info = client.session_info
    assert info is not None
    assert (info.key_updates_sent, info.key_updates_received) == (0, 1)


def test_ours_against_ours_counts_match_on_both_sides() -> None:
    clock = Clock()
    ccfg = our_client_config(ALG, rekey_records=2)
    client, make_server = memory_pair(ccfg, our_server_config(ALG))
    server = _handshake(client, make_server, clock)
    assert _send(client, server, clock, 10) == CHUNK * 10
    assert isinstance(client, NautilusQuicConnection) and isinstance(server, NautilusQuicConnection)
    sent = client.session_info
    received = server.session_info
    assert sent is not None and received is not None
    assert sent.key_updates_sent >= 2
    assert received.key_updates_received == sent.key_updates_sent
    assert received.key_updates_sent == sent.key_updates_received == 0


def test_over_udp_our_client_rotates_keys_with_an_unmodified_aioquic_server() -> None:
    payload = bytes(range(256)) * 200  # 51 KiB each way per echo

    async def main() -> tuple[list[bytes], Any]:
        server = await start_aioquic_echo(aioquic_server_config(ALG))
        try:
            cfg = our_client_config(
                ALG, groups=CLASSICAL, key_share_groups=CLASSICAL, rekey_bytes=16 * 1024
            )
            async with our_client(port_of(server), cfg) as protocol:
                replies = [await echo_once(protocol, payload) for _ in range(4)]
                return replies, session_info_of(protocol)
        finally:
            server.close()

    replies, info = run(main())
    assert replies == [payload] * 4
    assert info.key_updates_sent >= 3 and info.key_updates_received == 0


def test_over_udp_our_server_rotates_keys_with_an_unmodified_aioquic_client() -> None:
    payload = b"z" * 60_000
    accepted: list[QuicConnectionProtocol] = []

    async def main() -> list[bytes]:
        server = await start_our_echo(our_server_config(ALG, rekey_records=8), accepted=accepted)
        try:
            async with aioquic_client(port_of(server), aioquic_client_config(ALG)) as protocol:
                return [await echo_once(protocol, payload) for _ in range(3)]
        finally:
            server.close()

    assert run(main()) == [payload] * 3
    assert len(accepted) == 1
    info = session_info_of(accepted[0])
    assert info.key_updates_sent >= 3 and info.key_updates_received == 0
