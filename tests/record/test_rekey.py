"""RekeySchedule: the rotation budget of one write key (bytes, records, seconds)."""

from __future__ import annotations

from nautilus_tls.record.rekey import RekeySchedule


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def schedule(**kw: object) -> tuple[RekeySchedule, FakeClock]:
    clock = FakeClock()
    limits: dict[str, object] = {"max_bytes": None, "max_records": None, "max_seconds": None}
    limits.update(kw)
    return RekeySchedule(clock=clock, **limits), clock  # type: ignore[arg-type]


def test_without_limits_it_is_never_due() -> None:
    s, clock = schedule()
    assert not s.active
    for _ in range(1000):
        s.charge(16384)
    clock.now += 1e9
    assert s.due() is None


def test_bytes_limit_is_due_once_reached_and_restart_refills_it() -> None:
    s, _ = schedule(max_bytes=100)
    s.charge(99)
    assert s.due() is None
    s.charge(1)
    assert s.due() == "100 bytes sent under this key (limit 100)"
    s.restart()
    assert s.due() is None


def test_records_limit_counts_records_not_bytes() -> None:
    s, _ = schedule(max_records=3, max_bytes=10**9)
    s.charge(0)
    s.charge(1)
    assert s.due() is None
    s.charge(2)
    assert s.due() is not None and "3 records" in s.due()  # type: ignore[operator]


def test_seconds_limit_follows_the_injected_clock_from_the_last_restart() -> None:
    s, clock = schedule(max_seconds=60)
    s.charge(10)
    clock.now += 59.9
    assert s.due() is None
    clock.now += 0.1
    assert s.due() == "key in use for 60.0 s (limit 60 s)"
    s.restart()
    s.charge(10)
    assert s.due() is None


def test_an_unused_key_is_not_rotated_for_age() -> None:
    s, clock = schedule(max_seconds=1)
    clock.now += 3600
    assert s.due() is None
