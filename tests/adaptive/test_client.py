"""Adaptive negotiation in real (in-memory) handshakes: HRRs learned away, decisions
explained, downgrades reported and, under strict mode, refused."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest
from pairs import client_config, handshake, server_config

from nautilus_tls.adaptive.client import AdaptiveNegotiation, server_key
from nautilus_tls.errors import AlertDescription, PeerIncompatible
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import NamedGroup as G


def _connect(adaptive: AdaptiveNegotiation, **server: object) -> SessionInfo:
    client, _ = handshake(client_config(adaptive=adaptive), server_config(**server))
    assert client.info is not None, client.error
    return client.info


def test_the_second_connection_avoids_the_hello_retry_of_the_first(tmp_path: Path) -> None:
    state = tmp_path / "adaptive.json"
    first = _connect(AdaptiveNegotiation(state, rng=random.Random(1)), groups=(G.secp256r1,))
    assert first.hello_retry
    assert first.negotiation is not None
    assert first.negotiation.key_shares == ("X25519MLKEM768",)
    assert "first connection" in first.negotiation.reason
    # A new process: only the file carries what was learned.
    second = _connect(AdaptiveNegotiation(state, rng=random.Random(2)), groups=(G.secp256r1,))
    assert not second.hello_retry
    assert second.group == "secp256r1"
    assert second.negotiation is not None
    shares = second.negotiation.key_shares
    assert "secp256r1" in shares and len(shares) == 2
    assert any("MLKEM" in s for s in shares), "the hybrid policy's PQ share is never dropped"
    assert "secp256r1" in second.negotiation.reason


def test_adaptive_off_keeps_the_policys_shares_and_no_negotiation() -> None:
    client, _ = handshake(client_config(), server_config(groups=(G.secp256r1,)))
    assert client.info is not None
    assert client.info.hello_retry and client.info.negotiation is None


def test_a_server_that_takes_the_first_choice_keeps_getting_one_share() -> None:
    adaptive = AdaptiveNegotiation(rng=random.Random(3))
    infos = [_connect(adaptive) for _ in range(6)]
    assert not any(i.hello_retry for i in infos)
    assert all(i.group == "X25519MLKEM768" for i in infos)
    assert all(i.negotiation and "X25519MLKEM768" in i.negotiation.key_shares for i in infos)


def test_records_what_the_server_did(tmp_path: Path) -> None:
    adaptive = AdaptiveNegotiation(tmp_path / "s.json", rng=random.Random(4))
    _connect(adaptive, groups=(G.secp256r1,))
    record = adaptive.state.get("localhost")
    assert record is not None
    assert record.connections == 1 and record.hello_retries == 1
    assert record.hrr_requested == {G.secp256r1: 1}
    assert record.selected == {G.secp256r1: 1}
    assert record.last_suite is not None and not record.last_resumed
    assert record.rtt is not None and record.rtt >= 0
    assert not record.post_quantum_seen


def test_reports_a_downgrade_from_post_quantum(caplog: pytest.LogCaptureFixture) -> None:
    adaptive = AdaptiveNegotiation(rng=random.Random(5))
    assert _connect(adaptive).group == "X25519MLKEM768"
    with caplog.at_level(logging.WARNING, logger="nautilus_tls.adaptive"):
        info = _connect(adaptive, groups=(G.x25519,))
    assert info.group == "x25519"
    assert info.negotiation is not None
    assert len(info.negotiation.warnings) == 1
    assert "downgrade" in info.negotiation.warnings[0]
    assert "downgrade" in caplog.text


def test_strict_mode_refuses_a_downgrade_with_insufficient_security() -> None:
    adaptive = AdaptiveNegotiation(strict=True, rng=random.Random(6))
    assert _connect(adaptive).group == "X25519MLKEM768"
    with pytest.raises(PeerIncompatible, match="downgrade") as refused:
        handshake(client_config(adaptive=adaptive), server_config(groups=(G.x25519,)))
    assert refused.value.alert == AlertDescription.insufficient_security
    # The refused handshake taught nothing: the server is still remembered as post-quantum.
    record = adaptive.state.get("localhost")
    assert record is not None and record.post_quantum_seen and record.connections == 1


def test_a_classical_only_offer_taken_is_not_called_a_downgrade() -> None:
    # compat policy: x25519 share only; the server (which did PQ before) simply takes it.
    adaptive = AdaptiveNegotiation(rng=random.Random(7))
    client, _ = handshake(
        client_config(adaptive=adaptive, policy="compat"), server_config(preference="client")
    )
    assert client.info is not None and client.info.group == "x25519"
    assert client.info.negotiation is not None and not client.info.negotiation.warnings


def test_server_key_is_host_and_port_without_alpn() -> None:
    assert server_key("example.com:443#h2,http%2F1.1") == "example.com:443"
    assert server_key(None) == ""


def test_resumed_handshakes_are_learned_too() -> None:
    adaptive = AdaptiveNegotiation(rng=random.Random(8))
    config = client_config(adaptive=adaptive)
    server = server_config()
    first, _ = handshake(config, server)
    assert first.info is not None and not first.info.resumed
    second, _ = handshake(config, server)
    assert second.info is not None and second.info.resumed
    assert second.info.negotiation is not None
    record = adaptive.state.get("localhost")
    assert record is not None and record.connections == 2 and record.last_resumed
