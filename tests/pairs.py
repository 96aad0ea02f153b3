"""In-memory client/server pairs over the sans-I/O core, shared by the connection tests.

The certificates are the tests' one PKI (certificates.py).
"""

from __future__ import annotations

import pytest
from certificates import pki

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import ProtocolError
from nautilus_tls.events import Event


def client_config(alg: str = "mldsa65", **kw: object) -> ClientConfig:
    return pki(alg).client_config(**kw)


def server_config(alg: str = "mldsa65", **kw: object) -> ServerConfig:
    return pki(alg).server_config(**kw)


def pump(a: Connection, b: Connection, *, rounds: int = 20) -> None:
    """Move bytes both ways until neither side has anything to send (bounded)."""
    for _ in range(rounds):
        moved = False
        for src, dst in ((a, b), (b, a)):
            data = src.data_to_send()
            if data:
                moved = True
                dst.receive_data(data)
        if not moved:
            return
    raise AssertionError("pump did not settle")


def drain(conn: Connection) -> list[Event]:
    events = []
    while (e := conn.next_event()) is not None:
        events.append(e)
    return events


def handshake(
    client_cfg: ClientConfig, server_cfg: ServerConfig, server_name: str | None = "localhost"
) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(client_cfg, server_name)
    server = ServerConnection(server_cfg)
    client.start()
    pump(client, server)
    return client, server


def refusal(
    client_cfg: ClientConfig, server_cfg: ServerConfig, server_name: str | None = "localhost"
) -> ProtocolError:
    """The error that ends a handshake expected to fail; at least one side did not finish."""
    client = ClientConnection(client_cfg, server_name)
    server = ServerConnection(server_cfg)
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)
    assert client.info is None or server.info is None
    return err.value
