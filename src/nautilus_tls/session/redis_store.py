"""Ticket keys and anti-replay records in Redis, shared by a fleet of servers.

Needs the ``redis`` package (``pip install redis``), imported only when one of these classes
is made, so the library works without it. Pass a URL (``redis://host:6379/0``,
``rediss://...`` for TLS, ``unix:///path/to/redis.sock``) or a ready ``redis.Redis``
client. Either way the values stored are text, so a client made with
``decode_responses=True`` works too.

**Redis holds the ticket keys in the clear**: whoever can read the Redis database can open
every ticket, derive the resumption PSKs inside and decrypt the early data sent with them.
Restrict access (ACLs, a private network or TLS, no persistence to shared disks).

Layout:

* ticket keys: one sorted set ``{prefix}ring``, score ``created_at``, member
  ``v1:<key_id hex>:<secret hex>:<created_at>``. One key means every operation is a single
  atomic command (or one Lua script for the conditional add) and works on Redis Cluster.
  The set expires ``key_ttl`` seconds after the last rotation, so an abandoned fleet leaves
  nothing behind.
* anti-replay: ``{prefix}<sha256(key) hex>`` set with ``SET ... NX PX ttl``.

Store failures: ``keys``/``add``/``remove`` raise :class:`SessionStoreError`
(``TicketKeyManager.open`` turns that into "no ticket", ``seal`` lets it through);
``RedisAntiReplay.first_use`` answers False (0-RTT rejected) and logs a warning.

The server calls these from its handshake, on the event loop, so a slow Redis would stall
every connection of the process. Three things bound that:

* clients made from a URL get short socket timeouts (``timeout``, 0.25 s by default; a client
  passed in keeps its own, so give it ``socket_timeout``/``socket_connect_timeout``);
* a circuit breaker: after a failure Redis is not asked again for ``retry_after`` seconds
  (5 s): calls fail at once (no ticket, 0-RTT rejected) and handshakes go on;
* the ticket key ring is cached for ``key_cache_seconds`` (1 s), so most handshakes do not
  touch Redis at all, and the last ring read keeps opening tickets while Redis is away.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from nautilus_tls.errors import ConfigError
from nautilus_tls.session._util import SessionStoreError
from nautilus_tls.session.anti_replay import replay_digest
from nautilus_tls.session.ticket_keys import (
    DEFAULT_MAX_TICKET_LIFETIME,
    DEFAULT_ROTATION_PERIOD,
    KEY_ID_LEN,
    MAX_TICKET_KEYS,
    SECRET_LEN,
    TicketKey,
)

__all__ = ["RedisAntiReplay", "RedisTicketKeyStore"]

logger = logging.getLogger("nautilus_tls.session")

T = TypeVar("T")

# Seconds one Redis command may take (clients made from a URL), and how long Redis is left
# alone after a failure.
DEFAULT_TIMEOUT = 0.25
DEFAULT_RETRY_AFTER = 5.0
# How long a key ring read from Redis is used before it is read again.
DEFAULT_KEY_CACHE_SECONDS = 1.0

# A key is never needed longer than rotation_period + max_ticket_lifetime; an hour of margin.
DEFAULT_KEY_TTL = DEFAULT_ROTATION_PERIOD + DEFAULT_MAX_TICKET_LIFETIME + 3600.0

# KEYS[1] ring; ARGV: cutoff, score, member, ttl_ms, max_keys.
# Adds the member unless a key newer than cutoff exists; keeps the newest max_keys.
_ADD_IF_SCRIPT = """
if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf') > 0 then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[5]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""


def _redis_module() -> Any:
    try:
        return importlib.import_module("redis")
    except ImportError:
        raise ConfigError(
            "the Redis session stores need the 'redis' package: pip install redis"
        ) from None


