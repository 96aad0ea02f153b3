"""What the client remembers about each server, and the small JSON file that keeps it.

One :class:`ServerRecord` per ``host:port``: the group it selected, the group it asked for in a
HelloRetryRequest, its cipher suite, whether it resumed, the round-trip and handshake times,
and the evidence the chooser (:mod:`nautilus_tls.adaptive.chooser`) learns from. Everything in
a record comes from handshakes that completed (the server's Finished verified), so an attacker
who cannot complete a handshake cannot teach the client anything.

:class:`StateFile` persists records: one JSON document, replaced atomically (write a temporary
file in the same directory, fsync, ``os.replace``), bounded (at most ``max_servers`` records,
the least recently used dropped first; a file larger than :data:`MAX_STATE_FILE_BYTES` is not
read). A file that does not parse is set aside with a warning and the client starts fresh: the
state is an optimisation, never a reason to fail a connection. Across processes the last
writer wins for a record both updated; within a process a lock serialises updates.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nautilus_tls import safe_json

logger = logging.getLogger("nautilus_tls.adaptive")

STATE_VERSION = 1
MAX_STATE_FILE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_SERVERS = 1000
# Evidence fades so that a server that changes its configuration is relearned: every new
# handshake multiplies the old counts by this factor.
DECAY = 0.9
# The arm statistics keep a sliding window of about this many handshakes.
ARM_WINDOW = 20
# Smoothing of the round-trip and handshake-time averages.
EWMA_WEIGHT = 0.3
MAX_GROUP_ENTRIES = 64  # per record: groups are from our own list, this only bounds bad files
MAX_ARM_ENTRIES = 64


@dataclass(slots=True)
class Evidence:
    """Decayed counts of "the server took a share of this group" and "it did not"."""

    accepted: float = 0.0
    refused: float = 0.0


@dataclass(slots=True)
class ArmStats:
    """Handshake times (seconds) seen with one set of key shares: a windowed mean and
    variance (Welford's update with the count capped at :data:`ARM_WINDOW`)."""

    n: float = 0.0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, value: float) -> None:
        self.n = min(self.n + 1.0, float(ARM_WINDOW))
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 = max(0.0, self.m2 * (1.0 - 1.0 / self.n) + delta * (value - self.mean))

    @property
    def variance(self) -> float:
        return self.m2 / self.n if self.n > 1 else 0.0


