"""Protocol violations, records and alerts: sizes, zero-length fragments, content types,
truncation, messages straddling a key change, ChangeCipherSpec, close_notify, plaintext
alerts during the handshake, and the caps on records in a row.
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

import struct

import pytest
from handshake.violations import (
    HS,
    A,
    client_flight,
    client_hello,
    clone,
    connected,
    expect_alert,
    expect_alert_record,
    fresh_client_and_server_hello,
    read_sealer,
    seal_from,
    seal_inner,
    server_flight,
)
from pairs import client_config, drain, handshake, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, PeerAlert, TLSError
from nautilus_tls.events import ConnectionClosed, DataReceived
from nautilus_tls.record.protection import plaintext_record
from nautilus_tls.wire.enums import ContentType, HandshakeType


def test_rejects_application_data_before_handshake() -> None:
    expect_alert_record(
        ServerConnection(server_config()),
        plaintext_record(ContentType.application_data, b"hello"),
        A.unexpected_message,
    )


def test_rejects_oversized_record() -> None:
    header = bytes((ContentType.handshake, 3, 3)) + (2**14 + 1).to_bytes(2, "big")
    expect_alert_record(ServerConnection(server_config()), header, A.record_overflow)


def test_rejects_change_cipher_spec_with_wrong_body() -> None:
    server = ServerConnection(server_config())
    client = ClientConnection(client_config(), "localhost")
    client.start()
    server.receive_data(client.data_to_send())
    server.data_to_send()
    expect_alert_record(
        server,
        plaintext_record(ContentType.change_cipher_spec, b"\x02"),
        A.unexpected_message,
        plaintext=False,
    )


def test_rejects_change_cipher_spec_before_client_hello() -> None:
    expect_alert_record(
        ServerConnection(server_config()),
        plaintext_record(ContentType.change_cipher_spec, b"\x01"),
        A.unexpected_message,
    )


def test_client_rejects_tampered_encrypted_record() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    server = ServerConnection(server_config())
    server.receive_data(client.data_to_send())
    flight = bytearray(server.data_to_send())
    flight[-1] ^= 0x01  # last byte of the last record's tag
    expect_alert_record(client, bytes(flight), A.bad_record_mac, plaintext=False)


def test_rejects_data_after_close_notify() -> None:
    client, server = handshake(client_config(), server_config())
    drain(server)
    close = seal_from(client, ContentType.alert, bytes((1, 0)))
    data = client._write.seal(ContentType.application_data, b"late") if client._write else b""
    expect_alert_record(server, close + data, A.unexpected_message, plaintext=False)


def test_rejects_empty_record_flood() -> None:
    client, server = handshake(client_config(), server_config())
    flood = b"".join(seal_from(client, ContentType.application_data, b"") for _ in range(100))
    expect_alert_record(server, flood, A.unexpected_message, plaintext=False)


def test_rejects_unknown_record_content_type() -> None:
    expect_alert(
        ServerConnection(server_config()),
        struct.pack(">BHH", 99, 0x0303, 1) + b"\x00",
        A.unexpected_message,
    )


def test_rejects_unknown_inner_content_type() -> None:
    _client, server = connected()
    expect_alert(server, seal_inner(clone(server._read), b"data\x63"), A.unexpected_message)


def test_truncated_record_then_end_of_stream_fails_the_connection() -> None:
    client, server = connected()
    client.send_data(b"will be cut")
    record = client.data_to_send()
    server.receive_data(record[:-3])
    server.receive_data(b"")  # the transport ended inside a record
    assert server.state == "failed"
    assert server.error is not None and "truncation" in str(server.error)
    assert server._read is None and server._write is None
    events = drain(server)
    assert not [e for e in events if isinstance(e, DataReceived)]
    assert any(isinstance(e, ConnectionClosed) and not e.clean for e in events)
    with pytest.raises(TLSError):
        server.receive_data(b"\x17\x03\x03\x00\x01\x00")


def test_rejects_protected_record_shorter_than_its_tag() -> None:
    _client, server = connected()
    expect_alert(server, b"\x17\x03\x03\x00\x05" + b"\x00" * 5, A.bad_record_mac)


def test_rejects_alert_inside_a_split_handshake_message() -> None:
    # RFC 8446 §5.1: a handshake message split over records must not be interleaved with
    # records of another type.
    raw = client_hello().encode()
    head = plaintext_record(HS, raw[:100])
    alert = plaintext_record(ContentType.alert, b"\x01\x5a")  # user_canceled (a warning)
    expect_alert(ServerConnection(server_config()), head + alert, A.unexpected_message)


def test_rejects_application_data_inside_a_split_handshake_message() -> None:
    client, server = connected()
    assert client._write is not None
    ku = bytes((HandshakeType.key_update, 0, 0, 1, 0))
    data = client._write.seal(HS, ku[:2]) + client._write.seal(ContentType.application_data, b"x")
    expect_alert(server, data, A.unexpected_message)


def test_rejects_protected_record_over_the_ciphertext_limit() -> None:
    _client, server = connected()
    header = struct.pack(">BHH", ContentType.application_data, 0x0303, 2**14 + 257)
    expect_alert(server, header, A.record_overflow)


def test_rejects_decrypted_record_over_the_plaintext_limit() -> None:
    _client, server = connected()
    inner = b"a" * (2**14 + 1) + bytes((ContentType.application_data,))
    expect_alert(server, seal_inner(clone(server._read), inner), A.record_overflow)


@pytest.mark.parametrize("content_type", [ContentType.alert, ContentType.change_cipher_spec])
def test_rejects_oversized_plaintext_record(content_type: int) -> None:
    header = struct.pack(">BHH", content_type, 0x0303, 2**14 + 1)
    expect_alert(ServerConnection(server_config()), header, A.record_overflow)


@pytest.mark.parametrize(
    "content_type", [ContentType.handshake, ContentType.alert, ContentType.change_cipher_spec]
)
def test_rejects_zero_length_plaintext_record(content_type: int) -> None:
    expect_alert(
        ServerConnection(server_config()),
        struct.pack(">BHH", content_type, 0x0303, 0),
        A.unexpected_message,
    )


@pytest.mark.parametrize("content_type", [ContentType.handshake, ContentType.alert])
def test_rejects_zero_length_protected_fragment(content_type: int) -> None:
    _client, server = connected()
    expect_alert(
        server, seal_inner(clone(server._read), bytes((content_type,))), A.unexpected_message
    )


def test_client_rejects_zero_length_handshake_fragment_during_handshake() -> None:
    f = server_flight()
    twin = clone(f.client._read)
    expect_alert(f.client, seal_inner(twin, bytes((HS,))), A.unexpected_message)


def test_client_rejects_application_data_under_handshake_keys() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(b"early", content_type=ContentType.application_data),
        A.unexpected_message,
    )


def test_server_rejects_application_data_before_client_finished() -> None:
    f = client_flight()
    seal = read_sealer(f.server)
    expect_alert(
        f.server, seal(b"too soon", content_type=ContentType.application_data), A.unexpected_message
    )


def test_client_rejects_plaintext_application_data_before_server_hello() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    client.data_to_send()
    expect_alert(
        client, plaintext_record(ContentType.application_data, b"hi"), A.unexpected_message
    )


def test_client_rejects_server_hello_and_part_of_the_next_message_in_one_record() -> None:
    client, sh = fresh_client_and_server_hello()
    record = plaintext_record(HS, sh.encode() + bytes((HandshakeType.encrypted_extensions, 0)))
    expect_alert(client, record, A.unexpected_message)


def test_server_rejects_client_hello_and_part_of_the_next_message_in_one_record() -> None:
    record = plaintext_record(HS, client_hello().encode() + bytes((HandshakeType.finished, 0, 0)))
    expect_alert(ServerConnection(server_config()), record, A.unexpected_message)


def test_server_rejects_finished_and_part_of_a_key_update_in_one_record() -> None:
    f = client_flight()
    twin = clone(f.server._read)
    data = f.msg(HandshakeType.finished) + bytes((HandshakeType.key_update, 0))
    expect_alert(f.server, twin.seal(HS, data), A.unexpected_message)


def test_rejects_key_update_not_at_the_end_of_its_record() -> None:
    client, server = connected()
    assert client._write is not None
    ku = bytes((HandshakeType.key_update, 0, 0, 1, 0))
    expect_alert(server, client._write.seal(HS, ku + ku[:2]), A.unexpected_message)


def test_client_rejects_data_after_close_notify() -> None:
    client, server = connected()
    assert server._write is not None
    close = server._write.seal(ContentType.alert, b"\x01\x00")
    late = server._write.seal(ContentType.application_data, b"late")
    expect_alert(client, close + late, A.unexpected_message)


def test_rejects_key_update_after_close_notify() -> None:
    # Found by the fuzzer (tests/fuzz/corpus/regressions/server-keyupdate-after-close-notify.bin):
    # a KeyUpdate after close_notify reached the key schedule with no keys and the connection
    # answered internal_error.
    client, server = connected()
    assert client._write is not None
    close = client._write.seal(ContentType.alert, b"\x01\x00")
    ku = client._write.seal(HS, bytes((HandshakeType.key_update, 0, 0, 1, 1)))
    expect_alert(server, close + ku, A.unexpected_message)


def test_rejects_handshake_message_after_close_notify_during_handshake() -> None:
    server = ServerConnection(server_config())
    close = plaintext_record(ContentType.alert, b"\x01\x00")
    ku = plaintext_record(HS, bytes((HandshakeType.key_update, 0, 0, 1, 1)))
    expect_alert(server, close + ku, A.unexpected_message)


def test_rejects_alert_after_close_notify() -> None:
    client, server = connected()
    assert client._write is not None
    close = client._write.seal(ContentType.alert, b"\x01\x00")
    again = client._write.seal(ContentType.alert, b"\x01\x00")
    expect_alert(server, close + again, A.unexpected_message)


def test_rejects_change_cipher_spec_after_the_handshake() -> None:
    _client, server = connected()
    expect_alert(
        server, plaintext_record(ContentType.change_cipher_spec, b"\x01"), A.unexpected_message
    )


def test_rejects_protected_change_cipher_spec() -> None:
    f = client_flight()
    twin = clone(f.server._read)
    expect_alert(f.server, seal_inner(twin, b"\x01\x14"), A.unexpected_message)


def test_rejects_two_change_cipher_specs() -> None:
    f = server_flight()
    ccs = plaintext_record(ContentType.change_cipher_spec, b"\x01")
    expect_alert(f.client, ccs + ccs, A.unexpected_message)


def test_client_rejects_change_cipher_spec_with_wrong_body() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    client.data_to_send()
    expect_alert(
        client, plaintext_record(ContentType.change_cipher_spec, b"\x01\x01"), A.unexpected_message
    )


def test_rejects_too_many_warning_alerts_in_a_row() -> None:
    client, server = connected()
    assert client._write is not None
    warnings = b"".join(client._write.seal(ContentType.alert, b"\x01\x5a") for _ in range(5))
    expect_alert(server, warnings, A.unexpected_message)


def test_accepts_a_few_warning_alerts() -> None:
    client, server = connected()
    assert client._write is not None
    server.receive_data(
        b"".join(client._write.seal(ContentType.alert, b"\x01\x5a") for _ in range(4))
    )
    assert server.state == "connected"


def test_rejects_too_many_empty_records_in_a_row() -> None:
    client, server = connected()
    assert server._write is not None
    flood = b"".join(server._write.seal(ContentType.application_data, b"") for _ in range(33))
    expect_alert(client, flood, A.unexpected_message)


def test_data_between_empty_records_restarts_the_count_within_one_read() -> None:
    client, server = connected()
    assert server._write is not None
    write = server._write

    def empties(n: int) -> bytes:
        return b"".join(write.seal(ContentType.application_data, b"") for _ in range(n))

    client.receive_data(
        empties(32) + write.seal(ContentType.application_data, b"data") + empties(32)
    )
    assert client.state == "connected"
    assert [e.data for e in drain(client) if isinstance(e, DataReceived)] == [b"data"]


def test_rejects_change_cipher_spec_flood_during_handshake() -> None:
    server = ServerConnection(server_config())
    client = ClientConnection(client_config(), "localhost")
    client.start()
    server.receive_data(client.data_to_send())
    server.data_to_send()
    ccs = plaintext_record(ContentType.change_cipher_spec, b"\x01")
    expect_alert(server, ccs * 3, A.unexpected_message)


@pytest.mark.parametrize("description", [A.handshake_failure, A.bad_certificate])
def test_server_closes_without_answer_on_plaintext_alert_during_handshake(
    description: AlertDescription,
) -> None:
    f = client_flight()  # the server waits for the client's encrypted Finished
    f.server.data_to_send()
    with pytest.raises(PeerAlert) as err:
        f.server.receive_data(plaintext_record(ContentType.alert, bytes((2, description))))
    assert err.value.alert == description
    assert f.server.data_to_send() == b""  # the peer aborted: nothing to answer
    assert f.server.state == "failed"
    assert f.server._read is None and f.server._write is None
    assert any(isinstance(e, ConnectionClosed) and not e.clean for e in drain(f.server))
    with pytest.raises(TLSError):
        f.server.receive_data(b"\x17\x03\x03\x00\x01\x00")


def test_server_closes_on_plaintext_close_notify_during_handshake() -> None:
    f = client_flight()
    f.server.data_to_send()
    f.server.receive_data(plaintext_record(ContentType.alert, bytes((1, A.close_notify))))
    assert f.server.state == "closed"
    assert any(isinstance(e, ConnectionClosed) and e.clean for e in drain(f.server))


def test_rejects_malformed_plaintext_alert_during_handshake() -> None:
    f = client_flight()
    expect_alert(f.server, plaintext_record(ContentType.alert, b"\x02\x28\x00"), A.decode_error)


def test_rejects_plaintext_alert_after_the_handshake() -> None:
    _client, server = connected()
    alert = plaintext_record(ContentType.alert, bytes((2, A.handshake_failure)))
    expect_alert(server, alert, A.unexpected_message)
