"""The ledger's errors: one base class, so callers catch one thing."""

from __future__ import annotations

__all__ = [
    "AnchorError",
    "AnchorMismatchError",
    "EntryError",
    "LedgerError",
    "NotAnchoredError",
    "ProofError",
    "SignatureError",
    "StoreError",
    "UnknownEntryError",
]


class LedgerError(Exception):
    """Something about the log, its entries or its proofs is wrong."""


class ProofError(LedgerError):
    """An inclusion or consistency proof (or a root) does not verify."""


class SignatureError(LedgerError):
    """A signed tree head is not signed by a trusted log key."""


class EntryError(LedgerError):
    """A log entry is malformed, oversized or of an unknown type."""


class StoreError(LedgerError):
    """The storage back end failed or holds inconsistent data."""


class UnknownEntryError(LedgerError):
    """The log holds no such entry (or not within the requested tree size)."""


class AnchorError(LedgerError):
    """The chain refused an anchor, or could not be read (:mod:`.anchor`)."""


class NotAnchoredError(AnchorError):
    """A tree head's size has no anchored root (yet)."""


class AnchorMismatchError(AnchorError):
    """The anchored root of a tree size is not the tree head's: a split view."""
