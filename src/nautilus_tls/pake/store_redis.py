"""PAKE records in Redis, shared by a fleet of servers.

Needs the ``redis`` package, imported only when a store is made. Pass a URL
(``redis://host:6379/0``, ``rediss://`` for TLS, ``unix:///path``) or a ready ``redis.Redis``
client (made *without* ``decode_responses``: records are bytes).

Layout (every key under ``prefix``):

* ``{prefix}rec:{method}:{user}``: a hash with ``record``, ``ksf`` and ``salt``;
* ``{prefix}secret:{name}``: a server-wide secret, created with ``SET NX`` so racing servers
  agree on the first one written;
* ``{prefix}fail:{user}``: the failed-login counter of the current window, created with the
  window as its expiry (``SET NX PX``) and then ``INCR``-ed in one transaction. The window is
  Redis's clock, so the ``now`` argument is not used here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from nautilus_tls.pake.ksf import ksf_from_record
from nautilus_tls.pake.store import Method, PakeStoreError, StoredRecord, check_user

__all__ = ["RedisRecordStore"]


class RedisRecordStore:
    """:class:`~nautilus_tls.pake.store.PakeStore` in Redis."""

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str = "nautilus:pake:",
        timeout: float = 1.0,
        allow_identity_ksf: bool = False,
    ) -> None:
        try:
            module = importlib.import_module("redis")
        except ImportError as exc:
            raise PakeStoreError("the Redis PAKE store needs the redis package") from exc
        self._errors: tuple[type[BaseException], ...] = (module.exceptions.RedisError,)
        if isinstance(redis, str):
            redis = module.Redis.from_url(
                redis, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self._r = redis
        self._prefix = prefix
        self._allow_identity = allow_identity_ksf

    def __repr__(self) -> str:
        return f"RedisRecordStore(prefix={self._prefix!r})"

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except self._errors as exc:
            raise PakeStoreError(f"PAKE store (Redis) {what}: {exc}") from exc

    def get(self, user: str, method: Method) -> StoredRecord | None:
        check_user(user)
        fields = self._call("get", lambda: self._r.hgetall(self._key("rec", method, user)))
        if not fields:
            return None
        try:
            record, ksf, salt = fields[b"record"], fields[b"ksf"].decode(), fields[b"salt"]
        except (KeyError, AttributeError, UnicodeDecodeError) as exc:
            raise PakeStoreError(f"PAKE store (Redis): a corrupt record for {user!r}") from exc
        ksf_ = ksf_from_record(ksf, allow_identity=self._allow_identity)
        return StoredRecord(user, method, bytes(record), ksf_, bytes(salt))

    def put(self, record: StoredRecord) -> None:
        mapping = {"record": record.record, "ksf": record.ksf.to_record(), "salt": record.salt}
        key = self._key("rec", record.method, record.user)
        self._call("put", lambda: self._r.hset(key, mapping=mapping))

    def delete(self, user: str, method: Method) -> bool:
        return bool(self._call("delete", lambda: self._r.delete(self._key("rec", method, user))))

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        key = self._key("secret", name)
        value = self._call("secret", lambda: self._r.get(key))
        if value is None:
            self._call("secret", lambda: self._r.set(key, make(), nx=True))
            value = self._call("secret", lambda: self._r.get(key))
        if value is None:
            raise PakeStoreError(f"PAKE store (Redis): the secret {name!r} vanished")
        return bytes(value)

    def add_failure(self, user: str, now: float, window: float) -> int:
        key = self._key("fail", user)

        def run() -> Any:
            pipe = self._r.pipeline(transaction=True)
            pipe.set(key, 0, nx=True, px=max(1, int(window * 1000)))
            pipe.incr(key)
            return pipe.execute()[1]

        return int(self._call("add_failure", run))

    def failures(self, user: str, now: float, window: float) -> int:
        value = self._call("failures", lambda: self._r.get(self._key("fail", user)))
        return 0 if value is None else int(value)

    def clear_failures(self, user: str) -> None:
        self._call("clear_failures", lambda: self._r.delete(self._key("fail", user)))

    def close(self) -> None:
        self._call("close", self._r.close)
