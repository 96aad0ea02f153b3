"""Fixtures for the session tests: a fake clock, counting randomness and a real redis-server.

The Redis server is started once per test session on a Unix socket in a private temporary
directory (no TCP port, no persistence), and stopped by PID at the end. Without
``redis-server`` or the ``redis`` package the Redis tests are skipped with a loud reason
(failed instead when ``NAUTILUS_REQUIRE_REDIS=1``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from session.helpers import FakeClock, RedisServer, counting_random

_INSTALL_HINT = (
    "apt-get install redis-server (Debian/Ubuntu) or brew install redis, "
    "and pip install -e '.[test]' for the redis package"
)
_STARTUP_TIMEOUT = 10.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _require(reason: str) -> NoReturn:
    message = (
        f"REDIS NOT AVAILABLE - Redis session-store tests not run. {reason}. Fix: {_INSTALL_HINT}."
    )
    if os.environ.get("NAUTILUS_REQUIRE_REDIS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        _require("redis-server is not on PATH")
    try:
        import redis
    except ImportError:
        _require("the redis Python package is not installed")
    # A short private directory: Unix socket paths are limited to ~100 bytes.
    workdir = Path(tempfile.mkdtemp(prefix="nautilus-redis-"))
    sock = workdir / "redis.sock"
    proc = subprocess.Popen(
        [
            binary,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--logfile", str(workdir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        client = redis.Redis(unix_socket_path=str(sock), socket_timeout=1.0)
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                log = workdir / "redis.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                pytest.fail(f"redis-server exited with {proc.returncode}: {err}{tail}")
            try:
                if sock.exists() and client.ping():
                    break
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server not ready within {_STARTUP_TIMEOUT}s")
            time.sleep(0.02)
        client.close()
        yield RedisServer(socket_path=sock, pid=proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)


_prefixes = itertools.count()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of its own for each test, so tests sharing the server never collide."""
    return f"test{os.getpid()}:{next(_prefixes)}:"


@pytest.fixture
def counting_random_bytes() -> Callable[[int], bytes]:
    """Deterministic, never-repeating "random" bytes (for reproducible key ids)."""
    return counting_random()
