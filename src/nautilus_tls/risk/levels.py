"""Security levels and what each one demands (the floor it raises).

A level never lowers anything: the floor is applied on top of the configured policy, taking
the stricter of the two for every knob (:mod:`nautilus_tls.handshake.risk_floor` does that).
The table is data, so an operator reads in one place what ``elevated`` and ``high`` mean.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["FLOORS", "Floor", "Level", "level_for_threat"]


class Level(enum.IntEnum):
    """How wary the server is of a source (or of everyone). Ordered: higher is stricter."""

    BASELINE = 0
    ELEVATED = 1
    HIGH = 2

    @property
    def label(self) -> str:
        return self.name.lower()


_THREAT = {"low": Level.BASELINE, "elevated": Level.ELEVATED, "high": Level.HIGH}


def level_for_threat(threat: str) -> Level:
    """The level an operator's threat level ``low|elevated|high`` holds everyone at."""
    try:
        return _THREAT[threat.strip().lower()]
    except KeyError:
        raise ValueError(
            f"threat level must be one of {', '.join(_THREAT)}, not {threat!r}"
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Floor:
    """What a level requires of a handshake; ``None`` leaves the configured value alone."""

    level: Level
    # Key exchange must be post-quantum or hybrid (classical-only clients get
    # insufficient_security, RFC 8446 §6.2).
    post_quantum_key_exchange: bool = False
    # ML-KEM-1024 groups and 256-bit cipher suites first (among what the policy allows).
    prefer_strongest: bool = False
    early_data: bool = True  # 0-RTT allowed at all (it is replayable, RFC 8446 §8)
    max_ticket_lifetime: int | None = None  # seconds
    max_rekey_seconds: float | None = None  # a KeyUpdate at least this often while sending
    max_rekey_bytes: int | None = None
    # Require a client certificate (only where the config can verify one).
    require_client_certificate: bool = False


FLOORS: dict[Level, Floor] = {
    Level.BASELINE: Floor(level=Level.BASELINE),
    Level.ELEVATED: Floor(
        level=Level.ELEVATED,
        post_quantum_key_exchange=True,
        early_data=False,
        max_ticket_lifetime=3600,
        max_rekey_seconds=600.0,
    ),
    Level.HIGH: Floor(
        level=Level.HIGH,
        post_quantum_key_exchange=True,
        prefer_strongest=True,
        early_data=False,
        max_ticket_lifetime=600,
        max_rekey_seconds=60.0,
        max_rekey_bytes=16 << 20,
        require_client_certificate=True,
    ),
}
