"""0-RTT anti-replay: remember what was seen, say yes exactly once (RFC 8446 §8).

A server that accepts early data records a value unique to each ClientHello (the PSK binder
is the usual choice, §8.2) for as long as the ticket-age window lets the same ClientHello be
accepted, and accepts 0-RTT only on the first use. When the record is full the answer is
"not first" (fail closed): the client's early data is rejected and the handshake goes on in
1-RTT, so exhaustion never lets a replay through.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from typing import Protocol

from nautilus_tls.errors import ConfigError
from nautilus_tls.session._util import Clock

__all__ = ["AntiReplay", "MemoryAntiReplay", "replay_digest"]


class AntiReplay(Protocol):
    """Where a server records the 0-RTT ClientHellos it has accepted, so that a replay of one
    is refused (RFC 8446 §8): in memory for one process, or Redis for a fleet."""

    def first_use(self, key: bytes, ttl: float) -> bool:
        """True exactly once per ``key`` within ``ttl`` seconds (recording it atomically)."""
        ...


def replay_digest(key: bytes) -> bytes:
    """What is stored for ``key``: SHA-256, so entries have a fixed size whatever the key."""
    return hashlib.sha256(key).digest()


class MemoryAntiReplay:
    """Anti-replay for one process: bounded, expired entries dropped, thread-safe.

    Holds at most ``max_entries`` keys; when full (and nothing has expired) ``first_use``
    returns False.
    """

    def __init__(self, max_entries: int = 100_000, clock: Clock = time.time) -> None:
        if max_entries < 1:
            raise ConfigError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._expiry: dict[bytes, float] = {}
        self._heap: list[tuple[float, bytes]] = []  # (expires_at, digest), one per live entry
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryAntiReplay(entries={len(self._expiry)}, max_entries={self._max_entries})"

    def __len__(self) -> int:
        return len(self._expiry)

    def first_use(self, key: bytes, ttl: float) -> bool:
        if not ttl > 0:  # also rejects NaN
            raise ValueError("ttl must be positive")
        digest = replay_digest(bytes(key))
        now = self._clock()
        with self._lock:
            self._expire(now)
            if digest in self._expiry:
                return False
            if len(self._expiry) >= self._max_entries:
                return False  # full: fail closed
            expires_at = now + ttl
            self._expiry[digest] = expires_at
            heapq.heappush(self._heap, (expires_at, digest))
            return True

    def _expire(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, digest = heapq.heappop(heap)
            del self._expiry[digest]
