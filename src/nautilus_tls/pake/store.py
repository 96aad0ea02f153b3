"""Where a PAKE server keeps its registration records, its own secrets and failed-login counts.

:class:`PakeStore` is the interface; :class:`~nautilus_tls.pake.store_sqlite.SQLiteRecordStore`
(one file, the embedded default), :class:`~nautilus_tls.pake.store_redis.RedisRecordStore` and
:class:`~nautilus_tls.pake.store_postgres.PostgresRecordStore` (shared by a fleet) implement it. A store holds, per (user, method), the record the protocol
needs (OPAQUE's RegistrationRecord or SPAKE2+'s (w0, L)), the key stretching parameters and
the SPAKE2+ salt; never a password. It also keeps the server-wide secrets (the OPAQUE key pair
and OPRF seed, the fake-record key), made once and then shared by every server using the
store, and the per-identity failed-login counters of :mod:`.ratelimit`.

Store failures raise :class:`PakeStoreError` (a ConfigError: the server cannot authenticate
anyone, which is a deployment problem, not the peer's fault).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from nautilus_tls.errors import ConfigError
from nautilus_tls.pake.ksf import Ksf, ksf_from_record

__all__ = ["METHODS", "Method", "PakeStore", "PakeStoreError", "StoredRecord"]

Method = Literal["opaque", "spake2plus"]
METHODS: tuple[Method, ...] = ("opaque", "spake2plus")
MAX_USER_LEN = 255  # the identity travels in a TLS extension with a one-byte length


class PakeStoreError(ConfigError):
    """The record store cannot be read or written."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One user's registration for one method."""

    user: str
    method: Method
    record: bytes = field(repr=False)
    ksf: Ksf
    salt: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        check_user(self.user)
        if self.method not in METHODS:
            raise ConfigError(f"unknown PAKE method {self.method!r}")


def check_user(user: str) -> None:
    """A user name is 1-255 bytes of UTF-8 without control characters (it goes into logs)."""
    try:
        # Strict: a name decoded with surrogateescape (non-UTF-8 bytes from the command line)
        # has lone surrogates, which no store can encode.
        encoded = user.encode("utf-8")
    except UnicodeEncodeError:
        encoded = b""
    if not 1 <= len(encoded) <= MAX_USER_LEN or any(ord(c) < 0x20 or ord(c) == 0x7F for c in user):
        raise ConfigError("a PAKE user name is 1-255 bytes of UTF-8 without control characters")


def record_from_row(
    user: str, method: Method, row: Sequence[Any] | None, *, allow_identity: bool
) -> StoredRecord | None:
    """A SQL store's ``(record, ksf, salt)`` row as a record (None when there is no row)."""
    if row is None:
        return None
    ksf = ksf_from_record(row[1], allow_identity=allow_identity)
    return StoredRecord(user, method, bytes(row[0]), ksf, bytes(row[2]))


@runtime_checkable
class PakeStore(Protocol):
    """What a PAKE server needs from its storage."""

    def get(self, user: str, method: Method) -> StoredRecord | None:
        """The user's record for ``method``, or None."""
        ...

    def put(self, record: StoredRecord) -> None:
        """Add or replace a record (re-registration replaces)."""
        ...

    def delete(self, user: str, method: Method) -> bool:
        """Remove a record; True if there was one."""
        ...

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The named server-wide secret, created with ``make()`` the first time.

        Atomic: when several servers race, all of them end up with the same value.
        """
        ...

    def add_failure(self, user: str, now: float, window: float) -> int:
        """Count one failed login; returns the failures in the current window (fixed
        windows of ``window`` seconds starting at the first failure)."""
        ...

    def failures(self, user: str, now: float, window: float) -> int:
        """The failed logins of ``user`` in the current window (0 once it has passed)."""
        ...

    def clear_failures(self, user: str) -> None:
        """Forget the failures (after a successful login)."""
        ...

    def close(self) -> None: ...
