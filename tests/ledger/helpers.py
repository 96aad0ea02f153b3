"""Entries to log in the ledger tests: certificates and keys made on the spot."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from nautilus_tls.ledger.entries import Entry


def self_signed_der(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


def raw_key_spki() -> bytes:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def numbered_did(n: int) -> Entry:
    return Entry.did(f"did:example:entry-{n}")


class ServedApp:
    """An ASGI app under a real uvicorn server on 127.0.0.1 (ephemeral port) in a thread."""

    START_TIMEOUT = 10.0

    def __init__(self, app: object) -> None:
        import socket
        import threading

        import uvicorn

        self._sock = socket.create_server(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False)  # type: ignore[arg-type]
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.START_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(self.START_TIMEOUT)
        self._sock.close()


class SwitchableLog:
    """Stands in for a TransparencyLog and forwards to whichever log ``current`` is: lets a
    test make one URL show a different history (a split view)."""

    def __init__(self, current: object) -> None:
        self.current = current

    def __getattr__(self, name: str) -> object:
        return getattr(self.current, name)


START_TIMEOUT = 30.0
SRC = str(Path(__file__).resolve().parents[2] / "src")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


class LedgerServer:
    """``nautilus-tls ledger serve`` as a separate process on 127.0.0.1, ephemeral port."""

    def __init__(self, db: str, key: Path) -> None:
        cmd = [sys.executable, "-m", "nautilus_tls", "ledger", "serve", "--db", db,
               "--port", "0", "--key", str(key)]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env()
        )
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT)
        found = re.match(r"listening on (http://\S+) ", first[0] if first else "")
        if not found:
            self.stop()
            raise AssertionError(f"ledger serve did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.url = found.group(1)

    def stop(self) -> None:
        self.proc.terminate()  # this PID only
        try:
            self.proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(START_TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
