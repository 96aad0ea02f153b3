"""Protocol violations from issue 11 (alert conformance and 0-RTT records): each ends the
connection with the RFC's alert, checked on the wire, or (a peer's own abort) closes it
without an answer.

Messages are forged from real flights with the helpers of test_violations_more.py.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable

import pytest
from handshake.test_violations import ch_record, client_hello, drop, replace, with_extensions
from handshake.test_violations_more import (
    HS,
    client_flight,
    connected,
    expect_alert,
    fresh_client_and_server_hello,
    read_sealer,
    records,
    server_flight,
    sh_record,
    with_sh_extensions,
)
from pairs import client_config, drain, handshake, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, AlertReceived, TLSError
from nautilus_tls.events import ConnectionClosed
from nautilus_tls.record.protection import plaintext_record
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType, NamedGroup
from nautilus_tls.wire.messages import ClientHello, Extension, decode_handshake

A = AlertDescription


def _finished(verify_data: bytes) -> bytes:
    return bytes((HandshakeType.finished,)) + len(verify_data).to_bytes(3, "big") + verify_data


# --- item 13: a Finished or KeyUpdate of the wrong length is decode_error (RFC 8446 §6.2) ---------


@pytest.mark.parametrize("change", [-1, +1])
def test_server_rejects_client_finished_of_the_wrong_length(change: int) -> None:
    f = client_flight()
    verify_data = f.msg(HandshakeType.finished)[4:]
    wrong = verify_data[:change] if change < 0 else verify_data + b"\x00" * change
    expect_alert(f.server, read_sealer(f.server)(_finished(wrong)), A.decode_error)


@pytest.mark.parametrize("change", [-1, +1])
def test_client_rejects_server_finished_of_the_wrong_length(change: int) -> None:
    f = server_flight()
    verify_data = f.msg(HandshakeType.finished)[4:]
    wrong = verify_data[:change] if change < 0 else verify_data + b"\x00" * change
    forged = f.replaced(HandshakeType.finished, _finished(wrong))
    expect_alert(f.client, read_sealer(f.client)(*forged), A.decode_error)


def test_rejects_empty_key_update() -> None:
    client, server = connected()
    assert client._write is not None
    body = bytes((HandshakeType.key_update, 0, 0, 0))
    expect_alert(server, client._write.seal(HS, body), A.decode_error)


# --- item 16: a Finished padded with leading zeros so that it no longer parses -------------------


def test_server_rejects_finished_padded_with_leading_zeros() -> None:
    f = client_flight()
    padded = b"\x00" * 16000 + f.msg(HandshakeType.finished)[4:]
    expect_alert(f.server, read_sealer(f.server)(_finished(padded)), A.decode_error)


# --- item 15: a key share with an empty key_exchange does not decode -----------------------------


def test_server_rejects_key_share_with_empty_key_exchange() -> None:
    ch = client_hello()
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    # RFC 8446 §4.2.8: opaque key_exchange<1..2^16-1>.
    entries = struct.pack(">HH", share.group, 0)
    ch = with_extensions(
        ch, replace(ExtensionType.key_share, struct.pack(">H", len(entries)) + entries)
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.decode_error)


def test_client_rejects_server_key_share_with_empty_key_exchange() -> None:
    client, sh = fresh_client_and_server_hello()
    entry = ext.decode_key_share_sh(
        ext.get_extension(sh.extensions, ExtensionType.key_share) or b""
    )
    empty = struct.pack(">HH", entry.group, 0)
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, empty))
    expect_alert(client, sh_record(sh), A.decode_error)


# --- item 12: a plaintext alert while the server waits for the encrypted flight ------------------


@pytest.mark.parametrize("description", [A.handshake_failure, A.bad_certificate])
def test_server_closes_without_answer_on_plaintext_alert_during_handshake(
    description: AlertDescription,
) -> None:
    f = client_flight()  # the server waits for the client's encrypted Finished
    f.server.data_to_send()
    with pytest.raises(AlertReceived) as err:
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


# --- item 14: a second ClientHello may differ from the first only as RFC 8446 §4.1.2 allows ------


def _retry() -> tuple[ServerConnection, bytes, ClientHello]:
    """A server that sent HelloRetryRequest, the client's CCS, and its second ClientHello."""
    ccfg = client_config(groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=(29,))
    client = ClientConnection(ccfg, "localhost")
    client.start()
    server = ServerConnection(server_config(groups=(NamedGroup.secp256r1,)))
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    ccs, hello = records(client.data_to_send())
    ch2 = decode_handshake(hello[5], hello[9:])
    assert isinstance(ch2, ClientHello)
    return server, ccs, ch2


