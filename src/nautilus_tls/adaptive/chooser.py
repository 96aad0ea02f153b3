"""Which key shares the first ClientHello carries: Thompson sampling over one or two groups.

The arms are the sets of one or two groups taken from what the policy allows (``allowed``, the
config's resolved groups in the policy's order): its first few groups plus any group the
server chose, asked for or was measured with before. Learning never widens that set, and two rules narrow it:

* the post-quantum floor: when the policy's first choice is a hybrid (the default), every arm
  carries a hybrid share, or a share of a post-quantum group this server negotiated before;
  when it prefers post-quantum otherwise, or the server negotiated post-quantum before, every
  arm carries a post-quantum share;
* the key_share extension must fit (RFC 8446 §4.2.8, at most 2^16-1 bytes).

The model per server (the context), sampled afresh for each connection:

* for each group, the probability that the server takes a share of it without a
  HelloRetryRequest, ``Beta(prior + accepted, 1 + refused)``; the prior is higher for the
  groups earlier in the policy's order (a server is likelier to take what we prefer first);
* the predicted handshake time of an arm: the server's time without HRR, plus
  P(HRR | arm) times what an HRR costs (measured: one round trip and a second key
  generation), plus what the share bytes cost (transmission, and a lost packet's retransmit
  for a ClientHello that needs one more packet);
* that prediction is the prior of the arm's measured handshake time (the reward): the
  posterior mean mixes both, and a normal sample around it decides.

The lowest sampled time wins; arms within its uncertainty of it (or within 10 % of the
handshake time) are a toss-up on time, and among them the smallest ClientHello wins. Before the first completed handshake with a server there is no
evidence and the policy's own key shares go out: the prior is the policy. Exploration is safe:
while some arm almost surely avoids an HRR (P < 0.2 by the posterior mean, and it carries a
group the server took or asked for before), only such arms compete; servers answer the same
offer the same way, and an HRR is a round trip lost.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from nautilus_tls.adaptive.state import ServerRecord, arm_key

# The arms come from the policy's first groups (plus those the server chose before).
CANDIDATE_GROUPS = 4
MAX_SHARES = 2
MAX_KEY_SHARE_BYTES = 0xFFFF - 2  # the key_share extension's client_shares<2..2^16-1>
# Model constants (seconds, bytes) used until measurements replace them.
DEFAULT_HANDSHAKE_TIME = 0.02
DEFAULT_RTT = 0.01
KEYGEN_TIME = 0.0005  # one key generation (a share, or the second after HRR)
CLIENT_HELLO_BASE_BYTES = 300  # a ClientHello without key shares, roughly
SEGMENT_BYTES = 1400  # what one TCP segment carries on a typical path
ASSUMED_LOSS = 0.01  # per packet; a lost ClientHello segment costs about one RTO
RTO_IN_RTTS = 3.0
BYTES_PER_SECOND = 1_250_000  # 10 Mbit/s: what a share's bytes cost to send
ARM_PRIOR_WEIGHT = 1.0  # the model's prediction counts as this many measured handshakes
NOISE_FRACTION = 0.03  # spread of handshake times when too few are measured
SAFE = 0.2  # P(HRR) below which an offer counts as safe (the rule above)
TOSS_UP = 0.1  # sampled times closer than this fraction of the handshake time: a toss-up


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What the chooser needs to know about a group (from the config's provider)."""

    name: Callable[[int], str]
    post_quantum: Callable[[int], bool]
    hybrid: Callable[[int], bool]
    share_len: Callable[[int], int]


@dataclass(frozen=True, slots=True)
class Decision:
    """The key share groups chosen for one ClientHello, and why."""

    groups: tuple[int, ...]
    reason: str
    predicted_hrr: float  # P(HRR) under the posterior mean
    explored: bool  # the sample picked an arm expected slower by more than its uncertainty


def share_bytes(groups: Sequence[int], facts: GroupFacts) -> int:
    return sum(4 + facts.share_len(g) for g in groups)


