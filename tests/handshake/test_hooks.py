"""Extension plug-ins (handshake/hooks.py) and the QUIC transport parameters plug-in
(handshake/quic_params.py): offered, parsed and checked per message, with the RFC's alerts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from levels import CLIENT_PARAMS, SERVER_PARAMS, engines, expect_alert, run
from pairs import client_config, pump, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, LocalProtocolError
from nautilus_tls.handshake.hooks import ExtensionHooks
from nautilus_tls.handshake.quic_params import QuicTransportParameters
from nautilus_tls.wire.enums import ExtensionType, HandshakeType

CH = HandshakeType.client_hello
EE = HandshakeType.encrypted_extensions


@dataclass(frozen=True)
class RawHook:
    """A plug-in that offers fixed bytes and keeps what it receives unchecked."""

    ext_type: int
    data: bytes = b"x"
    messages: frozenset[int] = frozenset({CH, EE})

    def offer(self, message: int, peer: object | None) -> bytes | None:
        return self.data

    def receive(self, message: int, data: bytes | None) -> object:
        return data


def test_rejects_malformed_transport_parameters_from_the_server_with_decode_error() -> None:
    truncated = RawHook(ExtensionType.quic_transport_parameters, b"\x04\x04\x80\x20")
    client, server = engines(server_hooks=(truncated,))
    expect_alert(AlertDescription.decode_error, lambda: run(client, server))
    assert not client.complete


def test_rejects_malformed_transport_parameters_from_the_client_with_decode_error() -> None:
    runs_past_end = RawHook(ExtensionType.quic_transport_parameters, b"\x01\x05\x00")
    client, server = engines(client_hooks=(runs_past_end,))
    expect_alert(AlertDescription.decode_error, lambda: run(client, server))


def test_rejects_a_repeated_transport_parameter_with_illegal_parameter() -> None:
    repeated = RawHook(ExtensionType.quic_transport_parameters, b"\x01\x00\x01\x00")
    client, server = engines(client_hooks=(repeated,))
    expect_alert(AlertDescription.illegal_parameter, lambda: run(client, server))


def test_rejects_a_server_without_transport_parameters_with_missing_extension() -> None:
    client, server = engines(server_hooks=())
    expect_alert(AlertDescription.missing_extension, lambda: run(client, server))


def test_rejects_a_client_without_transport_parameters_with_missing_extension() -> None:
    client, server = engines(client_hooks=())
    expect_alert(AlertDescription.missing_extension, lambda: run(client, server))


def test_rejects_a_plug_in_extension_in_a_message_it_is_not_allowed_in() -> None:
    # The client's plug-in may appear in ClientHello only; a server that answers it in
    # EncryptedExtensions breaks RFC 8446 §4.2: illegal_parameter.
    client_only = RawHook(0xFF01, messages=frozenset({CH}))
    answered = RawHook(0xFF01)
    client, server = engines(
        client_hooks=(QuicTransportParameters(CLIENT_PARAMS), client_only),
        server_hooks=(QuicTransportParameters(SERVER_PARAMS), answered),
    )
    expect_alert(AlertDescription.illegal_parameter, lambda: run(client, server))


def test_plug_in_messages_extend_the_rfc_table_without_narrowing_it() -> None:
    hooks = ExtensionHooks(
        (RawHook(ExtensionType.quic_transport_parameters, messages=frozenset({CH})),)
    )
    assert hooks.allowed_in[ExtensionType.quic_transport_parameters] == {CH, EE}


def test_accepts_a_plug_in_the_server_does_not_know_and_sees_it_unanswered() -> None:
    # RFC 8446 §4.2: an unknown extension is ignored; the plug-in sees its absence.
    client, server = engines(
        client_hooks=(QuicTransportParameters(CLIENT_PARAMS), RawHook(0xFF02)),
    )
    run(client, server)
    assert client.complete and server.complete
    assert client.engine.peer_extensions[0xFF02] is None


def test_server_plug_in_does_not_answer_what_the_client_did_not_offer() -> None:
    client, server = engines(
        server_hooks=(QuicTransportParameters(SERVER_PARAMS), RawHook(0xFF03)),
    )
    run(client, server)  # an unsolicited 0xFF03 would be unsupported_extension
    assert client.complete and server.complete
    assert server.engine.peer_extensions[0xFF03] is None


def test_rejects_two_plug_ins_for_one_code_point() -> None:
    with pytest.raises(LocalProtocolError):
        ExtensionHooks((RawHook(0xFF04), RawHook(0xFF04)))


def test_rejects_a_plug_in_that_duplicates_a_built_in_extension() -> None:
    alpn = RawHook(ExtensionType.application_layer_protocol_negotiation)
    client, server = engines(
        client_config(alpn_protocols=(b"h3",)),
        client_hooks=(alpn,),
    )
    expect_alert(AlertDescription.internal_error, lambda: run(client, server))


def test_rejects_malformed_local_transport_parameters() -> None:
    with pytest.raises(ValueError):
        QuicTransportParameters(b"\x04\x04")


def test_round_trips_plug_in_extensions_over_tls_records() -> None:
    client = ClientConnection(
        client_config(), "localhost", extension_hooks=(RawHook(0xFF05, b"from client"),)
    )
    server = ServerConnection(server_config(), extension_hooks=(RawHook(0xFF05, b"from server"),))
    client.start()
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    assert client.peer_extensions[0xFF05] == b"from server"
    assert server.peer_extensions[0xFF05] == b"from client"
