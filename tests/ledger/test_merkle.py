"""RFC 9162 §2.1 Merkle tree: published vectors, every size up to a few hundred against a
straightforward recomputation from the RFC's definitions, and tampered proofs refused."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from vectors import load_vector

from nautilus_tls.ledger.errors import ProofError
from nautilus_tls.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = load_vector("merkle_rfc6962_rfc9162.json")
MAX_SIZE = 300
EXHAUSTIVE_SIZE = 40


def _h(text: str | None) -> bytes:
    return bytes.fromhex(text or "")


def _proof(items: list[str] | None) -> list[bytes]:
    return [bytes.fromhex(p) for p in items or []]


# --- an independent recomputation, written straight from the RFC 6962 §2.1 definitions -------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return _sha(b"")
    if len(leaves) == 1:
        return _sha(b"\x00" + leaves[0])
    k = _k(len(leaves))
    return _sha(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


LEAVES = [i.to_bytes(4, "big") + b"entry" for i in range(MAX_SIZE)]
TREE = MerkleTree(leaf_hash(d) for d in LEAVES)


# --- published vectors -----------------------------------------------------------------------


def test_hashes_match_the_rfc6962_hasher_vectors() -> None:
    by_desc = {v["desc"]: v for v in VECTORS["hasher_vectors"]}
    assert EMPTY_ROOT.hex() == by_desc['RFC6962 Empty: MTH({}) = SHA-256("")']["want"]
    assert leaf_hash(b"").hex() == by_desc["RFC6962 Empty Leaf: SHA-256(0x00)"]["want"]
    assert (
        leaf_hash(b"L123456").hex() == by_desc['RFC6962 Leaf: SHA-256(0x00 || "L123456")']["want"]
    )
    node = by_desc['RFC6962 Node: SHA-256(0x01 || "N123" || "N456")']
    assert node_hash(b"N123", b"N456").hex() == node["want"]


def test_roots_match_the_reference_tree_for_every_size() -> None:
    ref = VECTORS["reference_tree"]
    tree = MerkleTree(leaf_hash(_h(x)) for x in ref["leaves_hex"])
    for size, root in ref["root_by_tree_size"].items():
        assert tree.root(int(size)).hex() == root


def test_generates_the_published_inclusion_and_consistency_proofs() -> None:
    tree = MerkleTree(leaf_hash(_h(x)) for x in VECTORS["reference_tree"]["leaves_hex"])
    for case in VECTORS["all_inclusion_proofs_computed"]:
        path = tree.inclusion_proof(case["leaf_index"], case["tree_size"])
        assert path == _proof(case["inclusion_path"])
        leaf, root = _h(case["leaf_hash"]), _h(case["root"])
        verify_inclusion(leaf, case["leaf_index"], case["tree_size"], path, root)
    for case in VECTORS["all_consistency_proofs_computed"]:
        proof = tree.consistency_proof(case["first"], case["second"])
        assert proof == _proof(case["consistency_path"])
        roots = _h(case["first_hash"]), _h(case["second_hash"])
        verify_consistency(case["first"], case["second"], *roots, proof)


@pytest.mark.parametrize(
    "case", VECTORS["testdata_inclusion"], ids=lambda c: c["file"].removeprefix("testdata/")
)
def test_inclusion_verifier_agrees_with_transparency_dev_testdata(case: dict[str, Any]) -> None:
    leaf, root = _h(case["leafHash"]), _h(case["root"])
    args = (leaf, case["leafIdx"], case["treeSize"], _proof(case["proof"]), root)
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize(
    "case", VECTORS["testdata_consistency"], ids=lambda c: c["file"].removeprefix("testdata/")
)
def test_consistency_verifier_agrees_with_transparency_dev_testdata(
    case: dict[str, Any],
) -> None:
    roots = _h(case["root1"]), _h(case["root2"])
    args = (case["size1"], case["size2"], *roots, _proof(case["proof"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# --- every size up to MAX_SIZE against the recomputation ---------------------------------------


def _indices(n: int, rng: random.Random) -> set[int]:
    if n <= EXHAUSTIVE_SIZE:
        return set(range(n))
    picks = {0, 1, n // 2, n - 2, n - 1, 1 << ((n - 1).bit_length() - 1)}
    picks.update(rng.randrange(n) for _ in range(4))
    return {i for i in picks if 0 <= i < n}


def test_roots_and_inclusion_proofs_for_every_size_match_the_recomputation() -> None:
    rng = random.Random(9162)
    for n in range(1, MAX_SIZE + 1):
        root = _mth(LEAVES[:n])
        assert TREE.root(n) == root, n
        for m in _indices(n, rng):
            path = TREE.inclusion_proof(m, n)
            assert path == _path(m, LEAVES[:n]), (m, n)
            verify_inclusion(TREE.leaf(m), m, n, path, root)


def test_consistency_proofs_for_every_size_match_the_recomputation() -> None:
    rng = random.Random(6962)
    for n in range(1, MAX_SIZE + 1):
        root = _mth(LEAVES[:n])
        for m in _indices(n + 1, rng) - {0}:
            proof = TREE.consistency_proof(m, n)
            assert proof == _subproof(m, LEAVES[:n], True), (m, n)
            verify_consistency(m, n, _mth(LEAVES[:m]), root, proof)


def test_an_incrementally_built_tree_equals_one_built_at_once() -> None:
    grown = MerkleTree()
    for i, d in enumerate(LEAVES[:70]):
        grown.append(leaf_hash(d))
        assert grown.root() == TREE.root(i + 1)
    assert root_of([leaf_hash(d) for d in LEAVES[:70]]) == TREE.root(70)


# --- wrong proofs ------------------------------------------------------------------------------


def test_rejects_inclusion_proofs_with_any_flipped_bit_dropped_or_extra_node() -> None:
    n, m = 213, 77
    path, root = TREE.inclusion_proof(m, n), TREE.root(n)
    for i in range(len(path)):
        bad = list(path)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(ProofError):
            verify_inclusion(TREE.leaf(m), m, n, bad, root)
    for bad in (path[:-1], [*path, path[0]], []):
        with pytest.raises(ProofError):
            verify_inclusion(TREE.leaf(m), m, n, bad, root)
    for wrong_index, wrong_size in ((m + 1, n), (m, 100), (n, n)):
        with pytest.raises(ProofError):
            verify_inclusion(TREE.leaf(m), wrong_index, wrong_size, path, root)


def test_rejects_a_hostile_overlong_proof_without_walking_it() -> None:
    with pytest.raises(ProofError, match="too long"):
        verify_inclusion(TREE.leaf(0), 0, 2, [TREE.leaf(1)] * 100_000, TREE.root(2))


def test_catches_a_forked_log_with_consistency_proofs() -> None:
    honest = MerkleTree(TREE.leaf(i) for i in range(100))
    forked = MerkleTree(TREE.leaf(i) for i in range(100))
    forked._levels[0][41] = leaf_hash(b"rewritten history")  # what a split view would show
    forked = MerkleTree(forked._levels[0])
    forked.extend(TREE.leaf(i) for i in range(100, 150))
    old_root = honest.root(100)
    verify_consistency(100, 150, old_root, TREE.root(150), TREE.consistency_proof(100, 150))
    with pytest.raises(ProofError, match="forked"):
        verify_consistency(100, 150, old_root, forked.root(150), forked.consistency_proof(100, 150))
    with pytest.raises(ProofError, match="forked"):
        verify_consistency(100, 100, old_root, forked.root(100), [])


def test_rejects_impossible_proof_requests() -> None:
    for index, size in ((0, 0), (5, 5), (-1, 3), (0, MAX_SIZE + 1)):
        with pytest.raises(ValueError):
            TREE.inclusion_proof(index, size)
    for first, second in ((0, 5), (6, 5), (1, MAX_SIZE + 1)):
        with pytest.raises(ValueError):
            TREE.consistency_proof(first, second)
    with pytest.raises(ValueError):
        MerkleTree([b"short"])
