"""RiskEngine: signals per address in, an explained level out; decay, eviction, bounds."""

from __future__ import annotations

import time

import pytest

from nautilus_tls.errors import (
    AlertDescription,
    AlertLevel,
    BadCertificate,
    ConfigError,
    DecodeError,
    HandshakeTimeout,
    MissingCloseNotify,
    PeerAlert,
    PeerIncompatible,
    PeerMisbehaved,
)
from nautilus_tls.risk import FLOORS, Level, LevelChange, RiskEngine, RiskSettings, Signal
from nautilus_tls.risk.engine import signal_for_failure


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def engine(**kw: object) -> tuple[RiskEngine, Clock, list[LevelChange]]:
    clock = Clock()
    changes: list[LevelChange] = []
    settings = RiskSettings(**kw)  # type: ignore[arg-type]
    return RiskEngine(settings, clock=clock, on_change=changes.append), clock, changes


def fail(e: RiskEngine, address: str, n: int, clock: Clock, every: float = 1.0) -> None:
    for _ in range(n):
        e.record(address, Signal.FAILED_HANDSHAKE)
        clock.now += every


def test_a_quiet_address_runs_at_the_baseline_with_no_floor() -> None:
    e, _, changes = engine()
    a = e.assess("192.0.2.1")
    assert a.level == Level.BASELINE and a.reason == "no risk signals"
    assert a.floor == FLOORS[Level.BASELINE] and not a.floor.post_quantum_key_exchange
    assert changes == []


def test_twenty_failed_handshakes_within_a_minute_raise_the_address_to_high() -> None:
    e, clock, changes = engine()
    fail(e, "192.0.2.1", 9, clock)
    assert e.level_of("192.0.2.1") == Level.BASELINE
    fail(e, "192.0.2.1", 1, clock)
    assert e.level_of("192.0.2.1") == Level.ELEVATED
    fail(e, "192.0.2.1", 10, clock)
    a = e.assess("192.0.2.1")
    assert a.level == Level.HIGH
    assert a.floor.post_quantum_key_exchange and not a.floor.early_data
    assert a.reason.startswith("20 failed handshakes from 192.0.2.1 within 60 s")
    assert [(c.old, c.new) for c in changes] == [
        (Level.BASELINE, Level.ELEVATED),
        (Level.ELEVATED, Level.HIGH),
    ]
    assert changes[-1].as_dict()["to"] == "high"
    # Other addresses are not punished for one address's burst.
    assert e.assess("192.0.2.2").level == Level.BASELINE


def test_the_same_failures_spread_over_ten_minutes_raise_nothing() -> None:
    e, clock, changes = engine()
    fail(e, "192.0.2.1", 20, clock, every=30.0)
    assert e.assess("192.0.2.1").level == Level.BASELINE
    assert changes == []


def test_a_raised_level_is_held_then_steps_down_after_quiet_periods() -> None:
    e, clock, changes = engine(hold_seconds=300)
    fail(e, "192.0.2.1", 20, clock, every=0.1)
    clock.now += 299
    assert e.level_of("192.0.2.1") == Level.HIGH
    clock.now += 2
    assert e.level_of("192.0.2.1") == Level.ELEVATED
    assert "quiet" in changes[-1].reason
    clock.now += 300
    assert e.level_of("192.0.2.1") == Level.BASELINE
    assert [c.new for c in changes][-2:] == [Level.ELEVATED, Level.BASELINE]


def test_a_long_silence_decays_several_levels_at_once() -> None:
    e, clock, changes = engine(hold_seconds=60)
    fail(e, "192.0.2.1", 25, clock, every=0.1)
    clock.now += 10_000
    assert e.assess("192.0.2.1").level == Level.BASELINE
    assert (changes[-1].old, changes[-1].new) == (Level.HIGH, Level.BASELINE)


def test_continued_attack_keeps_extending_the_hold() -> None:
    e, clock, _ = engine(hold_seconds=100)
    fail(e, "192.0.2.1", 20, clock, every=0.1)
    for _ in range(10):  # 20 more per minute for ten minutes
        fail(e, "192.0.2.1", 20, clock, every=3.0)
    assert e.level_of("192.0.2.1") == Level.HIGH


def test_protocol_violations_weigh_more_than_plain_failures() -> None:
    e, _clock, _ = engine()
    for _ in range(10):
        e.record("192.0.2.9", Signal.PROTOCOL_VIOLATION)
    assert e.level_of("192.0.2.9") == Level.HIGH
    assert "10 protocol violations" in e.assess("192.0.2.9").reason


