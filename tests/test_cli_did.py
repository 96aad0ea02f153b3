"""``nautilus-tls did create`` and the DID flags of serve and connect (src/nautilus_tls/cli_did.py),
run as a user would: real files, a real ``serve`` process, a real client."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
from certificates import pki
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from did_server import document_server
from test_cli import connect_json, serve

from nautilus_tls.cli import main
from nautilus_tls.did.certificate import did_of_certificate
from nautilus_tls.did.document import authentication_keys, did_document
from nautilus_tls.did.key import parse_did_key
from nautilus_tls.tools.certgen import cert_to_pem


def _spki_of_key(path: Path) -> bytes:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _create(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["did", "create", *args])
    out = capsys.readouterr()
    return status, out.out.strip(), out.err


@pytest.mark.parametrize("alg", ["ed25519", "ecdsa-p256", "mldsa65"])
def test_create_did_key_writes_the_key_the_did_and_a_certificate(
    alg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, did, _ = _create(capsys, "--method", "key", "--alg", alg, "--out", str(tmp_path))
    assert status == 0 and did.startswith("did:key:z")
    assert (tmp_path / "did.txt").read_text().strip() == did
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    assert parse_did_key(did).spki == _spki_of_key(tmp_path / "key.pem")
    cert = x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes())
    assert did_of_certificate(cert.public_bytes(serialization.Encoding.DER)) == did
    assert not (tmp_path / "did.json").exists()


def test_create_did_web_also_writes_the_document_to_publish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, did, err = _create(
        capsys, "--method", "web", "--domain", "example.com:8443", "--path", "users/alice",
        "--alg", "mldsa65", "--out", str(tmp_path),
    )  # fmt: skip
    assert status == 0 and did == "did:web:example.com%3A8443:users:alice"
    assert "https://example.com:8443/users/alice/did.json" in err
    document = json.loads((tmp_path / "did.json").read_text())
    (key,) = authentication_keys(document, did)
    assert key.spki == _spki_of_key(tmp_path / "key.pem")


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "web", "--out", "X"],
        ["--method", "web", "--domain", "bad host", "--out", "X"],
        ["--method", "key", "--domain", "example.com", "--out", "X"],
    ],
)
def test_create_refuses_bad_options_as_usage_errors(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.replace("X", str(tmp_path / "out")) for a in args]
    status, _, err = _create(capsys, *args)
    assert status == 2 and "error:" in err


@pytest.fixture(scope="module")
def did_server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("did-server")
    assert main(["did", "create", "--alg", "ed25519", "--out", str(out)]) == 0
    return out


def test_connect_expect_did_accepts_the_server_holding_it(
    did_server_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    did = (did_server_dir / "did.txt").read_text().strip()
    cert, key = str(did_server_dir / "cert.pem"), str(did_server_dir / "key.pem")
    with serve("--cert", cert, "--key", key) as server:
        status, record, err = connect_json(
            capsys, f"localhost:{server.port}", "--expect-did", did, "--send", "hi"
        )
    assert status == 0, err
    assert record["peer_did"] == did and record["reply"] == "hi"
    assert record["signature_scheme"] == "ed25519"


def test_connect_expect_did_mismatch_exits_non_zero_naming_both(
    did_server_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["did", "create", "--alg", "ecdsa-p256", "--out", str(tmp_path)]) == 0
    expected = (tmp_path / "did.txt").read_text().strip()
    presented = (did_server_dir / "did.txt").read_text().strip()
    cert, key = str(did_server_dir / "cert.pem"), str(did_server_dir / "key.pem")
    with serve("--cert", cert, "--key", key) as server:
        status, _, err = connect_json(
            capsys, f"localhost:{server.port}", "--expect-did", expected, "--send", "hi"
        )
    assert status == 1
    assert "bad_certificate" in err and expected in err and presented in err


def test_connect_rejects_a_malformed_expected_did(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = connect_json(capsys, "localhost:1", "--expect-did", "did:key:zBad0")
    assert status == 2 and "error:" in err


def test_serve_trust_did_admits_only_the_listed_client(
    did_server_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["did", "create", "--alg", "mldsa65", "--out", str(tmp_path / "c")]) == 0
    assert main(["did", "create", "--alg", "mldsa65", "--out", str(tmp_path / "s")]) == 0
    client_did = (tmp_path / "c" / "did.txt").read_text().strip()
    server_did = (tmp_path / "s" / "did.txt").read_text().strip()
    scert, skey = str(tmp_path / "s" / "cert.pem"), str(tmp_path / "s" / "key.pem")
    with serve("--cert", scert, "--key", skey, "--trust-did", client_did) as server:
        common = [f"localhost:{server.port}", "--expect-did", server_did, "--send", "hi"]
        ok, record, err = connect_json(
            capsys, *common, "--cert", str(tmp_path / "c" / "cert.pem"),
            "--key", str(tmp_path / "c" / "key.pem"),
        )  # fmt: skip
        assert ok == 0 and record["reply"] == "hi", err
        refused, _, err = connect_json(
            capsys, *common, "--cert", str(did_server_dir / "cert.pem"),
            "--key", str(did_server_dir / "key.pem"),
        )  # fmt: skip
    assert refused == 1 and "access_denied" in err


def test_serve_raw_key_and_connect_expect_spki(
    did_server_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # RFC 7250 from the command line: the server offers its key alone, the client pins it.
    key = str(did_server_dir / "key.pem")
    spki = _spki_of_key(did_server_dir / "key.pem")
    pin = hashlib.sha256(spki).hexdigest()
    with serve("--raw-key", key, "--json-log") as server:
        status, record, err = connect_json(
            capsys, f"localhost:{server.port}", "--expect-spki", pin, "--send", "raw"
        )
        assert status == 0, err
        assert record["certificate_type"] == "raw_public_key" and record["reply"] == "raw"
        assert record["peer_chain"] == []
        wrong, _, err = connect_json(
            capsys, f"localhost:{server.port}", "--expect-spki", "00" * 32, "--send", "raw"
        )
    assert wrong == 1 and "bad_certificate" in err and pin in err


def test_connect_expect_did_takes_the_servers_raw_key_and_reports_the_did(
    did_server_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    did = (did_server_dir / "did.txt").read_text().strip()
    with serve("--raw-key", str(did_server_dir / "key.pem")) as server:
        status, record, err = connect_json(
            capsys, f"localhost:{server.port}", "--expect-did", did, "--send", "hi"
        )
    assert status == 0, err
    assert record["peer_did"] == did and record["certificate_type"] == "raw_public_key"


def test_server_logs_the_did_of_a_raw_key_client(
    did_server_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["did", "create", "--alg", "mldsa65", "--out", str(tmp_path)]) == 0
    client_did = (tmp_path / "did.txt").read_text().strip()
    server_did = (did_server_dir / "did.txt").read_text().strip()
    server_key = str(did_server_dir / "key.pem")
    with serve("--raw-key", server_key, "--trust-did", client_did, "--json-log") as server:
        status, _, err = connect_json(
            capsys, f"localhost:{server.port}", "--expect-did", server_did,
            "--raw-key", str(tmp_path / "key.pem"), "--send", "hi",
        )  # fmt: skip
        assert status == 0, err
        logged = server.json_record()
    assert logged["peer_did"] == client_did and logged["certificate_type"] == "raw_public_key"


def test_serve_resolves_the_did_web_a_raw_key_client_names_with_did(
    did_server_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The client's did:web is served by our HTTPS server (tests/did_server.py); the serve
    # process fetches it with --did-cafile, learning which DID to resolve from --did.
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert_to_pem(pki().ca_der))
    assert main(["did", "create", "--alg", "ed25519", "--out", str(tmp_path / "c")]) == 0
    client_key = tmp_path / "c" / "key.pem"
    server_did = (did_server_dir / "did.txt").read_text().strip()
    with document_server({}) as docs:
        client_did = f"did:web:{docs.authority}:alice"
        document = did_document(client_did, _spki_of_key(client_key))
        docs.routes["/alice/did.json"] = (200, json.dumps(document).encode())
        serve_args = ("--raw-key", str(did_server_dir / "key.pem"), "--did", server_did,
                      "--resolve-dids", "--did-cafile", str(ca), "--json-log")  # fmt: skip
        with serve(*serve_args) as server:
            status, record, err = connect_json(
                capsys, f"localhost:{server.port}", "--expect-did", server_did,
                "--raw-key", str(client_key), "--did", client_did, "--send", "hi",
            )  # fmt: skip
            assert status == 0, err
            logged = server.json_record()
    assert record["peer_did"] == server_did
    assert logged["peer_did"] == client_did and docs.hits == {"/alice/did.json": 1}


def test_did_flag_rejects_a_malformed_did(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = connect_json(capsys, "localhost:1", "--did", "did:nope:x")
    assert status == 2 and "--did" in err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["connect", "localhost:1", "--expect-did", "DID", "--insecure"], "--insecure"),
        (["connect", "localhost:1", "--expect-did", "DID", "--cafile", "CA"], "--cafile"),
        (["connect", "localhost:1", "--did-cafile", "CA"], "--did-cafile"),
        (["serve", "--port", "0", "--trust-did", "DID", "--client-ca", "CA"], "--client-ca"),
        (["serve", "--port", "0", "--did-cafile", "CA"], "--did-cafile"),
    ],
)
def test_did_flags_refuse_the_flags_they_would_silently_override(
    argv: list[str],
    named: str,
    did_server_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    did = (did_server_dir / "did.txt").read_text().strip()
    ca = str(did_server_dir / "cert.pem")
    pair = ["--cert", ca, "--key", str(did_server_dir / "key.pem")] if argv[0] == "serve" else []
    argv = [did if a == "DID" else ca if a == "CA" else a for a in argv] + pair
    assert main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after --insecure's warning
    assert last.startswith("error:") and named in last
