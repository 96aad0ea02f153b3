"""PAKE alone: a server with no certificate, authenticated by the password login
(``ServerConfig(pake_store=...)``, ``ClientConfig(pake=PakeClient(...))``, docs/pake.md).

The client accepts a server that leaves Certificate and CertificateVerify out only when its own
PAKE plug-in verified the server's PAKE proof; every other case ends with an alert."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import ADAPTERS
from pairs import client_config, pump, server_config
from pake.helpers import KSF, PASSWORD

from nautilus_tls import ClientConfig, PakeClient, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import (
    AlertDescription,
    ConfigError,
    LocalProtocolError,
    ProtocolError,
    TLSError,
)
from nautilus_tls.events import SessionTicketReceived
from nautilus_tls.pake.ratelimit import FailedLoginLimiter
from nautilus_tls.pake.server import PakeServer, register
from nautilus_tls.pake.store_sqlite import SQLiteRecordStore
from nautilus_tls.pake.tls import PakeServerHook
from nautilus_tls.proofs import peer_verified
from nautilus_tls.wire.enums import HandshakeType

METHODS = ["opaque", "spake2plus"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteRecordStore]:
    s = SQLiteRecordStore(tmp_path / "users.db")
    for method in METHODS:
        register(s, "alice", PASSWORD, method=method, ksf=KSF)  # type: ignore[arg-type]
    yield s
    s.close()


def _pake_server(store: SQLiteRecordStore) -> PakeServer:
    return PakeServer(store, limiter=FailedLoginLimiter(store), default_ksf=KSF)


def _server(store: SQLiteRecordStore, **kw: object) -> ServerConfig:
    return ServerConfig(pake_store=_pake_server(store), **kw)  # type: ignore[arg-type]


def _client(method: str, password: bytes = PASSWORD, **kw: object) -> ClientConfig:
    pake = PakeClient("alice", password, method=method, ksf=KSF)  # type: ignore[arg-type]
    return ClientConfig(pake=pake, **kw)  # type: ignore[arg-type]


def _fails_with(
    alert: AlertDescription, client: ClientConnection, server: ServerConnection
) -> None:
    with pytest.raises(ProtocolError) as info:
        client.start()
        pump(client, server)
    assert info.value.alert == alert
    assert not client.handshake_complete


def _events(conn: ClientConnection) -> list[object]:
    out: list[object] = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


def _handshake_types(trace: list[tuple[str, bytes]]) -> list[int]:
    return [data[0] for _, data in trace]


@pytest.mark.parametrize("method", METHODS)
def test_a_server_without_a_certificate_logs_the_client_in_and_data_flows(
    store: SQLiteRecordStore, method: str
) -> None:
    seen: list[tuple[str, bytes]] = []
    client_cfg = _client(method, handshake_trace=lambda way, data: seen.append((way, data)))
    client = ClientConnection(client_cfg, "localhost")
    server = ServerConnection(_server(store))
    client.start()
    pump(client, server)
    client.send_data(b"ping")
    server.send_data(b"pong")
    pump(client, server)
    assert client.info is not None and server.info is not None
    assert client.info.auth == server.info.auth == method
    assert client.info.group == "X25519MLKEM768"  # the PAKE key joins the hybrid secret
    assert client.info.peer_certificates == () and client.info.signature_scheme is None
    received = _handshake_types([(w, d) for w, d in seen if w == "received"])
    assert HandshakeType.certificate not in received
    assert HandshakeType.certificate_verify not in received
    assert store.failures("alice", 0, 1e12) == 0


def test_one_client_config_logs_in_on_every_connection(store: SQLiteRecordStore) -> None:
    # ClientConfig(pake=...) makes a fresh login per connection (a PakeClientHook is one).
    client_cfg, server_cfg = _client("opaque"), _server(store)
    for _ in range(2):
        client = ClientConnection(client_cfg, "localhost")
        server = ServerConnection(server_cfg)
        client.start()
        pump(client, server)
        assert client.info is not None and client.info.auth == "opaque"


def test_a_pake_only_server_sends_no_tickets(store: SQLiteRecordStore) -> None:
    # A verifying client could not re-check a server it knows by no certificate.
    client = ClientConnection(_client("opaque"), "localhost")
    server = ServerConnection(_server(store))
    client.start()
    pump(client, server)
    client.send_data(b"x")
    pump(client, server)
    assert not any(isinstance(e, SessionTicketReceived) for e in _events(client))


@pytest.mark.parametrize("method", METHODS)
def test_a_wrong_password_gets_decrypt_error_and_no_data(
    store: SQLiteRecordStore, method: str
) -> None:
    client = ClientConnection(_client(method, b"wrong"), "localhost")
    server = ServerConnection(_server(store))
    _fails_with(AlertDescription.decrypt_error, client, server)
    assert not server.handshake_complete
    with pytest.raises(TLSError):  # closed: no application data
        client.send_data(b"secret")


def test_a_client_without_a_login_is_refused_by_a_pake_only_server(
    store: SQLiteRecordStore,
) -> None:
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(_server(store))
    _fails_with(AlertDescription.missing_extension, client, server)


class _ClaimsToAuthenticate:
    """A hostile server plug-in: says it authenticates the server, though the client offered
    nothing that could verify it."""

    ext_type = 0xFFA7
    messages = frozenset({HandshakeType.client_hello, HandshakeType.server_hello})
    replaces_server_certificate = True

    def offer(self, message: int, peer: object | None) -> bytes | None:
        return None

    def receive(self, message: int, data: bytes | None) -> object:
        return self

    def authenticates_server(self) -> bool:
        return True


def test_a_server_that_leaves_its_certificate_out_without_a_pake_is_refused() -> None:
    # The client has no PAKE proof: a Finished where the Certificate belongs is
    # unexpected_message, never a session with an unauthenticated server.
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(ServerConfig(extension_hooks=(_ClaimsToAuthenticate(),)))
    _fails_with(AlertDescription.unexpected_message, client, server)


class _ForgedProof:
    ext_type = 0xFFA8
    messages = frozenset({HandshakeType.client_hello, HandshakeType.server_hello})

    def offer(self, message: int, peer: object | None) -> bytes | None:
        return b"x" if message == HandshakeType.client_hello else None

    def receive(self, message: int, data: bytes | None) -> object:
        return self

    def server_verified(self) -> object:
        # A certificate-style proof is not a key-exchange proof: it cannot replace the
        # server's Certificate and CertificateVerify.
        return peer_verified(spki=b"", identity="forged")


def test_a_plug_in_proof_must_be_a_key_exchange_proof(store: SQLiteRecordStore) -> None:
    client = ClientConnection(client_config(extension_hooks=(_ForgedProof(),)), "localhost")
    server = ServerConnection(server_config())
    client.start()
    with pytest.raises(LocalProtocolError):
        pump(client, server)
    assert not client.handshake_complete


@pytest.mark.parametrize("method", METHODS)
def test_pake_plus_certificate_still_verifies_the_certificate(
    store: SQLiteRecordStore, method: str
) -> None:
    # The server has a certificate and a PAKE: it sends both; a client that does not trust
    # the certificate refuses even though the password login verified.
    server_cfg = server_config(pake_store=_pake_server(store))
    trusting = ClientConnection(client_config(pake=_client(method).pake), "localhost")
    server = ServerConnection(server_cfg)
    trusting.start()
    pump(trusting, server)
    assert trusting.info is not None and trusting.info.auth == method
    assert trusting.info.peer_certificates  # the chain was sent and verified
    stranger = ClientConnection(_client(method), "localhost")  # system roots only
    _fails_with(AlertDescription.unknown_ca, stranger, ServerConnection(server_cfg))


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_pake_alone_over_real_sockets(store: SQLiteRecordStore, adapter: str) -> None:
    client_info, server_info = ADAPTERS[adapter](_client("spake2plus"), _server(store))
    assert client_info.auth == server_info.auth == "spake2plus"
    assert client_info.peer_certificates == ()


def test_config_refuses_a_server_that_could_not_authenticate_every_client(
    store: SQLiteRecordStore,
) -> None:
    with pytest.raises(ConfigError, match="certificate"):
        ServerConfig()
    with pytest.raises(ConfigError, match="certificate"):
        # pake_optional lets clients without a login in: they would need a certificate.
        ServerConfig(pake_store=_pake_server(store), pake_optional=True)
    with pytest.raises(ConfigError, match="pake_store"):
        server_config(pake_optional=True)
    with pytest.raises(ConfigError, match="PakeStore"):
        ServerConfig(pake_store="users.db")  # type: ignore[arg-type]


def test_replacing_a_config_keeps_one_pake_plug_in(store: SQLiteRecordStore) -> None:
    cfg = dataclasses.replace(_server(store), max_early_data=0)
    assert sum(isinstance(h, PakeServerHook) for h in cfg.extension_hooks) == 1
    plain = dataclasses.replace(cfg, pake_store=None, certificates=server_config().certificates)
    assert not any(isinstance(h, PakeServerHook) for h in plain.extension_hooks)


def test_pake_client_checks_its_values_and_hides_the_password() -> None:
    pake = PakeClient("alice", "sekrit-password")
    assert pake.password == b"sekrit-password"
    assert "sekrit" not in repr(pake) and "sekrit" not in repr(ClientConfig(pake=pake))
    for bad in (
        lambda: PakeClient("alice", b""),
        lambda: PakeClient("alice", b"pw", method="srp"),  # type: ignore[arg-type]
        lambda: PakeClient("", b"pw"),
        lambda: PakeClient("a\nb", b"pw"),
        lambda: PakeClient("x" * 300, b"pw"),
        lambda: PakeClient(b"alice", b"pw"),  # type: ignore[arg-type]
        lambda: ClientConfig(pake="alice:pw"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ConfigError):
            bad()


def test_a_client_that_requires_a_certificate_refuses_pake_alone(store: SQLiteRecordStore) -> None:
    # PakeClient(require_certificate=True): PAKE plus certificate or nothing.
    pake = PakeClient("alice", PASSWORD, method="opaque", ksf=KSF, require_certificate=True)
    client = ClientConnection(ClientConfig(pake=pake), "localhost")
    with pytest.raises(ProtocolError) as err:
        client.start()
        pump(client, ServerConnection(_server(store)))
    assert err.value.alert == AlertDescription.unexpected_message
    assert "sent no Certificate" in str(err.value)
    # ... and takes PAKE plus a certificate it trusts.
    both = ClientConnection(client_config(pake=pake), "localhost")
    server = ServerConnection(server_config(pake_store=_pake_server(store)))
    both.start()
    pump(both, server)
    assert both.info is not None and both.info.auth == "opaque" and both.info.peer_certificates


def test_an_explicit_verifier_or_transparency_requirement_needs_a_certificate(
    store: SQLiteRecordStore,
) -> None:
    # A DID pin or a transparency requirement asks for evidence only a certificate carries:
    # the password login does not stand in for it.
    from nautilus_tls.auth.x509 import InsecureSkipVerifier
    from nautilus_tls.ledger.sth import LogKey
    from nautilus_tls.ledger.transparency import RequireTransparency

    pake = PakeClient("alice", PASSWORD, method="spake2plus", ksf=KSF)
    for cfg in (
        ClientConfig(pake=pake, verifier=InsecureSkipVerifier()),
        ClientConfig(
            pake=pake, require_transparency=RequireTransparency([LogKey.generate().public])
        ),
    ):
        assert cfg.requires_server_certificate
        _fails_with(
            AlertDescription.unexpected_message,
            ClientConnection(cfg, "localhost"),
            ServerConnection(_server(store)),
        )
    assert not ClientConfig(pake=pake).requires_server_certificate
