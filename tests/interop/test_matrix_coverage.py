"""The matrix itself: every peer covers every group, suite and signature scheme at least once
(in a case that runs, or in one marked unsupported with the reason), in each of its roles.

No peer is run here; these tests only read the case lists.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from interop import registry
from interop.matrix import GROUPS, SCHEMES, SUITES, Case
from interop.registry import PEERS

ROOT = Path(__file__).resolve().parents[2]

OBSERVERS = {"tshark"}  # decrypts what it sees: no role of its own to cover groups or schemes


def _cases(peer_name: str) -> list[Case]:
    return next(p for p in PEERS if p.name == peer_name).cases()


@pytest.mark.parametrize("peer", [p.name for p in PEERS])
def test_case_ids_are_unique(peer: str) -> None:
    ids = [c.id for c in _cases(peer)]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize(
    ("peer", "role"),
    [(p.name, r) for p in PEERS if p.name not in OBSERVERS for r in p.roles],
)
def test_every_group_and_suite_in_each_role(peer: str, role: str) -> None:
    cases = [c for c in _cases(peer) if c.role == role]
    assert sorted(set(GROUPS) - {c.group for c in cases}) == []
    assert sorted(set(SUITES) - {c.suite for c in cases}) == []


@pytest.mark.parametrize("peer", [p.name for p in PEERS if p.name not in OBSERVERS])
def test_every_signature_scheme(peer: str) -> None:
    assert sorted(set(SCHEMES) - {c.scheme for c in _cases(peer)}) == []


@pytest.mark.parametrize("peer", [p.name for p in PEERS])
def test_unsupported_cases_say_why(peer: str) -> None:
    for case in _cases(peer):
        assert case.unsupported is None or len(case.unsupported) > 10, case.id


HARNESSES = sorted(p.stem for p in Path(__file__).parent.glob("peer_*.py"))


@pytest.mark.parametrize("harness", HARNESSES)
def test_every_peer_harness_is_in_the_matrix_and_its_documented_table(harness: str) -> None:
    # A harness left out of the registry is run by pytest but missing from the matrix table
    # (python -m tools.interop) and from the committed results.
    assert hasattr(registry, harness), f"tests/interop/registry.py does not import {harness}"
    peers_table = (ROOT / "docs" / "interop" / "README.md").read_text(encoding="utf-8")
    assert f"`{harness}.py`" in peers_table, f"docs/interop/README.md has no row for {harness}"
