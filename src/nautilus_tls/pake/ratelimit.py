"""Per-identity limit on failed logins: the online guessing an augmented PAKE cannot stop.

A PAKE gives an attacker exactly one password guess per login attempt, so the server must
cap the attempts. After ``max_failures`` failed logins of one identity within ``window``
seconds, further logins of that identity are refused *before any PAKE work* with
:class:`~nautilus_tls.pake.errors.PakeRateLimited` (alert access_denied) and one warning log
line. Unknown identities are counted exactly like known ones, so the limit does not reveal
which users exist. The counters live in the record store, so a fleet shares them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from nautilus_tls.pake.errors import PakeRateLimited
from nautilus_tls.pake.store import PakeStore

__all__ = ["FailedLoginLimiter"]

log = logging.getLogger("nautilus_tls.pake")


class FailedLoginLimiter:
    def __init__(
        self,
        store: PakeStore,
        *,
        max_failures: int = 5,
        window: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_failures < 1 or window <= 0:
            raise ValueError("max_failures must be >= 1 and window > 0")
        self._store, self._max, self._window, self._clock = store, max_failures, window, clock

    def __repr__(self) -> str:
        return f"FailedLoginLimiter(max_failures={self._max}, window={self._window})"

    def check(self, user: str) -> None:
        """Raise PakeRateLimited when ``user`` has used up its failed logins."""
        count = self._store.failures(user, self._clock(), self._window)
        if count >= self._max:
            log.warning(
                "PAKE login refused for user %r: %d failed logins within %gs (limit %d)",
                user,
                count,
                self._window,
                self._max,
            )
            raise PakeRateLimited(
                f"too many failed logins for this user ({count} within {self._window:g}s); "
                "try again later"
            )

    def failed(self, user: str) -> None:
        count = self._store.add_failure(user, self._clock(), self._window)
        log.info("PAKE login failed for user %r (%d of %d allowed)", user, count, self._max)

    def attempted(self, user: str) -> None:
        """Count a login whose outcome is not known yet (TLS: it is known at the client's
        Finished, or never, if the client gives up): a failure until :meth:`succeeded`."""
        count = self._store.add_failure(user, self._clock(), self._window)
        log.debug("PAKE login started for user %r (%d of %d counted)", user, count, self._max)

    def succeeded(self, user: str) -> None:
        self._store.clear_failures(user)
