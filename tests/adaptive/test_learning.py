"""The learning rule: what one completed handshake teaches about a server."""

from __future__ import annotations

from nautilus_tls.adaptive.client import group_facts
from nautilus_tls.adaptive.learning import OBSERVATION_WEIGHT, UNTRIED_REFUSAL, Outcome, learn
from nautilus_tls.adaptive.state import MAX_ARM_ENTRIES, ServerRecord, arm_key
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.wire.enums import NamedGroup as G

FACTS = group_facts(DEFAULT_PROVIDER)
ALLOWED = (G.X25519MLKEM768, G.SecP256r1MLKEM768, G.x25519, G.secp256r1)


def _outcome(**kw: object) -> Outcome:
    base: dict[str, object] = {
        "allowed": ALLOWED,
        "sent": (G.X25519MLKEM768,),
        "hrr_group": None,
        "group": G.X25519MLKEM768,
        "elapsed": 0.01,
        "rtt": 0.002,
    }
    return Outcome(**{**base, **kw})  # type: ignore[arg-type]


def test_an_hrr_counts_against_the_shares_sent_and_for_the_group_asked() -> None:
    record = ServerRecord(key="s")
    learn(record, _outcome(hrr_group=G.secp256r1, group=G.secp256r1, elapsed=0.02), FACTS)
    assert record.groups[G.X25519MLKEM768].refused == OBSERVATION_WEIGHT
    assert record.groups[G.secp256r1].accepted == OBSERVATION_WEIGHT
    assert record.groups[G.x25519].refused == UNTRIED_REFUSAL  # listed, not preferred
    assert record.hrr_requested == {G.secp256r1: 1} and record.hello_retries == 1
    assert record.handshake_time is None  # an HRR handshake is not the no-HRR time
    assert not record.post_quantum_seen


def test_a_share_taken_counts_for_its_group_and_sets_the_downgrade_memory() -> None:
    record = ServerRecord(key="s")
    learn(record, _outcome(), FACTS)
    assert record.groups[G.X25519MLKEM768].accepted == OBSERVATION_WEIGHT
    assert record.post_quantum_seen and record.handshake_time == 0.01 and record.rtt == 0.002


def test_measures_what_an_hrr_adds() -> None:
    record = ServerRecord(key="s")
    learn(record, _outcome(elapsed=0.010), FACTS)
    learn(record, _outcome(hrr_group=G.secp256r1, group=G.secp256r1, elapsed=0.030), FACTS)
    assert record.hrr_extra is not None and abs(record.hrr_extra - 0.020) < 1e-9


def test_old_evidence_fades() -> None:
    record = ServerRecord(key="s")
    learn(record, _outcome(), FACTS)
    for _ in range(10):
        learn(record, _outcome(hrr_group=G.secp256r1, group=G.secp256r1), FACTS)
    evidence = record.groups[G.X25519MLKEM768]
    assert evidence.refused > 5 * evidence.accepted


def test_keeps_at_most_the_state_files_number_of_arms() -> None:
    record = ServerRecord(key="s")
    for i in range(MAX_ARM_ENTRIES + 5):
        learn(record, _outcome(sent=(0x0100 + i,), group=None), FACTS)
    assert len(record.arms) == MAX_ARM_ENTRIES
    assert arm_key((0x0100 + MAX_ARM_ENTRIES + 4,)) in record.arms  # the newest is kept
