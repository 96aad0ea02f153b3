"""The interop matrix over QUIC: our TLS on aioquic's transport against unmodified aioquic
and qh3 (see peer_quic.py)."""

from __future__ import annotations

import pytest
from interop.casetest import params, run_in_pytest
from interop.matrix import Case, Env
from interop.peer_quic import AIOQUIC, QH3

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("case", params(AIOQUIC))
def test_aioquic_quic(case: Case, interop_env: Env) -> None:
    run_in_pytest(AIOQUIC, case, interop_env)


@pytest.mark.parametrize("case", params(QH3))
def test_qh3_quic(case: Case, interop_env: Env) -> None:
    run_in_pytest(QH3, case, interop_env)
