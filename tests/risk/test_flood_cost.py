"""Issue 21 item 6: a flood of garbage ClientHellos must not cost a risk-adaptive server more
than the handshakes it replaces, and the engine's memory stays bounded under it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from pairs import client_config, pump, server_config

from nautilus_tls.config import ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import ProtocolError
from nautilus_tls.risk import Level, RiskEngine, RiskSettings

GARBAGE = b"\x16\x03\x01\x00\x08not-a-hello"


def per_call(action: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        action()
    return (time.perf_counter() - start) / n


def garbage_from(cfg: ServerConfig, address: str) -> None:
    # As the asyncio server does it: the connection is made first, the address named after.
    server = ServerConnection(cfg)
    server.set_peer_address(address)
    with contextlib.suppress(ProtocolError):
        server.receive_data(GARBAGE)


def full_handshake(cfg: ServerConfig) -> None:
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(cfg, peer_address="192.0.2.1")
    client.start()
    pump(client, server)


def test_garbage_hellos_cost_far_less_than_handshakes_with_the_engine_on() -> None:
    engine = RiskEngine()
    with_risk = server_config(risk=engine)
    without = server_config()
    garbage_on = garbage_off = handshake = float("inf")
    for _ in range(5):  # interleaved, so load on a shared machine hits each alike
        garbage_on = min(garbage_on, per_call(lambda: garbage_from(with_risk, "203.0.113.9"), 100))
        garbage_off = min(garbage_off, per_call(lambda: garbage_from(without, "203.0.113.9"), 100))
        handshake = min(handshake, per_call(lambda: full_handshake(without), 2))
    assert engine.level_of("203.0.113.9") == Level.HIGH  # the flood was noticed...
    # ...for a small fraction of what the handshakes it replaces would have cost,
    assert garbage_on < handshake / 5
    # and for at most a few times a refusal without the engine (a second handshake object
    # for the re-assessment once the address is known, the engine's O(1) bookkeeping).
    assert garbage_on < garbage_off * 4


def test_a_flood_from_many_addresses_keeps_the_engine_bounded() -> None:
    engine = RiskEngine(RiskSettings(max_sources=500))
    cfg = server_config(risk=engine)
    for i in range(3000):
        garbage_from(cfg, f"10.0.{i // 256}.{i % 256}")
    assert engine.tracked_sources() == 500
    assert len(engine.history) <= engine.settings.max_history
