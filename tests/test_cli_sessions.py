"""``nautilus-tls connect --sess-out/--sess-in/--early-data`` against ``serve --early-data``,
and the ``ticket-keys`` command against a real Redis."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from certificates import Pki
from test_cli import connect_json, serve

from nautilus_tls.cli import main
from nautilus_tls.tools.certgen import cert_to_pem


def test_session_file_resumes_and_sends_early_data(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    sess = tmp_path / "sess.json"
    early = tmp_path / "early.txt"
    early.write_bytes(b"0-RTT hello ")
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--early-data"
    ) as server:
        common = [f"localhost:{server.port}", "--cafile", str(pem["ca_pem"])]
        status, first, _ = connect_json(capsys, *common, "--sess-out", str(sess), "--send", "one")
        assert status == 0 and first["resumed"] is False and first["early_data"] == "none"
        assert sess.is_file() and stat.S_IMODE(os.stat(sess).st_mode) == 0o600
        status, second, _ = connect_json(
            capsys, *common, "--sess-in", str(sess), "--early-data", str(early), "--send", "two"
        )
        assert status == 0, second
        assert second["resumed"] is True and second["early_data"] == "accepted"
        assert second["reply"] == "0-RTT hello two"  # the echo server echoes early data too
        status, third, _ = connect_json(capsys, *common, "--sess-in", str(sess), "--send", "three")
        assert status == 0 and third["resumed"] is True  # the file held two tickets
        status, fourth, _ = connect_json(capsys, *common, "--sess-in", str(sess), "--send", "four")
        assert status == 0 and fourth["resumed"] is False  # each ticket is used once


def test_early_data_over_the_ticket_limit_arrives_whole(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    sess = tmp_path / "sess.json"
    early = tmp_path / "early.txt"
    early.write_bytes(b"POST /pay?amount=1000000&to=bob ")
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--early-data", "16"
    ) as server:
        common = [f"localhost:{server.port}", "--cafile", str(pem["ca_pem"])]
        status, _, _ = connect_json(capsys, *common, "--sess-out", str(sess), "--send", "one")
        assert status == 0
        status, second, _ = connect_json(
            capsys, *common, "--sess-in", str(sess), "--early-data", str(early), "--send", "two"
        )
        assert status == 0, second
        assert second["early_data"] == "accepted" and second["early_data_sent"] == 16
        assert second["reply"] == "POST /pay?amount=1000000&to=bob two"


def test_ticket_keys_needs_a_store(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ticket-keys", "rotate"])


def test_rejects_insecure_ticket_when_connect_verifies(
    tls_pem_dir: dict[str, Path],
    other_pki: Pki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 11 item 1: a ticket saved by ``--insecure`` must not resume a verifying
    ``connect`` (which would print "resumed yes / verified yes" for an untrusted server)."""
    pem = tls_pem_dir
    sess = tmp_path / "s.json"
    good_ca = tmp_path / "good-ca.pem"  # a CA that did not issue the server's certificate
    good_ca.write_bytes(cert_to_pem(other_pki.ca_der))
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as server:
        address = f"localhost:{server.port}"
        status, first, _ = connect_json(
            capsys, address, "--insecure", "--sess-out", str(sess), "--send", "one"
        )
        assert status == 0 and first["verified"] is False and sess.is_file()
        status, _, err = connect_json(
            capsys, address, "--cafile", str(good_ca), "--sess-in", str(sess), "--send", "two"
        )
        assert status != 0 and "unknown_ca" in err  # the full handshake, refused
        status, again, _ = connect_json(
            capsys, address, "--insecure", "--sess-in", str(sess), "--send", "three"
        )
        assert status == 0 and again["resumed"] is True  # still good where nothing is verified


@pytest.mark.parametrize(
    ("request_bytes", "status_line"),
    [
        (b"GET / HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK"),
        (b"GET / HTTP/1.0\r\nHost: x\r", "HTTP/1.1 200 OK"),  # the head ends after the handshake
        (b"POST /pay HTTP/1.0\r\n\r\n", "HTTP/1.1 425 Too Early"),  # RFC 8470: not from 0-RTT
    ],
    ids=["whole-head", "head-split", "unsafe-method"],
)
def test_http_mode_answers_a_request_sent_as_early_data(
    tls_pem_dir: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request_bytes: bytes,
    status_line: str,
) -> None:
    pem = tls_pem_dir
    sess = tmp_path / "sess.json"
    early = tmp_path / "request.txt"
    early.write_bytes(request_bytes)
    rest = "" if request_bytes.endswith(b"\r\n\r\n") else "\n\r\n"
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
        "--mode", "http", "--early-data",
    ) as server:  # fmt: skip
        common = [f"localhost:{server.port}", "--cafile", str(pem["ca_pem"])]
        status, _, _ = connect_json(
            capsys, *common, "--sess-out", str(sess), "--send", "GET / HTTP/1.0\r\n\r\n"
        )
        assert status == 0
        status, second, _ = connect_json(
            capsys, *common, "--sess-in", str(sess), "--early-data", str(early), "--send", rest
        )
        assert status == 0, second
        assert second["early_data"] == "accepted"
        assert str(second["reply"]).startswith(status_line), second["reply"]
