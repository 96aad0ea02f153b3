"""The handshake engine without records, as QUIC drives it: ``(level, bytes)`` in, bytes and
secrets per level out (RFC 9001 §4), with transport parameters through an extension plug-in
(RFC 9001 §8.2)."""

from __future__ import annotations

from levels import CLIENT_PARAMS, SERVER_PARAMS, Side, engines, expect_alert, message_types, run
from pairs import client_config, server_config

from nautilus_tls.errors import AlertDescription
from nautilus_tls.handshake.common import (
    CompleteHandshake,
    Epoch,
    SendHandshake,
    TicketReceived,
)
from nautilus_tls.handshake.engine import ClientHandshake
from nautilus_tls.handshake.quic_params import QuicTransportParameters
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.wire.enums import HandshakeType, KeyUpdateRequest, NamedGroup
from nautilus_tls.wire.messages import KeyUpdate


def test_round_trips_a_handshake_as_bytes_per_level_with_the_same_secrets_on_both_sides() -> None:
    client, server = engines()
    run(client, server)
    assert client.complete and server.complete
    for epoch in (Epoch.HANDSHAKE, Epoch.APPLICATION):
        assert client.secrets[("write", epoch)] == server.secrets[("read", epoch)]
        assert client.secrets[("read", epoch)] == server.secrets[("write", epoch)]
    assert {s.epoch for s in client.sent} == {Epoch.INITIAL, Epoch.HANDSHAKE}
    assert {s.epoch for s in server.sent} == {Epoch.INITIAL, Epoch.HANDSHAKE, Epoch.APPLICATION}
    label, context = b"EXPORTER-quic-test", b"ctx"
    assert client.engine.export_keying_material(
        label, context, 32
    ) == server.engine.export_keying_material(label, context, 32)


def test_round_trips_transport_parameters_through_the_extension_plug_in() -> None:
    client, server = engines()
    run(client, server)
    assert client.engine.peer_extensions[0x39] == SERVER_PARAMS
    assert server.engine.peer_extensions[0x39] == CLIENT_PARAMS


def test_quic_mode_sends_no_change_cipher_spec_and_no_compatibility_session_id() -> None:
    client, server = engines(client_config(middlebox_compatibility=True))
    run(client, server)
    assert not client.engine.middlebox_compatibility and not server.engine.middlebox_compatibility
    first = client.sent[0].data
    session_id_len = first[4 + 2 + 32]  # header, legacy_version, random
    assert session_id_len == 0


def test_accepts_a_hello_retry_request_in_quic_mode() -> None:
    groups = (NamedGroup.x25519, NamedGroup.secp256r1)
    client, server = engines(
        client_config(groups=groups, key_share_groups=groups[:1]),
        server_config(groups=groups[1:]),
    )
    run(client, server)
    assert client.complete and server.complete
    assert client.secrets[("write", Epoch.HANDSHAKE)] == server.secrets[("read", Epoch.HANDSHAKE)]
    assert client.engine.peer_extensions[0x39] == SERVER_PARAMS
    assert message_types(client).count(HandshakeType.client_hello) == 2
    assert not client.engine.middlebox_compatibility and not server.engine.middlebox_compatibility


def _resumed_with_early_data() -> tuple[Side, Side]:
    store = MemorySessionStore()
    ccfg = client_config(session_store=store)
    scfg = server_config(max_early_data=1024)
    first_client, first_server = engines(ccfg, scfg)
    run(first_client, first_server)
    tickets = [s for s in first_server.sent if s.epoch == Epoch.APPLICATION]
    for nst in tickets:
        first_client.take(first_client.engine.receive(Epoch.APPLICATION, nst.data))
    assert any(isinstance(a, TicketReceived) for a in first_client.other)
    client, server = engines(ccfg, scfg, early_data=b"0-rtt request")
    run(client, server)
    return client, server


def test_quic_mode_0rtt_has_no_end_of_early_data_and_shares_early_secrets() -> None:
    client, server = _resumed_with_early_data()
    assert client.complete and server.complete
    info = next(a for a in client.other if isinstance(a, CompleteHandshake)).info
    assert info.early_data == "accepted"
    assert client.secrets[("write", Epoch.EARLY)] == server.secrets[("read", Epoch.EARLY)]
    assert client.secrets[("write", Epoch.HANDSHAKE)] == server.secrets[("read", Epoch.HANDSHAKE)]
    # RFC 9001 §8.3: no EndOfEarlyData; no handshake message at the EARLY level at all.
    assert HandshakeType.end_of_early_data not in message_types(client)
    assert all(s.epoch != Epoch.EARLY for s in client.sent)


