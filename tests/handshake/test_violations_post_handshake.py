"""Protocol violations, after the handshake: KeyUpdate, NewSessionTicket and renegotiation
attempts.
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

import pytest
from handshake.violations import (
    HS,
    A,
    client_hello,
    clone,
    connected,
    expect_alert,
    expect_alert_record,
    fresh_client_and_server_hello,
    read_sealer,
    seal_from,
    server_flight,
)
from pairs import client_config, drain, handshake, pump, server_config

from nautilus_tls.errors import ConnectionClosedError, ProtocolError
from nautilus_tls.events import DataReceived
from nautilus_tls.wire.enums import ContentType, HandshakeType
from nautilus_tls.wire.messages import Extension, KeyUpdate, NewSessionTicket


def test_server_rejects_renegotiation_attempt() -> None:
    client, server = handshake(client_config(), server_config())
    record = seal_from(client, ContentType.handshake, client_hello().encode())
    expect_alert_record(server, record, A.unexpected_message, plaintext=False)


def test_rejects_key_update_with_invalid_value() -> None:
    client, server = handshake(client_config(), server_config())
    body = bytes((HandshakeType.key_update, 0, 0, 1, 7))
    expect_alert_record(
        server,
        seal_from(client, ContentType.handshake, body),
        A.illegal_parameter,
        plaintext=False,
    )


def test_rejects_too_many_key_updates_in_a_row_from_our_client() -> None:
    client, server = handshake(client_config(), server_config())
    with pytest.raises(ProtocolError) as err:
        for _ in range(100):
            client.request_key_update(request_peer=False)
            pump(client, server)
    assert err.value.alert == A.unexpected_message


def test_key_update_message_is_valid_encoding() -> None:
    assert KeyUpdate(request_update=1).encode() == bytes((24, 0, 0, 1, 1))


def test_client_rejects_new_session_ticket_during_handshake() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    nst = NewSessionTicket(
        ticket_lifetime=60, ticket_age_add=0, ticket_nonce=b"\x00", ticket=b"t"
    ).encode()
    expect_alert(
        f.client,
        seal(f.msg(HandshakeType.encrypted_extensions), nst),
        A.unexpected_message,
    )


def test_client_ignores_unknown_extension_in_new_session_ticket() -> None:
    client, server = connected()
    nst = NewSessionTicket(
        ticket_lifetime=60,
        ticket_age_add=1,
        ticket_nonce=b"\x01",
        ticket=b"opaque",
        extensions=(Extension(0x0A0A, b""), Extension(0xFEED, b"x")),
    ).encode()
    assert server._write is not None
    client.receive_data(server._write.seal(HS, nst))
    assert client.state == "connected"


def test_client_rejects_hello_request_after_the_handshake() -> None:
    client, server = connected()
    assert server._write is not None
    expect_alert(client, server._write.seal(HS, bytes((0, 0, 0, 0))), A.unexpected_message)


def test_client_rejects_server_hello_after_the_handshake() -> None:
    client, server = connected()
    _, sh = fresh_client_and_server_hello()
    assert server._write is not None
    expect_alert(client, server._write.seal(HS, sh.encode()), A.unexpected_message)


def test_server_rejects_client_hello_after_the_handshake() -> None:
    client, server = connected()
    assert client._write is not None
    expect_alert(server, client._write.seal(HS, client_hello().encode()), A.unexpected_message)


@pytest.mark.parametrize("value", [2, 255])
def test_client_rejects_key_update_with_invalid_value(value: int) -> None:
    client, server = connected()
    assert server._write is not None
    body = bytes((HandshakeType.key_update, 0, 0, 1, value))
    expect_alert(client, server._write.seal(HS, body), A.illegal_parameter)


def test_rejects_key_update_with_trailing_bytes() -> None:
    client, server = connected()
    assert client._write is not None
    body = bytes((HandshakeType.key_update, 0, 0, 2, 0, 0))
    expect_alert(server, client._write.seal(HS, body), A.decode_error)


def test_rejects_too_many_key_updates_in_a_row() -> None:
    _client, server = connected()
    twin = clone(server._read)
    ku = bytes((HandshakeType.key_update, 0, 0, 1, 0))
    flood = b""
    for _ in range(33):
        flood += twin.seal(HS, ku)
        twin = twin.updated()
    expect_alert(server, flood, A.unexpected_message)


def test_key_updates_separated_by_data_are_fine() -> None:
    client, server = connected()
    for _ in range(40):
        client.request_key_update(request_peer=False)
        client.send_data(b"x")
        pump(client, server)
    assert server.state == "connected"
    assert any(isinstance(e, DataReceived) for e in drain(server))


def test_no_key_update_is_sent_after_our_close_notify() -> None:
    # RFC 8446 §6.1: nothing follows close_notify, our own KeyUpdate included.
    client, server = connected()
    client.close()
    sent = client.data_to_send()
    with pytest.raises(ConnectionClosedError):
        client.request_key_update()
    assert client.data_to_send() == b""
    server.receive_data(sent)
    assert server.peer_closed


def test_rejects_empty_key_update() -> None:
    client, server = connected()
    assert client._write is not None
    body = bytes((HandshakeType.key_update, 0, 0, 0))
    expect_alert(server, client._write.seal(HS, body), A.decode_error)
