"""Following a log: every new tree head must extend the last one (consistency proof), the
entries served must hash to the signed root, and entries for watched names or keys are
reported. This is what catches a log that shows different histories to different clients
(RFC 9162 §8.2 "Monitoring")."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from nautilus_tls.ledger.client import LedgerClient
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError, ProofError
from nautilus_tls.ledger.merkle import MerkleTree, leaf_hash
from nautilus_tls.ledger.sth import SignedTreeHead

__all__ = ["Match", "Monitor"]

MAX_PAGES_PER_POLL = 100_000
"""Bounds one poll's download loop (each page holds at least one entry)."""


@dataclass(frozen=True, slots=True)
class Match:
    index: int
    entry: Entry
    reason: str


class Monitor:
    def __init__(
        self, client: LedgerClient, names: set[str] | None = None, keys: set[bytes] | None = None
    ) -> None:
        if not client.trusted_keys:
            raise LedgerError("a monitor needs the log's public key to check tree heads")
        self.client = client
        self.names = {n.lower() for n in names or ()}
        self.keys = set(keys or ())
        self.sth: SignedTreeHead | None = None
        self._tree = MerkleTree()

    def poll(self) -> list[Match]:
        """Check the log's newest tree head against the last one; return new watched entries.
        Raises ProofError when the log forked, went backwards or served wrong entries."""
        sth = self.client.get_sth()
        if self.sth is not None:
            if sth.tree_size < self.sth.tree_size:
                raise ProofError(
                    f"the log went back from size {self.sth.tree_size} to {sth.tree_size}"
                )
            self.client.prove_consistency(self.sth, sth)
        matches = self._download(sth.tree_size)
        if not hmac.compare_digest(self._tree.root(sth.tree_size), sth.root_hash):
            raise ProofError("the log's entries do not hash to its signed root")
        self.sth = sth
        return matches

    def _download(self, size: int) -> list[Match]:
        matches: list[Match] = []
        for _ in range(MAX_PAGES_PER_POLL):
            if self._tree.size >= size:
                return matches
            start = self._tree.size
            for offset, raw in enumerate(self.client.entries(start, size)):
                entry = Entry.decode(raw)
                self._tree.append(leaf_hash(raw))
                reason = self._watched(entry)
                if reason:
                    matches.append(Match(start + offset, entry, reason))
        raise LedgerError("gave up downloading entries: too many pages")

    def _watched(self, entry: Entry) -> str:
        hit = self.names.intersection(entry.names())
        if hit:
            return "name " + ", ".join(sorted(hit))
        if self.keys and entry.subject_key() in self.keys:
            return "key"
        return ""