def test_rejects_a_message_at_the_wrong_level_with_unexpected_message() -> None:
    client, server = engines()
    client_hello = client.take(client.engine.start())[0]
    expect_alert(
        AlertDescription.unexpected_message,
        lambda: server.engine.receive(Epoch.HANDSHAKE, client_hello.data),
    )


def _server_flight() -> tuple[Side, SendHandshake, SendHandshake]:
    """The client after its ClientHello, and the server's INITIAL and HANDSHAKE answers."""
    client, server = engines()
    client_hello = client.take(client.engine.start())[0]
    flight = server.take(server.engine.receive(Epoch.INITIAL, client_hello.data))
    by_level = {s.epoch: s for s in flight}
    return client, by_level[Epoch.INITIAL], by_level[Epoch.HANDSHAKE]


def test_rejects_initial_data_once_the_handshake_level_is_reached() -> None:
    client, server_hello, encrypted_extensions = _server_flight()
    client.take(client.engine.receive(Epoch.INITIAL, server_hello.data))
    assert client.engine.read_level == Epoch.HANDSHAKE
    expect_alert(
        AlertDescription.unexpected_message,
        lambda: client.engine.receive(Epoch.INITIAL, encrypted_extensions.data),
    )


def test_rejects_a_message_straddling_a_level_change() -> None:
    client, server_hello, _ = _server_flight()
    # The ServerHello moves the client to HANDSHAKE; bytes after it at INITIAL straddle.
    expect_alert(
        AlertDescription.unexpected_message,
        lambda: client.engine.receive(Epoch.INITIAL, server_hello.data + b"\x08\x00"),
    )


def test_reassembles_a_flight_fed_one_byte_at_a_time() -> None:
    client, server = engines()
    client_hello = client.take(client.engine.start())[0]
    replies: list[SendHandshake] = []
    for i in range(len(client_hello.data)):
        replies += server.take(server.engine.receive(Epoch.INITIAL, client_hello.data[i : i + 1]))
    assert {s.epoch for s in replies} == {Epoch.INITIAL, Epoch.HANDSHAKE}


def test_rejects_an_oversized_message_header_with_decode_error() -> None:
    _, server = engines(scfg=server_config(max_handshake_message_size=16 * 1024))
    # A ClientHello header declaring 64 KiB: refused before its body is buffered.
    expect_alert(
        AlertDescription.decode_error,
        lambda: server.engine.receive(Epoch.INITIAL, b"\x01\x01\x00\x00"),
    )


def test_rejects_more_handshake_bytes_than_the_limit_with_decode_error() -> None:
    _, server = engines(scfg=server_config(max_handshake_bytes=2048))
    server.engine.receive(Epoch.INITIAL, b"\x01\x00\x0f\xa0" + bytes(1000))  # 4000 declared
    expect_alert(
        AlertDescription.decode_error,
        lambda: server.engine.receive(Epoch.INITIAL, bytes(1100)),
    )


def test_rejects_key_update_in_quic_mode_with_unexpected_message() -> None:
    client, server = engines()
    run(client, server)
    key_update = KeyUpdate(request_update=KeyUpdateRequest.update_not_requested).encode()
    # RFC 9001 §6: QUIC has its own key update; a TLS KeyUpdate is refused.
    expect_alert(
        AlertDescription.unexpected_message,
        lambda: client.engine.receive(Epoch.APPLICATION, key_update),
    )


def test_rejects_a_session_id_from_a_quic_client_with_illegal_parameter() -> None:
    tcp_client = ClientHandshake(
        client_config(middlebox_compatibility=True),
        "localhost",
        entropy=client_config().provider.entropy,
        clock=client_config().provider.clock,
        extension_hooks=(QuicTransportParameters(CLIENT_PARAMS),),
    )
    client_hello = next(a for a in tcp_client.start() if isinstance(a, SendHandshake))
    _, server = engines()
    expect_alert(
        AlertDescription.illegal_parameter,
        lambda: server.engine.receive(Epoch.INITIAL, client_hello.data),
    )
