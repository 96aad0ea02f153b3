"""``nautilus-tls`` commands: cert, serve (echo, http, JSON log, client auth) and connect."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from loopback import python_ssl_server

import nautilus_tls
from nautilus_tls.cli import main

TIMEOUT = 20.0


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    port: int
    stdout: queue.Queue[str]
    preamble: list[str]

    def next_line(self, timeout: float = TIMEOUT) -> str:
        return self.stdout.get(timeout=timeout)

    def json_record(self) -> dict[str, object]:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            line = self.next_line(max(0.1, deadline - time.monotonic()))
            if line.startswith("{"):
                record: dict[str, object] = json.loads(line)
                return record
        raise AssertionError("no JSON log line")


@contextmanager
def serve(*args: str) -> Iterator[ServerProcess]:
    """``nautilus-tls serve --port 0 ARGS`` in a subprocess, ended by its PID afterwards."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nautilus_tls",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    try:
        preamble: list[str] = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or proc.poll() is not None:
                raise AssertionError(f"server did not start: {preamble} {proc.poll()}")
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            preamble.append(line)
            if line.startswith("listening on "):
                port = int(line.rsplit(":", 1)[1])
                break
        yield ServerProcess(proc=proc, port=port, stdout=lines, preamble=preamble)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, 15)
            try:
                proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, 9)
                proc.wait(TIMEOUT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def connect_json(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, object], str]:
    capsys.readouterr()
    status = main(["connect", *args, "--json", "--timeout", str(TIMEOUT)])
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("{")]
    record: dict[str, object] = json.loads(lines[-1]) if lines else {}
    return status, record, captured.err


def test_cert_writes_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "certs"
    assert main(["cert", "--out", str(out), "--name", "example.test", "--name", "10.0.0.1"]) == 0
    for name in ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key"):
        assert (out / name).is_file()
    assert (out / "server.key").stat().st_mode & 0o077 == 0
    assert "mldsa65" in capsys.readouterr().out


def test_cert_rejects_unknown_algorithm(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["cert", "--alg", "dsa"])
    assert info.value.code == 2


def test_echo_server_and_json_client(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--json-log"
    ) as server:
        status, record, _ = connect_json(
            capsys,
            f"127.0.0.1:{server.port}",
            "--servername",
            "localhost",
            "--cafile",
            str(pem["ca_pem"]),
            "--send",
            "hello over ML-KEM",
        )
        assert status == 0
        assert record["reply"] == "hello over ML-KEM"
        assert record["group"] == "X25519MLKEM768"
        assert record["signature_scheme"] == "mldsa65"
        assert record["verified"] is True
        assert record["peer"] == f"127.0.0.1:{server.port}"
        logged = server.json_record()
    assert logged["version"] == "TLSv1.3"
    assert logged["group"] == "X25519MLKEM768"
    assert logged["cipher_suite"] == "TLS_AES_256_GCM_SHA384"
    assert logged["client_certificate"] is None
    assert str(logged["peer"]).startswith("127.0.0.1:")
    assert set(logged) >= {
        "version",
        "cipher_suite",
        "group",
        "signature_scheme",
        "alpn",
        "client_certificate",
        "peer",
    }


def test_http_mode_shows_negotiated_parameters(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--mode", "http"
    ) as server:
        status, record, _ = connect_json(
            capsys,
            f"localhost:{server.port}",
            "--cafile",
            str(pem["ca_pem"]),
            "--send",
            r"GET /info HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
    assert status == 0
    reply = str(record["reply"])
    assert reply.startswith("HTTP/1.1 200 OK\r\n")
    assert "Connection: close\r\n" in reply
    assert "X25519MLKEM768" in reply and "mldsa65" in reply and "/info" in reply


def test_serve_without_cert_makes_a_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert_dir = tmp_path / "generated"
    with serve("--cert-dir", str(cert_dir)) as server:
        assert any(str(cert_dir) in line for line in server.preamble)
        status, record, _ = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", str(cert_dir / "ca.pem"), "--send", "x"
        )
    assert status == 0 and record["reply"] == "x"


def test_groups_and_suites_by_iana_name(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--alpn", "h2,http/1.1"
    ) as server:
        status, record, _ = connect_json(
            capsys,
            f"localhost:{server.port}",
            "--cafile",
            str(pem["ca_pem"]),
            "--groups",
            "x25519",
            "--suites",
            "TLS_CHACHA20_POLY1305_SHA256",
            "--alpn",
            "http/1.1",
            "--send",
            "x",
        )
    assert status == 0
    assert record["group"] == "x25519"
    assert record["cipher_suite"] == "TLS_CHACHA20_POLY1305_SHA256"
    assert record["alpn"] == "http/1.1"


