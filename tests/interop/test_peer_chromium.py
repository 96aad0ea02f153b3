"""The interop matrix with headless Chromium loading a page from `nautilus-tls serve`:
see peer_chromium.py."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_chromium import PEER

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(PEER))
def test_chromium(case: Case, interop_env: Env) -> None:
    run_in_pytest(PEER, case, interop_env)
