"""In-memory client/server pairs over the sans-I/O core, shared by the connection tests."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.events import Event
from nautilus_tls.tools.certgen import ca_alg_for, make_ca, make_leaf


@dataclass(frozen=True)
class Pki:
    ca_der: bytes
    server: CertifiedKey
    client: CertifiedKey

    @property
    def store(self) -> TrustStore:
        return TrustStore.from_certificates([self.ca_der])


@cache
def _ca(alg: str) -> tuple[bytes, object]:
    return make_ca(ca_alg_for(alg), f"Nautilus test CA {alg}")


def ca_key(alg: str) -> object:
    """The private key of ``pki(alg)``'s CA (to issue more leaves in tests)."""
    return _ca(alg)[1]


@cache
def pki(alg: str = "mldsa65") -> Pki:
    ca_der, ca_key = _ca(alg)
    s_der, s_key = make_leaf(ca_der, ca_key, alg, ["localhost", "127.0.0.1"])
    c_der, c_key = make_leaf(ca_der, ca_key, alg, ["client.test"], client=True)
    return Pki(
        ca_der=ca_der,
        server=CertifiedKey(chain=(s_der,), private_key=s_key),
        client=CertifiedKey(chain=(c_der,), private_key=c_key),
    )


def client_config(alg: str = "mldsa65", **kw: object) -> ClientConfig:
    return ClientConfig(trust_store=pki(alg).store, **kw)  # type: ignore[arg-type]


def server_config(alg: str = "mldsa65", **kw: object) -> ServerConfig:
    return ServerConfig(certificates=(pki(alg).server,), **kw)  # type: ignore[arg-type]


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