def test_client_certificate_is_required_and_logged(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    args = ["--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])]
    with serve(
        *args, "--client-ca", str(pem["ca_pem"]), "--require-client-cert", "--json-log"
    ) as server:
        common = [f"localhost:{server.port}", "--cafile", str(pem["ca_pem"]), "--send", "hi"]
        status, record, _ = connect_json(
            capsys, *common, "--cert", str(pem["client_pem"]), "--key", str(pem["client_key"])
        )
        assert status == 0 and record["reply"] == "hi"
        assert "client.nautilus.test" in str(record["client_certificate"])
        logged = server.json_record()
        assert "client.nautilus.test" in str(logged["client_certificate"])

        status, _, err = connect_json(capsys, *common)
        assert status == 1
        assert "certificate_required" in err


def test_x509_profile_private_accepts_openssl_made_pki(
    openssl_pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = openssl_pki
    with serve(
        *("--cert", str(d / "server.pem"), "--key", str(d / "server.key")),
        *("--client-ca", str(d / "ca.pem"), "--require-client-cert", "--json-log"),
        *("--x509-profile", "private"),
    ) as server:
        common = [f"localhost:{server.port}", "--cafile", str(d / "ca.pem"), "--send", "hi"]
        client_cert = ["--cert", str(d / "client_nosan.pem"), "--key", str(d / "client_nosan.key")]
        status, record, err = connect_json(capsys, *common, *client_cert)
        # Without the option, the CA without keyUsage is refused, by name, with the way out.
        assert status == 1 and "'CN=ca'" in err and "--x509-profile private" in err

        status, record, err = connect_json(
            capsys, *common, *client_cert, "--x509-profile", "private"
        )
        assert status == 0, err
        assert record["reply"] == "hi"
        assert record["server_certificate"] == "CN=localhost"
        assert record["server_certificate_names"] == ["localhost", "127.0.0.1"]
        logged = server.json_record()
        assert logged["client_certificate"] == "CN=client"
        assert logged["client_certificate_names"] == []


RUNS = 6


def test_send_always_gets_the_reply_of_a_server_that_closes_without_close_notify(
    openssl_pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The server does recv(100), sendall, close(): a close_notify sent right after the
    # request was unread input there, and its reset destroyed the reply (5 runs in 8).
    common = ["--cafile", str(openssl_pki / "ca.pem"), "--x509-profile", "private"]
    with python_ssl_server(openssl_pki, then="close", connections=RUNS) as port:
        for _ in range(RUNS - 1):
            status, record, err = connect_json(
                capsys, f"localhost:{port}", *common, "--send", "ping"
            )
            assert record["reply"] == "ping", err
            assert status == 1 and "without close_notify (possible truncation)" in err
            assert "close_notify:" not in err and "(alert:" not in err  # no alert was involved
        status, record, err = connect_json(
            capsys, f"localhost:{port}", *common, "--send", "ping", "--ragged-eof", "allow"
        )
        assert status == 0 and record["reply"] == "ping", err


def test_connect_fails_with_the_alert_name(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    # A CA whose name differs from the server's issuer: no candidate issuer at all.
    assert main(["cert", "--alg", "ecdsa-p256", "--out", str(tmp_path / "other")]) == 0
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as server:
        status, _, err = connect_json(
            capsys,
            f"localhost:{server.port}",
            "--cafile",
            str(tmp_path / "other" / "ca.pem"),
            "--send",
            "x",
        )
    assert status == 1
    assert "handshake" in err and "unknown_ca" in err


def test_insecure_warns_loudly(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as server:
        status, record, err = connect_json(
            capsys, f"127.0.0.1:{server.port}", "--insecure", "--send", "x"
        )
    assert status == 0 and record["verified"] is False
    assert "WARNING" in err and "NOT verified" in err


def test_keylog_file_is_written(
    tls_pem_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    keylog = tmp_path / "keys.log"
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as server:
        status, _, _ = connect_json(
            capsys,
            f"localhost:{server.port}",
            "--cafile",
            str(pem["ca_pem"]),
            "--keylog",
            str(keylog),
            "--send",
            "x",
        )
    assert status == 0
    assert "CLIENT_TRAFFIC_SECRET_0" in keylog.read_text()


def test_connect_relays_stdin_to_stdout(tls_pem_dir: dict[str, Path]) -> None:
    pem = tls_pem_dir
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "nautilus_tls",
                "connect",
                f"localhost:{server.port}",
                "--cafile",
                str(pem["ca_pem"]),
            ],
            input=b"line one\nline two\n",
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"line one\nline two\n"
    assert b"X25519MLKEM768" in result.stderr  # the session summary goes to stderr


def test_unknown_group_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["connect", "localhost:1", "--groups", "X25519Kyber768Draft00"])
    assert info.value.code == 2
    assert "unknown group" in capsys.readouterr().err


def test_connection_refused_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["connect", f"127.0.0.1:{port}", "--insecure", "--send", "x"]) == 1
    assert "cannot connect" in capsys.readouterr().err


def test_version_flag_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"nautilus-tls {nautilus_tls.__version__}"


def test_serve_options_that_add_extension_plug_ins_add_up(tls_pem_dir: dict[str, Path]) -> None:
    # --did (its DID extension) and --transparency-log (the proof stapler) each bring an
    # extension plug-in; neither may replace the other's.
    from nautilus_tls.cli import _server_config, build_parser
    from nautilus_tls.config import CertifiedKey
    from nautilus_tls.did.extension import DidExtension
    from nautilus_tls.did.key import did_key_from_spki
    from nautilus_tls.ledger.stapler import TransparencyStapler

    pem = tls_pem_dir
    spki = CertifiedKey.from_files(pem["server_pem"], pem["server_key"]).chain[0]
    did = did_key_from_spki(_spki_of(spki))
    args = build_parser().parse_args(
        ["serve", "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
         "--did", did, "--transparency-log", "http://127.0.0.1:9"]
    )  # fmt: skip
    config = _server_config(args)
    kinds = {type(h) for h in config.extension_hooks}
    assert kinds == {DidExtension, TransparencyStapler}
    for hook in config.extension_hooks:
        if isinstance(hook, TransparencyStapler):
            hook.close()


def _spki_of(cert_der: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return (
        x509.load_der_x509_certificate(cert_der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
