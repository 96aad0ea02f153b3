"""How one completed handshake updates a server's record: the evidence the chooser samples
from (:mod:`nautilus_tls.adaptive.chooser`), the measured times, and the downgrade memory.

Used by the client after each authenticated handshake and by the simulator
(:mod:`nautilus_tls.tools.adaptive_sim`) with simulated outcomes: one learning rule for both.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_tls.adaptive.chooser import GroupFacts
from nautilus_tls.adaptive.state import (
    EWMA_WEIGHT,
    MAX_ARM_ENTRIES,
    ArmStats,
    ServerRecord,
    arm_key,
)

# A server answers the same offer the same way: one handshake counts as this many
# observations of a group's acceptance. An HRR to another group says less about a group we
# listed but sent no share for.
OBSERVATION_WEIGHT = 2.0
UNTRIED_REFUSAL = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one handshake showed."""

    allowed: tuple[int, ...]  # the groups we listed (supported_groups)
    sent: tuple[int, ...]  # the groups we sent key shares for
    hrr_group: int | None  # the group a HelloRetryRequest asked for
    group: int | None  # the negotiated group (None: PSK without key exchange)
    elapsed: float  # seconds, ClientHello to the server's Finished
    rtt: float | None  # seconds, ClientHello to the server's first flight
    suite: int | None = None
    resumed: bool = False


def learn(record: ServerRecord, outcome: Outcome, facts: GroupFacts) -> None:
    record.decay()
    record.connections += 1
    retried = outcome.hrr_group is not None
    for g in outcome.sent:
        if retried:
            record.evidence(g).refused += OBSERVATION_WEIGHT
        elif g == outcome.group:
            record.evidence(g).accepted += OBSERVATION_WEIGHT
    if outcome.hrr_group is not None:
        wanted = outcome.hrr_group
        record.hello_retries += 1
        record.hrr_requested[wanted] = record.hrr_requested.get(wanted, 0) + 1
        record.evidence(wanted).accepted += OBSERVATION_WEIGHT
        # The server preferred that group to every other we listed.
        for g in outcome.allowed:
            if g != wanted and g not in outcome.sent:
                record.evidence(g).refused += UNTRIED_REFUSAL
    if outcome.group is not None:
        record.selected[outcome.group] = record.selected.get(outcome.group, 0) + 1
        if facts.post_quantum(outcome.group):
            record.post_quantum_seen = True
    key = arm_key(outcome.sent)
    record.arms.setdefault(key, ArmStats()).add(outcome.elapsed)
    while len(record.arms) > MAX_ARM_ENTRIES:  # the state file's bound: drop the least measured
        del record.arms[min((k for k in record.arms if k != key), key=lambda k: record.arms[k].n)]
    if outcome.rtt is not None:
        record.rtt = _ewma(record.rtt, outcome.rtt)
    if not retried:
        record.handshake_time = _ewma(record.handshake_time, outcome.elapsed)
    elif record.handshake_time is not None:
        extra = max(0.0, outcome.elapsed - record.handshake_time)
        record.hrr_extra = _ewma(record.hrr_extra, extra)
    record.last_group = outcome.group
    record.last_hrr_group = outcome.hrr_group
    record.last_suite = outcome.suite
    record.last_resumed = outcome.resumed


def _ewma(old: float | None, new: float) -> float:
    return new if old is None else (1.0 - EWMA_WEIGHT) * old + EWMA_WEIGHT * new