def floor_groups(
    allowed: Sequence[int],
    policy_shares: Sequence[int],
    facts: GroupFacts,
    record: ServerRecord | None,
) -> frozenset[int] | None:
    """The post-quantum floor: every arm carries a share of one of these groups (None: no
    floor). A policy whose first choice is a hybrid keeps a hybrid share, or a share of a
    post-quantum group this server negotiated before (what static shares would end with
    after its HRR); a policy that prefers post-quantum otherwise, or a server that spoke it
    before, keeps a post-quantum share."""
    post_quantum = frozenset(g for g in allowed if facts.post_quantum(g))
    if not post_quantum:
        return None
    first = policy_shares[0] if policy_shares else allowed[0]
    spoken = post_quantum & set(record.selected) if record is not None else frozenset()
    if facts.hybrid(first):
        return frozenset(g for g in allowed if facts.hybrid(g)) | spoken
    prefers = facts.post_quantum(first) or any(facts.post_quantum(g) for g in policy_shares)
    if prefers or (record is not None and record.post_quantum_seen):
        return post_quantum
    return None


def arms(
    allowed: Sequence[int],
    policy_shares: Sequence[int],
    facts: GroupFacts,
    record: ServerRecord | None,
) -> list[tuple[int, ...]]:
    """Every candidate set of key shares, each within the policy and the floor."""
    known: set[int] = set()
    if record is not None:
        # Groups the server chose or asked for, and those of every arm already measured.
        known = set(record.selected) | set(record.hrr_requested)
        known |= {int(part, 16) for key in record.arms for part in key.split("+")}
    pool = [g for i, g in enumerate(allowed) if i < CANDIDATE_GROUPS or g in known]
    found: list[tuple[int, ...]] = []
    for size in range(1, MAX_SHARES + 1):
        found.extend(combinations(pool, size))  # combinations keep the policy's order
    static = tuple(policy_shares)
    if static and len(static) <= MAX_SHARES and all(g in allowed for g in static):
        found.append(static)
    floor = floor_groups(allowed, policy_shares, facts, record)
    kept: list[tuple[int, ...]] = []
    for arm in found:
        if arm in kept or not set(arm) <= set(allowed):
            continue
        if floor is not None and not floor & set(arm):
            continue
        if share_bytes(arm, facts) > MAX_KEY_SHARE_BYTES:
            continue
        kept.append(arm)
    return kept


def _prior_accept(rank: int, count: int) -> float:
    """Beta alpha for the group at ``rank`` in the policy's order: 3 for the first, 1 for
    the last (beta is 1): a mean of 0.75 down to 0.5."""
    return 1.0 + 2.0 * (count - rank) / count


def _hrr_probability(arm: Sequence[int], accept: dict[int, float]) -> float:
    p = 1.0
    for g in arm:
        p *= 1.0 - accept[g]
    return p


def _bytes_cost(arm: Sequence[int], facts: GroupFacts, rtt: float) -> float:
    size = CLIENT_HELLO_BASE_BYTES + share_bytes(arm, facts)
    extra_segments = max(0, math.ceil(size / SEGMENT_BYTES) - 1)
    # Each share is also a key generation of ours (and one the server may not use).
    keygens = len(arm) * KEYGEN_TIME
    return keygens + size / BYTES_PER_SECOND + extra_segments * ASSUMED_LOSS * RTO_IN_RTTS * rtt


@dataclass(frozen=True, slots=True)
class _Costs:
    base: float
    hrr: float
    rtt: float
    noise: float


def _costs(record: ServerRecord) -> _Costs:
    rtt = record.rtt if record.rtt is not None else DEFAULT_RTT
    hrr = record.hrr_extra if record.hrr_extra is not None else rtt + KEYGEN_TIME
    if record.handshake_time is not None:
        base = record.handshake_time
    else:
        # Only HRR handshakes so far: their time without the retry.
        times = [a.mean for a in record.arms.values() if a.n]
        base = max(min(times) - hrr, rtt) if times else DEFAULT_HANDSHAKE_TIME
    return _Costs(base=base, hrr=hrr, rtt=rtt, noise=max(base * NOISE_FRACTION, 1e-6))


