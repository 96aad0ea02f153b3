"""A simulator for adaptive negotiation: a population of servers, four client strategies.

Each simulated server has a group list (its preference order), whose order decides (server or
client), whether it asks for a post-quantum group by HelloRetryRequest even when it could use
a classical share (``prefer_pq``, as our server and others do), a round-trip time and a
packet loss rate. Its answer to a ClientHello follows the rules of RFC 8446 §4.1.1/§4.2.8 as
servers implement them (:func:`server_answer`).

The strategies, all offering the client policy's groups (supported_groups never changes):

``static``       the policy's key shares (one X25519MLKEM768 share for ``hybrid``);
``static-pair``  X25519MLKEM768 + x25519, what browsers send;
``adaptive``     :func:`nautilus_tls.adaptive.chooser.choose` with
                 :func:`nautilus_tls.adaptive.learning.learn` on a record per server: the
                 library's own code, fed simulated outcomes;
``oracle``       knows every server's answer and picks the arm with the least expected time
                 among the same candidates adaptive may use (the policy's groups, its PQ floor).

Time model of one handshake (seconds): one round trip, plus one more and a second key
generation on HRR; our key generations (a cost per share that grows with its size); the
ClientHello's bytes at the path's bandwidth; each ClientHello segment lost with the server's
loss rate costs a retransmission timeout (``max(0.2, 2 RTT)``, Linux's minimum RTO is 200 ms);
and the server's own work. Every strategy sees the same random draws for a given server and
connection (common random numbers), so differences are the strategies', not luck's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from nautilus_tls.adaptive.chooser import (
    CLIENT_HELLO_BASE_BYTES,
    SEGMENT_BYTES,
    GroupFacts,
    arms,
    choose,
    share_bytes,
)
from nautilus_tls.adaptive.learning import Outcome, learn
from nautilus_tls.adaptive.state import ServerRecord
from nautilus_tls.wire.enums import NamedGroup as G

STRATEGIES = ("static", "static-pair", "adaptive", "oracle")
BANDWIDTH = 1_250_000  # bytes per second (10 Mbit/s uplink)
MIN_RTO = 0.2
KEYGEN_BASE = 0.00005  # seconds per key share, plus a cost per byte of share
KEYGEN_PER_BYTE = 1e-7
SERVER_WORK = 0.002  # the server's signature and key schedule


@dataclass(frozen=True, slots=True)
class SimServer:
    kind: str
    groups: tuple[int, ...]
    preference: str = "server"  # "server" | "client"
    prefer_pq: bool = True
    rtt: float = 0.04
    loss: float = 0.0


# The population: kinds of server, with their share of the population.
KINDS: tuple[tuple[str, float, tuple[int, ...], str], ...] = (
    ("pq-x25519mlkem768", 0.35, (G.X25519MLKEM768, G.x25519, G.secp256r1), "server"),
    ("classical-x25519", 0.25, (G.x25519, G.secp256r1), "server"),
    ("classical-p256", 0.10, (G.secp256r1,), "server"),
    ("pq-p256-hybrid", 0.10, (G.SecP256r1MLKEM768, G.secp256r1), "server"),
    ("client-order", 0.10, (G.x25519, G.X25519MLKEM768), "client"),
    ("pq-only-mlkem1024", 0.05, (G.MLKEM1024,), "server"),
    ("classical-p384", 0.05, (G.secp384r1,), "server"),
)


def population(count: int, rng: random.Random) -> list[SimServer]:
    """``count`` servers drawn from :data:`KINDS`, RTTs log-normal around 40 ms (5-400),
    loss 0 for 70 %, 1 % for 20 %, 5 % for 10 %."""
    servers = []
    weights = [k[1] for k in KINDS]
    for _ in range(count):
        kind, _, groups, preference = rng.choices(KINDS, weights)[0]
        rtt = min(0.4, max(0.005, rng.lognormvariate(math.log(0.04), 0.8)))
        loss = rng.choices((0.0, 0.01, 0.05), (0.7, 0.2, 0.1))[0]
        servers.append(SimServer(kind, groups, preference, True, rtt, loss))
    return servers


def server_answer(
    server: SimServer, offered: Sequence[int], shares: Sequence[int], facts: GroupFacts
) -> tuple[int | None, int | None]:
    """(HRR group or None, negotiated group or None when nothing is mutual)."""
    if server.preference == "client":
        mutual = [g for g in offered if g in server.groups]
    else:
        mutual = [g for g in server.groups if g in offered]
    if not mutual:
        return None, None
    best = mutual[0]
    with_share = [g for g in mutual if g in shares]
    if with_share:
        chosen = with_share[0]
        downgrade = facts.post_quantum(best) and not facts.post_quantum(chosen)
        if not (server.prefer_pq and downgrade):
            return None, chosen
    return best, best


@dataclass(frozen=True, slots=True)
class Draws:
    """The random parts of one connection, shared by every strategy."""

    lost: tuple[float, ...]  # one uniform number per possible ClientHello segment
    jitter: float


def draws(rng: random.Random) -> Draws:
    return Draws(tuple(rng.random() for _ in range(8)), rng.lognormvariate(0.0, 0.05))


def _keygen(groups: Sequence[int], facts: GroupFacts) -> float:
    return sum(KEYGEN_BASE + KEYGEN_PER_BYTE * facts.share_len(g) for g in groups)


def _send(size: int, server: SimServer, d: Draws) -> float:
    segments = max(1, math.ceil(size / SEGMENT_BYTES))
    rto = max(MIN_RTO, 2 * server.rtt)
    lost = sum(rto for i in range(segments) if d.lost[i % len(d.lost)] < server.loss)
    return size / BANDWIDTH + lost


@dataclass(frozen=True, slots=True)
class Result:
    """One simulated handshake."""

    time: float
    hrr: bool
    bytes_sent: int
    group: int | None
    shares: tuple[int, ...]


def handshake(
    server: SimServer,
    offered: Sequence[int],
    shares: tuple[int, ...],
    facts: GroupFacts,
    d: Draws,
    *,
    expected: bool = False,
) -> Result:
    """One handshake's time; ``expected``: the expectation over loss (for the oracle)."""
    hrr_group, group = server_answer(server, offered, shares, facts)
    size = CLIENT_HELLO_BASE_BYTES + share_bytes(shares, facts)
    rto = max(MIN_RTO, 2 * server.rtt)

    def send(n: int) -> float:
        if expected:
            return n / BANDWIDTH + max(1, math.ceil(n / SEGMENT_BYTES)) * server.loss * rto
        return _send(n, server, d)

    t = server.rtt + _keygen(shares, facts) + send(size) + SERVER_WORK
    sent = size
    if hrr_group is not None:
        size2 = CLIENT_HELLO_BASE_BYTES + share_bytes((hrr_group,), facts)
        t += server.rtt + _keygen((hrr_group,), facts) + send(size2)
        sent += size2
    return Result(
        time=t * (1.0 if expected else d.jitter),
        hrr=hrr_group is not None,
        bytes_sent=sent,
        group=group,
        shares=shares,
    )


