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
"""

from __future__ import annotations

import importlib
import logging
import math
from typing import Any

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


def _connect(client_or_url: object) -> tuple[Any, Any, bool]:
    """(client, RedisError class, whether we own the client)."""
    redis = _redis_module()
    if isinstance(client_or_url, str):
        try:
            client = redis.Redis.from_url(client_or_url)
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


class RedisTicketKeyStore:
    """A :class:`~nautilus_tls.session.ticket_keys.TicketKeyStore` in Redis."""

    def __init__(
        self,
        client_or_url: object,
        *,
        prefix: str = "nautilus:ticketkeys:",
        key_ttl: float = DEFAULT_KEY_TTL,
        max_keys: int = MAX_TICKET_KEYS,
    ) -> None:
        if not key_ttl > 0 or math.isinf(key_ttl):
            raise ConfigError("key_ttl must be a positive number of seconds")
        if max_keys < 1:
            raise ConfigError("max_keys must be at least 1")
        self._client, self._error, self._owned = _connect(client_or_url)
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
        try:
            members = self._client.zrevrange(self._ring, 0, self._max_keys - 1)
        except self._error as exc:
            raise SessionStoreError("Redis ticket key store unavailable") from exc
        keys: list[TicketKey] = []
        for member in members:
            key = _parse_member(member)
            if key is not None:
                keys.append(key)
        return keys

    def add_if_current_is_older_than(self, key: TicketKey, cutoff: float) -> None:
        try:
            self._add_if(
                keys=[self._ring],
                args=[
                    _score(cutoff),
                    _score(key.created_at),
                    _member(key),
                    self._ttl_ms,
                    self._max_keys,
                ],
            )
        except self._error as exc:
            raise SessionStoreError("Redis ticket key store unavailable") from exc

    def remove_older_than(self, cutoff: float) -> None:
        try:
            self._client.zremrangebyscore(self._ring, "-inf", "(" + _score(cutoff))
        except self._error as exc:
            raise SessionStoreError("Redis ticket key store unavailable") from exc


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

    def __init__(self, client_or_url: object, *, prefix: str = "nautilus:replay:") -> None:
        self._client, self._error, self._owned = _connect(client_or_url)
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
            return bool(self._client.set(name, "1", nx=True, px=ttl_ms))
        except self._error:
            # Fail closed: without the record a replay cannot be ruled out.
            logger.warning("Redis anti-replay store unavailable; rejecting 0-RTT")
            return False
