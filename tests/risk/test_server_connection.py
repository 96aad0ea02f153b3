"""ServerConnection with a risk engine: it runs at the address's level and reports back."""

from __future__ import annotations

import time

import pytest
from pairs import client_config, pump, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, LocalProtocolError, ProtocolError
from nautilus_tls.risk import Level, RiskEngine, Signal
from nautilus_tls.wire.enums import NamedGroup

ATTACKER = "192.0.2.66"


def burst(engine: RiskEngine, address: str = ATTACKER, n: int = 20) -> None:
    for _ in range(n):
        engine.record(address, Signal.FAILED_HANDSHAKE)


def connect(
    server_cfg: object, address: str | None, **client_kw: object
) -> tuple[ClientConnection, ServerConnection, ProtocolError | None]:
    client = ClientConnection(client_config(**client_kw), "localhost")
    server = ServerConnection(server_cfg, peer_address=address)  # type: ignore[arg-type]
    client.start()
    try:
        pump(client, server)
    except ProtocolError as exc:
        return client, server, exc
    return client, server, None


def test_an_address_held_high_refuses_classical_and_names_the_reason() -> None:
    engine = RiskEngine()
    cfg = server_config(risk=engine)
    burst(engine)
    _, server, error = connect(cfg, ATTACKER, groups=(NamedGroup.x25519,))
    assert error is not None
    assert server.error is not None and server.error.alert == AlertDescription.insufficient_security
    message = str(server.error)
    assert "hybrid+risk:high" in message
    assert f"risk level high: 20 failed handshakes from {ATTACKER} within 60 s" in message
    # A refusal the floor caused is not held against the client.
    assert engine.assess(ATTACKER).reason.startswith("20 failed handshakes")


def test_a_hybrid_client_from_the_same_address_connects_and_sees_why() -> None:
    engine = RiskEngine()
    cfg = server_config(risk=engine)
    burst(engine)
    client, server, error = connect(cfg, ATTACKER)
    assert error is None and client.info is not None and server.info is not None
    assert server.info.risk_level == "high"
    assert server.info.risk_reason is not None and "20 failed handshakes" in server.info.risk_reason
    assert server.info.as_dict()["risk_level"] == "high"
    assert client.info.risk_level is None  # the client has no engine


def test_other_addresses_keep_the_configured_policy() -> None:
    engine = RiskEngine()
    cfg = server_config(risk=engine)
    burst(engine)
    _client, server, error = connect(cfg, "198.51.100.1", groups=(NamedGroup.x25519,))
    assert error is None and server.info is not None
    assert server.info.group == "x25519" and server.info.risk_level == "baseline"


def test_garbage_client_hellos_are_protocol_violations_of_their_address() -> None:
    engine = RiskEngine()
    cfg = server_config(risk=engine)
    for _ in range(10):
        server = ServerConnection(cfg, peer_address=ATTACKER)
        with pytest.raises(ProtocolError):
            server.receive_data(b"\x16\x03\x01\x00\x05garbage-not-a-client-hello")
    assert engine.level_of(ATTACKER) == Level.HIGH
    assert "10 protocol violations" in engine.assess(ATTACKER).reason


def test_a_classical_handshake_after_a_post_quantum_one_is_a_downgrade() -> None:
    engine = RiskEngine()
    cfg = server_config(risk=engine)
    assert connect(cfg, ATTACKER)[2] is None
    assert connect(cfg, ATTACKER, groups=(NamedGroup.x25519,))[2] is None
    assert engine.level_of(ATTACKER) == Level.ELEVATED
    # ...and from then on a classical-only client from there is refused.
    assert connect(cfg, ATTACKER, groups=(NamedGroup.x25519,))[2] is not None


def test_set_peer_address_reassesses_until_the_first_byte() -> None:
    engine = RiskEngine()
    cfg = server_config(risk=engine)
    burst(engine)
    client = ClientConnection(client_config(groups=(NamedGroup.x25519,)), "localhost")
    server = ServerConnection(cfg)
    server.set_peer_address(ATTACKER)
    assert server.peer_address == ATTACKER
    client.start()
    with pytest.raises(ProtocolError):
        pump(client, server)
    assert server.error is not None
    assert server.error.alert == AlertDescription.insufficient_security

    late = ServerConnection(cfg)
    other = ClientConnection(client_config(), "localhost")
    other.start()
    late.receive_data(other.data_to_send()[:10])  # part of a ClientHello arrived already
    with pytest.raises(LocalProtocolError):
        late.set_peer_address(ATTACKER)


def test_a_held_address_gets_more_frequent_key_updates() -> None:
    now = [time.time()]
    engine = RiskEngine()
    cfg = server_config(risk=engine)
    burst(engine)
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(cfg, peer_address=ATTACKER, clock=lambda: now[0])
    client.start()
    pump(client, server)
    server.send_data(b"first")
    now[0] += 61  # the high floor rotates at least every 60 s
    server.send_data(b"second")
    pump(client, server)
    assert server.key_updates_sent == 1 and client.key_updates_received == 1
    calm = ServerConnection(cfg, peer_address="198.51.100.1", clock=lambda: now[0])
    other = ClientConnection(client_config(), "localhost")
    other.start()
    pump(other, calm)
    calm.send_data(b"first")
    now[0] += 3600
    calm.send_data(b"second")
    assert calm.key_updates_sent == 0  # the configured policy: no rotation by time
