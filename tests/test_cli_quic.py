"""``nautilus-tls serve --quic`` and ``connect --quic`` (issue 13 item 5): a real server
process on UDP loopback, the client in process."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import connect_json, serve

from nautilus_tls.cli import main


def _connect(
    capsys: pytest.CaptureFixture[str], port: int, cafile: Path, *args: str
) -> tuple[int, dict[str, object], str]:
    """``connect --quic 127.0.0.1:PORT --servername localhost --cafile F ARGS --json``."""
    where = [f"127.0.0.1:{port}", "--quic", "--servername", "localhost", "--cafile", str(cafile)]
    return connect_json(capsys, *where, *args)


def test_echo_over_quic_with_two_key_shares_and_json(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve("--quic", "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as s:
        assert any("QUIC (UDP), mode echo, ALPN nautilus-echo" in line for line in s.preamble)
        status, record, err = _connect(capsys, s.port, pem["ca_pem"], "--send", r"hello\n")
    assert status == 0, err
    assert record["reply"] == "hello\n"
    assert record["group"] == "X25519MLKEM768"
    assert record["alpn"] == "nautilus-echo"
    assert (record["resumed"], record["early_data"], record["hello_retry"]) == (
        False,
        "none",
        False,
    )


def test_http3_get_answers_a_page_naming_the_group(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve(
        "--quic", "--mode", "http", "--groups", "secp256r1",
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
    ) as s:  # fmt: skip
        status, record, err = _connect(capsys, s.port, pem["ca_pem"], "--get", "/")
    assert status == 0, err
    assert record["status"] == 200
    assert record["alpn"] == "h3"
    # The server only does secp256r1: a HelloRetryRequest over QUIC, and the page says so.
    assert record["group"] == "secp256r1" and record["hello_retry"] is True
    assert "secp256r1" in str(record["body"])


def test_resumes_over_quic_with_session_files(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    sess = tmp_path / "sess.json"
    with serve("--quic", "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as s:
        first = _connect(capsys, s.port, pem["ca_pem"], "--send", "x", "--sess-out", str(sess))
        second = _connect(capsys, s.port, pem["ca_pem"], "--send", "x", "--sess-in", str(sess))
    assert first[0] == 0 and second[0] == 0, (first[2], second[2])
    assert first[1]["resumed"] is False and second[1]["resumed"] is True


def test_fails_with_the_alert_for_an_untrusted_server(
    tls_pem_dir: dict[str, Path], other_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve("--quic", "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as s:
        status, _, err = _connect(capsys, s.port, other_pem, "--send", "x")
    assert status == 1
    assert "unknown_ca" in err or "bad_certificate" in err


@pytest.fixture
def other_pem(tmp_path: Path) -> Path:
    from certificates import unrelated_pki

    from nautilus_tls.tools.certgen import cert_to_pem

    path = tmp_path / "other-ca.pem"
    path.write_bytes(cert_to_pem(unrelated_pki().ca_der))
    return path


def test_refuses_get_without_quic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", "127.0.0.1:1", "--get", "/"]) == 2
    assert "--get is an HTTP/3 request" in capsys.readouterr().err


def test_sends_0rtt_over_quic_with_session_and_parameter_files(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    sess, early = tmp_path / "sess.json", tmp_path / "early.txt"
    early.write_bytes(b"replayable request")
    server = (
        "--quic",
        "--early-data",
        "--cert",
        str(pem["server_pem"]),
        "--key",
        str(pem["server_key"]),
    )
    with serve(*server) as s:
        first = _connect(capsys, s.port, pem["ca_pem"], "--send", "x", "--sess-out", str(sess))
        assert (tmp_path / "sess.json.quic-params.json").is_file()
        second = _connect(
            capsys, s.port, pem["ca_pem"], "--sess-in", str(sess), "--early-data", str(early)
        )
    assert first[0] == 0 and second[0] == 0, (first[2], second[2])
    record = second[1]
    assert record["resumed"] is True and record["early_data"] == "accepted"
    assert record["early_reply"] == "replayable request"


# --- issue 21 over QUIC: key rotation by policy, risk-adaptive floors -------------------------


def test_rekey_flags_drive_quic_key_updates_both_ways(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    text = "k" * 40_000
    with serve(
        "--quic", "--rekey-records", "4",
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
    ) as s:  # fmt: skip
        status, record, err = _connect(
            capsys, s.port, pem["ca_pem"], "--rekey-bytes", "4096", "--send", text
        )
    assert status == 0, err
    assert record["reply"] == text, record
    updates = record["key_updates"]
    assert isinstance(updates, dict)
    # Ours by --rekey-bytes, the server's by --rekey-records (RFC 9001 §6 key updates).
    assert updates["sent"] >= 1 and updates["received"] >= 1, updates


def test_risk_adaptive_over_quic_holds_a_bursting_address_at_post_quantum_only(
    tls_pem_dir: dict[str, Path], other_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from risk.test_cli_risk import stop_and_read_stderr, wait_for_level

    from nautilus_tls.cli import main as cli_main

    pem = tls_pem_dir
    with serve(
        "--quic", "--json-log", "--risk-adaptive",
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
    ) as s:  # fmt: skip
        classical = ("--groups", "x25519", "--key-shares", "x25519", "--send", "hi")
        status, record, err = _connect(capsys, s.port, pem["ca_pem"], *classical)
        assert status == 0 and record["group"] == "x25519", err
        # 20 handshakes that fail: the clients do not trust the server and say so.
        where = [f"127.0.0.1:{s.port}", "--quic", "--servername", "localhost"]
        for _ in range(20):
            capsys.readouterr()
            assert cli_main(["connect", *where, "--cafile", str(other_pem), "--json"]) != 0
        change = wait_for_level(s, "high")
        assert change["address"] == "127.0.0.1"
        assert "20 fatal alerts from 127.0.0.1 within 60 s" in str(change["reason"])
        status, _, err = _connect(capsys, s.port, pem["ca_pem"], *classical)
        assert status != 0 and "insufficient_security" in err
        status, record, err = _connect(capsys, s.port, pem["ca_pem"], "--send", "hybrid")
        assert status == 0, err
        assert record["group"] == "X25519MLKEM768" and record["reply"] == "hybrid"
        stderr = stop_and_read_stderr(s)
    # The risk log names the level and why it refused (aioquic logs the close as well).
    refused = [line for line in stderr.splitlines() if "refused 127.0.0.1" in line]
    assert refused, stderr
    assert "risk level high: 20 fatal alerts from 127.0.0.1 within 60 s" in refused[0]


@pytest.mark.parametrize(
    "flag",
    [["--trace"], ["--showcerts"], ["--resolve", "a:1:127.0.0.1"], ["--connect-timeout", "1"]],
)
def test_refuses_the_tcp_only_flags_instead_of_ignoring_them(
    flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["connect", "127.0.0.1:1", "--quic", *flag]) == 2
    err = capsys.readouterr().err
    assert f"{flag[0]}: TLS over TCP only" in err


def test_json_over_quic_names_the_did_the_server_was_checked_against(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["did", "create", "--alg", "ed25519", "--out", str(tmp_path)]) == 0
    did = (tmp_path / "did.txt").read_text().strip()
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    capsys.readouterr()
    with serve("--quic", "--cert", cert, "--key", key) as s:
        status, record, err = connect_json(
            capsys, f"localhost:{s.port}", "--quic", "--expect-did", did, "--send", "x"
        )
    assert status == 0, err
    assert record["peer_did"] == did and record["reply"] == "x"


def test_connect_to_a_silent_port_ends_with_one_clear_error() -> None:
    # Nothing listens: one line that says what to check, and no asyncio "Future exception was
    # never retrieved" from aioquic's abandoned handshake waiter.
    import socket
    import subprocess
    import sys

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "nautilus_tls", "connect", "--quic", f"127.0.0.1:{port}",
         "--insecure", "--send", "hi", "--timeout", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "is a QUIC server (serve --quic) listening there?" in done.stderr
    assert "never retrieved" not in done.stderr, done.stderr


# --- the server's handshake log over QUIC, as over TCP --------------------------------------


def _keys(pem: dict[str, Path]) -> tuple[str, ...]:
    return ("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]))


def test_json_log_over_quic_has_the_tcp_record_for_each_handshake(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    keys = (*_keys(pem), "--json-log")
    with serve(*keys) as tcp:
        status, _, err = connect_json(
            capsys, f"127.0.0.1:{tcp.port}", "--servername", "localhost",
            "--cafile", str(pem["ca_pem"]), "--send", "x",
        )  # fmt: skip
        assert status == 0, err
        over_tcp = tcp.json_record()
    with serve("--quic", *keys) as s:
        status, _, err = _connect(capsys, s.port, pem["ca_pem"], "--send", "x")
        assert status == 0, err
        first = s.json_record()
        status, _, err = _connect(
            capsys, s.port, pem["ca_pem"], "--groups", "x25519", "--send", "y"
        )
        assert status == 0, err
        second = s.json_record()
    # The TCP record's fields, with values of the same types (ALPN: none over TCP here),
    # and which transport it was.
    assert set(first) == set(over_tcp) | {"transport"}
    for key, value in over_tcp.items():
        assert value is None or type(first[key]) is type(value), (key, first[key], value)
    assert first["transport"] == "quic"
    assert first["group"] == "X25519MLKEM768" and second["group"] == "x25519"
    assert first["alpn"] == "nautilus-echo" and first["signature_scheme"] == "mldsa65"
    assert str(first["peer"]).startswith("127.0.0.1:")


def test_text_log_over_quic_has_a_line_per_handshake(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    keys = _keys(pem)
    with serve("--quic", "--mode", "http", *keys) as s:
        status, _, err = _connect(capsys, s.port, pem["ca_pem"], "--get", "/")
        assert status == 0, err
        line = s.next_line()
    assert line.startswith("QUIC handshake from 127.0.0.1:"), line
    assert "TLSv1.3 X25519MLKEM768 " in line and "alpn=h3" in line and "resumed=no" in line


# --- connect's text output over QUIC, as over TCP -------------------------------------------


def _text_connect(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["connect", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _labels(text: str) -> list[str]:
    """The labels of the session lines (``  key exchange      X25519MLKEM768``)."""
    return [line[2:20].strip() for line in text.splitlines() if line.startswith("  ")]


def test_text_output_over_quic_reads_as_over_tcp(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    keys = _keys(pem)
    trust = ("--servername", "localhost", "--cafile", str(pem["ca_pem"]))
    with serve(*keys) as tcp:
        status, over_tcp, err = _text_connect(
            capsys, f"127.0.0.1:{tcp.port}", *trust, "--send", r"hi\n"
        )
        assert status == 0, err
    with serve("--quic", *keys) as s:
        status, out, err = _text_connect(
            capsys, f"127.0.0.1:{s.port}", "--quic", *trust, "--send", r"hi\n"
        )
        assert status == 0, err
    assert out.startswith(f"connected to 127.0.0.1:{s.port} (server name localhost)\n"), out
    assert _labels(out) == _labels(over_tcp)
    for line in ("  key exchange      X25519MLKEM768", "  resumed           no",
                 "  hello retry       no", "  verified          yes",
                 "    0 CN=localhost,O=Nautilus TLS (development)"):  # fmt: skip
        assert line in out.splitlines(), (line, out)
    # Python's reprs are not output: no None, True, False, dicts or bytes.
    for raw in ("None", "True", "False", "{'", "b'"):
        assert raw not in out, (raw, out)
    assert out.endswith("\nhi\n")


def test_http3_get_text_output_keeps_the_body_alone_on_stdout(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve("--quic", "--mode", "http", *_keys(pem)) as s:
        status, out, err = _text_connect(
            capsys, f"127.0.0.1:{s.port}", "--quic", "--servername", "localhost",
            "--cafile", str(pem["ca_pem"]), "--get", "/",
        )  # fmt: skip
    assert status == 0, err
    assert out.startswith("<!doctype html>"), out
    assert "  ALPN              h3" in err.splitlines() and "  HTTP status       200" in err
    assert "None" not in err and "True" not in err


def test_serve_with_quic_retry_validates_addresses_and_still_serves_echo_and_http3(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    keys = ["--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])]
    with serve("--quic", "--quic-retry", *keys) as s:
        assert any("address validation by Retry" in line for line in s.preamble)
        status, record, err = _connect(capsys, s.port, pem["ca_pem"], "--send", "after retry")
    assert status == 0, err
    assert record["reply"] == "after retry"
    with serve("--quic", "--quic-retry", "--mode", "http", *keys) as s:
        status, record, err = _connect(capsys, s.port, pem["ca_pem"], "--get", "/")
    assert status == 0, err
    assert record["status"] == 200


def test_refuses_quic_retry_without_quic(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ["--cert", str(tls_pem_dir["server_pem"]), "--key", str(tls_pem_dir["server_key"])]
    assert main(["serve", "--quic-retry", *keys]) == 2
    err = capsys.readouterr().err
    assert "--quic-retry validates QUIC client addresses: it needs --quic" in err
