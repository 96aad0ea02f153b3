"""The adapter (EngineTLS in NautilusQuicConnection) datagram by datagram against itself and
UNMODIFIED aioquic: what QUIC asks of TLS (RFC 9001) and what ends a connection."""

from __future__ import annotations

from typing import Any

import pytest
from aioquic import tls
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted, ProtocolNegotiated
from aioquic.quic.packet import QuicErrorCode
from quic.quicpeers import (
    CLIENT_ADDR,
    SERVER_ADDR,
    Clock,
    aioquic_client_config,
    aioquic_server_config,
    events_of,
    exchange,
    memory_pair,
    our_client_config,
    our_server_config,
    quic_config,
)

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import AlertDescription
from nautilus_tls.quic.aioquic_tls import EngineTLS, NautilusQuicConnection, check_quic_config
from nautilus_tls.wire.enums import HandshakeType, KeyUpdateRequest, NamedGroup
from nautilus_tls.wire.messages import KeyUpdate

SERVER = ("2.3.4.5", 4433)
CRYPTO_ERROR = QuicErrorCode.CRYPTO_ERROR


def _connect(client: QuicConnection, make_server: Any, clock: Clock, **kw: Any) -> QuicConnection:
    client.connect(SERVER, now=clock.now)
    server: QuicConnection = make_server(client.original_destination_connection_id)
    exchange(client, server, clock, **kw)
    return server


def _terminated(conn: QuicConnection) -> ConnectionTerminated:
    """How the peer closed ``conn``: what arrived in its CONNECTION_CLOSE (aioquic reports
    the event only once draining ends; the frame's content is kept at once)."""
    closed = conn._close_event
    assert closed is not None, "the connection was not closed"
    return closed


def _run(
    ccfg: ClientConfig | None, scfg: ServerConfig | None, **quic: Any
) -> tuple[QuicConnection, QuicConnection, Clock]:
    """A client and a server (ours for a TLS config, unmodified aioquic for None) after
    their datagrams have settled."""
    clock = Clock()
    client, make_server = memory_pair(ccfg, scfg, **quic)
    return client, _connect(client, make_server, clock), clock


def _handshake(
    ccfg: ClientConfig | None = None, scfg: ServerConfig | None = None
) -> tuple[QuicConnection, QuicConnection, Clock]:
    return _run(ccfg or our_client_config(), scfg or our_server_config())


def test_completes_a_hybrid_ml_dsa_handshake_with_two_key_shares() -> None:
    client, server, _ = _handshake()
    for conn in (client, server):
        events = events_of(conn)
        assert any(isinstance(e, HandshakeCompleted) for e in events)
        assert [e.alpn_protocol for e in events if isinstance(e, ProtocolNegotiated)] == [
            "nautilus-echo"
        ]
        assert isinstance(conn, NautilusQuicConnection)
        info = conn.session_info
        assert info is not None
        assert info.group == "X25519MLKEM768"
        assert info.signature_scheme == "mldsa65"
        assert not info.hello_retry


def test_server_forces_a_hello_retry_and_the_client_follows() -> None:
    client, server, _ = _handshake(scfg=our_server_config(groups=(NamedGroup.secp256r1,)))
    assert isinstance(client, NautilusQuicConnection)
    info = client.session_info
    assert info is not None and info.hello_retry and info.group == "secp256r1"
    assert any(isinstance(e, HandshakeCompleted) for e in events_of(server))


def test_client_and_server_install_the_same_packet_keys() -> None:
    client, server, _ = _handshake()
    # aioquic derives its packet keys from the secrets our engine handed over; matching
    # protection shows both sides installed the same ones (1-RTT, both directions).
    from aioquic.tls import Epoch

    c, s = client._cryptos[Epoch.ONE_RTT], server._cryptos[Epoch.ONE_RTT]
    header = bytes.fromhex("40" + "000000" + "01")  # short header, 3-byte CID, PN 1
    sealed = c.encrypt_packet(header, b"x" * 32, 1)
    assert s.decrypt_packet(sealed, 4, 0)[1] == b"x" * 32


