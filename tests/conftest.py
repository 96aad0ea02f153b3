"""Shared fixtures: a small ML-DSA-65 PKI (in memory and as PEM files) for adapter and CLI tests,
and a private PKI made with OpenSSL's default commands (item 17 of issue 11)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.tools.certgen import make_ca, make_leaf, write_pem_bundle

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


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _openssl_leaf(cwd: Path, name: str, cn: str, *, ca: str, extfile: str | None) -> None:
    """``openssl req -new`` then ``openssl x509 -req`` (v1 without ``-extfile``)."""
    _openssl(cwd, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
    ext = ["-extfile", extfile] if extfile else []
    _openssl(cwd, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
             f"{ca}.key", "-CAcreateserial", "-days", "30", "-out", f"{name}.pem", *ext)  # fmt: skip


@pytest.fixture(scope="session")
def openssl_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PEM files made by the openssl CLI the way private PKIs make them (RSA-2048):

    * ``ca``: ``openssl req -x509 -newkey rsa:2048 -subj /CN=ca -nodes`` (no keyUsage);
    * ``ku_ca``: the same with keyUsage keyCertSign (passes the WebPKI CA rules);
    * ``server`` (SAN localhost, 127.0.0.1; no EKU) and ``client_nosan`` (no SAN, no EKU)
      under ``ca``; ``ku_client_nosan`` (no SAN) under ``ku_ca``;
    * ``client_v1``: ``openssl x509 -req`` without ``-extfile`` (an X.509 v1 certificate).
    """
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("openssl-pki")
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (d / "leaf.ext").write_text("basicConstraints=CA:FALSE\n")
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-subj", "/CN=ca", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-subj", "/CN=ku-ca", "-nodes",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", "ku_ca.key", "-out", "ku_ca.pem")  # fmt: skip
    _openssl_leaf(d, "server", "localhost", ca="ca", extfile="server.ext")
    _openssl_leaf(d, "client_nosan", "client", ca="ca", extfile="leaf.ext")
    _openssl_leaf(d, "ku_client_nosan", "client", ca="ku_ca", extfile="leaf.ext")
    _openssl_leaf(d, "client_v1", "client", ca="ca", extfile=None)
    return d