def _connect(client_or_url: object, timeout: float) -> tuple[Any, Any, bool]:
    """(client, RedisError class, whether we own the client)."""
    if not 0 < timeout < math.inf:
        raise ConfigError("timeout must be a positive number of seconds")
    redis = _redis_module()
    if isinstance(client_or_url, str):
        try:
            client = redis.Redis.from_url(
                client_or_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        except ValueError:
            # The URL may hold a password: do not repeat it.
            raise ConfigError("bad Redis URL") from None
        return client, redis.exceptions.RedisError, True
    return client_or_url, redis.exceptions.RedisError, False


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii")
    if isinstance(value, str):
        return value
    raise ValueError("unexpected reply type")


def _score(value: float) -> str:
    """A float as Redis parses it in a score range (``inf``/``-inf`` included)."""
    if math.isnan(value):
        raise ValueError("cutoff must not be NaN")
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return repr(float(value))


class _Breaker:
    """A circuit breaker: after a failure, calls fail at once for ``retry_after`` seconds
    instead of waiting on a Redis that is down or black-holed (on the event loop)."""

    def __init__(self, what: str, retry_after: float, clock: Callable[[], float]) -> None:
        if not 0 <= retry_after < math.inf:
            raise ConfigError("retry_after must be a number of seconds, 0 or more")
        self._what = what
        self._retry_after = retry_after
        self._clock = clock
        self._open_until = -math.inf

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def call(self, error: type[BaseException], command: Callable[[], T]) -> T:
        """``command()``; SessionStoreError when it fails or failed less than retry_after ago."""
        if self.is_open:
            raise SessionStoreError(f"{self._what} unavailable (not retried yet)")
        try:
            return command()
        except error as exc:
            self._open_until = self._clock() + self._retry_after
            logger.warning("%s unavailable; not retried for %g s", self._what, self._retry_after)
            raise SessionStoreError(f"{self._what} unavailable") from exc


class RedisTicketKeyStore:
    """A :class:`~nautilus_tls.session.ticket_keys.TicketKeyStore` in Redis."""

    def __init__(
        self,
        client_or_url: object,
        *,
        prefix: str = "nautilus:ticketkeys:",
        key_ttl: float = DEFAULT_KEY_TTL,
        max_keys: int = MAX_TICKET_KEYS,
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        key_cache_seconds: float = DEFAULT_KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not key_ttl > 0 or math.isinf(key_ttl):
            raise ConfigError("key_ttl must be a positive number of seconds")
        if max_keys < 1:
            raise ConfigError("max_keys must be at least 1")
        if not 0 <= key_cache_seconds < math.inf:
            raise ConfigError("key_cache_seconds must be a number of seconds, 0 or more")
        self._client, self._error, self._owned = _connect(client_or_url, timeout)
        self._breaker = _Breaker("Redis ticket key store", retry_after, clock)
        self._clock = clock
        self._cache_seconds = key_cache_seconds
        self._cached: list[TicketKey] | None = None
        self._cached_at = -math.inf
        self._prefix = prefix
        self._ring = prefix + "ring"
        self._ttl_ms = max(1, math.ceil(key_ttl * 1000))
        self._max_keys = max_keys
        self._add_if = self._client.register_script(_ADD_IF_SCRIPT)

    def __repr__(self) -> str:  # never the URL: it may carry a password
        return f"RedisTicketKeyStore(prefix={self._prefix!r})"

    def close(self) -> None:
        """Close the connection pool if this store made the client (from a URL)."""
        if self._owned:
            self._client.close()

    def keys(self) -> list[TicketKey]:
        """The ring, newest first: from the cache when it is fresh; from Redis otherwise; the
        last ring read when Redis fails (the manager still drops keys past retention)."""
        cached = self._cached
        if cached is not None and self._clock() - self._cached_at < self._cache_seconds:
            return list(cached)
        try:
            members = self._breaker.call(
                self._error, lambda: self._client.zrevrange(self._ring, 0, self._max_keys - 1)
            )
        except SessionStoreError:
            if cached is None:
                raise
            return list(cached)
        keys = [key for member in members if (key := _parse_member(member)) is not None]
        self._cached, self._cached_at = keys, self._clock()
        return list(keys)

    def add_if_current_is_older_than(self, key: TicketKey, cutoff: float) -> None:
        args = [_score(cutoff), _score(key.created_at), _member(key), self._ttl_ms, self._max_keys]
        self._breaker.call(self._error, lambda: self._add_if(keys=[self._ring], args=args))
        self._cached_at = -math.inf  # read the ring again: ours or a fleet member's key won

    def remove_older_than(self, cutoff: float) -> None:
        bound = "(" + _score(cutoff)
        self._breaker.call(
            self._error, lambda: self._client.zremrangebyscore(self._ring, "-inf", bound)
        )
        if self._cached is not None:
            self._cached = [k for k in self._cached if not k.created_at < cutoff]


def _member(key: TicketKey) -> str:
    return f"v1:{key.key_id.hex()}:{key.secret.hex()}:{key.created_at!r}"


def _parse_member(member: object) -> TicketKey | None:
    """A key from its member text; ``None`` for anything we did not write."""
    try:
        version, key_id, secret, created_at = _text(member).split(":")
        if version != "v1" or len(key_id) != 2 * KEY_ID_LEN or len(secret) != 2 * SECRET_LEN:
            return None
        return TicketKey(
            key_id=bytes.fromhex(key_id),
            secret=bytes.fromhex(secret),
            created_at=float(created_at),
        )
    except ValueError:
        return None


class RedisAntiReplay:
    """An :class:`~nautilus_tls.session.anti_replay.AntiReplay` in Redis:
    ``SET {prefix}<sha256(key)> 1 NX PX <ttl ms>`` — the first client to set it wins."""

    def __init__(
        self,
        client_or_url: object,
        *,
        prefix: str = "nautilus:replay:",
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client, self._error, self._owned = _connect(client_or_url, timeout)
        self._breaker = _Breaker("Redis anti-replay store", retry_after, clock)
        self._prefix = prefix

    def __repr__(self) -> str:
        return f"RedisAntiReplay(prefix={self._prefix!r})"

    def close(self) -> None:
        """Close the connection pool if this object made the client (from a URL)."""
        if self._owned:
            self._client.close()

    def first_use(self, key: bytes, ttl: float) -> bool:
        if not ttl > 0:
            raise ValueError("ttl must be positive")
        name = self._prefix + replay_digest(bytes(key)).hex()
        ttl_ms = max(1, math.ceil(min(ttl, 2**40) * 1000))
        try:
            return bool(
                self._breaker.call(
                    self._error, lambda: self._client.set(name, "1", nx=True, px=ttl_ms)
                )
            )
        except SessionStoreError:
            # Fail closed: without the record a replay cannot be ruled out (0-RTT rejected).
            return False
