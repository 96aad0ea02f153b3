"""The QUIC server consults the risk engine like the TCP server (issue 21 item 2): each
connection runs at the level assessed for the client's address (from the datagram that
started it), and a handshake that fails is reported to the engine as a signal. Real UDP on
loopback: every client here comes from 127.0.0.1."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from aioquic.asyncio.protocol import QuicConnectionProtocol
from certificates import unrelated_pki
from quic.quicpeers import (
    aioquic_server_config,
    echo_once,
    our_client,
    our_client_config,
    our_server_config,
    port_of,
    run,
    session_info_of,
    start_aioquic_echo,
    start_our_echo,
)

from nautilus_tls.config import ClientConfig
from nautilus_tls.errors import AlertDescription, PeerAlert, ProtocolError
from nautilus_tls.risk import Level, RiskEngine, RiskSettings, Signal
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import NamedGroup

ALG = "ecdsa-p256"
CLIENT = "127.0.0.1"
CLASSICAL = (NamedGroup.x25519,)


def _classical() -> ClientConfig:
    return our_client_config(ALG, groups=CLASSICAL, key_share_groups=CLASSICAL)


def _attempt(engine: RiskEngine, client_cfg: ClientConfig, **server_kw: Any) -> SessionInfo:
    """One echo over QUIC from ``client_cfg`` to a server with ``engine``; the server's info
    (what it negotiated, and at which risk level). A failed handshake raises the client's
    error."""
    accepted: list[QuicConnectionProtocol] = []

    async def main() -> None:
        server = await start_our_echo(
            our_server_config(ALG, risk=engine, **server_kw), accepted=accepted
        )
        try:
            async with our_client(port_of(server), client_cfg) as protocol:
                assert await echo_once(protocol, b"risk") == b"risk"
        finally:
            server.close()

    run(main())
    return session_info_of(accepted[0])


def test_a_held_address_refuses_a_classical_quic_client_and_logs_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = RiskEngine()
    for _ in range(20):
        engine.record(CLIENT, Signal.FAILED_HANDSHAKE)
    with (
        caplog.at_level(logging.WARNING, logger="nautilus_tls.risk"),
        pytest.raises(PeerAlert) as refused,
    ):
        _attempt(engine, _classical())
    assert refused.value.description == AlertDescription.insufficient_security
    lines = [r.getMessage() for r in caplog.records if r.name == "nautilus_tls.risk"]
    assert any(
        f"refused {CLIENT} at risk level high" in line and "20 failed handshakes" in line
        for line in lines
    ), lines
    # The refusal was the floor's doing: not held against the address.
    assert engine.assess(CLIENT).reason.startswith("20 failed handshakes")


def test_a_hybrid_quic_client_from_a_held_address_connects_at_the_raised_level() -> None:
    engine = RiskEngine()
    for _ in range(20):
        engine.record(CLIENT, Signal.FAILED_HANDSHAKE)
    info = _attempt(engine, our_client_config(ALG))
    assert info.group == "X25519MLKEM768"
    assert info.risk_level == "high"
    assert info.risk_reason is not None and "20 failed handshakes" in info.risk_reason


def test_a_quiet_address_keeps_the_configured_policy() -> None:
    info = _attempt(RiskEngine(), _classical())
    assert (info.group, info.risk_level) == ("x25519", "baseline")


def test_failed_quic_handshakes_raise_the_level_of_their_address() -> None:
    # (At elevated, this client would be refused by the floor, which is not counted.)
    engine = RiskEngine(RiskSettings(elevated_score=3, high_score=3))
    # Nothing in common: the server offers no group the client has (handshake_failure).
    nothing_in_common = our_client_config(
        ALG, groups=(NamedGroup.secp384r1,), key_share_groups=(NamedGroup.secp384r1,)
    )
    for _ in range(3):
        with pytest.raises(PeerAlert):
            _attempt(engine, nothing_in_common, groups=(NamedGroup.X25519MLKEM768,))
    assessment = engine.assess(CLIENT)
    assert assessment.level == Level.HIGH
    assert "3 failed handshakes" in assessment.reason
    # ... and the next classical client from there meets the raised floor.
    with pytest.raises(PeerAlert) as refused:
        _attempt(engine, _classical())
    assert refused.value.description == AlertDescription.insufficient_security


def test_a_client_refusing_our_certificate_counts_as_a_fatal_alert() -> None:
    engine = RiskEngine(RiskSettings(elevated_score=1, high_score=5))
    distrusting = dataclasses.replace(our_client_config(ALG), trust_store=unrelated_pki(ALG).store)
    with pytest.raises(ProtocolError) as refused:
        _attempt(engine, distrusting)
    assert refused.value.alert in (AlertDescription.unknown_ca, AlertDescription.bad_certificate)
    assessment = engine.assess(CLIENT)
    assert assessment.level == Level.ELEVATED
    assert "1 fatal alert" in assessment.reason


def test_a_client_without_a_common_alpn_is_reported_as_over_tcp() -> None:
    # The handshake engine refuses it with no_application_protocol (RFC 7301 §3.2) as a
    # RemoteProtocolError, over QUIC as over TCP: the engine hears of a protocol violation
    # by the client, not of an alert from it.
    engine = RiskEngine(RiskSettings(elevated_score=1, high_score=5))
    with pytest.raises(PeerAlert) as refused:
        _attempt(engine, our_client_config(ALG, alpn_protocols=(b"other",)))
    assert refused.value.description == AlertDescription.no_application_protocol
    assert engine.assess(CLIENT).reason.startswith("1 protocol violation from 127.0.0.1")


# --- the client's floor per server (issue 21 item 3) over QUIC ------------------------------


def test_a_client_under_a_high_threat_level_connects_post_quantum_and_says_so() -> None:
    async def main() -> SessionInfo:
        server = await start_our_echo(our_server_config(ALG))
        try:
            cfg = our_client_config(ALG, risk=RiskEngine(threat_level="high"))
            async with our_client(port_of(server), cfg) as protocol:
                return session_info_of(protocol)
        finally:
            server.close()

    info = run(main())
    assert info.group == "X25519MLKEM768"
    assert info.risk_level == "high"


def test_a_client_under_a_high_threat_level_refuses_a_classical_only_server() -> None:
    # Unmodified aioquic has no post-quantum group: at "high" the client offers nothing else.
    async def main() -> None:
        server = await start_aioquic_echo(aioquic_server_config(ALG))
        try:
            cfg = our_client_config(ALG, risk=RiskEngine(threat_level="high"))
            async with our_client(port_of(server), cfg):
                raise AssertionError("the handshake must not complete")
        finally:
            server.close()

    with pytest.raises(PeerAlert) as refused:
        run(main())
    assert refused.value.description == AlertDescription.handshake_failure
