"""The password-login (PAKE) part of the fuzz world: a store that forgets between inputs, and
PAKE randomness pinned per connection.

**The store.** :class:`MemoryPakeStore` is a :class:`~nautilus_tls.pake.store.PakeStore` in
memory, used under the real :class:`~nautilus_tls.pake.server.PakeServer` and
:class:`~nautilus_tls.pake.ratelimit.FailedLoginLimiter`. Its records and server secrets are
made once, deterministically; its failed-login counters are wiped by
:meth:`MemoryPakeStore.forget_failures` when each fuzz connection starts (``world.new_server``),
so a login one input counts, or a user name it locks out, cannot change the next input's
outcome (one user, :data:`LOCKED_USER`, starts every input locked out, so that the refusal
path is reachable too). Within one input the limiter counts for real (one connection logs in at most once,
so it never reaches the limit).

**The randomness.** The PAKE code draws its own randomness and has no entropy hook: libsodium's
ristretto255 scalars (``_ristretto.random_scalar``: the OPAQUE blind), ``os.urandom`` in
``pake.opaque`` and ``pake.server`` (OPAQUE nonces and key-share seeds, the server setup, the
fake-record key) and ``secrets`` in ``pake.spake2plus`` (the SPAKE2+ scalars x and y). Without
help, a recorded PAKE stream would replay only up to the first random value: the server's
recorded answer fails the fresh client's proof check (decrypt_error at the ServerHello), and the
client's recorded Finished fails against a fresh server's key. So, without changing ``src/``,
:meth:`PakeRandom.active` swaps exactly those module attributes for a counter-driven source
while one connection runs, and puts the originals back on exit (nothing outside the fuzz
harness ever sees the swap). If ``src/`` moves its randomness elsewhere, the recorded PAKE
sessions stop replaying and ``test_world_is_deterministic`` /
``test_recorded_sessions_replay_to_the_end`` fail: extend :meth:`PakeRandom.active` then.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pysodium  # type: ignore[import-untyped]
from pake.helpers import KSF, PASSWORD

from nautilus_tls.pake import _ristretto, opaque, spake2plus
from nautilus_tls.pake import server as server_module
from nautilus_tls.pake.ratelimit import FailedLoginLimiter
from nautilus_tls.pake.server import PakeServer, register
from nautilus_tls.pake.store import METHODS, Method, StoredRecord, check_user
from nautilus_tls.pake.tls import PakeClient

USER = "alice"
# A user the store always holds at the failed-login limit: a ClientHello naming it gets
# access_denied, before any PAKE work, in every input (a seed names it).
LOCKED_USER = "mallory"
MAX_FAILURES = 5


class PakeRandom:
    """A counter-driven stand-in for the PAKE modules' randomness, one per connection."""

    def __init__(self, label: bytes) -> None:
        self._label = label
        self._calls = 0

    def random_bytes(self, n: int) -> bytes:
        self._calls += 1
        seed = self._label + b"/pake-random/" + self._calls.to_bytes(4, "big")
        return hashlib.shake_256(seed).digest(n)

    def ristretto_scalar(self) -> bytes:
        # 64 uniform bytes reduced mod the group order, as libsodium's own scalar_random does.
        out: bytes = pysodium.crypto_core_ristretto255_scalar_reduce(self.random_bytes(64))
        return out

    def p256_scalar(self) -> int:
        # In [1, ORDER - 1], as spake2plus._random_scalar draws it.
        return int.from_bytes(self.random_bytes(48), "big") % (spake2plus.ORDER - 1) + 1

    @contextmanager
    def active(self) -> Iterator[None]:
        os_shim = types.SimpleNamespace(urandom=self.random_bytes)
        replacements: dict[tuple[types.ModuleType, str], object] = {
            (_ristretto, "random_scalar"): self.ristretto_scalar,
            (spake2plus, "_random_scalar"): self.p256_scalar,
            (opaque, "os"): os_shim,
            (server_module, "os"): os_shim,
        }
        saved = {key: getattr(*key) for key in replacements}
        try:
            for (module, name), value in replacements.items():
                setattr(module, name, value)
            yield
        finally:
            for (module, name), value in saved.items():
                setattr(module, name, value)


@dataclass
class _Failures:
    count: int
    window_start: float


class MemoryPakeStore:
    """A :class:`~nautilus_tls.pake.store.PakeStore` in memory, with fixed windows like
    the SQLite store; server secrets are made under their own fixed randomness, so they do not
    depend on which input first asked for them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._records: dict[tuple[str, Method], StoredRecord] = {}
        self._secrets: dict[str, bytes] = {}
        self._failures: dict[str, _Failures] = {}
        self.forget_failures()

    def __repr__(self) -> str:
        return f"MemoryPakeStore({len(self._records)} records)"

    def get(self, user: str, method: Method) -> StoredRecord | None:
        check_user(user)
        return self._records.get((user, method))

    def put(self, record: StoredRecord) -> None:
        self._records[(record.user, record.method)] = record

    def delete(self, user: str, method: Method) -> bool:
        return self._records.pop((user, method), None) is not None

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        if name not in self._secrets:
            with PakeRandom(b"fuzz/pake/secret/" + name.encode()).active():
                self._secrets[name] = make()
        return self._secrets[name]

    def add_failure(self, user: str, now: float, window: float) -> int:
        entry = self._failures.get(user)
        if entry is None or now - entry.window_start >= window:
            entry = self._failures[user] = _Failures(0, now)
        entry.count += 1
        return entry.count

    def failures(self, user: str, now: float, window: float) -> int:
        entry = self._failures.get(user)
        return 0 if entry is None or now - entry.window_start >= window else entry.count

    def clear_failures(self, user: str) -> None:
        self._failures.pop(user, None)

    def forget_failures(self) -> None:
        """Start the next fuzz input from a clean limiter (but for LOCKED_USER)."""
        self._failures = {LOCKED_USER: _Failures(MAX_FAILURES, self._clock())}

    def close(self) -> None:
        pass


def pake_server(clock: Callable[[], float]) -> PakeServer:
    """The real PakeServer and limiter over a fresh store with ``alice`` registered for both
    methods (deterministic records: registration draws from a fixed PakeRandom)."""
    store = MemoryPakeStore(clock)
    with PakeRandom(b"fuzz/pake/register").active():
        for method in METHODS:
            register(store, USER, PASSWORD, method=method, ksf=KSF)
    limiter = FailedLoginLimiter(store, max_failures=MAX_FAILURES, clock=clock)
    return PakeServer(store, limiter=limiter, default_ksf=KSF)


def pake_client(method: Method, *, require_certificate: bool = False) -> PakeClient:
    return PakeClient(
        USER, PASSWORD, method=method, ksf=KSF, require_certificate=require_certificate
    )


def forget_failures(server: object) -> None:
    """Wipe the failed-login counters of a scenario's PakeServer (no-op for other values)."""
    if isinstance(server, PakeServer) and isinstance(server.store, MemoryPakeStore):
        server.store.forget_failures()
