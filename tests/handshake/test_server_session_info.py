"""What the server's SessionInfo says it presented (server.py ``_presented_certificate``):
the certificate chosen by SNI, none on resumption."""

from __future__ import annotations

from certificates import pki
from pairs import pump

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.session.client_store import MemorySessionStore


def test_the_server_reports_the_certificate_it_presented_and_none_when_resumed() -> None:
    p = pki("ecdsa-p256")
    store = MemorySessionStore()
    server_cfg, client_cfg = p.server_config(), p.client_config(session_store=store)
    seen = []
    for _ in range(2):
        client, server = ClientConnection(client_cfg, "localhost"), ServerConnection(server_cfg)
        client.start()
        pump(client, server)
        client.send_data(b"x")  # the tickets come after the handshake
        pump(client, server)
        assert server.info is not None and client.info is not None
        seen.append((server.info.resumed, server.info.local_certificate))
        assert client.info.local_certificate is None  # the client side does not fill it
    assert seen == [(False, p.server.chain[0]), (True, None)]
