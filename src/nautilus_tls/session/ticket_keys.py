"""Session tickets: ticket keys and their rotation, stateless and stateful ticket schemes.

Stateless tickets (the default) carry the encoded :class:`ResumptionState`, sealed with
AES-256-GCM under a *ticket key*::

    ticket = key_id (16) || nonce (12) || AES-256-GCM(secret, nonce, state, aad=key_id)

Ticket keys rotate: the newest key seals, older keys still open the tickets they sealed,
and a key is destroyed once no ticket it sealed can still be valid — ``rotation_period``
(the longest it was current) plus ``max_ticket_lifetime`` (the longest a ticket lives)
after it was made. A leaked ticket key therefore exposes at most that window of sessions
(forward secrecy of resumption, RFC 8446 §8 and §E.1). Keys live in a
:class:`TicketKeyStore`: :class:`MemoryTicketKeyStore` for one process, or
:class:`~nautilus_tls.session.redis_store.RedisTicketKeyStore` for a fleet of servers that
must open each other's tickets.

Nonces are random (96 bits): with keys rotated every 12 hours the number of tickets per key
stays far below the 2^32 messages AES-GCM allows with random nonces.

Stateful tickets (:class:`StatefulTickets`) are random identifiers into a bounded server
cache: nothing secret leaves the server, each ticket works once, but resumption only works
against the process that issued it.

The server looks a ticket up with ``peek`` (nothing consumed: a ClientHello answered with a
HelloRetryRequest must not use up the ticket the second ClientHello offers again) and calls
``consume`` once it actually resumes with it; ``consume`` is atomic, so a stateful ticket
still resumes at most one connection.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from nautilus_tls.crypto.suites import AES_256_GCM_SHA384, Aead, open_record
from nautilus_tls.errors import ConfigError, DecodeError, LocalProtocolError
from nautilus_tls.session._util import (
    MAX_TICKET_LIFETIME,
    Clock,
    RandomBytes,
    SessionStoreError,
    check_finite,
    check_positive,
    secrets_equal,
)
from nautilus_tls.session.state import ResumptionState

__all__ = [
    "KEY_ID_LEN",
    "MAX_TICKET_KEYS",
    "MAX_TICKET_LEN",
    "NONCE_LEN",
    "SECRET_LEN",
    "STATEFUL_TICKET_ID_LEN",
    "MemoryTicketKeyStore",
    "StatefulTickets",
    "StatelessTickets",
    "TicketKey",
    "TicketKeyManager",
    "TicketKeyStore",
]

KEY_ID_LEN = 16
SECRET_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
OVERHEAD = KEY_ID_LEN + NONCE_LEN + TAG_LEN
MAX_TICKET_LEN = 0xFFFF  # NewSessionTicket.ticket<1..2^16-1> (RFC 8446 §4.6.1)
MAX_TICKET_KEYS = 64  # a store keeps at most this many keys (newest); 15 are needed at defaults
STATEFUL_TICKET_ID_LEN = 32

DEFAULT_ROTATION_PERIOD = 12 * 3600.0
DEFAULT_MAX_TICKET_LIFETIME = float(MAX_TICKET_LIFETIME)

_PARAMS = AES_256_GCM_SHA384


@dataclass(frozen=True, slots=True, eq=False)
class TicketKey:
    """One ticket key: a random public id, a 32-byte secret and when it was made.

    ``secret`` never appears in ``repr``; equality compares it in constant time.
    """

    key_id: bytes
    secret: bytes = field(repr=False)
    created_at: float

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_LEN:
            raise ValueError(f"key_id must be {KEY_ID_LEN} bytes")
        if not isinstance(self.secret, bytes) or len(self.secret) != SECRET_LEN:
            raise ValueError(f"secret must be {SECRET_LEN} bytes")
        check_finite("created_at", self.created_at)

    @classmethod
    def generate(cls, now: float, *, random: RandomBytes = os.urandom) -> TicketKey:
        """A fresh key made at ``now``."""
        return cls(key_id=random(KEY_ID_LEN), secret=random(SECRET_LEN), created_at=now)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TicketKey):
            return NotImplemented
        same_secret = secrets_equal(self.secret, other.secret)
        return same_secret and self.key_id == other.key_id and self.created_at == other.created_at

    def __hash__(self) -> int:
        return hash((self.key_id, self.created_at))


class TicketKeyStore(Protocol):
    """Where ticket keys live (memory: one process; Redis: a fleet)."""

    def keys(self) -> list[TicketKey]:
        """Every key, newest first."""
        ...

    def add_if_current_is_older_than(self, key: TicketKey, cutoff: float) -> None:
        """Atomically add ``key`` unless some stored key has ``created_at > cutoff``.

        Several servers rotating at once therefore add one key, not one each.
        ``cutoff=math.inf`` always adds (rotation by hand).
        """
        ...

    def remove_older_than(self, cutoff: float) -> None:
        """Destroy every key with ``created_at < cutoff``."""
        ...


class MemoryTicketKeyStore:
    """Ticket keys in this process (thread-safe; at most ``max_keys``, newest kept)."""

    def __init__(self, *, max_keys: int = MAX_TICKET_KEYS) -> None:
        if max_keys < 1:
            raise ConfigError("max_keys must be at least 1")
        self._max_keys = max_keys
        self._keys: list[TicketKey] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryTicketKeyStore(keys={len(self._keys)})"

    def keys(self) -> list[TicketKey]:
        with self._lock:
            return list(self._keys)

    def add_if_current_is_older_than(self, key: TicketKey, cutoff: float) -> None:
        with self._lock:
            if any(k.created_at > cutoff for k in self._keys):
                return
            if any(k.key_id == key.key_id for k in self._keys):
                return
            keys = [key, *self._keys]
            keys.sort(
                key=lambda k: k.created_at, reverse=True
            )  # stable: newest added first on ties
            self._keys = keys[: self._max_keys]

    def remove_older_than(self, cutoff: float) -> None:
        with self._lock:
            self._keys = [k for k in self._keys if not k.created_at < cutoff]


class TicketKeyManager:
    """Seals and opens tickets with the keys of a :class:`TicketKeyStore`, rotating them.

    Every ``seal``/``open``/``rotate`` reads the store once (so servers sharing a store see
    each other's rotations at once), destroys keys older than ``rotation_period +
    max_ticket_lifetime`` and, for ``seal``, makes a new key when the newest one is at least
    ``rotation_period`` old.
    """

    def __init__(
        self,
        store: TicketKeyStore | None = None,
        *,
        rotation_period: float = DEFAULT_ROTATION_PERIOD,
        max_ticket_lifetime: float = DEFAULT_MAX_TICKET_LIFETIME,
        clock: Clock = time.time,
        random: RandomBytes = os.urandom,
    ) -> None:
        try:
            check_positive("rotation_period", rotation_period)
            check_positive("max_ticket_lifetime", max_ticket_lifetime)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if max_ticket_lifetime > MAX_TICKET_LIFETIME:
            raise ConfigError("max_ticket_lifetime must be at most 604800 s (RFC 8446 §4.6.1)")
        self._store: TicketKeyStore = store if store is not None else MemoryTicketKeyStore()
        self._rotation_period = float(rotation_period)
        self._max_ticket_lifetime = float(max_ticket_lifetime)
        self._clock = clock
        self._random = random
        self._aeads: dict[bytes, tuple[bytes, Aead]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"TicketKeyManager(store={self._store!r}, rotation_period={self._rotation_period}, "
            f"max_ticket_lifetime={self._max_ticket_lifetime})"
        )

    @property
    def store(self) -> TicketKeyStore:
        return self._store

    @property
    def rotation_period(self) -> float:
        return self._rotation_period

    @property
    def max_ticket_lifetime(self) -> float:
        return self._max_ticket_lifetime

    @property
    def retention(self) -> float:
        """How long a key is kept after it was made: ``rotation_period + max_ticket_lifetime``."""
        return self._rotation_period + self._max_ticket_lifetime

    def clock(self) -> float:
        """The manager's notion of now (the injected clock)."""
        return self._clock()

    # -- keys -------------------------------------------------------------------------------

    def _live_keys(self, now: float) -> list[TicketKey]:
        """The store's keys still within retention; destroys the ones past it."""
        cutoff = now - self.retention
        keys = self._store.keys()
        if any(k.created_at < cutoff for k in keys):
            self._store.remove_older_than(cutoff)
            keys = [k for k in keys if not k.created_at < cutoff]
        return keys

    def _aead(self, key: TicketKey, live: list[TicketKey]) -> Aead:
        with self._lock:
            cached = self._aeads.get(key.key_id)
            if cached is not None and secrets_equal(cached[0], key.secret):
                return cached[1]
            if len(self._aeads) >= len(live):  # forget keys the store no longer has
                keep = {k.key_id for k in live}
                self._aeads = {i: v for i, v in self._aeads.items() if i in keep}
            aead = _PARAMS.new_aead(key.secret)
            self._aeads[key.key_id] = (key.secret, aead)
            return aead

    def current_key(self) -> TicketKey:
        """The key that seals now, made first if there is none or the newest is too old."""
        return self._current(self._clock())[0]

    def _current(self, now: float) -> tuple[TicketKey, list[TicketKey]]:
        keys = self._live_keys(now)
        cutoff = now - self._rotation_period
        if not keys or keys[0].created_at <= cutoff:
            self._store.add_if_current_is_older_than(
                TicketKey.generate(now, random=self._random), cutoff
            )
            keys = self._live_keys(now)
            if not keys:
                raise SessionStoreError("the ticket key store kept no key after rotation")
        return keys[0], keys

    def rotate(self) -> TicketKey:
        """Make a new current key now, whatever the age of the current one (by hand)."""
        now = self._clock()
        live = self._live_keys(now)
        # The new key must sort first in every store: if the newest key is not older than
        # now (same clock tick, or another server's clock ahead), make it one step newer.
        created = now
        if live and live[0].created_at >= now:
            created = math.nextafter(live[0].created_at, math.inf)
        key = TicketKey.generate(created, random=self._random)
        self._store.add_if_current_is_older_than(key, math.inf)
        return key

    # -- sealing ------------------------------------------------------------------------------

    def seal(self, plaintext: bytes) -> bytes:
        """``key_id || nonce || AES-256-GCM(plaintext, aad=key_id)`` under the current key."""
        key, live = self._current(self._clock())
        nonce = self._random(NONCE_LEN)
        if len(nonce) != NONCE_LEN:
            raise LocalProtocolError("the random source returned a short nonce")
        sealed = self._aead(key, live).encrypt(nonce, bytes(plaintext), key.key_id)
        return key.key_id + nonce + sealed

    def open(self, ticket: bytes | bytearray | memoryview) -> bytes | None:
        """The plaintext, or ``None`` for an unknown or retired key, a tampered or truncated
        ticket, or an unreachable store. Never raises for bad input."""
        if not isinstance(ticket, bytes | bytearray | memoryview):
            return None
        data = bytes(ticket)
        if not OVERHEAD <= len(data) <= MAX_TICKET_LEN:
            return None
        key_id = data[:KEY_ID_LEN]
        try:
            live = self._live_keys(self._clock())
        except SessionStoreError:
            return None
        for key in live:
            if secrets_equal(key.key_id, key_id):
                aead = self._aead(key, live)
                nonce = data[KEY_ID_LEN : KEY_ID_LEN + NONCE_LEN]
                return open_record(aead, nonce, data[KEY_ID_LEN + NONCE_LEN :], key_id)
        return None


def _check_lifetime(state: ResumptionState, max_lifetime: float) -> None:
    if state.lifetime > max_lifetime:
        raise ConfigError(
            f"ticket lifetime {state.lifetime} s exceeds the ticket scheme's maximum "
            f"{max_lifetime:g} s"
        )


class StatelessTickets:
    """The default ticket scheme: the resumption state, encrypted under a ticket key."""

    def __init__(self, keys: TicketKeyManager) -> None:
        self._keys = keys

    def __repr__(self) -> str:
        return f"StatelessTickets({self._keys!r})"

    @property
    def keys(self) -> TicketKeyManager:
        return self._keys

    @property
    def max_lifetime(self) -> float:
        """The longest ticket lifetime this scheme honours (the key manager's)."""
        return self._keys.max_ticket_lifetime

    def issue(self, state: ResumptionState) -> bytes:
        """The opaque ticket for ``state``.

        Raises ``ConfigError`` when ``state.lifetime`` exceeds :attr:`max_lifetime`,
        ``LocalProtocolError`` when the ticket would not fit in a NewSessionTicket (a huge
        client certificate chain) and ``SessionStoreError`` when a shared key store is down;
        in each case the server simply sends no ticket.
        """
        _check_lifetime(state, self.max_lifetime)
        plaintext = state.encode()
        if len(plaintext) + OVERHEAD > MAX_TICKET_LEN:
            raise LocalProtocolError("resumption state too large for a ticket")
        return self._keys.seal(plaintext)

    def redeem(
        self, ticket: bytes | bytearray | memoryview, *, now: float | None = None
    ) -> ResumptionState | None:
        """The state inside ``ticket``, or ``None`` (caller falls back to a full handshake)
        when it does not open, does not decode or has expired at ``now`` (default: the key
        manager's clock)."""
        plaintext = self._keys.open(ticket)
        if plaintext is None:
            return None
        try:
            state = ResumptionState.decode(plaintext)
        except DecodeError:
            return None
        if state.is_expired(self._keys.clock() if now is None else now):
            return None
        return state

    def peek(
        self, ticket: bytes | bytearray | memoryview, *, now: float | None = None
    ) -> ResumptionState | None:
        """As :meth:`redeem` (a stateless ticket is never used up)."""
        return self.redeem(ticket, now=now)

    def consume(self, ticket: bytes | bytearray | memoryview) -> bool:
        """Always True: replay protection of stateless tickets is the anti-replay store's."""
        return True


class StatefulTickets:
    """Tickets as random ids into a bounded, in-process cache.

    Entries expire at ``created_at + lifetime``; beyond ``max_entries`` the least recently
    issued entry is evicted; :meth:`redeem` removes the entry, so each ticket works once
    (which also makes 0-RTT on these tickets replay-safe within this process).
    """

    def __init__(
        self,
        *,
        max_entries: int = 10000,
        clock: Clock = time.time,
        random: RandomBytes = os.urandom,
    ) -> None:
        if max_entries < 1:
            raise ConfigError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._random = random
        self._entries: OrderedDict[bytes, ResumptionState] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StatefulTickets(entries={len(self._entries)}, max_entries={self._max_entries})"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def max_lifetime(self) -> float:
        return float(MAX_TICKET_LIFETIME)

    def issue(self, state: ResumptionState) -> bytes:
        """A fresh random ticket id for ``state``."""
        _check_lifetime(state, self.max_lifetime)
        ticket = self._random(STATEFUL_TICKET_ID_LEN)
        if len(ticket) != STATEFUL_TICKET_ID_LEN:
            raise LocalProtocolError("the random source returned a short ticket id")
        now = self._clock()
        with self._lock:
            entries = self._entries
            # Drop expired entries from the old end (cheap, amortized); the bound below
            # holds whatever their lifetimes.
            while entries:
                oldest = next(iter(entries.values()))
                if not oldest.is_expired(now):
                    break
                entries.popitem(last=False)
            entries[ticket] = state
            entries.move_to_end(ticket)
            while len(entries) > self._max_entries:
                entries.popitem(last=False)
        return ticket

    def redeem(
        self, ticket: bytes | bytearray | memoryview, *, now: float | None = None
    ) -> ResumptionState | None:
        """The state for ``ticket``, removed from the cache; ``None`` if unknown or expired."""
        return self._lookup(ticket, now, remove=True)

    def peek(
        self, ticket: bytes | bytearray | memoryview, *, now: float | None = None
    ) -> ResumptionState | None:
        """The state for ``ticket``, left in the cache; ``None`` if unknown or expired."""
        return self._lookup(ticket, now, remove=False)

    def consume(self, ticket: bytes | bytearray | memoryview) -> bool:
        """Remove ``ticket``'s entry; False when it is gone (another connection took it)."""
        if not isinstance(ticket, bytes | bytearray | memoryview):
            return False
        with self._lock:
            return self._entries.pop(bytes(ticket), None) is not None

    def _lookup(
        self, ticket: bytes | bytearray | memoryview, now: float | None, *, remove: bool
    ) -> ResumptionState | None:
        if not isinstance(ticket, bytes | bytearray | memoryview):
            return None
        if len(ticket) != STATEFUL_TICKET_ID_LEN:
            return None
        key = bytes(ticket)
        with self._lock:
            state = self._entries.pop(key, None) if remove else self._entries.get(key)
        if state is None or state.is_expired(self._clock() if now is None else now):
            return None
        return state
