"""The Thompson-sampling chooser: within the policy, above the PQ floor, learning from HRRs."""

from __future__ import annotations

import random

import pytest

from nautilus_tls.adaptive.chooser import arms, choose, floor_groups
from nautilus_tls.adaptive.client import group_facts
from nautilus_tls.adaptive.learning import Outcome, learn
from nautilus_tls.adaptive.state import ServerRecord
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.policy import COMPAT, HYBRID, PQ_ONLY
from nautilus_tls.wire.enums import NamedGroup as G

FACTS = group_facts(DEFAULT_PROVIDER)
HYBRID_GROUPS = tuple(g for g in HYBRID.groups if DEFAULT_PROVIDER.group_info(g) is not None)


def _pq(g: int) -> bool:
    return FACTS.post_quantum(g)


def _record_of_a_server_that_wants(group: int, sent: tuple[int, ...], times: int) -> ServerRecord:
    """The record after ``times`` handshakes that sent ``sent`` and got an HRR to ``group``."""
    record = ServerRecord(key="s:1")
    for _ in range(times):
        outcome = Outcome(
            allowed=HYBRID_GROUPS,
            sent=sent,
            hrr_group=group,
            group=group,
            elapsed=0.012,
            rtt=0.002,
        )
        learn(record, outcome, FACTS)
    return record


def test_first_contact_sends_the_policys_key_shares() -> None:
    decision = choose(HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, None, random.Random(1))
    assert decision.groups == HYBRID.key_share_groups
    assert "first connection" in decision.reason


def test_after_an_hrr_sends_the_requested_group_and_keeps_the_hybrid_share() -> None:
    record = _record_of_a_server_that_wants(G.secp256r1, (G.X25519MLKEM768,), 1)
    for seed in range(50):
        decision = choose(
            HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, record, random.Random(seed)
        )
        assert G.secp256r1 in decision.groups
        assert any(_pq(g) for g in decision.groups), "the PQ floor of the hybrid policy"
        assert decision.predicted_hrr < 0.2
    assert "secp256r1" in decision.reason
    assert "HelloRetryRequest" in decision.reason


@pytest.mark.parametrize("policy", [HYBRID, PQ_ONLY, COMPAT])
def test_never_proposes_a_group_outside_the_policy(policy: object) -> None:
    allowed = tuple(
        g
        for g in policy.groups  # type: ignore[attr-defined]
        if (i := DEFAULT_PROVIDER.group_info(g)) is not None and i.available
    )
    shares = policy.key_share_groups  # type: ignore[attr-defined]
    # A server that (in a forged record) chose a group outside the policy: still not offered.
    record = _record_of_a_server_that_wants(0x0100, (allowed[0],), 3)  # ffdhe2048
    record.selected[G.x25519] = 3
    for seed in range(30):
        decision = choose(allowed, shares, FACTS, record, random.Random(seed))
        assert set(decision.groups) <= set(allowed)
        assert 1 <= len(decision.groups) <= 2


def test_pq_only_never_sends_a_classical_share() -> None:
    allowed = (G.X25519MLKEM768, G.SecP256r1MLKEM768, G.MLKEM768)
    candidates = arms(allowed, (G.X25519MLKEM768,), FACTS, None)
    assert candidates and all(all(_pq(g) for g in arm) for arm in candidates)


def test_compat_policy_may_send_classical_only_until_the_server_spoke_pq() -> None:
    allowed = tuple(COMPAT.groups)
    assert floor_groups(allowed, COMPAT.key_share_groups, FACTS, None) is None
    assert (G.x25519,) in arms(allowed, COMPAT.key_share_groups, FACTS, None)
    record = ServerRecord(key="s:1", post_quantum_seen=True)
    assert floor_groups(allowed, COMPAT.key_share_groups, FACTS, record)
    assert all(
        any(_pq(g) for g in a) for a in arms(allowed, COMPAT.key_share_groups, FACTS, record)
    )


