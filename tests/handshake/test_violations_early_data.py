"""Protocol violations, 0-RTT: EndOfEarlyData and early data records, accepted or rejected.
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

import dataclasses
import struct

from handshake.violations import (
    A,
    ch_record,
    client_flight,
    client_hello,
    expect_alert,
    read_sealer,
    records,
    with_extensions,
)
from pairs import client_config, handshake, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType
from nautilus_tls.wire.messages import Extension


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


def test_server_rejects_end_of_early_data_without_early_data() -> None:
    f = client_flight()
    seal = read_sealer(f.server)
    expect_alert(
        f.server, seal(bytes((HandshakeType.end_of_early_data, 0, 0, 0))), A.unexpected_message
    )


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
