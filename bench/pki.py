"""Certificates for the benchmark, written once per run as PEM files every peer can load.

Each key algorithm gets a CA and a server leaf for ``localhost`` and 127.0.0.1 (see
:func:`nautilus_tls.tools.certgen.write_pem_bundle`). Node and Python's ssl read the files;
Nautilus loads them with :meth:`CertifiedKey.from_files`; tlslite-ng parses the PEM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nautilus_tls.tools.certgen import write_pem_bundle
from nautilus_tls.wire.enums import NamedGroup

SERVER_NAME = "localhost"
NAMES = [SERVER_NAME, "127.0.0.1"]
CERT_ALGS = ("mldsa65", "ecdsa-p256")


@dataclass(frozen=True)
class HsConfig:
    """A handshake configuration: the key-exchange group and the server certificate's key."""

    name: str
    group: NamedGroup
    cert_alg: str
    label: str

    @property
    def node_group(self) -> str:
        """The group as OpenSSL (Node's ``ecdhCurve``) spells it."""
        return "X25519" if self.group == NamedGroup.x25519 else self.group.name


CONFIGS: dict[str, HsConfig] = {
    c.name: c
    for c in (
        HsConfig("pq-mldsa65", NamedGroup.X25519MLKEM768, "mldsa65", "X25519MLKEM768 + ML-DSA-65"),
        HsConfig(
            "pq-ecdsa", NamedGroup.X25519MLKEM768, "ecdsa-p256", "X25519MLKEM768 + ECDSA P-256"
        ),
        HsConfig("x25519-ecdsa", NamedGroup.x25519, "ecdsa-p256", "x25519 + ECDSA P-256"),
    )
}


@dataclass(frozen=True)
class Bundle:
    """PEM paths for one key algorithm."""

    ca_pem: Path
    server_pem: Path
    server_key: Path


def make_pki(directory: Path) -> dict[str, Bundle]:
    """Write a bundle for each algorithm in :data:`CERT_ALGS` under ``directory``."""
    out: dict[str, Bundle] = {}
    for alg in CERT_ALGS:
        paths = write_pem_bundle(directory / alg, alg, NAMES)
        out[alg] = Bundle(paths["ca_pem"], paths["server_pem"], paths["server_key"])
    return out


def load_pki(directory: Path) -> dict[str, Bundle]:
    """The bundles :func:`make_pki` wrote (for child processes)."""
    return {
        alg: Bundle(
            directory / alg / "ca.pem",
            directory / alg / "server.pem",
            directory / alg / "server.key",
        )
        for alg in CERT_ALGS
    }
