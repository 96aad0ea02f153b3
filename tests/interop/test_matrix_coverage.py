"""The matrix itself: every peer covers every group, suite and signature scheme at least once
(in a case that runs, or in one marked unsupported with the reason), in each of its roles.

No peer is run here; these tests only read the case lists.
"""

from __future__ import annotations

import pytest
from interop.matrix import GROUPS, SCHEMES, SUITES, Case
from interop.registry import PEERS

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
