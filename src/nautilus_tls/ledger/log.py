"""The transparency log: validated entries into a store, signed tree heads and proofs out.

Entries are integrated at once (no merge delay): an add returns the entry's index, and the
next tree head covers it. The log keeps the Merkle tree in memory and catches up from the
store before answering, so several processes appending to one PostgreSQL store each serve
tree heads and proofs for everything committed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError, StoreError, UnknownEntryError
from nautilus_tls.ledger.merkle import MerkleTree
from nautilus_tls.ledger.sth import LogKey, SignedTreeHead, TreeHead
from nautilus_tls.ledger.store import LogStore

__all__ = ["MAX_ENTRIES_PER_REQUEST", "RESIGN_AFTER", "TransparencyLog"]

MAX_ENTRIES_PER_REQUEST = 256
# A tree head is signed again (same size and root, a new timestamp) once it is this old, so
# clients that refuse old heads (RequireTransparency.max_tree_head_age) see fresh ones even
# when nothing was added.
RESIGN_AFTER = 3600.0


class TransparencyLog:
    def __init__(
        self,
        store: LogStore,
        key: LogKey,
        clock: Callable[[], float] = time.time,
        *,
        resign_after: float = RESIGN_AFTER,
    ) -> None:
        if not resign_after > 0:
            raise LedgerError("resign_after must be positive")
        self.store = store
        self.key = key
        self._clock = clock
        self._resign_after_ms = int(resign_after * 1000)
        self._tree = MerkleTree()
        self._lock = threading.Lock()
        self._last_sth: SignedTreeHead | None = None

    def add(self, entry: Entry) -> tuple[int, bool]:
        """Append ``entry`` (already validated by its constructor); return (index, is_new)."""
        return self.store.append(entry.encode(), entry.leaf_hash())

    def _sync(self) -> int:
        """Catch the in-memory tree up with the store; return the tree size."""
        with self._lock:
            size = self.store.size()
            if size > self._tree.size:
                self._tree.extend(self.store.leaf_hashes(self._tree.size, size))
            elif size < self._tree.size:
                raise StoreError("the store lost leaves: an append-only log never shrinks")
            return size

    def signed_tree_head(self) -> SignedTreeHead:
        size = self._sync()
        with self._lock:
            last = self._last_sth
            now = int(self._clock() * 1000)
            if (
                last is not None
                and last.tree_size == size
                and now - last.tree_head.timestamp_ms < self._resign_after_ms
            ):
                return last
            # Timestamps never run backwards, even if the clock does.
            stamp = max(now, last.tree_head.timestamp_ms) if last is not None else now
            sth = self.key.sign(TreeHead(size, stamp, self._tree.root(size)))
            self._last_sth = sth
            return sth

    def inclusion_proof(self, leaf_hash: bytes, tree_size: int) -> tuple[int, list[bytes]]:
        size = self._sync()
        if not 0 < tree_size <= size:
            raise LedgerError(f"tree size {tree_size} is not between 1 and {size}")
        index = self.store.index_of(leaf_hash)
        if index is None or index >= tree_size:
            raise UnknownEntryError("no entry with that hash in a tree of that size")
        with self._lock:
            return index, self._tree.inclusion_proof(index, tree_size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        size = self._sync()
        if not 0 < first <= second <= size:
            raise LedgerError(f"need 0 < first <= second <= {size}")
        with self._lock:
            return self._tree.consistency_proof(first, second)

    def entries(self, start: int, end: int) -> list[bytes]:
        """Leaf inputs ``[start, end)``, at most MAX_ENTRIES_PER_REQUEST (fewer at the end)."""
        size = self._sync()
        if not 0 <= start < size or end <= start:
            raise LedgerError(f"need 0 <= start < {size} and start < end")
        return self.store.entries(start, min(end, size, start + MAX_ENTRIES_PER_REQUEST))
