"""The tests' one PKI: a CA with a server leaf and a client leaf per key algorithm.

In memory (:func:`pki`, made once per algorithm and process, and :func:`unrelated_pki`, a
second CA that trusts nothing of the first) for the sans-I/O pairs and the adapters, and as
PEM files (:func:`write_pem_files`, the files ``nautilus-tls cert`` writes) for the CLI and
real peers. The server leaf names every loopback address a test connects to; the client leaf
is :data:`CLIENT_NAME`. The fuzz world keeps its own, deterministic PKI (tests/fuzz/world.py),
and the OpenSSL-made private PKI stays a fixture in conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.tools import certgen

SERVER_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
CLIENT_NAME = certgen.CLIENT_NAME


@dataclass(frozen=True)
class Pki:
    """A CA (certificate and key) with a server leaf and a client leaf."""

    ca_der: bytes
    ca_key: certgen.CertKey
    server: CertifiedKey
    client: CertifiedKey

    @property
    def store(self) -> TrustStore:
        return TrustStore.from_certificates([self.ca_der])

    def client_config(self, **kw: object) -> ClientConfig:
        return ClientConfig(trust_store=self.store, **kw)  # type: ignore[arg-type]

    def server_config(self, **kw: object) -> ServerConfig:
        return ServerConfig(certificates=(self.server,), **kw)  # type: ignore[arg-type]


@cache
def _made(alg: str, ca_name: str) -> Pki:
    # Cached on the arguments as given, so the public functions pass both positionally:
    # pki() and pki("mldsa65") must be one PKI.
    ca_der, ca_key = certgen.make_ca(certgen.ca_alg_for(alg), f"{ca_name} ({alg})")
    s_der, s_key = certgen.make_leaf(ca_der, ca_key, alg, list(SERVER_NAMES))
    c_der, c_key = certgen.make_leaf(ca_der, ca_key, alg, [CLIENT_NAME], client=True)
    return Pki(
        ca_der=ca_der,
        ca_key=ca_key,
        server=CertifiedKey(chain=(s_der,), private_key=s_key),
        client=CertifiedKey(chain=(c_der,), private_key=c_key),
    )


def pki(alg: str = "mldsa65") -> Pki:
    """The PKI for ``alg``, made on first use."""
    return _made(alg, "Nautilus test CA")


def unrelated_pki(alg: str = "mldsa65") -> Pki:
    """Another CA and leaves for ``alg``, named differently (for "unknown CA" tests)."""
    return _made(alg, "Nautilus unrelated test CA")


def ca_key(alg: str) -> certgen.CertKey:
    """The private key of ``pki(alg)``'s CA (to issue more leaves in tests)."""
    return pki(alg).ca_key


def write_pem_files(directory: Path, alg: str = "mldsa65") -> dict[str, Path]:
    """CA, server and client PEM files for ``alg`` in ``directory``, as ``nautilus-tls cert``
    writes them (keys ``ca_pem``, ``ca_key``, ``server_pem``, ...)."""
    return certgen.write_pem_bundle(directory, alg, list(SERVER_NAMES))
