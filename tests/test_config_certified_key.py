"""CertifiedKey: a key that does not match its certificate is refused when loaded, file
errors name the file (and the option a command line passes as its label), the repr is short
and never shows the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from certificates import pki, unrelated_pki

from nautilus_tls.config import CertifiedKey
from nautilus_tls.errors import ConfigError


def test_a_key_that_does_not_match_the_certificate_is_refused() -> None:
    ours, other = pki("ecdsa-p256"), unrelated_pki("ecdsa-p256")
    with pytest.raises(ConfigError, match="the private key does not match the certificate"):
        CertifiedKey(chain=ours.server.chain, private_key=other.server.private_key)


@pytest.mark.parametrize("alg", ["mldsa65", "ed25519", "rsa2048"])
def test_matching_keys_of_each_kind_load(alg: str) -> None:
    made = pki(alg).server
    assert CertifiedKey(chain=made.chain, private_key=made.private_key).chain == made.chain


def test_repr_is_short_and_names_the_certificate() -> None:
    text = repr(pki("mldsa65").server)
    assert text.startswith("CertifiedKey(subject='")
    assert "names=[localhost" in text and "chain=1 certificate)" in text
    assert len(text) < 200 and "private" not in text


def test_file_errors_name_the_file_and_its_label(
    tmp_path: Path, tls_pem_dir: dict[str, Path]
) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError, match=rf"^certificate file {missing}: No such file"):
        CertifiedKey.from_files(missing, tls_pem_dir["server_key"])
    with pytest.raises(ConfigError, match=rf"^--key {missing}: No such file"):
        CertifiedKey.from_files(tls_pem_dir["server_pem"], missing, labels=("--cert", "--key"))
    with pytest.raises(
        ConfigError,
        match=r"^key file .*client\.key with certificate file .*server\.pem: the private key does not match",
    ):
        CertifiedKey.from_files(tls_pem_dir["server_pem"], tls_pem_dir["client_key"])
