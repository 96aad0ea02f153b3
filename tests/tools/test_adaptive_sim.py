"""The adaptive-negotiation simulator: servers answer as RFC 8446 servers do, and on a small
population adaptive beats the static share without leaving the policy."""

from __future__ import annotations

import random

from nautilus_tls.adaptive.client import group_facts
from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.tools.adaptive_sim import (
    Draws,
    SimServer,
    handshake,
    oracle_shares,
    server_answer,
    simulate,
    summary,
)
from nautilus_tls.wire.enums import NamedGroup as G

FACTS = group_facts(DEFAULT_PROVIDER)
CONFIG = ClientConfig(session_store=None)
NO_LOSS = Draws((1.0,) * 8, 1.0)


def test_server_answers_with_a_share_or_asks_by_hrr() -> None:
    classical = SimServer("c", (G.x25519, G.secp256r1))
    offered = CONFIG.groups
    assert server_answer(classical, offered, (G.X25519MLKEM768,), FACTS) == (G.x25519, G.x25519)
    assert server_answer(classical, offered, (G.X25519MLKEM768, G.x25519), FACTS) == (
        None,
        G.x25519,
    )
    pq = SimServer("p", (G.X25519MLKEM768, G.x25519))
    # prefer_pq: a classical share does not stop it asking for the hybrid.
    assert server_answer(pq, offered, (G.x25519,), FACTS) == (G.X25519MLKEM768, G.X25519MLKEM768)
    assert server_answer(SimServer("n", (G.secp384r1,)), (G.x25519,), (G.x25519,), FACTS) == (
        None,
        None,
    )


def test_an_hrr_costs_a_round_trip_and_loss_costs_a_timeout() -> None:
    server = SimServer("c", (G.secp256r1,), rtt=0.05)
    miss = handshake(server, CONFIG.groups, (G.X25519MLKEM768,), FACTS, NO_LOSS)
    hit = handshake(server, CONFIG.groups, (G.X25519MLKEM768, G.secp256r1), FACTS, NO_LOSS)
    assert miss.hrr and not hit.hrr
    assert miss.time - hit.time > 0.045
    lossy = SimServer("c", (G.secp256r1,), rtt=0.05, loss=0.5)
    lost = handshake(lossy, CONFIG.groups, hit.shares, FACTS, Draws((0.0,) * 8, 1.0))
    assert lost.time - hit.time >= 0.2


def test_the_oracle_avoids_hrr_within_the_pq_floor() -> None:
    server = SimServer("c", (G.x25519,))
    shares = oracle_shares(server, CONFIG.groups, CONFIG.key_share_groups, FACTS)
    assert G.x25519 in shares and any(FACTS.post_quantum(g) for g in shares)


def test_adaptive_beats_static_and_stays_in_the_policy() -> None:
    traces = simulate(
        servers=25,
        connections=8,
        allowed=CONFIG.groups,
        policy_shares=CONFIG.key_share_groups,
        facts=FACTS,
        seed=random.Random(3).randrange(1000),
    )
    static, adaptive = summary(traces["static"]), summary(traces["adaptive"])
    assert adaptive["hrr_rate"] < static["hrr_rate"]
    assert adaptive["regret_ms"] < static["regret_ms"]
    assert summary(traces["oracle"])["regret_ms"] == 0
    for trace in traces.values():
        assert trace.outside_policy == 0 and trace.below_floor == 0
        assert all(set(r.shares) <= set(CONFIG.groups) for r in trace.results)
