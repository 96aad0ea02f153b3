"""HTTP client for a log's API (:mod:`.api`), over httpx.

Nothing the server says is trusted: tree heads are checked against the log keys the client
was given, proofs are verified against those tree heads, entries are decoded and validated,
and responses are read only up to a size limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from nautilus_tls import safe_json
from nautilus_tls.ledger.encoding import b64decode, b64encode
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError, UnknownEntryError
from nautilus_tls.ledger.log import MAX_ENTRIES_PER_REQUEST
from nautilus_tls.ledger.merkle import verify_consistency, verify_inclusion
from nautilus_tls.ledger.sth import LogPublicKey, SignedTreeHead, verify_tree_head

__all__ = ["MAX_RESPONSE", "LedgerClient"]

PREFIX = "/ledger/v1"
MAX_RESPONSE = 64 * 1024 * 1024
"""Bytes of one response: a full page of the largest entries, base64, fits."""
MAX_PROOF_NODES = 64
"""A tree of at most 2**64 leaves has proofs of at most 64 hashes (RFC 9162 §2.1.3/§2.1.4)."""
DEFAULT_TIMEOUT = 10.0


def _b64_list(value: Any, what: str, limit: int) -> list[bytes]:
    if not isinstance(value, list) or len(value) > limit:
        raise LedgerError(f"log sent a {what} that is not a list of at most {limit}")
    return [b64decode(v, what) for v in value]


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LedgerError(f"log sent a {what} that is not a non-negative integer")
    return value


class LedgerClient:
    """Talks to one log at ``base_url`` (``http://host:port``)."""

    def __init__(
        self,
        base_url: str,
        trusted_keys: Sequence[LogPublicKey] = (),
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.trusted_keys = tuple(trusted_keys)
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, follow_redirects=False
        )

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            with self._http.stream(method, f"{PREFIX}/{path}", **kwargs) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE:
                        raise LedgerError(f"log response is larger than {MAX_RESPONSE} bytes")
                status = response.status_code
        except httpx.HTTPError as exc:
            raise LedgerError(f"cannot reach the log at {self.base_url}: {exc}") from None
        try:
            data = safe_json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise LedgerError(f"log answered {status} with something that is not JSON") from None
        if not isinstance(data, dict):
            raise LedgerError("log answered with JSON that is not an object")
        if status != 200:
            message = str(data.get("message", ""))[:200]
            error = UnknownEntryError if status == 404 else LedgerError
            raise error(f"log refused ({status} {data.get('error_code', '?')}): {message}")
        return data

    def add(self, entry: Entry) -> int:
        """Submit ``entry``; return its index (the first one if it was already logged)."""
        data = self._call("POST", "add-entry", json={"leaf_input": b64encode(entry.encode())})
        if b64decode(data.get("leaf_hash"), "leaf hash") != entry.leaf_hash():
            raise LedgerError("log acknowledged a different entry than the one sent")
        return _int(data.get("leaf_index"), "leaf index")

    def get_sth(self) -> SignedTreeHead:
        """The log's current signed tree head, verified against the trusted keys (if any were
        given: without keys the tree head is unauthenticated and only good for display)."""
        data = self._call("GET", "get-sth")
        sth = SignedTreeHead.decode(b64decode(data.get("sth"), "tree head"))
        if self.trusted_keys:
            verify_tree_head(sth, self.trusted_keys)
        return sth

    def prove_inclusion(self, leaf_hash: bytes, sth: SignedTreeHead) -> int:
        """Fetch and verify the proof that ``leaf_hash`` is in ``sth``'s tree; return its index."""
        return self.inclusion_proof(leaf_hash, sth)[0]

    def inclusion_proof(self, leaf_hash: bytes, sth: SignedTreeHead) -> tuple[int, list[bytes]]:
        """The index and inclusion path of ``leaf_hash`` in ``sth``'s tree, verified against
        its root (a server staples them, :mod:`.stapler`)."""
        data = self._call(
            "GET",
            "get-proof-by-hash",
            params={"hash": b64encode(leaf_hash), "tree_size": sth.tree_size},
        )
        index = _int(data.get("leaf_index"), "leaf index")
        path = _b64_list(data.get("inclusion_path"), "inclusion path", MAX_PROOF_NODES)
        verify_inclusion(leaf_hash, index, sth.tree_size, path, sth.root_hash)
        return index, path

    def consistency_path(self, first: int, second: int) -> list[bytes]:
        """The log's consistency proof from size ``first`` to ``second`` (0 < first < second),
        unverified: only the holder of the first root can check it."""
        data = self._call("GET", "get-sth-consistency", params={"first": first, "second": second})
        return _b64_list(data.get("consistency"), "consistency proof", MAX_PROOF_NODES)

    def prove_consistency(self, old: SignedTreeHead, new: SignedTreeHead) -> None:
        """Raise ProofError unless ``new``'s tree extends ``old``'s (no fork, no rewrite)."""
        if old.tree_size == 0:
            return  # every tree extends the empty one
        proof: list[bytes] = []
        if old.tree_size < new.tree_size:
            proof = self.consistency_path(old.tree_size, new.tree_size)
        verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)

    def entries(self, start: int, end: int) -> list[bytes]:
        """Leaf inputs from ``start`` (fewer than asked when the log pages), not yet decoded."""
        data = self._call("GET", "get-entries", params={"start": start, "end": end})
        found = _b64_list(data.get("entries"), "entry list", MAX_ENTRIES_PER_REQUEST)
        if not found or len(found) > end - start:
            raise LedgerError("log sent no entries or more than asked for")
        return found
