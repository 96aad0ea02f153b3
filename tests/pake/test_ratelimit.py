"""The failed-login limit: refuses an identity after N failures in a window, with
access_denied and one log line; unknown users are limited the same way; success clears."""

from __future__ import annotations

import logging

import pytest
from session.helpers import FakeClock

from nautilus_tls.pake.errors import PakeRateLimited
from nautilus_tls.pake.ratelimit import FailedLoginLimiter
from nautilus_tls.pake.store import PakeStore


def test_limit_refuses_after_max_failures_then_window_passes(
    sqlite_store: PakeStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = FailedLoginLimiter(sqlite_store, max_failures=3, window=60, clock=clock)
    for _ in range(3):
        limiter.check("alice")
        limiter.failed("alice")
    with (
        caplog.at_level(logging.WARNING, logger="nautilus_tls.pake"),
        pytest.raises(PakeRateLimited) as info,
    ):
        limiter.check("alice")
    assert info.value.alert.name == "access_denied"
    assert "too many failed logins" in str(info.value)
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line == "PAKE login refused for user 'alice': 3 failed logins within 60s (limit 3)"
    limiter.check("bob")  # other identities are not affected
    clock.advance(61)
    limiter.check("alice")


def test_success_clears_the_count(sqlite_store: PakeStore, clock: FakeClock) -> None:
    limiter = FailedLoginLimiter(sqlite_store, max_failures=2, window=60, clock=clock)
    limiter.failed("alice")
    limiter.succeeded("alice")
    limiter.failed("alice")
    limiter.check("alice")


def test_both_stores_share_the_limit_between_limiters(store: PakeStore) -> None:
    # Two servers of a fleet, each with its own limiter over the same store.
    a = FailedLoginLimiter(store, max_failures=2, window=60)
    b = FailedLoginLimiter(store, max_failures=2, window=60)
    a.failed("ghost")  # an unknown user is counted like any other
    b.failed("ghost")
    with pytest.raises(PakeRateLimited):
        a.check("ghost")
    with pytest.raises(PakeRateLimited):
        b.check("ghost")


def test_nonsense_limits_are_refused(sqlite_store: PakeStore) -> None:
    with pytest.raises(ValueError):
        FailedLoginLimiter(sqlite_store, max_failures=0)
    with pytest.raises(ValueError):
        FailedLoginLimiter(sqlite_store, window=0)


def test_an_attempt_counts_until_it_succeeds(sqlite_store: PakeStore, clock: FakeClock) -> None:
    limiter = FailedLoginLimiter(sqlite_store, max_failures=1, window=60, clock=clock)
    limiter.attempted("alice")
    with pytest.raises(PakeRateLimited):
        limiter.check("alice")
    limiter.succeeded("alice")
    limiter.check("alice")
