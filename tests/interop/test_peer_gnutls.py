"""The interop matrix against GnuTLS 3.7 (gnutls-serv, gnutls-cli): see peer_gnutls.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_gnutls import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_gnutls(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
