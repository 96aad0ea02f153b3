"""Shared helpers for the session tests (imported as ``session.helpers``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nautilus_tls.session.state import ResumptionState
from nautilus_tls.wire.enums import CipherSuite

PSK = bytes(range(48))


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def counting_random() -> Callable[[int], bytes]:
    """Deterministic, never-repeating "random" bytes."""
    counter = itertools.count(1)

    def random(n: int) -> bytes:
        return next(counter).to_bytes(8, "big").rjust(n, b"\x5a")[-n:]

    return random


def make_state(**overrides: object) -> ResumptionState:
    fields: dict[str, object] = {
        "psk": PSK,
        "suite": CipherSuite.TLS_AES_256_GCM_SHA384,
        "alpn": b"h2",
        "server_name": "example.com",
        "client_chain": (b"\x30\x03leaf", b"\x30\x03ca!"),
        "created_at": 1_700_000_000.25,
        "lifetime": 7200,
        "age_add": 0xDEADBEEF,
        "max_early_data": 16384,
        "client_auth_binding": b"\x42" * 32,
    }
    fields.update(overrides)
    return ResumptionState(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RedisServer:
    """A redis-server started by the ``redis_server`` fixture, listening on a Unix socket."""

    socket_path: Path
    pid: int

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def client(self) -> Any:
        import redis

        return redis.Redis(unix_socket_path=str(self.socket_path))
