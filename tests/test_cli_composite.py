"""Composite ML-DSA on the command line: ``serve --alg`` offers the composite algorithms that
``cert --alg`` has, and a server with such a certificate completes handshakes with clients
that name its scheme in ``--schemes`` (TCP and QUIC)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import connect_json, serve

from nautilus_tls import cli_composite
from nautilus_tls.cli import build_parser, main
from nautilus_tls.tools.certgen import CERT_ALGORITHMS, COMPOSITE_ALGORITHMS

SCHEME = {"mldsa65-ecdsa-p256": "mldsa65_ecdsa_secp256r1_sha512", "mldsa65-ed25519": "mldsa65_ed25519_sha512"}  # fmt: skip


def test_serve_offers_every_algorithm_that_cert_offers() -> None:
    parser = build_parser()
    for alg in CERT_ALGORITHMS:
        assert parser.parse_args(["serve", "--alg", alg]).alg == alg
    assert set(COMPOSITE_ALGORITHMS) == set(SCHEME)


@pytest.mark.parametrize("alg", COMPOSITE_ALGORITHMS)
@pytest.mark.parametrize("quic", [False, True])
def test_serves_a_generated_composite_bundle_to_a_client_naming_its_scheme(
    alg: str, quic: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transport = ["--quic"] if quic else []
    with serve(*transport, "--alg", alg, "--cert-dir", str(tmp_path)) as server:
        hint = f"clients must offer its scheme (connect --schemes {SCHEME[alg]})"
        assert any(hint in line for line in server.preamble), server.preamble
        trust = ["--servername", "localhost", "--cafile", str(tmp_path / "ca.pem")]
        where = [f"127.0.0.1:{server.port}", *transport, *trust]
        status, record, err = connect_json(
            capsys, *where, "--schemes", SCHEME[alg], "--send", "composite"
        )
        assert status == 0, err
        assert record["signature_scheme"] == SCHEME[alg] and record["reply"] == "composite"
        assert record["verified"] is True
        # A client that does not offer the composite scheme has nothing in common with it.
        status, _, err = connect_json(capsys, *where, "--send", "x")
        assert status == 1 and "handshake_failure" in err


def test_a_composite_key_with_only_other_schemes_listed_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cert", "--alg", "mldsa65-ed25519", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    keys = ["--cert", str(tmp_path / "server.pem"), "--key", str(tmp_path / "server.key")]
    assert main(["serve", "--port", "0", *keys, "--schemes", "mldsa65"]) == 2
    assert "signs only with mldsa65_ed25519_sha512" in capsys.readouterr().err


def test_leaves_configs_without_composite_keys_or_schemes_alone(
    tls_pem_dir: dict[str, Path],
) -> None:
    from nautilus_tls.config import CertifiedKey

    plain = CertifiedKey.from_files(tls_pem_dir["server_pem"], tls_pem_dir["server_key"])
    assert cli_composite.server_kwargs({}, [plain]) == {}
    assert cli_composite.client_kwargs({"signature_schemes": (0x0905,)}) == {}
    assert cli_composite.client_kwargs({}) == {}
