"""Small helpers shared by the session modules (not public)."""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable

from nautilus_tls.errors import TLSError

Clock = Callable[[], float]
"""Seconds since the epoch (``time.time`` unless a test pins it)."""

RandomBytes = Callable[[int], bytes]
"""``n -> n`` random bytes (``os.urandom`` unless a test pins it)."""

MAX_TICKET_LIFETIME = 7 * 24 * 3600
"""RFC 8446 §4.6.1: a ticket lives at most seven days."""

UINT32_MAX = 0xFFFFFFFF


class SessionStoreError(TLSError):
    """A shared session store (Redis) could not be reached or answered nonsense.

    Raised by ``TicketKeyManager.seal``/``rotate`` (the server then sends no ticket);
    ``open`` and anti-replay checks fail closed instead (full handshake, 0-RTT rejected).
    """


def secrets_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a, b)


def check_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds")


def check_uint(name: str, value: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{name} must be an integer in 0..{maximum}")


def check_positive(name: str, value: float) -> None:
    check_finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be positive")
