"""MemoryAntiReplay: exactly once within the window, bounded, fails closed when full."""

from __future__ import annotations

import threading

import pytest
from session.helpers import FakeClock

from nautilus_tls.errors import ConfigError
from nautilus_tls.session.anti_replay import MemoryAntiReplay


def test_first_use_is_true_exactly_once(clock: FakeClock) -> None:
    replay = MemoryAntiReplay(clock=clock)
    assert replay.first_use(b"binder-1", 10)
    assert not replay.first_use(b"binder-1", 10)
    assert not replay.first_use(b"binder-1", 10)
    assert replay.first_use(b"binder-2", 10)


def test_key_is_forgotten_after_its_ttl(clock: FakeClock) -> None:
    replay = MemoryAntiReplay(clock=clock)
    assert replay.first_use(b"k", 10)
    clock.advance(9.999)
    assert not replay.first_use(b"k", 10)
    clock.advance(0.001)
    assert replay.first_use(b"k", 10)
    assert not replay.first_use(b"k", 10)


def test_expired_entries_are_dropped(clock: FakeClock) -> None:
    replay = MemoryAntiReplay(clock=clock)
    for i in range(100):
        replay.first_use(i.to_bytes(2, "big"), 5 + i % 7)
    assert len(replay) == 100
    clock.advance(12)
    replay.first_use(b"new", 1)
    assert len(replay) == 1


def test_full_record_fails_closed_until_entries_expire(clock: FakeClock) -> None:
    replay = MemoryAntiReplay(max_entries=3, clock=clock)
    assert all(replay.first_use(bytes([i]), 10) for i in range(3))
    assert not replay.first_use(b"fresh", 10)  # full: refuse rather than forget
    assert not replay.first_use(bytes([0]), 10)
    assert len(replay) == 3
    clock.advance(10)
    assert replay.first_use(b"fresh", 10)


def test_mixed_ttls(clock: FakeClock) -> None:
    replay = MemoryAntiReplay(clock=clock)
    assert replay.first_use(b"long", 100)
    assert replay.first_use(b"short", 1)
    clock.advance(2)
    assert replay.first_use(b"short", 1)
    assert not replay.first_use(b"long", 100)


def test_long_keys_take_fixed_space(clock: FakeClock) -> None:
    replay = MemoryAntiReplay(clock=clock)
    assert replay.first_use(b"x" * 100_000, 10)
    assert not replay.first_use(b"x" * 100_000, 10)
    assert replay.first_use(b"x" * 99_999, 10)


def test_exactly_one_thread_wins() -> None:
    replay = MemoryAntiReplay()
    barrier = threading.Barrier(32)
    results: list[bool] = []

    def work() -> None:
        barrier.wait()
        results.append(replay.first_use(b"same hello", 10))

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


@pytest.mark.parametrize("ttl", [0, -1, float("nan")])
def test_rejects_bad_ttl(ttl: float) -> None:
    with pytest.raises(ValueError):
        MemoryAntiReplay().first_use(b"k", ttl)


def test_rejects_bad_size() -> None:
    with pytest.raises(ConfigError):
        MemoryAntiReplay(0)
