"""Adaptive negotiation for a client: the object a ClientConfig carries, and one handshake's
part in it.

:class:`AdaptiveNegotiation` (``ClientConfig(adaptive=AdaptiveNegotiation(...))``) owns the
per-server state (:class:`~nautilus_tls.adaptive.state.StateFile`), the random source of the
Thompson sampler (injectable: a seeded ``random.Random`` makes decisions reproducible) and the
``strict`` switch. For each connection the client handshake calls :meth:`start`, which decides
the key shares, and then reports to the returned :class:`AdaptiveHandshake` what the server
did: a HelloRetryRequest, the ServerHello's group, and the completed handshake, which is when
the state is updated (only authenticated outcomes are learned from).

Downgrade memory: once a server negotiated a post-quantum group, a later handshake in which it
picks a classical group although we offered a post-quantum share (or asks for a classical one
by HRR) is a downgrade. It is reported in ``SessionInfo.negotiation.warnings`` and logged; with
``strict=True`` the handshake is refused with ``insufficient_security`` (RFC 8446 §6.2) before
any key is derived.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from nautilus_tls.adaptive.chooser import Decision, GroupFacts, choose
from nautilus_tls.adaptive.learning import Outcome, learn
from nautilus_tls.adaptive.state import DEFAULT_MAX_SERVERS, StateFile
from nautilus_tls.crypto.provider import Clock, CryptoProvider
from nautilus_tls.errors import AlertDescription, PeerIncompatible
from nautilus_tls.session_info import Negotiation, SessionInfo

logger = logging.getLogger("nautilus_tls.adaptive")


def group_facts(provider: CryptoProvider) -> GroupFacts:
    def post_quantum(group: int) -> bool:
        info = provider.group_info(group)
        return info is not None and info.post_quantum

    def hybrid(group: int) -> bool:
        info = provider.group_info(group)
        return info is not None and info.hybrid

    def share_len(group: int) -> int:
        info = provider.group_info(group)
        return info.client_share_len if info is not None else 0

    return GroupFacts(
        name=provider.group_name, post_quantum=post_quantum, hybrid=hybrid, share_len=share_len
    )


def server_key(session_key: str | None) -> str:
    """``host:port`` from a session-store key (``host[:port][#alpn]``): what the server
    negotiates does not depend on the ALPN we ask for."""
    return (session_key or "").split("#", 1)[0]


class AdaptiveNegotiation:
    """Learned key-share choice and downgrade memory for the connections of one config.

    ``state_file``: where the per-server records are kept (None: in memory, for this
    process). ``strict``: refuse a handshake that downgrades from post-quantum. ``rng``:
    the sampler's random source.
    """

    def __init__(
        self,
        state_file: str | Path | None = None,
        *,
        strict: bool = False,
        rng: random.Random | None = None,
        max_servers: int = DEFAULT_MAX_SERVERS,
    ) -> None:
        self.state = StateFile(state_file, max_servers=max_servers)
        self.strict = strict
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"AdaptiveNegotiation({self.state!r}, strict={self.strict})"

    def start(
        self,
        session_key: str | None,
        *,
        allowed: tuple[int, ...],
        policy_shares: tuple[int, ...],
        provider: CryptoProvider,
        clock: Clock,
    ) -> AdaptiveHandshake:
        """Decide the key shares for a connection to the server of ``session_key``."""
        key = server_key(session_key)
        facts = group_facts(provider)
        record = self.state.get(key)
        decision = choose(allowed, policy_shares, facts, record, self._rng)
        return AdaptiveHandshake(
            negotiation=self,
            key=key,
            allowed=allowed,
            decision=decision,
            facts=facts,
            clock=clock,
            started=clock(),
            post_quantum_seen=record is not None and record.post_quantum_seen,
        )


@dataclass(slots=True, kw_only=True)
class AdaptiveHandshake:
    """One connection's decision and what the server answered, until the handshake ends."""

    negotiation: AdaptiveNegotiation
    key: str
    allowed: tuple[int, ...]
    decision: Decision
    facts: GroupFacts = field(repr=False)
    clock: Clock = field(repr=False)
    started: float
    post_quantum_seen: bool
    first_flight: float | None = None
    hrr_group: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def key_share_groups(self) -> tuple[int, ...]:
        return self.decision.groups

    def on_hello_retry(self, group: int | None) -> None:
        """The server sent a HelloRetryRequest (asking for ``group``, or only a cookie)."""
        self._first_flight()
        self.hrr_group = group
        if group is not None:
            self._check_downgrade(group, "asked by HelloRetryRequest for")

    def on_server_hello(self, group: int | None) -> None:
        """The ServerHello selected ``group`` (None: a PSK without key exchange)."""
        self._first_flight()
        if group is not None and self.hrr_group is None:
            self._check_downgrade(group, "selected")

    def on_complete(
        self, info: SessionInfo, *, group: int | None, suite: int, resumed: bool
    ) -> SessionInfo:
        """The handshake completed (the server's Finished verified): learn, and explain."""
        now = self.clock()
        elapsed = max(0.0, now - self.started)
        rtt = (self.first_flight - self.started) if self.first_flight is not None else None
        sent = self.decision.groups
        with self.negotiation.state.update(self.key, now) as record:
            learn(
                record,
                Outcome(
                    allowed=self.allowed,
                    sent=self.decision.groups,
                    hrr_group=self.hrr_group,
                    group=group,
                    elapsed=elapsed,
                    rtt=rtt,
                    suite=suite,
                    resumed=resumed,
                ),
                self.facts,
            )
        return replace(
            info,
            negotiation=Negotiation(
                decision="+".join(self.facts.name(g) for g in sent),
                reason=self.decision.reason,
                key_shares=tuple(self.facts.name(g) for g in sent),
                predicted_hello_retry=self.decision.predicted_hrr,
                warnings=tuple(self.warnings),
            ),
        )

    def _first_flight(self) -> None:
        if self.first_flight is None:
            self.first_flight = self.clock()

    def _check_downgrade(self, group: int, verb: str) -> None:
        if not self.post_quantum_seen or self.facts.post_quantum(group):
            return
        offered_pq = any(self.facts.post_quantum(g) for g in self.decision.groups)
        if verb == "selected" and not offered_pq:
            return  # we sent only classical shares: taking one is no evidence of a downgrade
        message = (
            f"possible downgrade: {self.key or 'this server'} negotiated a post-quantum group "
            f"before and now {verb} {self.facts.name(group)}"
        )
        logger.warning("%s", message)
        if self.negotiation.strict:
            raise PeerIncompatible(
                message + " (refused: strict adaptive mode)",
                alert=AlertDescription.insufficient_security,
            )
        self.warnings.append(message)
