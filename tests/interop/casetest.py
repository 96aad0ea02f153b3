"""Glue between the matrix (interop/matrix.py) and pytest: one test per case.

    PEER = NodePeer()
    @pytest.mark.parametrize("case", params(PEER))
    def test_node(case: Case, interop_env: Env) -> None:
        run_in_pytest(PEER, case, interop_env)

Unsupported cases skip with "UNSUPPORTED BY <peer>: reason"; a peer that is not installed
skips every case with "PEER <name> NOT AVAILABLE: reason" — or fails them when the peer is
listed in NAUTILUS_REQUIRE_PEERS (CI lists the peers it installs itself). Known bugs of ours
are strict xfails.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from interop.matrix import Case, Env, Peer, PeerUnavailable, Unsupported, required_peers


def params(peer: Peer) -> list[Any]:
    out = []
    for case in peer.cases():
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def run_in_pytest(peer: Peer, case: Case, env: Env) -> None:
    if case.unsupported:
        pytest.skip(f"UNSUPPORTED BY {peer.name.upper()}: {case.unsupported}")
    missing = peer.availability()
    if missing:
        _unavailable(peer, missing)
    try:
        detail = peer.run(case, env)
    except Unsupported as exc:
        pytest.skip(f"UNSUPPORTED BY {peer.name.upper()}: {exc}")
    except PeerUnavailable as exc:
        _unavailable(peer, str(exc))
    print(f"{case.id}: {detail}")


def _unavailable(peer: Peer, reason: str) -> None:
    message = f"PEER {peer.name.upper()} NOT AVAILABLE - case not run: {reason}"
    required = peer.name in required_peers() or (
        peer.name == "node" and os.environ.get("NAUTILUS_REQUIRE_NODE") == "1"
    )
    if required:
        pytest.fail(message + " (required here: NAUTILUS_REQUIRE_PEERS)", pytrace=False)
    pytest.skip(message)
