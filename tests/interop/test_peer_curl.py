"""The interop matrix with curl as the client of `nautilus-tls serve`: see peer_curl.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_curl import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_curl(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