def choose(
    allowed: Sequence[int],
    policy_shares: Sequence[int],
    facts: GroupFacts,
    record: ServerRecord | None,
    rng: random.Random,
) -> Decision:
    """The key share groups for the next ClientHello to the server of ``record``."""
    static = tuple(policy_shares) or tuple(allowed[:1])
    if record is None or record.connections == 0:
        return Decision(
            groups=static,
            # key_share_groups: the policy's shares unless the config (--key-shares) named them.
            reason=f"sent {_label(static, facts)}: first connection to this server, the configured key shares",
            predicted_hrr=0.0,
            explored=False,
        )
    candidates = arms(allowed, policy_shares, facts, record) or [static]
    count = len(allowed)
    mean_accept: dict[int, float] = {}
    sampled_accept: dict[int, float] = {}
    for g in {g for arm in candidates for g in arm}:
        e = record.groups.get(g)
        alpha = _prior_accept(allowed.index(g), count) + (e.accepted if e else 0.0)
        beta = 1.0 + (e.refused if e else 0.0)
        mean_accept[g] = alpha / (alpha + beta)
        sampled_accept[g] = rng.betavariate(alpha, beta)
    mean_hrr = {arm: _hrr_probability(arm, mean_accept) for arm in candidates}
    # Safe exploration: an HRR costs a round trip, so while some offer almost surely avoids
    # one, only such offers compete (on size and measured time). "Almost surely" needs
    # evidence: the offer carries a group this server took (or asked for) before; two
    # untried groups are not safe just because each one's prior is hopeful.
    taken = {g for g, e in record.groups.items() if e.accepted > e.refused}
    safe = [arm for arm in candidates if mean_hrr[arm] < SAFE and taken & set(arm)]
    if safe:
        candidates = safe
    costs = _costs(record)

    def posterior(arm: tuple[int, ...], accept: dict[int, float]) -> tuple[float, float]:
        predicted = (
            costs.base
            + _hrr_probability(arm, accept) * costs.hrr
            + _bytes_cost(arm, facts, costs.rtt)
        )
        stats = record.arms.get(arm_key(arm))
        n = stats.n if stats is not None else 0.0
        measured = stats.mean if stats is not None else 0.0
        mean = (ARM_PRIOR_WEIGHT * predicted + n * measured) / (ARM_PRIOR_WEIGHT + n)
        spread = math.sqrt(stats.variance) if stats is not None and stats.n > 2 else costs.noise
        return mean, max(spread, 1e-6) / math.sqrt(ARM_PRIOR_WEIGHT + n)

    sampled = {}
    for arm in candidates:
        mean, sd = posterior(arm, sampled_accept)
        sampled[arm] = rng.gauss(mean, sd)
    means = {arm: posterior(arm, mean_accept) for arm in candidates}
    best = min(means[arm][0] for arm in candidates)
    fastest = min(candidates, key=lambda a: sampled[a])
    # Arms whose sampled time is within the fastest's uncertainty (or TOSS_UP of the
    # handshake time) are a toss-up on time: among them the smallest ClientHello wins.
    tolerance = max(means[fastest][1], TOSS_UP * costs.base)
    near = [a for a in candidates if sampled[a] <= sampled[fastest] + tolerance]
    chosen = min(near, key=lambda a: (share_bytes(a, facts), sampled[a]))
    # Exploring: the sample picked an arm the posterior expects to be slower by more than its
    # own uncertainty (arms within it are a toss-up, not an experiment).
    mean, sd = means[chosen]
    explored = mean - best > sd
    return Decision(
        groups=chosen,
        reason=_reason(chosen, record, facts, mean_hrr[chosen], explored),
        predicted_hrr=mean_hrr[chosen],
        explored=explored,
    )


def _label(groups: Sequence[int], facts: GroupFacts) -> str:
    return "+".join(facts.name(g) for g in groups)


def _reason(
    chosen: tuple[int, ...],
    record: ServerRecord,
    facts: GroupFacts,
    hrr: float,
    explored: bool,
) -> str:
    n = record.connections
    parts = []
    if record.selected:
        group, times = max(record.selected.items(), key=lambda kv: kv[1])
        parts.append(f"server chose {facts.name(group)} in {times} of {n} earlier connections")
    if record.hrr_requested:
        group, times = max(record.hrr_requested.items(), key=lambda kv: kv[1])
        plural = "s" if times != 1 else ""
        parts.append(f"asked for {facts.name(group)} by HelloRetryRequest {times} time{plural}")
    parts.append(f"predicted HRR chance {hrr:.0%}")
    if explored:
        parts.append("exploring (Thompson sample)")
    return f"sent {_label(chosen, facts)}: " + "; ".join(parts)
