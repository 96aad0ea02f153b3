"""The interop matrix with tshark decrypting a capture with our key log: see peer_tshark.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_tshark import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_tshark(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
