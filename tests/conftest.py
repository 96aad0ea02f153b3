"""Shared fixtures: the ML-DSA-65 test PKI (certificates.py; in memory and as PEM files) for
adapter and CLI tests, and a private PKI made with OpenSSL's default commands (item 17 of
issue 11)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from certificates import Pki, pki, unrelated_pki, write_pem_files


@pytest.fixture(scope="session")
def tls_pki() -> Pki:
    """The ML-DSA-65 test PKI (certificates.py): CA, server and client certificate."""
    return pki("mldsa65")


@pytest.fixture(scope="session")
def other_pki() -> Pki:
    """A second, unrelated PKI with a differently named CA (for "unknown CA" tests)."""
    return unrelated_pki("mldsa65")


@pytest.fixture(scope="session")
def tls_pem_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files (ca, server, client; ML-DSA-65) as written by ``nautilus-tls cert``."""
    return write_pem_files(tmp_path_factory.mktemp("pem"), "mldsa65")


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _openssl_leaf(cwd: Path, name: str, cn: str, *, ca: str, extfile: str | None) -> None:
    """``openssl req -new`` then ``openssl x509 -req`` (v1 without ``-extfile``)."""
    _openssl(cwd, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
    ext = ["-extfile", extfile] if extfile else []
    _openssl(cwd, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
             f"{ca}.key", "-CAcreateserial", "-days", "30", "-out", f"{name}.pem", *ext)  # fmt: skip


@pytest.fixture(scope="session")
def openssl_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PEM files made by the openssl CLI the way private PKIs make them (RSA-2048):

    * ``ca``: ``openssl req -x509 -newkey rsa:2048 -subj /CN=ca -nodes`` (no keyUsage);
    * ``ku_ca``: the same with keyUsage keyCertSign (passes the WebPKI CA rules);
    * ``server`` (SAN localhost, 127.0.0.1; no EKU) and ``client_nosan`` (no SAN, no EKU)
      under ``ca``; ``ku_client_nosan`` (no SAN) under ``ku_ca``;
    * ``client_v1``: ``openssl x509 -req`` without ``-extfile`` (an X.509 v1 certificate).
    """
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("openssl-pki")
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (d / "leaf.ext").write_text("basicConstraints=CA:FALSE\n")
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-subj", "/CN=ca", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-subj", "/CN=ku-ca", "-nodes",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", "ku_ca.key", "-out", "ku_ca.pem")  # fmt: skip
    _openssl_leaf(d, "server", "localhost", ca="ca", extfile="server.ext")
    _openssl_leaf(d, "client_nosan", "client", ca="ca", extfile="leaf.ext")
    _openssl_leaf(d, "ku_client_nosan", "client", ca="ku_ca", extfile="leaf.ext")
    _openssl_leaf(d, "client_v1", "client", ca="ca", extfile=None)
    return d


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A loopback TCP port that accepts connections and never answers (a black-holed Redis or
    did:web host).
    Yields the port; the accepted sockets are closed at the end, which frees any reader."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, name="black-hole", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
