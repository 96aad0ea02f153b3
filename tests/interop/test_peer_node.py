"""The interop matrix against Node.js 24 (OpenSSL 3.5), both roles: see peer_node.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_node import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_node(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
