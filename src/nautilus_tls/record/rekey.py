"""When the write key is due for a KeyUpdate by policy (issue 21: key rotation by policy).

RFC 8446 §4.6.3 lets either side update its sending keys at any time; §5.5 makes it
mandatory only near the AEAD limit, which :meth:`RecordProtector.needs_key_update` tracks.
A :class:`RekeySchedule` adds an operator's policy on top: rotate after so many plaintext
bytes, so many records, or so many seconds under one key, whichever comes first. The
connection asks :meth:`RekeySchedule.due` before sealing each application record, charges
what it sealed, and restarts the schedule whenever a new write key is installed.

Time comes from an injected clock, so tests pin it; a seconds budget is checked when there
is something to send (a key that seals nothing needs no rotation).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["RekeySchedule"]


class RekeySchedule:
    """The rotation budget of one write key. A limit of ``None`` is no limit; with none set,
    :meth:`due` is always ``None`` and the connection keeps today's behaviour."""

    __slots__ = (
        "_bytes",
        "_clock",
        "_max_bytes",
        "_max_records",
        "_max_seconds",
        "_records",
        "_started",
    )

    def __init__(
        self,
        *,
        max_bytes: int | None,
        max_records: int | None,
        max_seconds: float | None,
        clock: Callable[[], float],
    ) -> None:
        self._max_bytes = max_bytes
        self._max_records = max_records
        self._max_seconds = max_seconds
        self._clock = clock
        self._bytes = 0
        self._records = 0
        self._started = clock() if max_seconds is not None else 0.0

    @property
    def active(self) -> bool:
        return (
            self._max_bytes is not None
            or self._max_records is not None
            or self._max_seconds is not None
        )

    def restart(self) -> None:
        """A new write key is in place: its budget starts full."""
        self._bytes = self._records = 0
        if self._max_seconds is not None:
            self._started = self._clock()

    def charge(self, plaintext_len: int) -> None:
        """One record of ``plaintext_len`` bytes was sealed under the current key."""
        self._bytes += plaintext_len
        self._records += 1

    def due(self) -> str | None:
        """Why the current key must be replaced before the next record, or ``None``."""
        if self._max_bytes is not None and self._bytes >= self._max_bytes:
            return f"{self._bytes} bytes sent under this key (limit {self._max_bytes})"
        if self._max_records is not None and self._records >= self._max_records:
            return f"{self._records} records sent under this key (limit {self._max_records})"
        if self._max_seconds is not None and self._records:
            age = self._clock() - self._started
            if age >= self._max_seconds:
                return f"key in use for {age:.1f} s (limit {self._max_seconds:g} s)"
        return None
