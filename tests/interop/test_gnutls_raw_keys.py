"""RFC 7250 raw public keys against GnuTLS (``gnutls-cli`` / ``gnutls-serv`` from Debian's
gnutls-bin), in both roles, with Ed25519 and ECDSA P-256 raw keys, server-only and mutual.

GnuTLS is told to use raw keys only (priority ``-CTYPE-ALL:+CTYPE-SRV-RAWPK:+CTYPE-CLI-RAWPK``)
and verifies nothing (``--insecure``; raw keys have no PKI): what it proves is that it reads
our certificate type extensions, our SubjectPublicKeyInfo Certificate and our CertificateVerify
(a bad signature ends its handshake), and that we read its. Our side pins GnuTLS's key by SPKI
SHA-256. gnutls-serv cannot bind to loopback only nor report an ephemeral port: it gets a
port just found free on 127.0.0.1, and is ended by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from interop.matrix import required_peers
from interop.procs import LineProcess

from nautilus_tls.auth.raw_key import RawPublicKey, SpkiPinVerifier, spki_pin
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import AlertDescription, BadCertificate
from nautilus_tls.sync.socket import TLSListener, TLSSocket

pytestmark = pytest.mark.interop

PRIORITY = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CTYPE-ALL:+CTYPE-SRV-RAWPK:+CTYPE-CLI-RAWPK"
TIMEOUT = 30.0
KEYS: dict[str, Callable[[], ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey]] = {
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
}


@pytest.fixture(scope="module", autouse=True)
def gnutls() -> None:
    missing = [tool for tool in ("gnutls-cli", "gnutls-serv") if shutil.which(tool) is None]
    if missing:
        message = (
            f"PEER GNUTLS NOT AVAILABLE: {', '.join(missing)} missing (apt-get install gnutls-bin)"
        )
        if "gnutls" in required_peers():
            pytest.fail(message + " (required here: NAUTILUS_REQUIRE_PEERS)", pytrace=False)
        pytest.skip(message)


def _write_key(directory: Path, name: str, key: object) -> tuple[Path, Path, RawPublicKey]:
    credential = RawPublicKey(key)  # type: ignore[arg-type]
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        serialization.load_der_public_key(credential.spki).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public, credential


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gnutls_serv(private: Path, public: Path, *extra: str) -> Iterator[tuple[LineProcess, int]]:
    port = _free_port()
    argv = ["gnutls-serv", "--port", str(port), "--echo", "--priority", PRIORITY,
            "--rawpkkeyfile", str(private), "--rawpkfile", str(public), *extra]  # fmt: skip
    with LineProcess(argv) as proc:
        proc.wait_for(r"listening on IPv4", TIMEOUT)
        yield proc, port


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_our_client_pins_gnutls_serv_raw_key(alg: str, tmp_path: Path) -> None:
    private, public, theirs = _write_key(tmp_path, "server", KEYS[alg]())
    config = ClientConfig(
        verifier=SpkiPinVerifier((spki_pin(theirs.spki),)), server_certificate_types=(2,)
    )
    with (
        gnutls_serv(private, public) as (_proc, port),
        TLSSocket.connect(("127.0.0.1", port), config=config, timeout=TIMEOUT) as tls,
    ):
        tls.sendall(b"hello gnutls\n")
        assert tls.recv(100) == b"hello gnutls\n"
        info = tls.info
    assert info.certificate_type == "raw_public_key" and info.peer_certificates == (theirs.spki,)


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_gnutls_serv_requires_and_reads_our_raw_client_key(alg: str, tmp_path: Path) -> None:
    private, public, theirs = _write_key(tmp_path, "server", ed25519.Ed25519PrivateKey.generate())
    ours = RawPublicKey(KEYS[alg]())
    config = ClientConfig(
        verifier=SpkiPinVerifier((spki_pin(theirs.spki),)),
        server_certificate_types=(2,),
        client_certificate=ours,
    )
    with gnutls_serv(private, public, "--require-client-cert") as (proc, port):
        with TLSSocket.connect(("127.0.0.1", port), config=config, timeout=TIMEOUT) as tls:
            tls.sendall(b"mutual\n")
            assert tls.recv(100) == b"mutual\n"
            assert tls.info.client_certificate_scheme is not None
        proc.wait_for(r"Certificate type: Raw Public Key", TIMEOUT)


@contextmanager
def our_server(config: ServerConfig) -> Iterator[tuple[int, list[object]]]:
    """Our TLSListener on 127.0.0.1 echoing one line per connection, in a thread."""
    listener = TLSListener("127.0.0.1", 0, config)
    infos: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                tls = listener.accept(timeout=0.2)
            except (TimeoutError, OSError):
                continue
            except Exception as exc:  # a refused handshake: recorded for the test
                infos.append(exc)
                continue
            with tls:
                infos.append(tls.info)
                tls.settimeout(TIMEOUT)
                try:
                    tls.sendall(tls.recv(100))
                except Exception as exc:
                    infos.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.address[1], infos
    finally:
        stop.set()
        thread.join(TIMEOUT)
        listener.close()


def _gnutls_cli(port: int, *extra: str, text: str = "hello") -> str:
    """Run gnutls-cli against our server, send one line, and return all it printed (stdout
    and stderr), once it has the reply and the end of its input. Ended by its PID if it
    does not finish in time."""
    argv = ["gnutls-cli", "--port", str(port), "127.0.0.1", "--insecure",
            "--priority", PRIORITY, *extra]  # fmt: skip
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        out, _ = proc.communicate((text + "\n").encode(), timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"gnutls-cli did not finish in {TIMEOUT:g}s: {out.decode(errors='replace')}")
    return out.decode(errors="replace")


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_gnutls_cli_reads_our_raw_server_key(alg: str) -> None:
    ours = RawPublicKey(KEYS[alg]())
    with our_server(ServerConfig(raw_public_key=ours)) as (port, infos):
        output = _gnutls_cli(port)
    assert "Certificate type: Raw Public Key" in output and "\nhello\n" in output, output
    assert infos and getattr(infos[0], "certificate_type", "?") is None  # no client key


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_our_server_pins_gnutls_cli_raw_client_key(alg: str, tmp_path: Path) -> None:
    private, public, theirs = _write_key(tmp_path, "client", KEYS[alg]())
    config = ServerConfig(
        raw_public_key=RawPublicKey(ed25519.Ed25519PrivateKey.generate()),
        client_auth="require",
        client_certificate_types=(2,),
        client_verifier=SpkiPinVerifier((spki_pin(theirs.spki),)),
    )
    key_args = ("--rawpkkeyfile", str(private), "--rawpkfile", str(public))
    with our_server(config) as (port, infos):
        output = _gnutls_cli(port, *key_args)
    assert "\nhello\n" in output, output
    info = infos[0]
    assert getattr(info, "certificate_type", None) == "raw_public_key"
    assert getattr(info, "peer_certificates", None) == (theirs.spki,)


def test_our_server_refuses_an_unpinned_gnutls_cli_key(tmp_path: Path) -> None:
    private, public, _ = _write_key(tmp_path, "client", ed25519.Ed25519PrivateKey.generate())
    config = ServerConfig(
        raw_public_key=RawPublicKey(ed25519.Ed25519PrivateKey.generate()),
        client_auth="require",
        client_certificate_types=(2,),
        client_verifier=SpkiPinVerifier(("00" * 32,)),
    )
    key_args = ("--rawpkkeyfile", str(private), "--rawpkfile", str(public))
    with our_server(config) as (port, infos):
        output = _gnutls_cli(port, *key_args)
    assert "alert" in output.lower() and "\nhello\n" not in output, output
    assert infos and isinstance(infos[0], BadCertificate)
    assert infos[0].alert == AlertDescription.bad_certificate
