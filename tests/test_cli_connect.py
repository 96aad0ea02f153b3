"""``connect`` on par with s_client/curl: --trace (HRR and key shares visible), --showcerts,
--resolve, --connect-timeout, --handshake-timeout; text never says None, JSON has
hello_retry."""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from test_cli import TIMEOUT, connect_json, serve

from nautilus_tls.cli import main
from nautilus_tls.tools import certgen

GROUPS = "X25519MLKEM768,x25519"


def test_trace_shows_every_message_with_the_hello_retry_and_key_shares(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # The client sends only an x25519 share; the server takes X25519MLKEM768 only: HRR.
    with serve("--cert", str(tls_pem_dir["server_pem"]), "--key", str(tls_pem_dir["server_key"]),
               "--groups", "X25519MLKEM768") as server:  # fmt: skip
        capsys.readouterr()
        status = main(["connect", f"localhost:{server.port}", "--cafile", str(tls_pem_dir["ca_pem"]),
                       "--groups", GROUPS, "--key-shares", "x25519", "--trace", "--send", "hi",
                       "--timeout", str(TIMEOUT)])  # fmt: skip
        out, err = capsys.readouterr()
    assert status == 0, err
    trace = [line for line in err.splitlines() if " ms " in line]
    names = [re.search(r"(>>>|<<<) (\w+)", line).groups() for line in trace]  # type: ignore[union-attr]
    assert names[:9] == [
        (">>>", "ClientHello"), ("<<<", "HelloRetryRequest"), (">>>", "ClientHello"),
        ("<<<", "ServerHello"), ("<<<", "EncryptedExtensions"), ("<<<", "Certificate"),
        ("<<<", "CertificateVerify"), ("<<<", "Finished"), (">>>", "Finished"),
    ]  # fmt: skip
    assert "key shares: x25519 (32 bytes)" in trace[0]
    assert "asks for a key share for X25519MLKEM768" in trace[1]
    assert "key shares: X25519MLKEM768 (1216 bytes)" in trace[2]
    assert "key share X25519MLKEM768 (1120 bytes)" in trace[3]
    times = [float(line.split()[0]) for line in trace]
    assert times == sorted(times)
    assert all(int(m) > 0 for m in re.findall(r"\((\d+) bytes\)$", "\n".join(trace), re.M))
    assert "hello retry       yes" in out
    assert "None" not in out + err


def test_json_has_hello_retry_and_the_trace(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with serve("--cert", str(tls_pem_dir["server_pem"]), "--key", str(tls_pem_dir["server_key"]),
               "--groups", "X25519MLKEM768") as server:  # fmt: skip
        status, record, _ = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", str(tls_pem_dir["ca_pem"]),
            "--groups", GROUPS, "--key-shares", "x25519", "--trace", "--send", "x",
        )  # fmt: skip
        _, plain, _ = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", str(tls_pem_dir["ca_pem"]),
            "--send", "x",
        )  # fmt: skip
    assert status == 0
    assert record["hello_retry"] is True and plain["hello_retry"] is False
    trace = record["trace"]
    assert isinstance(trace, list)
    assert [m["message"] for m in trace][:2] == ["ClientHello", "HelloRetryRequest"]
    assert {m["direction"] for m in trace} == {"sent", "received"}


def test_showcerts_prints_the_chain_the_server_sent(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with serve("--cert", str(tls_pem_dir["server_pem"]), "--key", str(tls_pem_dir["server_key"])) as server:  # fmt: skip
        capsys.readouterr()
        status = main(["connect", f"localhost:{server.port}", "--cafile", str(tls_pem_dir["ca_pem"]),
                       "--showcerts", "--send", "x", "--timeout", str(TIMEOUT)])  # fmt: skip
        out, _ = capsys.readouterr()
    assert status == 0
    printed = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    served = re.findall(
        r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
        tls_pem_dir["server_pem"].read_text(),
        re.S,
    )
    assert [ssl.PEM_cert_to_DER_cert(p) for p in printed] == [
        ssl.PEM_cert_to_DER_cert(p) for p in served
    ]
    assert re.search(r"^ 0 s:.+", out, re.M)


def test_resolve_connects_to_the_address_and_verifies_the_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = certgen.write_pem_bundle(tmp_path, "ecdsa-p256", ["service.nautilus.invalid"])
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as server:
        name = f"service.nautilus.invalid:{server.port}"
        status, record, err = connect_json(
            capsys, name, "--cafile", str(pem["ca_pem"]),
            "--resolve", f"{name}:127.0.0.1", "--send", "x",
        )  # fmt: skip
        unresolved, _, unresolved_err = connect_json(
            capsys, name, "--cafile", str(pem["ca_pem"]), "--send", "x"
        )
    assert status == 0, err
    assert record["server_name"] == "service.nautilus.invalid"
    assert record["peer"] == f"127.0.0.1:{server.port}"
    assert unresolved == 1 and "cannot connect" in unresolved_err


@contextmanager
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full, so a new TCP connect hangs (its SYN is dropped)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.2)
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def test_connect_timeout_bounds_the_tcp_connect(capsys: pytest.CaptureFixture[str]) -> None:
    with full_backlog() as port:
        started = time.monotonic()
        status = main(["connect", f"127.0.0.1:{port}", "--connect-timeout", "0.5"])
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 1
    assert elapsed < 10
    assert f"TCP connect to 127.0.0.1:{port} did not finish within 0.5 s" in err


def test_handshake_timeout_bounds_a_silent_server(capsys: pytest.CaptureFixture[str]) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        started = time.monotonic()
        status = main(
            ["connect", f"127.0.0.1:{silent.getsockname()[1]}", "--handshake-timeout", "0.5"]
        )
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    err = capsys.readouterr().err
    assert status == 1
    assert elapsed < 10
    assert "0.5 s" in err and "failed" in err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--resolve", "host:443", "expected HOST:PORT:ADDRESS"),
        ("--connect-timeout", "soon", "expected seconds"),
        ("--handshake-timeout", "-1", "expected seconds in (0, 86400)"),
    ],
)
def test_bad_values_are_usage_errors(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["connect", "localhost:1", flag, value])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_server_requiring_a_client_certificate_says_to_give_one(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = {k: str(v) for k, v in tls_pem_dir.items()}
    with serve("--cert", pem["server_pem"], "--key", pem["server_key"],
               "--client-ca", pem["ca_pem"], "--require-client-cert") as server:  # fmt: skip
        status, _, err = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", pem["ca_pem"], "--send", "hi"
        )
    assert status == 1
    assert "certificate_required" in err and "give --cert F --key F" in err


def test_no_algorithm_in_common_points_at_the_algorithm_flags(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = {k: str(v) for k, v in tls_pem_dir.items()}
    with serve("--cert", pem["server_pem"], "--key", pem["server_key"],
               "--suites", "TLS_AES_256_GCM_SHA384") as server:  # fmt: skip
        status, _, err = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", pem["ca_pem"],
            "--suites", "TLS_CHACHA20_POLY1305_SHA256",
        )  # fmt: skip
    assert status == 1
    assert "handshake_failure" in err and "--suites" in err