def oracle_shares(
    server: SimServer, allowed: tuple[int, ...], policy_shares: tuple[int, ...], facts: GroupFacts
) -> tuple[int, ...]:
    """The candidate arm (policy groups, PQ floor) with the least expected time."""
    record = ServerRecord(key="oracle", selected={g: 1 for g in server.groups if g in allowed})
    candidates = arms(allowed, policy_shares, facts, record)
    d = Draws((1.0,) * 8, 1.0)
    return min(
        candidates, key=lambda a: handshake(server, allowed, a, facts, d, expected=True).time
    )


@dataclass(slots=True)
class Trace:
    """Every simulated handshake of one strategy, in order."""

    results: list[Result] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    regret: list[float] = field(default_factory=list)  # time minus the oracle's, same draws
    outside_policy: int = 0
    below_floor: int = 0


def simulate(
    *,
    servers: int,
    connections: int,
    allowed: tuple[int, ...],
    policy_shares: tuple[int, ...],
    facts: GroupFacts,
    seed: int = 1,
) -> dict[str, Trace]:
    """Run every strategy over the same population and draws. Connections are interleaved
    (round r visits every server once), as a client's traffic would be."""
    rng = random.Random(seed)
    pool = population(servers, rng)
    chooser_rng = random.Random(seed + 1)
    records = [ServerRecord(key=str(i)) for i in range(len(pool))]
    oracle = [oracle_shares(s, allowed, policy_shares, facts) for s in pool]
    pair = tuple(g for g in (G.X25519MLKEM768, G.x25519) if g in allowed)
    floor = any(facts.post_quantum(g) for g in policy_shares)
    traces = {name: Trace() for name in STRATEGIES}
    for _ in range(connections):
        for i, server in enumerate(pool):
            d = draws(rng)
            decision = choose(allowed, policy_shares, facts, records[i], chooser_rng)
            picks = {
                "static": tuple(policy_shares),
                "static-pair": pair,
                "adaptive": decision.groups,
                "oracle": oracle[i],
            }
            best = handshake(server, allowed, oracle[i], facts, d)
            for name, shares in picks.items():
                result = handshake(server, allowed, shares, facts, d)
                trace = traces[name]
                trace.results.append(result)
                trace.kinds.append(server.kind)
                trace.regret.append(result.time - best.time)
                trace.outside_policy += sum(1 for g in shares if g not in allowed)
                if floor and not any(facts.post_quantum(g) for g in shares):
                    trace.below_floor += 1
                if name == "adaptive" and result.group is not None:
                    learn(
                        records[i],
                        Outcome(
                            allowed=allowed,
                            sent=shares,
                            hrr_group=result.group if result.hrr else None,
                            group=result.group,
                            elapsed=result.time,
                            rtt=server.rtt,
                        ),
                        facts,
                    )
    return traces


def summary(trace: Trace) -> dict[str, float]:
    n = len(trace.results) or 1
    times = sorted(r.time for r in trace.results)
    return {
        "mean_ms": 1000 * sum(times) / n,
        "p95_ms": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0,
        "hrr_rate": sum(r.hrr for r in trace.results) / n,
        "mean_bytes": sum(r.bytes_sent for r in trace.results) / n,
        "regret_ms": 1000 * sum(trace.regret),
        "outside_policy": float(trace.outside_policy),
        "below_floor": float(trace.below_floor),
    }