@dataclass(slots=True)
class ServerRecord:
    """What one server did in earlier completed handshakes."""

    key: str
    last_seen: float = 0.0
    connections: int = 0
    hello_retries: int = 0
    # Decayed evidence per group code: did a share of it avoid a HelloRetryRequest?
    groups: dict[int, Evidence] = field(default_factory=dict)
    # How often each group was the negotiated one / was asked for in an HRR (not decayed).
    selected: dict[int, int] = field(default_factory=dict)
    hrr_requested: dict[int, int] = field(default_factory=dict)
    # Handshake times per arm, the arm named by its group codes joined with "+".
    arms: dict[str, ArmStats] = field(default_factory=dict)
    rtt: float | None = None  # seconds from ClientHello to the server's first flight (EWMA)
    handshake_time: float | None = None  # seconds for a handshake without HRR (EWMA)
    hrr_extra: float | None = None  # seconds an HRR added (EWMA of the measured difference)
    last_group: int | None = None
    last_hrr_group: int | None = None
    last_suite: int | None = None
    last_resumed: bool = False
    # Downgrade memory: the server once negotiated a post-quantum group.
    post_quantum_seen: bool = False

    def evidence(self, group: int) -> Evidence:
        return self.groups.setdefault(group, Evidence())

    def decay(self) -> None:
        for e in self.groups.values():
            e.accepted *= DECAY
            e.refused *= DECAY

    # --- JSON ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "last_seen": self.last_seen,
            "connections": self.connections,
            "hello_retries": self.hello_retries,
            "groups": {str(g): [e.accepted, e.refused] for g, e in self.groups.items()},
            "selected": {str(g): n for g, n in self.selected.items()},
            "hrr_requested": {str(g): n for g, n in self.hrr_requested.items()},
            "arms": {k: [a.n, a.mean, a.m2] for k, a in self.arms.items()},
            "rtt": self.rtt,
            "handshake_time": self.handshake_time,
            "hrr_extra": self.hrr_extra,
            "last_group": self.last_group,
            "last_hrr_group": self.last_hrr_group,
            "last_suite": self.last_suite,
            "last_resumed": self.last_resumed,
            "post_quantum_seen": self.post_quantum_seen,
        }

    @classmethod
    def from_json(cls, key: str, data: Any) -> ServerRecord:
        """Parse one record; ValueError/TypeError/KeyError on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("record is not an object")
        groups = _mapping(data["groups"], MAX_GROUP_ENTRIES)
        arms = _mapping(data["arms"], MAX_ARM_ENTRIES)
        return cls(
            key=key,
            last_seen=_number(data["last_seen"]),
            connections=_count(data["connections"]),
            hello_retries=_count(data["hello_retries"]),
            groups={
                _code(g): Evidence(_number(v[0]), _number(v[1]))
                for g, v in groups.items()
                if _pair(v)
            },
            selected={
                _code(g): _count(n)
                for g, n in _mapping(data["selected"], MAX_GROUP_ENTRIES).items()
            },
            hrr_requested={
                _code(g): _count(n)
                for g, n in _mapping(data["hrr_requested"], MAX_GROUP_ENTRIES).items()
            },
            arms={
                _arm_key(k): ArmStats(_number(v[0]), _number(v[1]), _number(v[2]))
                for k, v in arms.items()
                if isinstance(v, list) and len(v) == 3
            },
            rtt=_optional_number(data["rtt"]),
            handshake_time=_optional_number(data["handshake_time"]),
            hrr_extra=_optional_number(data["hrr_extra"]),
            last_group=_optional_code(data["last_group"]),
            last_hrr_group=_optional_code(data["last_hrr_group"]),
            last_suite=_optional_code(data["last_suite"]),
            last_resumed=bool(data["last_resumed"]),
            post_quantum_seen=bool(data["post_quantum_seen"]),
        )


def arm_key(groups: tuple[int, ...]) -> str:
    return "+".join(f"{g:#06x}" for g in groups)


def _arm_key(text: str) -> str:
    return arm_key(tuple(_code(part) for part in text.split("+")))


def _mapping(value: Any, limit: int) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > limit:
        raise ValueError("expected a small object")
    return value


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError("expected a number")
    if not -1e12 < value < 1e12:
        raise ValueError("number out of range")
    return float(value)


def _optional_number(value: Any) -> float | None:
    return None if value is None else _number(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise ValueError("expected a count")
    return value


def _code(value: Any) -> int:
    code = int(value, 0) if isinstance(value, str) else _count(value)
    if not 0 <= code <= 0xFFFF:
        raise ValueError("code point out of range")
    return code


def _optional_code(value: Any) -> int | None:
    return None if value is None else _code(value)


class StateFile:
    """Server records in memory, mirrored to ``path`` (None: memory only).

    ``load`` happens once, on first use; ``update`` changes one record under a lock and
    writes the whole (bounded) file atomically.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        max_servers: int = DEFAULT_MAX_SERVERS,
    ) -> None:
        if max_servers < 1:
            raise ValueError("max_servers must be positive")
        self.path = Path(path) if path is not None else None
        self.max_servers = max_servers
        self._records: dict[str, ServerRecord] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StateFile({str(self.path) if self.path else None!r})"

    def get(self, key: str) -> ServerRecord | None:
        with self._lock:
            return self._loaded().get(key)

    def keys(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._loaded())

    @contextlib.contextmanager
    def update(self, key: str, now: float) -> Iterator[ServerRecord]:
        """Yield the record for ``key`` (new if unknown) to change; then save."""
        with self._lock:
            records = self._loaded()
            record = records.get(key) or ServerRecord(key=key)
            yield record  # an exception here skips the save and keeps the record
            record.last_seen = now
            records.pop(key, None)
            records[key] = record  # re-inserted last: dict order is recency order
            while len(records) > self.max_servers:
                del records[next(iter(records))]
            self._save(records)

    # --- file ------------------------------------------------------------------------------

    def _loaded(self) -> dict[str, ServerRecord]:
        if self._records is None:
            self._records = self._read()
        return self._records

    def _read(self) -> dict[str, ServerRecord]:
        path = self.path
        if path is None or not path.exists():
            return {}
        try:
            if path.stat().st_size > MAX_STATE_FILE_BYTES:
                raise ValueError(f"larger than {MAX_STATE_FILE_BYTES} bytes")
            document = safe_json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
                raise ValueError("not a version 1 state document")
            servers = _mapping(document["servers"], 10 * self.max_servers)
            loaded = [ServerRecord.from_json(str(k), v) for k, v in servers.items()]
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            logger.warning(
                "adaptive state file %s is unusable (%s); starting with no history", path, exc
            )
            self._set_aside(path)
            return {}
        loaded.sort(key=lambda r: r.last_seen)
        return {r.key: r for r in loaded[-self.max_servers :]}

    @staticmethod
    def _set_aside(path: Path) -> None:
        # Kept for inspection rather than deleted; the next save writes a fresh file.
        with contextlib.suppress(OSError):
            os.replace(path, path.with_name(path.name + ".corrupt"))

    def _save(self, records: dict[str, ServerRecord]) -> None:
        path = self.path
        if path is None:
            return
        document = {
            "version": STATE_VERSION,
            "servers": {k: r.to_json() for k, r in records.items()},
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(document, f, separators=(",", ":"))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            # A read-only cache must not break connections; the memory copy stays current.
            logger.warning("cannot write adaptive state file %s: %s", path, exc)
