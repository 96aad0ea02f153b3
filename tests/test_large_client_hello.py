"""ClientHellos larger than one record: several post-quantum key shares (X25519MLKEM768 plus
HQC hybrids) make a ~20 KiB ClientHello that is fragmented across records on send, reassembled
on receive under a configurable maximum, and completes a handshake over every adapter."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from loopback import ADAPTERS
from pairs import client_config, server_config

from nautilus_tls import defaults
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.kem import PrivateGroup
from nautilus_tls.errors import AlertDescription, ConfigError, DecodeError, PeerAlert
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import ContentType, HandshakeType, NamedGroup

pytest.importorskip("pqcrypto", reason="the pq extra (pqcrypto) is not installed")

SHARES = (
    NamedGroup.X25519MLKEM768,
    PrivateGroup.X25519HQC256,
    PrivateGroup.HQC256,
    PrivateGroup.X25519HQC192,
)
RECORD_HEADER = 5


def big_client() -> ClientConfig:
    return client_config(groups=SHARES, key_share_groups=SHARES, middlebox_compatibility=False)


def records(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        length = int.from_bytes(data[3:5], "big")
        out.append((data[0], data[RECORD_HEADER : RECORD_HEADER + length]))
        data = data[RECORD_HEADER + length :]
    return out


def first_flight() -> bytes:
    client = ClientConnection(big_client(), "localhost")
    client.start()
    return client.data_to_send()


def test_the_client_hello_spans_several_records() -> None:
    flight = first_flight()
    parts = records(flight)
    assert [t for t, _ in parts] == [ContentType.handshake] * len(parts)
    assert len(parts) >= 2 and all(len(body) <= defaults.MAX_PLAINTEXT for _, body in parts)
    message = b"".join(body for _, body in parts)
    assert message[0] == HandshakeType.client_hello
    assert int.from_bytes(message[1:4], "big") + 4 == len(message) > 20_000


@pytest.mark.parametrize(
    ("server_groups", "expected"),
    [
        (None, "X25519MLKEM768"),  # pq-only server: its first preference has a share
        ((PrivateGroup.X25519HQC256,), "X25519HQC256"),  # the 7,269-byte share is used
        ((PrivateGroup.X25519HQC192, NamedGroup.x25519), "X25519HQC192"),
    ],
)
def test_a_multi_record_client_hello_completes_in_memory(
    server_groups: tuple[int, ...] | None, expected: str
) -> None:
    server_cfg = (
        server_config(policy="pq-only")
        if server_groups is None
        else server_config(groups=server_groups)
    )
    client = ClientConnection(big_client(), "localhost")
    server = ServerConnection(server_cfg)
    client.start()
    flight = client.data_to_send()
    # Byte at a time across the first record boundary, then the rest at once.
    for offset in range(16_500):
        server.receive_data(flight[offset : offset + 1])
    server.receive_data(flight[16_500:])
    for _ in range(10):
        moved = False
        for src, dst in ((client, server), (server, client)):
            data = src.data_to_send()
            if data:
                moved = True
                dst.receive_data(data)
        if not moved:
            break
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == expected
    assert not client.info.hello_retry


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_a_multi_record_client_hello_over_loopback(adapter: str) -> None:
    echo: Callable[[ClientConfig, ServerConfig], tuple[SessionInfo, SessionInfo]] = ADAPTERS[
        adapter
    ]
    client_info, server_info = echo(
        big_client(), server_config(groups=(PrivateGroup.X25519HQC256, NamedGroup.x25519))
    )
    assert client_info.group == server_info.group == "X25519HQC256"


def test_the_reassembly_limit_is_configurable() -> None:
    flight = first_flight()
    assert len(flight) > defaults.MIN_HANDSHAKE_MESSAGE_SIZE
    strict = ServerConnection(
        server_config(
            policy="pq-only", max_handshake_message_size=defaults.MIN_HANDSHAKE_MESSAGE_SIZE
        )
    )
    with pytest.raises(DecodeError, match="exceeds limit 16384") as err:
        strict.receive_data(flight)
    assert err.value.alert == AlertDescription.decode_error
    client = ClientConnection(big_client(), "localhost")
    client.start()
    client.data_to_send()
    with pytest.raises(PeerAlert):
        client.receive_data(strict.data_to_send())
    roomy = ServerConnection(server_config(policy="pq-only", max_handshake_message_size=32 * 1024))
    roomy.receive_data(flight)
    assert roomy.data_to_send()  # ServerHello and the rest of the flight
    with pytest.raises(ConfigError, match="max_handshake_message_size must be at least 16384"):
        server_config(max_handshake_message_size=4096)
