"""Handshakes over the BIKE groups (the ``with_bike`` provider add-on): every group between our
peers in memory, L1 and the L5 hybrid over asyncio and blocking sockets, HelloRetryRequest into
BIKE, and shares or ciphertexts of the wrong length (or not canonical) ending the handshake
with the RFC's alert."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

pytest.importorskip("numpy", reason="the bike extra (numpy) is not installed")

from handshake.violations import expect_alert_record, replace
from loopback import ADAPTERS
from pairs import client_config, handshake, server_config
from test_frodokem_handshake import as_records, unrecord

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.kem import BikeGroup
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, with_bike
from nautilus_tls.errors import AlertDescription
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType, NamedGroup
from nautilus_tls.wire.messages import ClientHello, ServerHello, decode_handshake

PROVIDER = with_bike(DEFAULT_PROVIDER)
A = AlertDescription


def bike_client(group: int, *, share: int | None = None) -> ClientConfig:
    return client_config(
        provider=PROVIDER,
        groups=(group,) if share is None or share == group else (share, group),
        key_share_groups=(share or group,),
        middlebox_compatibility=False,
    )


def bike_server(group: int) -> ServerConfig:
    return server_config(provider=PROVIDER, groups=(group,))


@pytest.mark.parametrize("group", list(BikeGroup), ids=lambda g: g.name)
def test_every_bike_group_completes_a_handshake_in_memory(group: BikeGroup) -> None:
    client, server = handshake(bike_client(group), bike_server(group))
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == group.name
    assert not client.info.hello_retry


def test_a_hello_retry_request_moves_the_client_to_bike() -> None:
    group = BikeGroup.X25519BIKEL3
    client, server = handshake(bike_client(group, share=NamedGroup.x25519), bike_server(group))
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == group.name
    assert client.info.hello_retry


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize("group", [BikeGroup.BIKEL1, BikeGroup.X25519BIKEL5], ids=lambda g: g.name)
def test_bike_handshakes_over_sockets(adapter: str, group: BikeGroup) -> None:
    echo: Callable[[ClientConfig, ServerConfig], tuple[SessionInfo, SessionInfo]] = ADAPTERS[
        adapter
    ]
    client_info, server_info = echo(bike_client(group), bike_server(group))
    assert client_info.group == server_info.group == group.name


def _client_hello(group: int) -> ClientHello:
    client = ClientConnection(bike_client(group), "localhost")
    client.start()
    body = unrecord(client.data_to_send())
    ch = decode_handshake(body[0], body[4:])
    assert isinstance(ch, ClientHello)
    return ch


def _mangle(data: bytes, change: str) -> bytes:
    return data[:-1] if change == "short" else data + b"\x00"


@pytest.mark.parametrize("group", [BikeGroup.BIKEL1, BikeGroup.X25519BIKEL5], ids=lambda g: g.name)
@pytest.mark.parametrize("change", ["short", "long", "high-bit"])
def test_server_rejects_a_bad_client_share(group: BikeGroup, change: str) -> None:
    ch = _client_hello(group)
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    data = share.key_exchange
    if change == "high-bit":
        # A bit at or above r set in BIKE's polynomial (the top bit of its last byte: r leaves
        # unused bits at every level), the length intact: not a canonical element.
        pk_len = {BikeGroup.BIKEL1: 1541, BikeGroup.X25519BIKEL5: 5122}[group]
        data = data[: pk_len - 1] + bytes([data[pk_len - 1] | 0x80]) + data[pk_len:]
    else:
        data = _mangle(data, change)
    bad = ext.KeyShareEntry(group=share.group, key_exchange=data)
    forged = dataclasses.replace(
        ch,
        extensions=tuple(
            replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,)))(list(ch.extensions))
        ),
    )
    # RFC 8446 §4.2.8: a share that is not a valid public key for its group: illegal_parameter.
    expect_alert_record(
        ServerConnection(bike_server(group)), as_records(forged.encode()), A.illegal_parameter
    )


@pytest.mark.parametrize("group", [BikeGroup.BIKEL3, BikeGroup.X25519BIKEL1], ids=lambda g: g.name)
@pytest.mark.parametrize("change", ["short", "long"])
def test_client_rejects_a_ciphertext_of_the_wrong_length(group: BikeGroup, change: str) -> None:
    client = ClientConnection(bike_client(group), "localhost")
    client.start()
    server = ServerConnection(bike_server(group))
    server.receive_data(client.data_to_send())
    flight = unrecord(server.data_to_send())
    sh_len = int.from_bytes(flight[1:4], "big")
    sh = decode_handshake(flight[0], flight[4 : 4 + sh_len])
    assert isinstance(sh, ServerHello)
    entry = ext.decode_key_share_sh(
        ext.get_extension(sh.extensions, ExtensionType.key_share) or b""
    )
    bad = ext.KeyShareEntry(group=entry.group, key_exchange=_mangle(entry.key_exchange, change))
    sh = dataclasses.replace(
        sh,
        extensions=tuple(
            replace(ExtensionType.key_share, ext.encode_key_share_sh(bad))(list(sh.extensions))
        ),
    )
    # RFC 8446 §4.2.8: a ciphertext of the wrong length: illegal_parameter.
    expect_alert_record(client, as_records(sh.encode()), A.illegal_parameter)
