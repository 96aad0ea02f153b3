"""Handshakes over the FrodoKEM groups (the ``with_frodokem`` provider add-on): every group
between our peers in memory, the largest and a P-256 hybrid over asyncio and blocking sockets
(their ClientHellos span two records), HelloRetryRequest into FrodoKEM, and shares or
ciphertexts of the wrong length ending the handshake with the RFC's alert."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from handshake.violations import expect_alert_record, replace, with_extensions
from loopback import ADAPTERS
from pairs import client_config, handshake, server_config

from nautilus_tls import defaults
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.kem import FrodoGroup
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, with_frodokem
from nautilus_tls.errors import AlertDescription
from nautilus_tls.record.protection import plaintext_record
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, NamedGroup
from nautilus_tls.wire.messages import ClientHello, ServerHello, decode_handshake

pytest.importorskip("numpy", reason="the frodokem extra (numpy) is not installed")

PROVIDER = with_frodokem(DEFAULT_PROVIDER)
A = AlertDescription


def frodo_client(group: int, *, share: int | None = None) -> ClientConfig:
    return client_config(
        provider=PROVIDER,
        groups=(group,) if share is None or share == group else (share, group),
        key_share_groups=(share or group,),
        middlebox_compatibility=False,
    )


def frodo_server(group: int) -> ServerConfig:
    return server_config(provider=PROVIDER, groups=(group,))


def as_records(message: bytes) -> bytes:
    """A handshake message in as many plaintext records as it needs (RFC 8446 §5.1)."""
    step = defaults.MAX_PLAINTEXT
    return b"".join(
        plaintext_record(ContentType.handshake, message[i : i + step])
        for i in range(0, len(message), step)
    )


def unrecord(flight: bytes) -> bytes:
    """The handshake bytes of a flight of plaintext records."""
    out = b""
    while flight:
        length = int.from_bytes(flight[3:5], "big")
        out += flight[5 : 5 + length]
        flight = flight[5 + length :]
    return out


# --- handshakes --------------------------------------------------------------------------------


@pytest.mark.parametrize("group", list(FrodoGroup), ids=lambda g: g.name)
def test_every_frodokem_group_completes_a_handshake_in_memory(group: FrodoGroup) -> None:
    client, server = handshake(frodo_client(group), frodo_server(group))
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == group.name
    assert not client.info.hello_retry


def test_a_hello_retry_request_moves_the_client_to_frodokem() -> None:
    group = FrodoGroup.X25519FrodoKEM976SHAKE
    client, server = handshake(frodo_client(group, share=NamedGroup.x25519), frodo_server(group))
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == group.name
    assert client.info.hello_retry


def test_a_peer_without_the_add_on_falls_back_to_a_shared_group() -> None:
    # The server's provider lacks FrodoKEM: the code point is ignored like any unknown group.
    client_cfg = client_config(
        provider=PROVIDER,
        groups=(FrodoGroup.X25519FrodoKEM640AES, NamedGroup.X25519MLKEM768),
        key_share_groups=(FrodoGroup.X25519FrodoKEM640AES,),
    )
    client, server = handshake(client_cfg, server_config(groups=(NamedGroup.X25519MLKEM768,)))
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == "X25519MLKEM768"
    assert client.info.hello_retry


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize(
    "group",
    [FrodoGroup.X25519FrodoKEM1344AES, FrodoGroup.SecP256r1FrodoKEM640SHAKE],
    ids=lambda g: g.name,
)
def test_frodokem_handshakes_over_sockets(adapter: str, group: FrodoGroup) -> None:
    echo: Callable[[ClientConfig, ServerConfig], tuple[SessionInfo, SessionInfo]] = ADAPTERS[
        adapter
    ]
    client_info, server_info = echo(frodo_client(group), frodo_server(group))
    assert client_info.group == server_info.group == group.name


# --- bad shares --------------------------------------------------------------------------------


def _client_hello(group: int) -> ClientHello:
    client = ClientConnection(frodo_client(group), "localhost")
    client.start()
    body = unrecord(client.data_to_send())
    ch = decode_handshake(body[0], body[4:])
    assert isinstance(ch, ClientHello)
    return ch


def _with_client_share(ch: ClientHello, key_exchange: bytes) -> ClientHello:
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    bad = ext.KeyShareEntry(group=share.group, key_exchange=key_exchange)
    return with_extensions(ch, replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,))))


@pytest.mark.parametrize(
    "group", [FrodoGroup.FrodoKEM640AES, FrodoGroup.X25519FrodoKEM1344SHAKE], ids=lambda g: g.name
)
@pytest.mark.parametrize("change", ["short", "long"])
def test_server_rejects_a_client_share_of_the_wrong_length(group: FrodoGroup, change: str) -> None:
    ch = _client_hello(group)
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    data = share.key_exchange[:-1] if change == "short" else share.key_exchange + b"\x00"
    # RFC 8446 §4.2.8: a share that is not a valid public key for its group: illegal_parameter.
    expect_alert_record(
        ServerConnection(frodo_server(group)),
        as_records(_with_client_share(ch, data).encode()),
        A.illegal_parameter,
    )


def test_server_rejects_an_empty_frodokem_share() -> None:
    # key_exchange<1..2^16-1> (RFC 8446 §4.2.8): an empty share does not decode. Our encoder
    # refuses to write one, so the extension is written by hand: client_shares holding one
    # KeyShareEntry {group, key_exchange = <empty>}.
    group = FrodoGroup.FrodoKEM640SHAKE
    entry = group.to_bytes(2, "big") + (0).to_bytes(2, "big")
    data = len(entry).to_bytes(2, "big") + entry
    ch = with_extensions(_client_hello(group), replace(ExtensionType.key_share, data))
    expect_alert_record(
        ServerConnection(frodo_server(FrodoGroup.FrodoKEM640SHAKE)),
        as_records(ch.encode()),
        A.decode_error,
    )


@pytest.mark.parametrize(
    "group", [FrodoGroup.FrodoKEM976SHAKE, FrodoGroup.X25519FrodoKEM1344AES], ids=lambda g: g.name
)
@pytest.mark.parametrize("change", ["short", "long"])
def test_client_rejects_a_ciphertext_of_the_wrong_length(group: FrodoGroup, change: str) -> None:
    client = ClientConnection(frodo_client(group), "localhost")
    client.start()
    server = ServerConnection(frodo_server(group))
    server.receive_data(client.data_to_send())
    flight = unrecord(server.data_to_send())
    sh_len = int.from_bytes(flight[1:4], "big")
    sh = decode_handshake(flight[0], flight[4 : 4 + sh_len])
    assert isinstance(sh, ServerHello)
    entry = ext.decode_key_share_sh(
        ext.get_extension(sh.extensions, ExtensionType.key_share) or b""
    )
    data = entry.key_exchange[:-1] if change == "short" else entry.key_exchange + b"\x00"
    bad = ext.KeyShareEntry(group=entry.group, key_exchange=data)
    sh = dataclasses.replace(
        sh,
        extensions=tuple(
            replace(ExtensionType.key_share, ext.encode_key_share_sh(bad))(list(sh.extensions))
        ),
    )
    # draft-ietf-tls-mlkem / RFC 8446 §4.2.8: a ciphertext of the wrong length: illegal_parameter.
    expect_alert_record(client, as_records(sh.encode()), A.illegal_parameter)
