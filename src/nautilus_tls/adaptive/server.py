"""The server's optional adaptive choice of cipher suite and group (off by default).

``ServerConfig(adaptive=AdaptiveServer())`` turns on two rules, each within what the policy
already allows (they reorder the server's own lists; they never add to them):

* **ChaCha20-Poly1305 for clients that list it first.** A client without AES hardware puts
  ChaCha20-Poly1305 first (Go's crypto/tls, BoringSSL and Chrome do so on such devices), and
  on that client it is several times faster than AES-GCM in software. When the client's first
  suite (GREASE skipped) is ChaCha20-Poly1305 and our policy allows it, we take it even if our
  own order starts with AES-GCM: the heuristic of Go's ``aesgcmPreferred``.
* **The cheaper post-quantum group under CPU load.** When the load (``cpu_load()``: the
  1-minute load average per core by default) is at or above ``load_threshold``, the
  post-quantum groups of our list are tried cheapest first (measured once per group: a key
  generation and an encapsulation, what a server does per handshake). Classical groups keep
  their place after them: load never trades post-quantum security for speed.

Every handshake's ``SessionInfo.negotiation`` then says what was decided and why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nautilus_tls.crypto.provider import CryptoProvider
from nautilus_tls.session_info import Negotiation
from nautilus_tls.wire.enums import CipherSuite, display_name, is_grease

CHACHA20 = CipherSuite.TLS_CHACHA20_POLY1305_SHA256
DEFAULT_LOAD_THRESHOLD = 0.8
_MEASURE_ROUNDS = 5


def load_per_core() -> float:
    """The 1-minute load average divided by the number of cores (0 where unknown)."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 0.0


_costs: dict[tuple[int, int], float] = {}


def server_cost(provider: CryptoProvider, group: int) -> float:
    """Seconds a server spends on ``group`` per handshake (key generation for the client's
    share stand-in plus one encapsulation), measured once per provider and group."""
    key = (id(provider), group)
    if key not in _costs:
        kem = provider.kem_for_group(group)
        if kem is None:
            return float("inf")
        share = kem.generate().share
        best = float("inf")
        for _ in range(_MEASURE_ROUNDS):
            # The fastest of a few rounds: a preempted round measures the machine, not the group.
            start = time.perf_counter()
            kem.encapsulate(share)
            best = min(best, time.perf_counter() - start)
        _costs[key] = best
    return _costs[key]


@dataclass(frozen=True, slots=True)
class ServerOrder:
    """Our lists as adaptive negotiation reordered them for one ClientHello, and why."""

    cipher_suites: tuple[int, ...]
    groups: tuple[int, ...]
    reasons: tuple[str, ...]

    def negotiation(self, provider: CryptoProvider, suite: int, group: int | None) -> Negotiation:
        chosen = display_name(CipherSuite, suite)
        if group is not None:
            chosen += f", {provider.group_name(group)}"
        return Negotiation(
            decision=chosen,
            reason="; ".join(self.reasons) or "no adaptive rule applied: the policy's order",
        )


class AdaptiveServer:
    """The server's adaptive rules (see the module docstring); ``cpu_load`` is injectable
    (a callable returning load per core, 1.0 = every core busy)."""

    def __init__(
        self,
        *,
        prefer_client_chacha: bool = True,
        cheaper_group_under_load: bool = True,
        load_threshold: float = DEFAULT_LOAD_THRESHOLD,
        cpu_load: Callable[[], float] = load_per_core,
    ) -> None:
        if not load_threshold > 0:
            raise ValueError("load_threshold must be positive")
        self.prefer_client_chacha = prefer_client_chacha
        self.cheaper_group_under_load = cheaper_group_under_load
        self.load_threshold = load_threshold
        self.cpu_load = cpu_load

    def __repr__(self) -> str:
        return (
            f"AdaptiveServer(prefer_client_chacha={self.prefer_client_chacha}, "
            f"cheaper_group_under_load={self.cheaper_group_under_load}, "
            f"load_threshold={self.load_threshold})"
        )

    def order(
        self,
        provider: CryptoProvider,
        *,
        our_suites: Sequence[int],
        client_suites: Sequence[int],
        our_groups: Sequence[int],
    ) -> ServerOrder:
        suites, groups = tuple(our_suites), tuple(our_groups)
        reasons: list[str] = []
        first = next((s for s in client_suites if not is_grease(s)), None)
        if self.prefer_client_chacha and first == CHACHA20 and CHACHA20 in suites:
            if suites[0] != CHACHA20:
                reasons.append(
                    "ChaCha20-Poly1305: the client lists it first (likely no AES hardware)"
                )
            suites = (CHACHA20, *(s for s in suites if s != CHACHA20))
        if self.cheaper_group_under_load:
            load = self.cpu_load()
            if load >= self.load_threshold:
                pq = [g for g in groups if _post_quantum(provider, g)]
                cheap = sorted(pq, key=lambda g: server_cost(provider, g))
                if cheap and cheap != pq:
                    reasons.append(
                        f"CPU load {load:.2f} per core >= {self.load_threshold:g}: post-quantum "
                        f"groups cheapest first ({provider.group_name(cheap[0])} first)"
                    )
                groups = (*cheap, *(g for g in groups if g not in pq))
        return ServerOrder(cipher_suites=suites, groups=groups, reasons=tuple(reasons))


def _post_quantum(provider: CryptoProvider, group: int) -> bool:
    info = provider.group_info(group)
    return info is not None and info.post_quantum
