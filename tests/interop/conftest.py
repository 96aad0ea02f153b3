"""Fixtures for tests against real peers: the Node 24 binary and the test PKI as PEM files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from certificates import write_pem_files
from interop.matrix import Env
from interop.node_peer import require_node


@pytest.fixture(scope="session")
def node() -> Path:
    """The Node.js 24 binary; the test is skipped, loudly, when there is none."""
    return require_node()


@pytest.fixture(scope="session")
def pem_bundle(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Path]]:
    """``pem_bundle(alg)``: CA, server and client PEM files for ``alg``, made once per session."""
    made: dict[str, dict[str, Path]] = {}

    def get(alg: str) -> dict[str, Path]:
        if alg not in made:
            made[alg] = write_pem_files(tmp_path_factory.mktemp(f"certs-{alg}"), alg)
        return made[alg]

    return get


@pytest.fixture(scope="session")
def interop_env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """Certificates and scratch directories for the matrix cases (interop/matrix.py)."""
    return Env(tmp_path_factory.mktemp("interop"))