def test_refuses_a_key_update_in_crypto_data_with_crypto_error_unexpected_message() -> None:
    # RFC 9001 §6: QUIC has its own key update; a TLS KeyUpdate is unexpected_message.
    client, server, clock = _run(
        our_client_config("ecdsa-p256"), None, server_quic=aioquic_server_config("ecdsa-p256")
    )
    key_update = KeyUpdate(request_update=KeyUpdateRequest.update_not_requested).encode()
    server._crypto_streams[tls.Epoch.ONE_RTT].sender.write(key_update)
    exchange(client, server, clock)
    closed = _terminated(server)
    assert closed.error_code == CRYPTO_ERROR + AlertDescription.unexpected_message


def test_refuses_end_of_early_data_in_crypto_data_with_crypto_error_unexpected_message() -> None:
    # RFC 9001 §8.3: no EndOfEarlyData over QUIC.
    client, server, clock = _run(
        None, our_server_config("ecdsa-p256"), client_quic=aioquic_client_config("ecdsa-p256")
    )
    eoed = bytes((HandshakeType.end_of_early_data, 0, 0, 0))
    client._crypto_streams[tls.Epoch.ONE_RTT].sender.write(eoed)
    exchange(client, server, clock)
    closed = _terminated(client)
    assert closed.error_code == CRYPTO_ERROR + AlertDescription.unexpected_message


class _BadParamsClient(QuicConnection):
    """Unmodified aioquic, except that it encodes the transport parameters it is given."""

    params = b""

    def _serialize_transport_parameters(self) -> bytes:
        return self.params


def _with_client_params(params: bytes) -> ConnectionTerminated:
    clock = Clock()
    client = _BadParamsClient(configuration=aioquic_client_config("ecdsa-p256"))
    client.params = params
    _, make_server = memory_pair(None, our_server_config("ecdsa-p256"))
    _connect(client, make_server, clock)
    return _terminated(client)


def test_refuses_transport_parameters_that_do_not_parse_with_decode_error() -> None:
    # initial_max_data (0x04) declaring 5 bytes, with 1 present.
    closed = _with_client_params(bytes.fromhex("040500"))
    assert closed.error_code == CRYPTO_ERROR + AlertDescription.decode_error


def test_refuses_a_repeated_transport_parameter_with_illegal_parameter() -> None:
    closed = _with_client_params(bytes.fromhex("04014004014001"))
    assert closed.error_code == CRYPTO_ERROR + AlertDescription.illegal_parameter


def test_refuses_invalid_transport_parameter_values_with_transport_parameter_error() -> None:
    # Well framed, but max_udp_payload_size (0x03) 1000 < 1200 (RFC 9000 §18.2): QUIC's own
    # check, run by aioquic on the parameters our engine received.
    class SmallPayloadClient(QuicConnection):
        def _serialize_transport_parameters(self) -> bytes:
            return super()._serialize_transport_parameters() + bytes.fromhex("030243e8")

    clock = Clock()
    client = SmallPayloadClient(configuration=aioquic_client_config("ecdsa-p256"))
    _, make_server = memory_pair(None, our_server_config("ecdsa-p256"))
    _connect(client, make_server, clock)
    assert _terminated(client).error_code == QuicErrorCode.TRANSPORT_PARAMETER_ERROR


def test_refuses_a_client_without_transport_parameters_with_missing_extension() -> None:
    class NoParams(QuicConnection):
        def _initialize(self, peer_cid: bytes) -> None:
            super()._initialize(peer_cid)
            self.tls.handshake_extensions = []

    clock = Clock()
    client = NoParams(configuration=aioquic_client_config("ecdsa-p256"))
    _, make_server = memory_pair(None, our_server_config("ecdsa-p256"))
    _connect(client, make_server, clock)
    assert _terminated(client).error_code == CRYPTO_ERROR + AlertDescription.missing_extension


def test_refuses_a_client_with_no_common_alpn_with_no_application_protocol() -> None:
    client, _, _ = _run(our_client_config(alpn_protocols=(b"h3",)), our_server_config())
    closed = _terminated(client)
    assert closed.error_code == CRYPTO_ERROR + AlertDescription.no_application_protocol


