"""certgen and ``nautilus-tls cert`` make composite ML-DSA bundles whose PEM files load back
into a working CertifiedKey and trust store."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from nautilus_tls.cli import main
from nautilus_tls.config import CertifiedKey
from nautilus_tls.crypto.composite import CompositePrivateKey
from nautilus_tls.crypto.signatures import load_private_key_pem
from nautilus_tls.crypto.x509 import (
    TrustStore,
    load_certificate_chain_pem,
    verify_client_chain,
    verify_server_chain,
)
from nautilus_tls.errors import ConfigError
from nautilus_tls.tools import certgen


def now() -> datetime.datetime:
    # At the check, not at import: the suite may reach these tests minutes after collection,
    # later than a fresh certificate's 5-minute backdating.
    return datetime.datetime.now(datetime.UTC)


@pytest.mark.parametrize("alg", certgen.COMPOSITE_ALGORITHMS)
def test_a_composite_bundle_loads_back_and_validates(alg: str, tmp_path: Path) -> None:
    paths = certgen.write_pem_bundle(tmp_path, alg, ["localhost", "127.0.0.1"])
    store = TrustStore.from_file(paths["ca_pem"])
    server = CertifiedKey.from_files(paths["server_pem"], paths["server_key"])
    client = CertifiedKey.from_files(paths["client_pem"], paths["client_key"])
    assert isinstance(server.private_key, CompositePrivateKey)
    assert server.private_key.algorithm.name.startswith("MLDSA65-")
    verify_server_chain(server.chain, "127.0.0.1", store, now())
    verify_client_chain(client.chain, store, now())
    assert (paths["server_key"].stat().st_mode & 0o777) == 0o600


def test_a_composite_key_file_takes_no_password(tmp_path: Path) -> None:
    paths = certgen.write_pem_bundle(tmp_path, "mldsa65-ed25519", ["localhost"])
    with pytest.raises(ConfigError, match="not encrypted"):
        load_private_key_pem(paths["server_key"].read_bytes(), b"secret")


def test_a_key_that_does_not_match_the_certificate_is_refused(tmp_path: Path) -> None:
    paths = certgen.write_pem_bundle(tmp_path, "mldsa65-ecdsa-p256", ["localhost"])
    chain = load_certificate_chain_pem(paths["server_pem"].read_bytes())
    other = CompositePrivateKey.generate(
        load_private_key_pem(paths["server_key"].read_bytes()).algorithm  # type: ignore[union-attr]
    )
    with pytest.raises(ConfigError, match="cannot sign"):
        CertifiedKey(chain=chain, private_key=other)


@pytest.mark.parametrize("alg", certgen.COMPOSITE_ALGORITHMS)
def test_the_cert_command_writes_a_composite_bundle(
    alg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / alg
    assert main(["cert", "--alg", alg, "--out", str(out), "--name", "example.test"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote a {alg} development bundle" in printed
    assert "0xFE10/0xFE11" in printed
    key = load_private_key_pem((out / "server.key").read_bytes())
    assert isinstance(key, CompositePrivateKey)
    store = TrustStore.from_file(out / "ca.pem")
    chain = load_certificate_chain_pem((out / "server.pem").read_bytes())
    verify_server_chain(chain, "example.test", store, now())
