"""The Merkle hash tree of RFC 9162 §2.1 (unchanged from RFC 6962 §2.1), SHA-256.

Pure functions and one in-memory structure:

* :func:`leaf_hash`, :func:`node_hash` — the domain-separated hashes of §2.1.1
  (``0x00`` before a leaf, ``0x01`` before two child hashes, so a leaf can never pass for a node);
* :class:`MerkleTree` — leaf hashes plus every *complete* subtree hash, built as leaves arrive.
  A complete, aligned subtree never changes once its last leaf exists, so the root of any
  earlier size and every proof need O(log n) hashes instead of rehashing the whole log;
* :func:`verify_inclusion` (§2.1.3.2) and :func:`verify_consistency` (§2.1.4.2) — they raise
  :class:`~nautilus_tls.ledger.errors.ProofError` and never return False, so a caller cannot
  forget to look at a result.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from nautilus_tls.ledger.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = HASH() — the root of the empty tree (RFC 9162 §2.1.1)."""


def leaf_hash(leaf_input: bytes) -> bytes:
    """MTH({d}) = HASH(0x00 || d)."""
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): the k of RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """Leaf hashes with every complete aligned subtree hash cached (level h, position i covers
    leaves ``[i * 2**h, (i + 1) * 2**h)``)."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf_hash_: bytes) -> None:
        if len(leaf_hash_) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        self._levels[0].append(leaf_hash_)
        level = 0
        # Each time a level gets an even count, the last two form a new complete parent.
        while len(self._levels[level]) % 2 == 0:
            left, right = self._levels[level][-2:]
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._levels[level + 1].append(node_hash(left, right))
            level += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for h in leaf_hashes:
            self.append(h)

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        size = self.size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1 (RFC 6962 §2.1.1), nearest sibling first."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of size {size}")
        siblings: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                siblings.append(self._subtree(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(self._subtree(lo, lo + k))
                lo += k
        # Collected from the root down; the proof lists them from the leaf up.
        return siblings[::-1]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[second]) of RFC 9162 §2.1.4.1 (RFC 6962 §2.1.2)."""
        self._check_size(second)
        if not 0 < first <= second:
            raise ValueError(f"no consistency proof from size {first} to {second}")
        nodes: list[bytes] = []
        lo, hi, m, whole = 0, second, first, True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                nodes.append(self._subtree(lo + k, hi))
                hi = lo + k
            else:
                nodes.append(self._subtree(lo, lo + k))
                lo, m, whole = lo + k, m - k, False
        if not whole:
            # SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old tree is a proper subtree here.
            nodes.append(self._subtree(lo, hi))
        return nodes[::-1]

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is beyond the {self.size} leaves known")

    def _subtree(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        height = n.bit_length() - 1
        if n == 1 << height and lo % n == 0:
            return self._levels[height][lo >> height]
        k = _split(n)
        return node_hash(self._subtree(lo, lo + k), self._subtree(lo + k, hi))


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over these leaf hashes."""
    return MerkleTree(leaf_hashes).root()


def _check_hashes(*hashes: bytes) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ProofError("a hash in the proof is not 32 bytes")


def verify_inclusion(
    leaf_hash_: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise ProofError unless ``path`` proves the leaf is at ``index`` in
    the tree of ``tree_size`` leaves with this ``root``."""
    _check_hashes(leaf_hash_, root, *path)
    if not 0 <= index < tree_size:  # step 1
        raise ProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    fn, sn, r = index, tree_size - 1, leaf_hash_
    for p in path:
        if sn == 0:  # step 4a: more path than the tree is tall
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 5
        raise ProofError("inclusion proof is too short")
    if not hmac.compare_digest(r, root):
        raise ProofError("inclusion proof does not lead to the tree head's root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise ProofError unless ``proof`` shows the tree of ``first`` leaves
    is a prefix of the tree of ``second`` leaves (append-only, no fork)."""
    _check_hashes(*proof)
    if first <= 0 or first > second:
        raise ProofError(f"no consistency proof exists from size {first} to {second}")
    if first == second:
        # Equal sizes: the roots must be the same bytes (compared as opaque values, as the
        # transparency-dev test data does).
        if proof or not hmac.compare_digest(first_root, second_root):
            raise ProofError("two tree heads of the same size differ: the log forked")
        return
    _check_hashes(first_root, second_root)
    if not proof:  # step 1
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # step 2: a power of two is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # step 6a
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 7
        raise ProofError("consistency proof is too short")
    if not (hmac.compare_digest(fr, first_root) and hmac.compare_digest(sr, second_root)):
        raise ProofError("consistency proof does not match both tree heads: the log forked")
