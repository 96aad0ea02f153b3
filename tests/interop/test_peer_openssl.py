"""The interop matrix against the openssl CLI 3.0 (s_server, s_client): see peer_openssl.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_openssl import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_openssl(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