def test_refuses_a_handshake_without_alpn_with_no_application_protocol() -> None:
    # RFC 9001 §8.1: QUIC requires ALPN; our server has none configured here.
    client, _, _ = _run(our_client_config(alpn_protocols=()), our_server_config(alpn_protocols=()))
    closed = _terminated(client)
    assert closed.error_code == CRYPTO_ERROR + AlertDescription.no_application_protocol


def test_refuses_an_untrusted_server_with_crypto_error_unknown_ca() -> None:
    _, server, _ = _run(
        our_client_config("ecdsa-p256"), None, server_quic=aioquic_server_config("rsa2048")
    )
    assert _terminated(server).error_code in (
        CRYPTO_ERROR + AlertDescription.unknown_ca,
        CRYPTO_ERROR + AlertDescription.bad_certificate,
    )


def test_resumes_a_session_from_a_ticket_sent_over_quic() -> None:
    ccfg = our_client_config()
    scfg = our_server_config()
    client, server, clock = _handshake(ccfg, scfg)
    exchange(client, server, clock)  # the tickets (1-RTT CRYPTO) reach the client
    assert isinstance(client, NautilusQuicConnection)
    assert client.engine_tls.tickets_received >= 1
    again, server2, _ = _handshake(ccfg, scfg)
    assert isinstance(again, NautilusQuicConnection)
    info = again.session_info
    assert info is not None and info.resumed
    assert any(isinstance(e, HandshakeCompleted) and e.session_resumed for e in events_of(server2))


def test_refuses_configs_that_cannot_work_over_quic() -> None:
    with pytest.raises(ValueError, match="0xffffffff"):
        check_quic_config(our_server_config(max_early_data=1024))


def test_refuses_an_engine_not_in_quic_mode() -> None:
    from nautilus_tls.handshake.engine import ServerHandshake

    cfg = our_server_config()
    engine = ServerHandshake(cfg, entropy=cfg.provider.entropy, clock=cfg.provider.clock)
    with pytest.raises(ValueError, match="QUIC mode"):
        EngineTLS(engine)


def test_refuses_a_server_quic_configuration_with_a_client_tls_config() -> None:
    with pytest.raises(ValueError, match="ClientConfig"):
        NautilusQuicConnection(
            configuration=quic_config(is_client=True), tls_config=our_server_config()
        )


def test_refuses_a_ticket_with_another_max_early_data_with_protocol_violation() -> None:
    # RFC 9001 §4.6.1: max_early_data_size in a QUIC ticket is 0xffffffff (or absent).
    class OddTickets(QuicConnection):
        """Unmodified aioquic, except that its tickets say max_early_data 1024."""

        def _initialize(self, peer_cid: bytes) -> None:
            super()._initialize(peer_cid)
            self.tls._max_early_data = 1024

    clock = Clock()
    client, _ = memory_pair(our_client_config("ecdsa-p256"), None)
    store: dict[bytes, Any] = {}
    client.connect(SERVER, now=clock.now)
    server = OddTickets(
        configuration=aioquic_server_config("ecdsa-p256"),
        original_destination_connection_id=client.original_destination_connection_id,
        session_ticket_handler=lambda t: store.__setitem__(t.ticket, t),
    )
    exchange(client, server, clock)
    assert _terminated(server).error_code == QuicErrorCode.PROTOCOL_VIOLATION