def test_a_downgrade_after_post_quantum_raises_the_address() -> None:
    e, _, changes = engine()
    e.handshake_completed("192.0.2.5", post_quantum=False)
    assert e.level_of("192.0.2.5") == Level.BASELINE  # classical alone is no signal
    e.handshake_completed("192.0.2.5", post_quantum=True)
    e.handshake_completed("192.0.2.5", post_quantum=False)
    assert e.level_of("192.0.2.5") == Level.ELEVATED
    assert "1 downgrade to classical key exchange from 192.0.2.5" in changes[-1].reason


def test_the_operator_threat_level_holds_everyone_and_never_lowers_an_address() -> None:
    e, clock, changes = engine()
    fail(e, "192.0.2.1", 20, clock, every=0.1)
    e.set_threat_level("elevated")
    assert e.assess("198.51.100.7").level == Level.ELEVATED
    assert e.assess("198.51.100.7").reason == "operator threat level elevated"
    assert e.assess("192.0.2.1").level == Level.HIGH
    assert changes[-1].address is None and "elevated" in changes[-1].reason
    e.set_threat_level("low")
    assert e.assess("198.51.100.7").level == Level.BASELINE
    with pytest.raises(ValueError, match="threat level"):
        e.set_threat_level("severe")


def test_a_distributed_burst_raises_the_global_level() -> None:
    e, _clock, _changes = engine(global_elevated_score=50, global_high_score=100)
    for i in range(60):  # 60 addresses, one failure each: none is suspicious alone
        e.record(f"203.0.113.{i}", Signal.FAILED_HANDSHAKE)
    assert e.level_of("203.0.113.1") == Level.BASELINE
    a = e.assess("198.51.100.1")
    assert a.level == Level.ELEVATED and "from all addresses" in a.reason


def test_memory_is_bounded_by_evicting_the_least_recently_seen_address() -> None:
    e, clock, _ = engine(max_sources=100, max_history=8)
    fail(e, "192.0.2.1", 20, clock, every=0.01)
    for i in range(5000):
        e.record(f"10.0.{i // 256}.{i % 256}", Signal.PROTOCOL_VIOLATION)
    assert e.tracked_sources() == 100
    assert e.level_of("192.0.2.1") == Level.BASELINE  # evicted: starts from nothing
    assert len(e.history) <= 8


def test_record_cost_does_not_grow_with_the_number_of_events() -> None:
    # O(1) per event: a batch of events costs the same on an engine that has seen a hundred
    # thousand garbage ClientHellos from the address as on a fresh one. The batches are
    # interleaved and the best of each kept, so load on a shared machine hits both alike.
    old = RiskEngine(RiskSettings(), clock=time.monotonic)
    for _ in range(100_000):
        old.record("192.0.2.1", Signal.PROTOCOL_VIOLATION)

    def batch(engine: RiskEngine) -> float:
        start = time.perf_counter()
        for _ in range(2000):
            engine.record("192.0.2.1", Signal.PROTOCOL_VIOLATION)
        return time.perf_counter() - start

    fresh_best = old_best = float("inf")
    for _ in range(7):
        fresh = RiskEngine(RiskSettings(), clock=time.monotonic)
        batch(fresh)  # past the level changes (logged once), as the old engine is
        fresh_best = min(fresh_best, batch(fresh))
        old_best = min(old_best, batch(old))
    assert old_best < fresh_best * 2
    assert old.tracked_sources() == 1


@pytest.mark.parametrize(
    ("error", "signal"),
    [
        (PeerAlert(AlertDescription.bad_certificate, AlertLevel.FATAL), Signal.PEER_ALERT),
        (PeerIncompatible("no group"), Signal.FAILED_HANDSHAKE),
        (BadCertificate("bad"), Signal.FAILED_HANDSHAKE),
        (DecodeError("garbage"), Signal.PROTOCOL_VIOLATION),
        (PeerMisbehaved("forbidden"), Signal.PROTOCOL_VIOLATION),
        (MissingCloseNotify("hung up"), None),
        (HandshakeTimeout("slow"), None),
    ],
)
def test_classifies_handshake_failures(error: Exception, signal: Signal | None) -> None:
    assert signal_for_failure(error) == signal  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kw",
    [
        {"window": 0},
        {"elevated_score": 30, "high_score": 20},
        {"max_sources": 0},
        {"hold_seconds": -1},
        {"weights": {Signal.DOWNGRADE: -1.0}},
    ],
)
def test_rejects_nonsense_settings(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RiskSettings(**kw)  # type: ignore[arg-type]
