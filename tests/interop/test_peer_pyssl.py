"""The interop matrix against Python's ssl module (OpenSSL 3.0), both roles: see peer_pyssl.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_pyssl import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_python_ssl(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
