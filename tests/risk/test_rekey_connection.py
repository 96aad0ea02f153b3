"""Key rotation by policy (config.rekey_*) over the sans-I/O pair and over asyncio."""

from __future__ import annotations

import asyncio
import time

import pytest
from pairs import client_config, drain, handshake, pump, server_config

from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import ConfigError
from nautilus_tls.events import DataReceived, KeyUpdated


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def received(conn: ServerConnection | ClientConnection) -> bytes:
    return b"".join(e.data for e in drain(conn) if isinstance(e, DataReceived))


def test_defaults_send_no_key_update_however_much_is_sent() -> None:
    client, server = handshake(client_config(), server_config())
    for _ in range(50):
        client.send_data(b"x" * 1000)
    pump(client, server)
    assert client.key_updates_sent == 0
    assert server.key_updates_received == 0


def test_rekey_records_rotates_after_that_many_records_and_the_peer_follows() -> None:
    client, server = handshake(client_config(rekey_records=3), server_config())
    drain(server)
    for i in range(10):
        client.send_data(b"record %d|" % i)
    pump(client, server)
    # Records 0-2 under key 0, 3-5 under key 1, 6-8 under key 2, 9 under key 3.
    assert client.key_updates_sent == 3
    assert server.key_updates_received == 3
    assert received(server) == b"".join(b"record %d|" % i for i in range(10))
    assert client.info is not None and client.info.key_updates_sent == 3
    assert server.info is not None and server.info.key_updates_received == 3
    assert server.info.as_dict()["key_updates"] == {"sent": 0, "received": 3}


def test_rekey_bytes_counts_plaintext_across_records() -> None:
    client, server = handshake(client_config(), server_config(rekey_bytes=40_000))
    drain(client)
    server.send_data(b"y" * 100_000)  # 7 records of at most 16 KiB
    pump(client, server)
    # Six records of 16 KiB and one of 1696 bytes; 3 * 16384 >= 40000, so a new key before
    # the 4th record and again before the 7th.
    assert server.key_updates_sent == 2
    assert client.key_updates_received == 2
    assert len(received(client)) == 100_000


def test_rekey_seconds_uses_the_injected_clock() -> None:
    clock = FakeClock()
    cfg = client_config(rekey_seconds=30)
    client = ClientConnection(cfg, "localhost", clock=clock)
    server = ServerConnection(server_config())
    client.start()
    pump(client, server)
    client.send_data(b"first")
    clock.now += 29
    client.send_data(b"second")
    assert client.key_updates_sent == 0
    clock.now += 1
    client.send_data(b"third")
    assert client.key_updates_sent == 1
    clock.now += 29
    client.send_data(b"fourth")  # the new key's clock started at the rotation
    pump(client, server)
    assert client.key_updates_sent == 1
    assert received(server) == b"firstsecondthirdfourth"


def test_rekey_request_peer_makes_the_peer_rotate_its_keys_too() -> None:
    client, server = handshake(
        client_config(rekey_records=1, rekey_request_peer=True), server_config()
    )
    drain(client)
    client.send_data(b"a")
    client.send_data(b"b")
    pump(client, server)
    assert client.key_updates_sent == 1
    updates = [e for e in drain(server) if isinstance(e, KeyUpdated)]
    assert [(u.direction, u.requested_by_peer) for u in updates] == [
        ("receive", False),
        ("send", True),
    ]
    assert client.key_updates_received == 1
    server.send_data(b"under the server's new key")
    pump(client, server)
    assert received(client) == b"under the server's new key"


def test_an_answered_request_does_not_bounce_back() -> None:
    # Both sides ask the peer to update on every rotation: the answers say
    # update_not_requested, so one rotation costs one KeyUpdate each way, not a loop.
    client, server = handshake(
        client_config(rekey_records=1, rekey_request_peer=True),
        server_config(rekey_records=1, rekey_request_peer=True),
    )
    client.send_data(b"a")
    client.send_data(b"b")
    pump(client, server)
    assert (client.key_updates_sent, server.key_updates_sent) == (1, 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [("rekey_bytes", 0), ("rekey_records", -1), ("rekey_seconds", 0.0), ("rekey_records", True)],
)
def test_rejects_a_non_positive_rekey_limit(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        client_config(**{field: value})
    with pytest.raises(ConfigError, match=field):
        server_config(**{field: value})


def test_asyncio_both_sides_rotate_by_policy_and_report_it() -> None:
    server_cfg: ServerConfig = server_config(rekey_records=2)
    client_cfg: ClientConfig = client_config(rekey_bytes=5000)
    server_counts: list[dict[str, int]] = []

    async def echo(reader: TLSReader, writer: TLSWriter) -> None:
        # The client waits for each echo, so each read is one 1000-byte record.
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        server_counts.append(writer.get_extra_info("key_updates"))

    async def main() -> dict[str, int]:
        server = await start_server(echo, "127.0.0.1", 0, config=server_cfg)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await connect(
                "127.0.0.1", port, config=client_cfg, server_name="localhost"
            )
            for i in range(12):
                writer.write(bytes([i]) * 1000)
                await writer.drain()
                assert await reader.readexactly(1000) == bytes([i]) * 1000
            counts: dict[str, int] = writer.get_extra_info("key_updates")
            assert writer.info.key_updates_sent == counts["sent"]
            writer.close()
            await writer.wait_closed()
            return counts
        finally:
            server.close()
            await server.wait_closed()

    counts = asyncio.run(asyncio.wait_for(main(), 20))
    # Client: 1000-byte records, a new key once 5000 bytes went out: before records 6 and 11.
    # Server: a new key every 2 records: before records 3, 5, 7, 9 and 11.
    assert counts == {"sent": 2, "received": 5}
    assert server_counts == [{"sent": 5, "received": 2}]