def _swap_first_two(exts: list[Extension]) -> list[Extension]:
    return [exts[1], exts[0], *exts[2:]]


def _add_unknown(exts: list[Extension]) -> list[Extension]:
    return [Extension(ext_type=0x7A7B, data=b"new"), *exts]


@pytest.mark.parametrize(
    "change",
    [
        _swap_first_two,
        _add_unknown,
        drop(ExtensionType.signature_algorithms_cert),
        replace(ExtensionType.supported_groups, ext.encode_supported_groups((23,))),
        replace(ExtensionType.server_name, ext.encode_server_name("other.example")),
    ],
    ids=["reordered", "added", "dropped", "changed-groups", "changed-sni"],
)
def test_server_rejects_second_client_hello_with_other_extensions(
    change: Callable[[list[Extension]], list[Extension]],
) -> None:
    server, ccs, ch2 = _retry()
    expect_alert(server, ccs + ch_record(with_extensions(ch2, change)), A.illegal_parameter)


def test_server_rejects_pre_shared_key_added_in_second_client_hello() -> None:
    server, ccs, ch2 = _retry()
    psk = ext.OfferedPsks((ext.PskIdentity(b"ticket", 0),), (bytes(32),))
    added = Extension(ext_type=ExtensionType.pre_shared_key, data=ext.encode_pre_shared_key_ch(psk))
    ch2 = with_extensions(ch2, lambda exts: [*exts, added])
    expect_alert(server, ccs + ch_record(ch2), A.illegal_parameter)


def test_accepts_second_client_hello_unchanged() -> None:
    server, ccs, ch2 = _retry()
    server.receive_data(ccs + ch_record(ch2))
    assert server.state == "handshaking" and server.data_to_send()


# --- item 5: skipping rejected 0-RTT is bounded in bytes and records -----------------------------


def _rejected_early_hello() -> tuple[ServerConnection, bytes]:
    """A server that will reject 0-RTT, and a resuming ClientHello that offers it."""
    ccfg = client_config(session_store=MemorySessionStore())
    scfg = server_config(max_early_data=1024)
    handshake(ccfg, scfg)  # leaves a ticket that allows early data
    client = ClientConnection(ccfg, "localhost", early_data=b"early")
    client.start()
    hello = records(client.data_to_send())[0]
    assert hello[0] == ContentType.handshake
    return ServerConnection(dataclasses.replace(scfg, max_early_data=0)), hello


def test_rejects_flood_of_empty_records_as_rejected_early_data() -> None:
    server, hello = _rejected_early_hello()
    server.receive_data(hello)
    server.data_to_send()  # its flight
    empty = struct.pack(">BHH", ContentType.application_data, 0x0303, 0)
    expect_alert(server, empty * 5000, A.unexpected_message)


def test_rejects_many_small_records_as_rejected_early_data() -> None:
    server, hello = _rejected_early_hello()
    server.receive_data(hello)
    server.data_to_send()  # its flight
    tiny = struct.pack(">BHH", ContentType.application_data, 0x0303, 17) + bytes(17)
    expect_alert(server, tiny * 200, A.unexpected_message)


def test_rejects_early_data_without_pre_shared_key() -> None:
    ch = with_extensions(
        client_hello(),
        lambda exts: [*exts, Extension(ext_type=ExtensionType.early_data, data=b"")],
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)
