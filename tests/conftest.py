"""Shared fixtures: a small ML-DSA-65 PKI (in memory and as PEM files) for adapter and CLI tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto.certgen import make_ca, make_leaf, write_pem_bundle
from nautilus_tls.crypto.x509 import TrustStore

TEST_NAMES = ["localhost", "127.0.0.1", "::1"]


@dataclass(frozen=True)
class TestPki:
    """A CA with a server leaf (``localhost``, 127.0.0.1, ::1) and a client leaf."""

    __test__ = False  # not a test class

    ca_der: bytes
    server: CertifiedKey
    client: CertifiedKey

    @property
    def store(self) -> TrustStore:
        return TrustStore.from_certificates([self.ca_der])

    def client_config(self, **kw: object) -> ClientConfig:
        return ClientConfig(trust_store=self.store, **kw)  # type: ignore[arg-type]

    def server_config(self, **kw: object) -> ServerConfig:
        return ServerConfig(certificates=(self.server,), **kw)  # type: ignore[arg-type]


def _make_pki(alg: str, ca_name: str = "Nautilus adapter test CA") -> TestPki:
    ca_der, ca_key = make_ca(alg, f"{ca_name} ({alg})")
    s_der, s_key = make_leaf(ca_der, ca_key, alg, TEST_NAMES)
    c_der, c_key = make_leaf(ca_der, ca_key, alg, ["client.nautilus.test"], client=True)
    return TestPki(
        ca_der=ca_der,
        server=CertifiedKey(chain=(s_der,), private_key=s_key),
        client=CertifiedKey(chain=(c_der,), private_key=c_key),
    )


@pytest.fixture(scope="session")
def tls_pki() -> TestPki:
    """An ML-DSA-65 CA, server and client certificate, made once per session."""
    return _make_pki("mldsa65")


@pytest.fixture(scope="session")
def other_pki() -> TestPki:
    """A second, unrelated PKI with a differently named CA (for "unknown CA" tests)."""
    return _make_pki("mldsa65", "Nautilus unrelated test CA")


@pytest.fixture(scope="session")
def tls_pem_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files (ca, server, client; ML-DSA-65) as written by ``nautilus-tls cert``."""
    return write_pem_bundle(tmp_path_factory.mktemp("pem"), "mldsa65", TEST_NAMES)