class _RawCryptoClient(QuicConnection):
    """Unmodified aioquic's transport whose first CRYPTO data is ``first_flight`` instead of
    its TLS ClientHello (a hostile or broken client)."""

    first_flight = b""

    def _initialize(self, peer_cid: bytes) -> None:
        super()._initialize(peer_cid)
        flight = self.first_flight

        def handle_message(data: bytes, output: Any) -> None:
            if not data:  # the start: what a ClientHello would be
                output[tls.Epoch.INITIAL].push_bytes(flight)

        self.tls.handle_message = handle_message  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("flight", "alert"),
    [
        # A whole message whose body ends inside the random (a partial one is waited for).
        (bytes.fromhex("01000003") + b"\x03\x03\x00", AlertDescription.decode_error),
        (bytes.fromhex("02000002") + b"\x03\x03", AlertDescription.unexpected_message),  # SH
        (bytes.fromhex("0d000000"), AlertDescription.unexpected_message),  # CertificateRequest
        (bytes.fromhex("01ffffff"), AlertDescription.decode_error),  # 16 MiB declared
    ],
    ids=["truncated-client-hello", "server-hello-from-a-client", "cert-request", "huge-length"],
)
def test_answers_bad_first_crypto_data_with_the_crypto_error_of_its_alert(
    flight: bytes, alert: AlertDescription
) -> None:
    clock = Clock()
    client = _RawCryptoClient(configuration=aioquic_client_config("ecdsa-p256"))
    client.first_flight = flight
    _, make_server = memory_pair(None, our_server_config("ecdsa-p256"))
    _connect(client, make_server, clock)
    assert _terminated(client).error_code == CRYPTO_ERROR + alert


def test_refuses_crypto_data_at_a_level_left_behind_with_unexpected_message() -> None:
    # RFC 9001 §4.1.3: the server reads at HANDSHAKE once its flight is out; a handshake
    # message in an Initial packet then is unexpected_message.
    clock = Clock()
    client, make_server = memory_pair(
        None, our_server_config("ecdsa-p256"), client_quic=aioquic_client_config("ecdsa-p256")
    )
    client.connect(SERVER, now=clock.now)
    server = make_server(client.original_destination_connection_id)
    for data, _ in client.datagrams_to_send(now=clock.now):  # the ClientHello
        server.receive_datagram(data, ("1.2.3.4", 1234), now=clock.now)
    # Before the client hears the server's flight, it sends more CRYPTO data at INITIAL.
    client._crypto_streams[tls.Epoch.INITIAL].sender.write(bytes.fromhex("14000020") + bytes(32))
    exchange(client, server, clock)
    assert _terminated(client).error_code == CRYPTO_ERROR + AlertDescription.unexpected_message


def _exchange_with_losses(
    client: QuicConnection, server: QuicConnection, clock: Clock, drop: set[int]
) -> None:
    """Carry datagrams both ways, dropping those whose running number is in ``drop``, and
    fire loss-recovery timers when nothing moves (bounded)."""
    sent = 0
    for _ in range(200):
        moved = False
        for src, dst, addr in ((client, server, CLIENT_ADDR), (server, client, SERVER_ADDR)):
            for data, _ in src.datagrams_to_send(now=clock.now):
                sent += 1
                moved = True
                if sent not in drop:
                    dst.receive_datagram(data, addr, now=clock.now)
        if client._handshake_complete and server._handshake_complete and not moved:
            return
        if not moved:
            timers = [t for t in (client.get_timer(), server.get_timer()) if t is not None]
            if not timers:
                return
            clock.now = max(clock.now, min(timers))
            for conn in (client, server):
                timer = conn.get_timer()
                if timer is not None and timer <= clock.now:
                    conn.handle_timer(now=clock.now)
    raise AssertionError("the lossy exchange did not settle")


@pytest.mark.parametrize(
    "drop",
    [{1}, {2}, {2, 3}, {3}, {4}],
    ids=["client-hello", "server-initial", "server-flight", "server-second", "client-finished"],
)
def test_completes_the_handshake_when_datagrams_are_lost(drop: set[int]) -> None:
    # aioquic's loss recovery retransmits CRYPTO data; the engine must take the repeated and
    # reordered flights it then sees without complaint.
    clock = Clock()
    client, make_server = memory_pair(our_client_config(), our_server_config())
    client.connect(SERVER, now=clock.now)
    server = make_server(client.original_destination_connection_id)
    _exchange_with_losses(client, server, clock, drop)
    assert client._handshake_complete and server._handshake_complete
    assert isinstance(client, NautilusQuicConnection) and client.session_info is not None
    assert client._close_event is None and server._close_event is None
