"""``serve`` with several ``--cert``/``--key`` pairs (picked by SNI and by the client's
signature algorithms) and certificate/key file errors that name the option and the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import connect_json, serve

from nautilus_tls.cli import main
from nautilus_tls.tools import certgen


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("bundles")
    return {
        "mldsa": certgen.write_pem_bundle(root / "mldsa", "mldsa65", ["localhost", "pq.test"]),
        "ecdsa": certgen.write_pem_bundle(root / "ecdsa", "ecdsa-p256", ["localhost", "ec.test"]),
    }


def _pairs(bundles: dict[str, dict[str, Path]]) -> list[str]:
    args: list[str] = []
    for name in ("mldsa", "ecdsa"):  # the first pair is the default
        args += [
            "--cert",
            str(bundles[name]["server_pem"]),
            "--key",
            str(bundles[name]["server_key"]),
        ]
    return args


def test_serve_picks_the_pair_by_server_name(
    bundles: dict[str, dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(*_pairs(bundles)) as server:
        seen = {}
        for name, bundle in (("pq.test", "mldsa"), ("ec.test", "ecdsa")):
            status, record, err = connect_json(
                capsys, f"127.0.0.1:{server.port}", "--servername", name,
                "--cafile", str(bundles[bundle]["ca_pem"]), "--send", "x",
            )  # fmt: skip
            assert status == 0, err
            seen[name] = (record["signature_scheme"], record["server_certificate_names"])
    assert seen["pq.test"] == ("mldsa65", ["localhost", "pq.test"])
    assert seen["ec.test"] == ("ecdsa_secp256r1_sha256", ["localhost", "ec.test"])


def test_serve_picks_the_pair_by_signature_algorithms(
    bundles: dict[str, dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    # Both certificates are for localhost: a client that cannot verify ML-DSA gets ECDSA.
    with serve(*_pairs(bundles)) as server:
        status, classical, err = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", str(bundles["ecdsa"]["ca_pem"]),
            "--sigalgs", "ecdsa_secp256r1_sha256", "--send", "x",
        )  # fmt: skip
        assert status == 0, err
        status, default, err = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", str(bundles["mldsa"]["ca_pem"]),
            "--send", "x",
        )  # fmt: skip
        assert status == 0, err
    assert classical["signature_scheme"] == "ecdsa_secp256r1_sha256"
    assert default["signature_scheme"] == "mldsa65"


def _serve_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["serve", "--port", "0", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_a_key_that_does_not_match_its_certificate_is_refused(
    bundles: dict[str, dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    cert, key = bundles["mldsa"]["server_pem"], bundles["mldsa"]["client_key"]
    message = _serve_error(capsys, "--cert", str(cert), "--key", str(key))
    assert message.startswith(
        f"error: --key {key} with --cert {cert}: the private key does not match"
    )


def test_file_errors_name_the_option_and_the_file(
    bundles: dict[str, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(bundles["mldsa"]["server_key"])
    missing = tmp_path / "missing.pem"
    assert _serve_error(capsys, "--cert", str(missing), "--key", key) == (
        f"error: --cert {missing}: No such file or directory"
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert _serve_error(capsys, "--cert", str(garbage), "--key", key) == (
        f"error: --cert {garbage}: cannot load the PEM certificate chain"
    )
    cert = str(bundles["mldsa"]["server_pem"])
    assert _serve_error(capsys, "--cert", cert, "--key", str(garbage)).startswith(
        f"error: --key {garbage}: cannot load the private key"
    )
    assert _serve_error(capsys, "--cert", cert, "--key", key, "--cert", cert) == (
        "error: --cert and --key go in pairs: 2 --cert, 1 --key"
    )
