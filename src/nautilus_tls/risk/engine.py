"""A small, explainable risk engine: signals per source address in, a security level out.

What it counts (:class:`Signal`): failed handshakes, fatal alerts from the peer, protocol
violations (a malformed or out-of-order message: decode_error, unexpected_message...),
refused 0-RTT data, and downgrades (an address that negotiated a post-quantum group before
now completes with a classical one). Each signal has a weight; an address's *score* is the
weighted count over the last ``window`` seconds, estimated from two fixed windows (the
current one and the previous one scaled by how much of it still overlaps): O(1) time and a
few integers per address, no per-event list.

How it decides: a score of ``elevated_score`` raises the address to
:attr:`~nautilus_tls.risk.levels.Level.ELEVATED`, ``high_score`` to ``HIGH``. A raised level
is held for ``hold_seconds`` after the last signal that kept it there, then steps down one
level per further quiet ``hold_seconds``. The same rule runs over the sum of all addresses
(``global_*`` thresholds: a distributed burst), and the operator's threat level holds
everyone at least at its level. The level of a handshake is the highest of the three.

Every change is an :class:`LevelChange` with a sentence saying why, logged on the
``nautilus_tls.risk`` logger, kept in a bounded history and passed to ``on_change``.

Memory is bounded: at most ``max_sources`` addresses are remembered, the least recently seen
evicted first (an evicted address starts again from nothing, which an attacker with more
addresses than that could use: the global rule is the answer to many addresses).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from nautilus_tls.errors import (
    BadCertificate,
    ConfigError,
    MissingCloseNotify,
    PeerAlert,
    PeerIncompatible,
    RemoteProtocolError,
    TLSError,
)
from nautilus_tls.risk.levels import FLOORS, Floor, Level, level_for_threat

__all__ = [
    "Assessment",
    "LevelChange",
    "RiskEngine",
    "RiskSettings",
    "Signal",
    "signal_for_failure",
]

logger = logging.getLogger("nautilus_tls.risk")


class Signal(enum.IntEnum):
    FAILED_HANDSHAKE = 0
    PEER_ALERT = 1
    PROTOCOL_VIOLATION = 2
    EARLY_DATA_REFUSED = 3
    DOWNGRADE = 4


_NOUNS = {
    Signal.FAILED_HANDSHAKE: ("failed handshake", "failed handshakes"),
    Signal.PEER_ALERT: ("fatal alert", "fatal alerts"),
    Signal.PROTOCOL_VIOLATION: ("protocol violation", "protocol violations"),
    Signal.EARLY_DATA_REFUSED: ("refused 0-RTT attempt", "refused 0-RTT attempts"),
    Signal.DOWNGRADE: (
        "downgrade to classical key exchange",
        "downgrades to classical key exchange",
    ),
}


def _count(signal: Signal, n: int) -> str:
    singular, plural = _NOUNS[signal]
    return f"{n} {singular if n == 1 else plural}"


def signal_for_failure(error: TLSError) -> Signal | None:
    """What a handshake that ended with ``error`` tells about the peer: a fatal alert it sent,
    a protocol violation (bytes that do not parse, a forbidden message), or a plain failed
    handshake (nothing in common, a rejected certificate). Our own failures (timeouts, local
    errors) and a peer that merely hung up say nothing and count as no signal."""
    if isinstance(error, PeerAlert):
        return Signal.PEER_ALERT
    if isinstance(error, (PeerIncompatible, BadCertificate)):
        return Signal.FAILED_HANDSHAKE
    if isinstance(error, MissingCloseNotify):
        return None
    if isinstance(error, RemoteProtocolError):
        return Signal.PROTOCOL_VIOLATION
    return None


def _default_weights() -> dict[Signal, float]:
    return {
        Signal.FAILED_HANDSHAKE: 1.0,
        Signal.PEER_ALERT: 1.0,
        Signal.PROTOCOL_VIOLATION: 2.0,
        Signal.EARLY_DATA_REFUSED: 2.0,
        Signal.DOWNGRADE: 10.0,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSettings:
    """The engine's thresholds. With the defaults, 20 failed handshakes from one address
    within a minute hold it at ``high`` (post-quantum key exchange only) for five minutes."""

    window: float = 60.0
    elevated_score: float = 10.0
    high_score: float = 20.0
    hold_seconds: float = 300.0
    global_elevated_score: float = 500.0
    global_high_score: float = 2000.0
    weights: dict[Signal, float] = field(default_factory=_default_weights)
    max_sources: int = 10_000
    max_history: int = 256
    # Levels at which the floor requires client certificates (when the server can verify
    # them); off by default, as most servers' clients have none.
    require_client_certificates: bool = False

    def __post_init__(self) -> None:
        if not self.window > 0 or not self.hold_seconds > 0:
            raise ConfigError("risk window and hold_seconds must be positive")
        if not 0 < self.elevated_score <= self.high_score:
            raise ConfigError("risk scores must satisfy 0 < elevated_score <= high_score")
        if not 0 < self.global_elevated_score <= self.global_high_score:
            raise ConfigError("risk global scores must satisfy 0 < elevated <= high")
        if self.max_sources < 1 or self.max_history < 1:
            raise ConfigError("risk max_sources and max_history must be positive")
        if any(w < 0 for w in self.weights.values()):
            raise ConfigError("risk signal weights must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelChange:
    at: float
    address: str | None  # None: the global level or the operator's
    old: Level
    new: Level
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "event": "risk_level",
            "at": self.at,
            "address": self.address,
            "from": self.old.label,
            "to": self.new.label,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """The level a handshake runs at, its floor, and why."""

    level: Level
    reason: str
    floor: Floor


class _Track:
    """One sliding-window score and the level it holds (an address, or everyone)."""

    __slots__ = (
        "counts",
        "current",
        "hold_until",
        "level",
        "previous",
        "previous_counts",
        "reason",
        "seen_post_quantum",
        "window_start",
    )

    def __init__(self, now: float) -> None:
        self.window_start = now
        self.current = 0.0
        self.previous = 0.0
        self.counts = [0] * len(Signal)
        self.previous_counts = [0] * len(Signal)
        self.level = Level.BASELINE
        self.hold_until = 0.0
        self.reason = ""
        self.seen_post_quantum = False

    def roll(self, now: float, window: float) -> None:
        elapsed = now - self.window_start
        if elapsed < window:
            return
        if elapsed < 2 * window:
            self.previous, self.previous_counts = self.current, self.counts
            self.window_start += window
        else:
            self.previous, self.previous_counts = 0.0, [0] * len(Signal)
            self.window_start = now
        self.current, self.counts = 0.0, [0] * len(Signal)

    def score(self, now: float, window: float) -> float:
        overlap = max(0.0, 1.0 - (now - self.window_start) / window)
        return self.current + self.previous * overlap

    def explain(self, score: float, threshold: float, where: str, window: float) -> str:
        parts = [
            _count(s, self.counts[s] + self.previous_counts[s])
            for s in Signal
            if self.counts[s] + self.previous_counts[s]
        ]
        return (
            f"{', '.join(parts)} {where} within {window:g} s (score {score:.1f} >= {threshold:g})"
        )


class RiskEngine:
    """Feed it what handshakes did; ask it at which level the next one should run.

    Thread-safe (one lock, held for O(1) work), so a threaded server may share one engine.
    ``clock`` is injectable (monotonic seconds) so tests and the evaluation script pin time.
    """

    def __init__(
        self,
        settings: RiskSettings | None = None,
        *,
        threat_level: str = "low",
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[LevelChange], None] | None = None,
    ) -> None:
        self.settings = settings or RiskSettings()
        self._clock = clock
        self._on_change = on_change
        self._sources: OrderedDict[str, _Track] = OrderedDict()
        self._global = _Track(clock())
        self._operator = level_for_threat(threat_level)
        self._lock = threading.RLock()  # on_change may ask the engine again
        self.history: deque[LevelChange] = deque(maxlen=self.settings.max_history)
        self._derived: dict[tuple[int, Level], tuple[object, object]] = {}

    def __repr__(self) -> str:
        return (
            f"<RiskEngine threat={self._operator.label} sources={len(self._sources)} "
            f"global={self._global.level.label}>"
        )

    # --- the operator ---------------------------------------------------------------------

    @property
    def threat_level(self) -> Level:
        return self._operator

    def set_threat_level(self, threat: str, *, why: str = "operator") -> None:
        """Hold everyone at least at ``threat`` (``low``/``elevated``/``high``)."""
        new = level_for_threat(threat)
        with self._lock:
            old, self._operator = self._operator, new
            if new != old:
                self._changed(None, old, new, f"{why} set the threat level to {threat.lower()}")

    # --- signals in -----------------------------------------------------------------------

    def record(self, address: str | None, signal: Signal) -> None:
        """One ``signal`` from ``address`` (``None``: unknown address, counted globally)."""
        s = self.settings
        weight = s.weights.get(signal, 0.0)
        with self._lock:
            now = self._clock()
            if address is not None:
                track = self._source(address, now)
                self._bump(track, signal, weight, now, address)
                if track.level != Level.BASELINE:
                    # An address already held answers for itself; the global level is for
                    # what no single address explains (a distributed burst).
                    return
            self._bump(self._global, signal, weight, now, None)

    def handshake_completed(self, address: str | None, *, post_quantum: bool) -> None:
        """A handshake finished; a classical one after a post-quantum one from the same
        address is a downgrade signal (the client, or someone in the path, dropped PQ)."""
        if address is None:
            return
        downgrade = False
        with self._lock:
            track = self._source(address, self._clock())
            if post_quantum:
                track.seen_post_quantum = True
            else:
                downgrade = track.seen_post_quantum
        if downgrade:
            self.record(address, Signal.DOWNGRADE)

    # --- levels out -----------------------------------------------------------------------

    def assess(self, address: str | None) -> Assessment:
        """The level a handshake from ``address`` runs at now, and why (O(1))."""
        with self._lock:
            now = self._clock()
            candidates: list[tuple[Level, str]] = [
                (self._operator, f"operator threat level {self._operator.label}")
            ]
            self._decay(self._global, now, None)
            candidates.append((self._global.level, self._global.reason))
            if address is not None:
                track = self._sources.get(address)
                if track is not None:
                    self._decay(track, now, address)
                    candidates.append((track.level, track.reason))
        level, reason = max(candidates, key=lambda c: c[0])
        if level == Level.BASELINE:
            reason = "no risk signals"
        return Assessment(level=level, reason=reason, floor=FLOORS[level])

    def level_of(self, address: str) -> Level:
        """The address's own level (without the global and operator levels)."""
        with self._lock:
            track = self._sources.get(address)
            if track is None:
                return Level.BASELINE
            self._decay(track, self._clock(), address)
            return track.level

    def tracked_sources(self) -> int:
        return len(self._sources)

    def derived(self, base: object, level: Level, build: Callable[[], object]) -> object:
        """``build()`` once per (``base``, ``level``): the config a level derives from the
        configured one is the same every time, so a burst costs no re-validation."""
        key = (id(base), level)
        with self._lock:
            hit = self._derived.get(key)
            if hit is not None and hit[0] is base:
                return hit[1]
        value = build()
        with self._lock:
            if len(self._derived) >= 32:
                self._derived.clear()
            self._derived[key] = (base, value)  # holding base keeps its id from being reused
        return value

    # --- inside ---------------------------------------------------------------------------

    def _source(self, address: str, now: float) -> _Track:
        track = self._sources.get(address)
        if track is None:
            track = self._sources[address] = _Track(now)
            while len(self._sources) > self.settings.max_sources:
                self._sources.popitem(last=False)  # least recently seen
        else:
            self._sources.move_to_end(address)
        return track

    def _bump(
        self, track: _Track, signal: Signal, weight: float, now: float, address: str | None
    ) -> None:
        s = self.settings
        self._decay(track, now, address)
        track.roll(now, s.window)
        track.current += weight
        track.counts[signal] += 1
        score = track.score(now, s.window)
        elevated, high = (
            (s.elevated_score, s.high_score)
            if address is not None
            else (s.global_elevated_score, s.global_high_score)
        )
        target, threshold = (
            (Level.HIGH, high)
            if score >= high
            else (Level.ELEVATED, elevated)
            if score >= elevated
            else (Level.BASELINE, 0.0)
        )
        if target == Level.BASELINE:
            return
        if target >= track.level:
            # Still (or more) suspicious: the hold starts again from now.
            track.hold_until = now + s.hold_seconds
        if target > track.level:
            where = f"from {address}" if address is not None else "from all addresses"
            reason = track.explain(score, threshold, where, s.window)
            old, track.level, track.reason = track.level, target, reason
            self._changed(address, old, target, reason, now)

    def _decay(self, track: _Track, now: float, address: str | None) -> None:
        if track.level == Level.BASELINE or now < track.hold_until:
            return
        hold = self.settings.hold_seconds
        steps = 1 + int((now - track.hold_until) // hold)
        old = track.level
        new = Level(max(0, old - steps))
        quiet = now - track.hold_until + hold
        track.level = new
        track.hold_until += steps * hold
        reason = f"quiet for {quiet:.0f} s (hold {hold:g} s per level)"
        if new != Level.BASELINE:
            # Still raised: for what it was raised, and that it is stepping down.
            reason = f"{track.reason}; {reason}, down from {old.label}"
        track.reason = reason if new != Level.BASELINE else ""
        self._changed(address, old, new, reason, now)

    def _changed(
        self, address: str | None, old: Level, new: Level, reason: str, now: float | None = None
    ) -> None:
        change = LevelChange(
            at=self._clock() if now is None else now,
            address=address,
            old=old,
            new=new,
            reason=reason,
        )
        self.history.append(change)
        logger.warning(
            "risk level %s %s -> %s: %s",
            address if address is not None else "(global)",
            old.label,
            new.label,
            reason,
        )
        if self._on_change is not None:
            self._on_change(change)
