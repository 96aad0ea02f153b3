"""Protocol violations: each must end the connection with the RFC's alert, on the wire.

Messages are made by mutating real flights of our own client and server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from pairs import client_config, drain, handshake, pump, server_config

from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import AlertDescription, ProtocolError, TLSError
from nautilus_tls.events import ConnectionClosed
from nautilus_tls.record.protection import plaintext_record
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType, NamedGroup
from nautilus_tls.wire.messages import (
    ClientHello,
    Extension,
    Finished,
    KeyUpdate,
    ServerHello,
    decode_handshake,
)

A = AlertDescription


def _plain_alert(alert: AlertDescription) -> bytes:
    return plaintext_record(ContentType.alert, bytes((2, alert)))


def expect_alert(
    conn: Connection, data: bytes, alert: AlertDescription, *, plaintext: bool = True
) -> None:
    with pytest.raises(ProtocolError) as err:
        conn.receive_data(data)
    assert err.value.alert == alert, str(err.value)
    sent = conn.data_to_send()
    if plaintext:
        assert sent.endswith(_plain_alert(alert))
    else:
        assert sent  # an encrypted alert record went out
    assert conn.state == "failed"
    assert any(isinstance(e, ConnectionClosed) and not e.clean for e in drain(conn))
    with pytest.raises(TLSError):
        conn.receive_data(b"\x17\x03\x03\x00\x01\x00")


def client_hello() -> ClientHello:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    record = client.data_to_send()
    msg = decode_handshake(record[5], record[9:])
    assert isinstance(msg, ClientHello)
    return msg


def ch_record(ch: ClientHello) -> bytes:
    return plaintext_record(ContentType.handshake, ch.encode())


def with_extensions(
    ch: ClientHello, change: Callable[[list[Extension]], list[Extension]]
) -> ClientHello:
    return dataclasses.replace(ch, extensions=tuple(change(list(ch.extensions))))


def drop(ext_type: int) -> Callable[[list[Extension]], list[Extension]]:
    return lambda exts: [e for e in exts if e.ext_type != ext_type]


def replace(ext_type: int, data: bytes) -> Callable[[list[Extension]], list[Extension]]:
    return lambda exts: [
        Extension(ext_type=e.ext_type, data=data) if e.ext_type == ext_type else e for e in exts
    ]


# --- the server facing bad ClientHellos ------------------------------------------------------


def test_rejects_finished_as_first_message() -> None:
    fin = Finished(verify_data=bytes(32)).encode()
    expect_alert(
        ServerConnection(server_config()),
        plaintext_record(ContentType.handshake, fin),
        A.unexpected_message,
    )


def test_rejects_client_hello_without_tls13() -> None:
    ch = with_extensions(
        client_hello(),
        replace(ExtensionType.supported_versions, ext.encode_supported_versions_ch((0x0303,))),
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.protocol_version)


def test_rejects_client_hello_without_supported_versions() -> None:
    ch = with_extensions(client_hello(), drop(ExtensionType.supported_versions))
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.protocol_version)


def test_rejects_compression() -> None:
    ch = dataclasses.replace(client_hello(), legacy_compression_methods=b"\x01\x00")
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


@pytest.mark.parametrize(
    "ext_type",
    [ExtensionType.key_share, ExtensionType.supported_groups, ExtensionType.signature_algorithms],
)
def test_rejects_missing_mandatory_extension(ext_type: int) -> None:
    ch = with_extensions(client_hello(), drop(ext_type))
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.missing_extension)


def test_rejects_key_share_for_group_not_offered() -> None:
    ch = with_extensions(
        client_hello(),
        replace(ExtensionType.supported_groups, ext.encode_supported_groups((NamedGroup.x25519,))),
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_rejects_two_shares_for_the_same_group() -> None:
    ch = client_hello()
    shares = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    ch = with_extensions(
        ch, replace(ExtensionType.key_share, ext.encode_key_share_ch(shares + shares))
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


@pytest.mark.parametrize("cut", [1, 32, 1183])
def test_rejects_bad_share_size(cut: int) -> None:
    ch = client_hello()
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    bad = ext.KeyShareEntry(group=share.group, key_exchange=share.key_exchange[:-cut])
    ch = with_extensions(ch, replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,))))
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_rejects_invalid_curve_point() -> None:
    cfg = client_config(key_share_groups=(NamedGroup.secp256r1,))
    client = ClientConnection(cfg, "localhost")
    client.start()
    record = client.data_to_send()
    ch = decode_handshake(record[5], record[9:])
    assert isinstance(ch, ClientHello)
    point = b"\x04" + b"\x01" * 64  # not on P-256
    bad = ext.KeyShareEntry(group=NamedGroup.secp256r1, key_exchange=point)
    ch = with_extensions(ch, replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,))))
    server = ServerConnection(server_config(groups=(NamedGroup.secp256r1,)))
    expect_alert(server, ch_record(ch), A.illegal_parameter)


def test_rejects_all_zero_x25519_share() -> None:
    bad = ext.KeyShareEntry(group=NamedGroup.x25519, key_exchange=bytes(32))  # low-order point
    ch = with_extensions(
        client_hello(), replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,)))
    )
    server = ServerConnection(server_config(groups=(NamedGroup.x25519,)))
    expect_alert(server, ch_record(ch), A.illegal_parameter)


def test_rejects_duplicate_extension() -> None:
    ch = with_extensions(client_hello(), lambda exts: [*exts, exts[0]])
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_rejects_truncated_client_hello() -> None:
    raw = client_hello().encode()
    body = raw[4:-7]
    truncated = bytes((HandshakeType.client_hello,)) + len(body).to_bytes(3, "big") + body
    expect_alert(
        ServerConnection(server_config()),
        plaintext_record(ContentType.handshake, truncated),
        A.decode_error,
    )


def test_rejects_no_common_cipher_suite() -> None:
    ch = dataclasses.replace(client_hello(), cipher_suites=(0x1304,))
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.handshake_failure)


def test_rejects_application_data_before_handshake() -> None:
    expect_alert(
        ServerConnection(server_config()),
        plaintext_record(ContentType.application_data, b"hello"),
        A.unexpected_message,
    )


def test_rejects_oversized_record() -> None:
    header = bytes((ContentType.handshake, 3, 3)) + (2**14 + 1).to_bytes(2, "big")
    expect_alert(ServerConnection(server_config()), header, A.record_overflow)


def test_rejects_change_cipher_spec_with_wrong_body() -> None:
    server = ServerConnection(server_config())
    client = ClientConnection(client_config(), "localhost")
    client.start()
    server.receive_data(client.data_to_send())
    server.data_to_send()
    expect_alert(
        server,
        plaintext_record(ContentType.change_cipher_spec, b"\x02"),
        A.unexpected_message,
        plaintext=False,
    )


def test_rejects_change_cipher_spec_before_client_hello() -> None:
    expect_alert(
        ServerConnection(server_config()),
        plaintext_record(ContentType.change_cipher_spec, b"\x01"),
        A.unexpected_message,
    )


# --- the client facing bad ServerHellos ---------------------------------------------------------


def _server_hello_for(client: ClientConnection) -> tuple[ServerHello, bytes]:
    server = ServerConnection(server_config())
    server.receive_data(client.data_to_send())
    out = server.data_to_send()
    length = int.from_bytes(out[3:5], "big")
    sh = decode_handshake(out[5], out[9 : 5 + length])
    assert isinstance(sh, ServerHello)
    return sh, out[5 + length :]


def test_client_rejects_downgrade_sentinel() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(
        sh,
        random=sh.random[:24] + b"DOWNGRD\x01",
        extensions=tuple(
            e for e in sh.extensions if e.ext_type != ExtensionType.supported_versions
        ),
    )
    expect_alert(client, plaintext_record(ContentType.handshake, sh.encode()), A.illegal_parameter)


def test_client_rejects_tls12_server_hello() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(
        sh,
        extensions=tuple(
            e for e in sh.extensions if e.ext_type != ExtensionType.supported_versions
        ),
    )
    expect_alert(client, plaintext_record(ContentType.handshake, sh.encode()), A.protocol_version)


def test_client_rejects_suite_it_did_not_offer() -> None:
    client = ClientConnection(client_config(cipher_suites=(0x1301,)), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(sh, cipher_suite=0x1302)
    expect_alert(client, plaintext_record(ContentType.handshake, sh.encode()), A.illegal_parameter)


def test_client_rejects_wrong_session_id_echo() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(sh, legacy_session_id_echo=b"\x00" * 32)
    expect_alert(client, plaintext_record(ContentType.handshake, sh.encode()), A.illegal_parameter)


def test_client_rejects_tampered_encrypted_record() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    server = ServerConnection(server_config())
    server.receive_data(client.data_to_send())
    flight = bytearray(server.data_to_send())
    flight[-1] ^= 0x01  # last byte of the last record's tag
    expect_alert(client, bytes(flight), A.bad_record_mac, plaintext=False)


# --- after the handshake -----------------------------------------------------------------------------


def _seal_from(conn: Connection, content_type: int, data: bytes) -> bytes:
    write = conn._write  # tests reach in to forge records with the real keys
    assert write is not None
    return write.seal(content_type, data)


def test_server_rejects_renegotiation_attempt() -> None:
    client, server = handshake(client_config(), server_config())
    record = _seal_from(client, ContentType.handshake, client_hello().encode())
    expect_alert(server, record, A.unexpected_message, plaintext=False)


def test_rejects_key_update_with_invalid_value() -> None:
    client, server = handshake(client_config(), server_config())
    body = bytes((HandshakeType.key_update, 0, 0, 1, 7))
    expect_alert(
        server,
        _seal_from(client, ContentType.handshake, body),
        A.illegal_parameter,
        plaintext=False,
    )


def test_rejects_data_after_close_notify() -> None:
    client, server = handshake(client_config(), server_config())
    drain(server)
    close = _seal_from(client, ContentType.alert, bytes((1, 0)))
    data = client._write.seal(ContentType.application_data, b"late") if client._write else b""
    expect_alert(server, close + data, A.unexpected_message, plaintext=False)


def test_rejects_too_many_key_updates_in_a_row() -> None:
    client, server = handshake(client_config(), server_config())
    with pytest.raises(ProtocolError) as err:
        for _ in range(100):
            client.request_key_update(request_peer=False)
            pump(client, server)
    assert err.value.alert == A.unexpected_message


def test_rejects_empty_record_flood() -> None:
    client, server = handshake(client_config(), server_config())
    flood = b"".join(_seal_from(client, ContentType.application_data, b"") for _ in range(100))
    expect_alert(server, flood, A.unexpected_message, plaintext=False)


def test_key_update_message_is_valid_encoding() -> None:
    assert KeyUpdate(request_update=1).encode() == bytes((24, 0, 0, 1, 1))
