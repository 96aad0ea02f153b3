"""Whatever bytes arrive, the connection raises only the library's own errors (and ends
with an alert); it never hangs or raises a foreign exception. Inputs are real flights with
random mutations, plus plain random bytes."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pairs import client_config, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import TLSError
from nautilus_tls.wire.enums import NamedGroup

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def flights() -> tuple[bytes, bytes]:
    """A real ClientHello record and the server's first flight in answer to it."""
    cfg = client_config(groups=(NamedGroup.x25519,), key_share_groups=(NamedGroup.x25519,))
    client = ClientConnection(cfg, "localhost")
    client.start()
    hello = client.data_to_send()
    server = ServerConnection(server_config())
    server.receive_data(hello)
    return hello, server.data_to_send()


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf)


def _feed(conn: ClientConnection | ServerConnection, data: bytes, chunk: int) -> None:
    try:
        for i in range(0, len(data), chunk):
            conn.receive_data(data[i : i + chunk])
    except TLSError:
        # A failed connection stays failed and has queued its alert (unless it got one).
        assert conn.state == "failed"
        assert conn.error is not None


edits = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8)


@SETTINGS
@given(edits=edits, chunk=st.integers(1, 4096))
def test_server_survives_mutated_client_hello(edits: list[tuple[int, int]], chunk: int) -> None:
    hello, _ = flights()
    _feed(
        ServerConnection(server_config(groups=(NamedGroup.x25519,))), _mutate(hello, edits), chunk
    )


@SETTINGS
@given(edits=edits, chunk=st.integers(1, 4096))
def test_client_survives_mutated_server_flight(edits: list[tuple[int, int]], chunk: int) -> None:
    _, flight = flights()
    cfg = client_config(groups=(NamedGroup.x25519,), key_share_groups=(NamedGroup.x25519,))
    client = ClientConnection(cfg, "localhost")
    client.start()
    client.data_to_send()
    # The flight answers another ClientHello, so even unmutated it fails later (wrong keys);
    # the mutations exercise the ServerHello and record parsing on the way.
    _feed(client, _mutate(flight, edits), chunk)


@SETTINGS
@given(data=st.binary(min_size=1, max_size=2048))
def test_server_survives_random_bytes(data: bytes) -> None:
    _feed(ServerConnection(server_config()), data, 512)


@SETTINGS
@given(data=st.binary(min_size=1, max_size=2048))
def test_client_survives_random_bytes(data: bytes) -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    _feed(client, data, 512)
