"""The server side of stapled log proofs: fetch, cache and staple them (RFC 9162 §6.5 shape).

:class:`TransparencyStapler` is an extension plug-in (:mod:`nautilus_tls.handshake.hooks`)
for ``ServerConfig.extension_hooks``. It never does I/O in a handshake: a background thread
(or a caller of :meth:`~TransparencyStapler.refresh`) fetches the log's signed tree head and
the inclusion proof of each of the server's chains, and the handshake staples what is cached.
When a client's ClientHello shows an older tree size of the log, the consistency proof from
that size is fetched in the background and stapled from then on (split-view detection,
:mod:`.transparency`).

A log that is down does not take the server down: the cache is refreshed every
``refresh_interval`` seconds (retried sooner after a failure) and kept for up to ``max_age``
seconds after its last successful fetch; after that, and until the log answers again, the
server staples nothing and a client that requires transparency refuses it. A chain the log
does not have is stapled for nobody (and logged), so those clients refuse it too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nautilus_tls.ledger.errors import LedgerError, UnknownEntryError
from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.staple import (
    MAX_ITEMS,
    TRANSPARENCY_EXTENSION,
    LoggedAs,
    StapledItem,
    decode_known_logs,
    encode_items,
)
from nautilus_tls.ledger.sth import SignedTreeHead
from nautilus_tls.ledger.transparency import chain_leaf_hash
from nautilus_tls.wire.enums import HandshakeType

__all__ = ["LocalLog", "ProofSource", "TransparencyStapler"]

log = logging.getLogger("nautilus_tls.ledger")

DEFAULT_REFRESH = 300.0
DEFAULT_MAX_AGE = 24 * 3600.0
RETRY_AFTER_FAILURE = 10.0
MAX_WANTED = 64
"""Older tree sizes whose consistency proofs are being fetched or kept, per tree head."""


class ProofSource(Protocol):
    """Where proofs come from: :class:`~.client.LedgerClient` (a log over HTTP) or
    :class:`LocalLog` (a log in this process)."""

    def get_sth(self) -> SignedTreeHead: ...

    def inclusion_proof(self, leaf_hash: bytes, sth: SignedTreeHead) -> tuple[int, list[bytes]]: ...

    def consistency_path(self, first: int, second: int) -> list[bytes]: ...


class LocalLog:
    """A :class:`~.log.TransparencyLog` of this process as a :class:`ProofSource`."""

    def __init__(self, ledger: TransparencyLog) -> None:
        self._log = ledger

    def get_sth(self) -> SignedTreeHead:
        return self._log.signed_tree_head()

    def inclusion_proof(self, leaf_hash: bytes, sth: SignedTreeHead) -> tuple[int, list[bytes]]:
        return self._log.inclusion_proof(leaf_hash, sth.tree_size)

    def consistency_path(self, first: int, second: int) -> list[bytes]:
        return self._log.consistency_proof(first, second)


@dataclass(slots=True)
class _Cache:
    sth: SignedTreeHead
    items: tuple[StapledItem, ...]
    fetched_at: float
    consistency: dict[int, tuple[bytes, ...]] = field(default_factory=dict)


def _restart_in_child(ref: weakref.ref[TransparencyStapler]) -> None:
    stapler = ref()
    if stapler is not None:
        stapler._restart()


class TransparencyStapler:
    """Staples an inclusion proof and signed tree head for each of ``chains`` (the server's
    certificate chains as sent, end-entity first) in the end-entity Certificate entry of a
    client that offered the transparency extension."""

    messages = frozenset({HandshakeType.client_hello, HandshakeType.certificate})

    def __init__(
        self,
        source: ProofSource,
        chains: Iterable[Sequence[bytes]],
        *,
        logged_as: LoggedAs = LoggedAs.X509_CHAIN,
        refresh_interval: float = DEFAULT_REFRESH,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._leaves = tuple(dict.fromkeys(chain_leaf_hash(c, logged_as) for c in chains))
        if not 1 <= len(self._leaves) <= MAX_ITEMS:
            raise LedgerError(f"staple proofs for 1 to {MAX_ITEMS} chains")
        self._logged_as = logged_as
        if refresh_interval <= 0 or max_age <= 0:
            raise LedgerError("refresh_interval and max_age are positive")
        self._refresh_interval = refresh_interval
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: _Cache | None = None
        self._last_attempt = float("-inf")
        self._wanted: set[int] = set()
        self._newer_seen = False  # a client knows a newer head than ours: refresh early
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fork_hook = False

    @property
    def ext_type(self) -> int:
        return TRANSPARENCY_EXTENSION

    def __repr__(self) -> str:
        cache = self._cache
        size = cache.sth.tree_size if cache else None
        return f"TransparencyStapler(chains={len(self._leaves)}, tree_size={size})"

    # --- fetching (never in a handshake) ------------------------------------------------

    def refresh(self) -> bool:
        """Fetch the log's tree head and this server's proofs now; False (and the old cache
        kept until it expires) when the log cannot be reached or answers wrongly."""
        self._last_attempt = self._clock()
        try:
            sth = self._source.get_sth()
            items = []
            for leaf in self._leaves:
                try:
                    index, path = self._source.inclusion_proof(leaf, sth)
                except UnknownEntryError:
                    log.warning("transparency: a certificate chain is not in the log")
                    continue
                items.append(StapledItem(self._logged_as, leaf, index, tuple(path), sth))
        except (LedgerError, OSError) as exc:
            log.warning("transparency: cannot refresh the log proofs: %s", exc)
            return False
        with self._lock:
            old = self._cache
            kept = old.consistency if old is not None and old.sth == sth else {}
            self._cache = _Cache(sth, tuple(items), self._clock(), kept)
        return bool(items)

    def fetch_wanted(self) -> None:
        """Fetch the consistency proofs clients asked for (from the sizes their ClientHellos
        showed) to the cached head; the background thread calls it."""
        with self._lock:
            cache, wanted = self._cache, sorted(self._wanted)
            self._wanted.clear()
        if cache is None:
            return
        for first in wanted:
            try:
                path = self._source.consistency_path(first, cache.sth.tree_size)
            except (LedgerError, OSError) as exc:
                log.warning("transparency: no consistency proof from size %d: %s", first, exc)
                continue
            with self._lock:
                if self._cache is cache and len(cache.consistency) < MAX_WANTED:
                    cache.consistency[first] = tuple(path)

    def _due(self) -> float:
        """Seconds until the next refresh is due (0: now)."""
        cache = self._cache
        if cache is None or self._last_attempt > cache.fetched_at:
            base, wait = self._last_attempt, min(RETRY_AFTER_FAILURE, self._refresh_interval)
        else:
            base, wait = cache.fetched_at, self._refresh_interval
        return max(0.0, base + wait - self._clock())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._due())
            self._wake.clear()
            if self._stop.is_set():
                return
            early = self._newer_seen and self._clock() - self._last_attempt >= RETRY_AFTER_FAILURE
            if early or self._due() == 0:
                self._newer_seen = False
                self.refresh()
            self.fetch_wanted()

    def start(self) -> TransparencyStapler:
        """Refresh in a background (daemon) thread until :meth:`close`; a forked child (serve
        --workers) gets its own thread, since threads do not survive fork."""
        if self._thread is None:
            if not self._fork_hook:
                self._fork_hook = True
                ref = weakref.ref(self)
                os.register_at_fork(after_in_child=lambda: _restart_in_child(ref))
            self._thread = threading.Thread(
                target=self._run, name="nautilus-transparency", daemon=True
            )
            self._thread.start()
        return self

    def _restart(self) -> None:
        # The parent's lock may have been held by its refresh thread at the fork.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        running = self._thread is not None and not self._stop.is_set()
        self._thread = None
        if running:
            self.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # --- the extension plug-in ----------------------------------------------------------

    def receive(self, message: int, data: bytes | None) -> object:
        if message != HandshakeType.client_hello or data is None:
            return None
        return decode_known_logs(data)

    def offer(self, message: int, peer: object | None) -> bytes | None:
        if message != HandshakeType.certificate or not isinstance(peer, dict):
            return None
        with self._lock:
            cache = self._cache
        if cache is None or self._clock() - cache.fetched_at > self._max_age:
            self._wake.set()
            return None
        sth = cache.sth
        if peer and sth.log_id not in peer:
            return None  # the client trusts other logs only
        known = peer.get(sth.log_id, 0)
        first = 0
        path: tuple[bytes, ...] = ()
        if 0 < known < sth.tree_size:
            found = cache.consistency.get(known)
            if found is not None:
                first, path = known, found
            else:
                with self._lock:
                    if len(self._wanted) < MAX_WANTED:
                        self._wanted.add(known)
                self._wake.set()
        elif known > sth.tree_size:
            self._newer_seen = True
            self._wake.set()
        if not cache.items:
            return None
        items = [
            StapledItem(i.logged_as, i.leaf_hash, i.leaf_index, i.inclusion_path, sth, first, path)
            for i in cache.items
        ]
        return encode_items(items)
