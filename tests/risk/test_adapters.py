"""The adapters name the client's address to the server's risk engine (asyncio, blocking)."""

from __future__ import annotations

import pytest
from loopback import ADAPTERS
from pairs import client_config, server_config

from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.risk import RiskEngine, Signal
from nautilus_tls.wire.enums import NamedGroup


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_an_address_held_high_gets_post_quantum_only_over_real_sockets(adapter: str) -> None:
    engine = RiskEngine()
    server_cfg = server_config(risk=engine)
    echo = ADAPTERS[adapter]
    # Before: a classical-only client from 127.0.0.1 is served at the baseline.
    _, server_info = echo(client_config(groups=(NamedGroup.x25519,)), server_cfg)
    assert server_info.group == "x25519" and server_info.risk_level == "baseline"
    for _ in range(20):
        engine.record("127.0.0.1", Signal.FAILED_HANDSHAKE)
    # After: refused...
    with pytest.raises(ProtocolError) as refused:
        echo(client_config(groups=(NamedGroup.x25519,)), server_cfg)
    assert refused.value.alert == AlertDescription.insufficient_security
    # ...while a hybrid client from the same address is served at high.
    _, server_info = echo(client_config(), server_cfg)
    assert server_info.risk_level == "high"
    assert "from 127.0.0.1" in (server_info.risk_reason or "")