def test_learns_to_send_one_share_when_the_server_takes_the_first_choice() -> None:
    record = ServerRecord(key="s:1")
    for _ in range(5):
        sent = (G.X25519MLKEM768,)
        outcome = Outcome(
            allowed=HYBRID_GROUPS, sent=sent, hrr_group=None, group=sent[0], elapsed=0.01, rtt=0.002
        )
        learn(record, outcome, FACTS)
    picks = [
        choose(HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, record, random.Random(s)).groups
        for s in range(40)
    ]
    # Mostly the single hybrid share (smallest ClientHello, no HRR); exploration is rare.
    assert picks.count((G.X25519MLKEM768,)) >= 30


def test_a_seeded_rng_makes_decisions_reproducible() -> None:
    record = _record_of_a_server_that_wants(G.x25519, (G.X25519MLKEM768,), 2)
    a = [choose(HYBRID_GROUPS, (), FACTS, record, random.Random(7)).groups for _ in range(3)]
    b = [choose(HYBRID_GROUPS, (), FACTS, record, random.Random(7)).groups for _ in range(3)]
    assert a == b


def test_measured_times_override_the_model() -> None:
    # The model prefers the single share (smaller, no HRR seen), but measurements say it is
    # slow (say, a middlebox that stalls on that ClientHello) and the pair is fast: the
    # sampler follows the reward.
    record = ServerRecord(key="s:1")
    for sent, elapsed in [((G.X25519MLKEM768,), 0.5), ((G.X25519MLKEM768, G.x25519), 0.01)] * 3:
        outcome = Outcome(
            allowed=HYBRID_GROUPS,
            sent=sent,
            hrr_group=None,
            group=sent[0],
            elapsed=elapsed,
            rtt=0.002,
        )
        learn(record, outcome, FACTS)
    picks = [
        choose(HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, record, random.Random(s)).groups
        for s in range(20)
    ]
    assert (G.X25519MLKEM768,) not in picks
    assert picks.count((G.X25519MLKEM768, G.x25519)) >= 15


def test_the_hybrid_floor_keeps_a_hybrid_share_beside_a_classical_group() -> None:
    record = _record_of_a_server_that_wants(G.x25519, (G.X25519MLKEM768,), 1)
    for seed in range(30):
        decision = choose(
            HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, record, random.Random(seed)
        )
        assert G.x25519 in decision.groups
        assert any(FACTS.hybrid(g) for g in decision.groups), "pure ML-KEM is not the hybrid"


def test_a_pure_pq_group_the_server_chose_satisfies_the_hybrid_floor() -> None:
    record = _record_of_a_server_that_wants(G.MLKEM1024, (G.X25519MLKEM768,), 1)
    assert (G.MLKEM1024,) in arms(HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, record)
    picks = {
        choose(HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, record, random.Random(s)).groups
        for s in range(30)
    }
    # One 1.5 KB share instead of two: the smaller ClientHello wins a toss-up.
    assert (G.MLKEM1024,) in picks


def test_prefers_the_smallest_safe_offer() -> None:
    record = _record_of_a_server_that_wants(G.x25519, (G.X25519MLKEM768,), 3)
    picks = [
        choose(HYBRID_GROUPS, HYBRID.key_share_groups, FACTS, record, random.Random(s)).groups
        for s in range(30)
    ]
    # X25519MLKEM768 is the smallest hybrid share (1216 bytes; P-384's is 1665).
    assert picks.count((G.X25519MLKEM768, G.x25519)) >= 20


def test_the_first_connection_explains_its_shares_as_the_configured_ones() -> None:
    # `connect --adaptive --key-shares x25519`: the shares are the user's, not the policy's.
    allowed = (G.X25519MLKEM768, G.x25519)
    decision = choose(allowed, (G.x25519,), FACTS, None, random.Random(1))
    assert decision.groups == (G.x25519,)
    assert "configured key shares" in decision.reason and "policy" not in decision.reason
