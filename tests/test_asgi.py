"""``nautilus-tls asgi MODULE:APP``: an ASGI app under uvicorn over our TLS, reached by curl,
by httpx through nautilus_tls.httpx and by headless Chromium over X25519MLKEM768; with
``--workers 2`` both workers answer. The app module is imported from the current directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from certificates import write_pem_files
from interop.peer_chromium import chromium_binary, load_page
from interop.procs import LineProcess
from interop.serve import command

from nautilus_tls.config import CertifiedKey, ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.httpx import HTTPTransport, session_info

START_S = 60.0
TIMEOUT = 30.0

APP = """
import os


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    tls = scope.get("extensions", {}).get("tls") or {}
    who = tls.get("client_cert_name")
    body = f"<html><body><p id=a>scheme={scope['scheme']} path={scope['path']} pid={os.getpid()} client={who}</p></body></html>"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body.encode()})
"""


class Running:
    def __init__(self, process: LineProcess, port: int) -> None:
        self.process = process
        self.port = port

    def next_handshake(self) -> dict[str, object]:
        record: dict[str, object] = json.loads(
            self.process.wait_for(r"^\{.*\}$", TIMEOUT, stream="stdout").group(0)
        )
        return record


@contextmanager
def asgi_server(app_dir: Path, pem: dict[str, Path], *extra: str) -> Iterator[Running]:
    """``nautilus-tls asgi myapp:app`` run from ``app_dir`` (so MODULE comes from the current
    directory), ended by its PID."""
    (app_dir / "myapp.py").write_text(APP)
    argv = [*command(), "asgi", "myapp:app", "--port", "0", "--json-log", "--log-level", "warning",
            "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), *extra]  # fmt: skip
    # The test run's PYTHONPATH (our sources) is inherited; the app's directory is not on it.
    with LineProcess(argv, cwd=app_dir) as process:
        port = int(process.wait_for(r"^listening on 127\.0\.0\.1:(\d+)$", START_S).group(1))
        yield Running(process, port)
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(30) == 0, process.tail()


def test_httpx_through_our_transport_gets_https_and_resumes(
    tmp_path: Path, tls_pem_dir: dict[str, Path]
) -> None:
    config = ClientConfig(trust_store=TrustStore.from_file(tls_pem_dir["ca_pem"]))
    fresh = httpx.Limits(max_connections=1, max_keepalive_connections=0)
    with (
        asgi_server(tmp_path, tls_pem_dir) as server,
        httpx.Client(
            transport=HTTPTransport(config=config, limits=fresh), timeout=TIMEOUT
        ) as client,
    ):
        first = client.get(f"https://localhost:{server.port}/one")
        second = client.get(f"https://localhost:{server.port}/two")
        record = server.next_handshake()
    assert "scheme=https path=/one" in first.text
    assert "scheme=https path=/two" in second.text
    info, again = session_info(first), session_info(second)
    assert info is not None and again is not None
    assert (info.resumed, again.resumed) == (False, True)
    assert info.group == record["group"] == "X25519MLKEM768"
    assert info.signature_scheme == "mldsa65"
    assert record["alpn"] == info.alpn == "http/1.1"


def test_curl_gets_https(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    # curl's OpenSSL verifies ECDSA but not ML-DSA certificates; x25519 is common to both.
    pem = write_pem_files(tmp_path / "pem", "ecdsa-p256")
    with asgi_server(tmp_path, pem) as server:
        done = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", str(int(TIMEOUT)),
             "--cacert", str(pem["ca_pem"]), f"https://localhost:{server.port}/curl"],
            capture_output=True, text=True, timeout=TIMEOUT + 10, check=False,
        )  # fmt: skip
        record = server.next_handshake()
    assert done.returncode == 0, done.stderr
    assert "scheme=https path=/curl" in done.stdout
    assert record["signature_scheme"] == "ecdsa_secp256r1_sha256"


def test_chromium_loads_the_page_over_x25519mlkem768(
    tmp_path: Path, tls_pem_dir: dict[str, Path]
) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does this)")
    profile = tmp_path / "profile"
    profile.mkdir()
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    with asgi_server(app_dir, tls_pem_dir) as server:
        done = load_page(
            binary, f"https://localhost:{server.port}/browser", tls_pem_dir["server_pem"], profile
        )
        record = server.next_handshake()
    assert "scheme=https path=/browser" in done.stdout, done.stderr[-2000:]
    assert record["group"] == "X25519MLKEM768"
    assert record["signature_scheme"] == "mldsa65"
    assert record["alpn"] == "http/1.1"


def test_two_workers_both_answer(tmp_path: Path, tls_pem_dir: dict[str, Path]) -> None:
    config = ClientConfig(trust_store=TrustStore.from_file(tls_pem_dir["ca_pem"]))
    fresh = httpx.Limits(max_connections=1, max_keepalive_connections=0)
    pids: set[str] = set()
    resumed = 0
    with (
        asgi_server(tmp_path, tls_pem_dir, "--workers", "2") as server,
        httpx.Client(
            transport=HTTPTransport(config=config, limits=fresh), timeout=TIMEOUT
        ) as client,
    ):
        for _ in range(40):  # the kernel picks a worker per connection
            response = client.get(f"https://localhost:{server.port}/")
            match = re.search(r"scheme=https path=/ pid=(\d+)", response.text)
            assert match is not None, response.text
            pids.add(match.group(1))
            info = session_info(response)
            resumed += bool(info and info.resumed)
            if len(pids) == 2 and resumed >= 2:
                break
    assert len(pids) == 2
    assert resumed >= 2


def test_an_app_that_does_not_exist_is_a_one_line_error(tmp_path: Path) -> None:
    pem = write_pem_files(tmp_path, "ecdsa-p256")
    done = subprocess.run(
        [*command(), "asgi", "nosuchmodule:app", "--cert", str(pem["server_pem"]),
         "--key", str(pem["server_key"])],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: cannot load the ASGI app 'nosuchmodule:app': "
        'Could not import module "nosuchmodule".'
    ]


def test_asgi_takes_serve_flags_client_certificates_reach_the_app(
    tmp_path: Path, tls_pem_dir: dict[str, Path]
) -> None:
    # The server flags of `serve` (here --client-ca/--require-client-cert) work for asgi
    # too, and the app sees the client certificate in scope["extensions"]["tls"].
    pem = tls_pem_dir
    with_cert = ClientConfig(
        trust_store=TrustStore.from_file(pem["ca_pem"]),
        client_certificate=CertifiedKey.from_files(pem["client_pem"], pem["client_key"]),
    )
    extra = ("--client-ca", str(pem["ca_pem"]), "--require-client-cert")
    with (
        asgi_server(tmp_path, pem, *extra) as server,
        httpx.Client(transport=HTTPTransport(config=with_cert), timeout=TIMEOUT) as client,
    ):
        page = client.get(f"https://localhost:{server.port}/mtls").text
        without = ClientConfig(trust_store=TrustStore.from_file(pem["ca_pem"]))
        with (
            httpx.Client(transport=HTTPTransport(config=without), timeout=TIMEOUT) as anon,
            pytest.raises(httpx.HTTPError),
        ):
            anon.get(f"https://localhost:{server.port}/anon")
    assert "scheme=https path=/mtls" in page and "client=CN=" in page, page


def test_asgi_refuses_a_threat_level_file(tmp_path: Path) -> None:
    # uvicorn does not handle SIGHUP: the file could never be re-read, and a SIGHUP would
    # end the server.
    pem = write_pem_files(tmp_path, "ecdsa-p256")
    done = subprocess.run(
        [*command(), "asgi", "myapp:app", "--cert", str(pem["server_pem"]),
         "--key", str(pem["server_key"]), "--risk-adaptive",
         "--threat-level-file", str(tmp_path / "threat")],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--threat-level-file needs serve" in done.stderr
