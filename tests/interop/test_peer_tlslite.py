"""The interop matrix against tlslite-ng 0.8 (with kyber-py), both roles: see peer_tlslite.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_tlslite import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_tlslite(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
