"""Headless Chromium (Debian package ``chromium``) loading a page from
``nautilus-tls serve --mode http``; the server's JSON log says what the browser negotiated.

Chromium trusts our server through an SPKI pin (``--ignore-certificate-errors-spki-list``,
honoured with a fresh ``--user-data-dir``), so no NSS database is needed. It offers
X25519MLKEM768 (plus x25519) as key shares by default and, in version 156, ML-DSA-44/65/87
in signature_algorithms. The browser is kept off the network: loopback only, no proxy, every
other host name unresolvable, no background or component traffic.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from interop import serve
from interop.matrix import (
    NATURAL_SCHEME,
    SUITES,
    Case,
    Env,
    Role,
    Unsupported,
    expect,
    expect_equal,
)
from interop.ours import HTTP_BODY, CoreServer, group_codes, http_handler, server_key, suite_codes

from nautilus_tls.config import ServerConfig

NAME = "chromium"
TIMEOUT_S = 90.0
_INSTALL = "apt-get update && apt-get install -y chromium (.ci/run does this)"
_ONLY_X25519MLKEM768 = "Chromium offers X25519MLKEM768 as its only post-quantum group"


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return None


@functools.cache
def chromium_version() -> str | None:
    binary = chromium_binary()
    if binary is None:
        return None
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    words = done.stdout.split()  # "Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)"
    return " ".join(words[:2]) if done.returncode == 0 and words else None


def spki_pin(cert_pem: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)), as --ignore-certificate-errors-spki-list wants."""
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class ChromiumPeer:
    name = NAME
    roles: tuple[Role, ...] = ("server",)

    def availability(self) -> str | None:
        if chromium_binary() is None:
            return f"Chromium is not installed; {_INSTALL}"
        if chromium_version() is None:
            return f"`chromium --version` does not run; {_INSTALL}"
        return None

    def version(self) -> str:
        return chromium_version() or "missing"

    def cases(self) -> list[Case]:
        c = functools.partial(Case, NAME, "server")
        default = "browser defaults; serve without --groups (X25519MLKEM768 first)"
        return [
            c("X25519MLKEM768", SUITES[0], "mldsa65", "mldsa65", "http", note=default),
            c("X25519MLKEM768", SUITES[1], "mldsa44", "mldsa44", "http", note=default),
            c("X25519MLKEM768", SUITES[2], "mldsa87", "mldsa87", "http", note=default),
            c("x25519", SUITES[2], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "http", note="serve --groups x25519"),
            c("secp256r1", SUITES[0], "rsa2048", "rsa_pss_rsae_sha256", "http",
              note="serve --groups secp256r1 (Chromium shares none: HelloRetryRequest)"),
            c("X25519MLKEM768", SUITES[1], "rsa2048", "rsa_pss_rsae_sha384", "http",
              note="serve --schemes rsa_pss_rsae_sha384"),
            c("X25519MLKEM768", SUITES[1], "rsa2048", "rsa_pss_rsae_sha512", "http",
              note="serve --schemes rsa_pss_rsae_sha512"),
            c("X25519MLKEM768", SUITES[1], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "alpn",
              note="serve --alpn http/1.1; Chromium offers h2,http/1.1"),
            c("secp384r1", SUITES[1], "ecdsa-p384", NATURAL_SCHEME["ecdsa-p384"], "hrr",
              note="the sans-I/O core serving the page; only secp384r1 accepted"),
            c("X25519MLKEM768", SUITES[1], "ed25519", "ed25519", "http",
              unsupported="Chromium does not offer ed25519 in signature_algorithms"),
            c("X25519MLKEM768", SUITES[1], "rsa-pss", "rsa_pss_pss_sha256", "http",
              unsupported="Chromium does not offer rsa_pss_pss_* in signature_algorithms"),
            *(
                c(group, SUITES[1], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "http", unsupported=_ONLY_X25519MLKEM768)
                for group in ("SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768", "MLKEM1024")
            ),
        ]  # fmt: skip

    def run(self, case: Case, env: Env) -> str:
        binary = chromium_binary()
        if binary is None:
            raise Unsupported("Chromium disappeared")
        bundle = env.bundle(case.cert)
        profile = env.scratch("chromium-profile")
        if case.feature == "hrr":
            return _against_core(binary, case, env, profile)
        missing = serve.availability()
        if missing:
            raise AssertionError(f"nautilus-tls serve is not usable: {missing}")
        args: list[Any] = [
            "--mode", "http", "--cert", bundle.server_pem, "--key", bundle.server_key,
            "--suites", case.suite,
        ]  # fmt: skip
        if not case.note.startswith("browser defaults"):
            args += ["--groups", case.group]
        if case.scheme != NATURAL_SCHEME[case.cert]:
            args += ["--schemes", case.scheme]
        if case.feature == "alpn":
            args += ["--alpn", "http/1.1"]
        with serve.NautilusServe(*args) as server:
            done = load_page(
                binary, f"https://localhost:{server.port}/browser", bundle.server_pem, profile
            )
            record = server.next_handshake()
        _check_page(done, "Nautilus TLS")
        expect_equal(
            record.get("group"), case.group, "group Chromium negotiated (serve --json-log)"
        )
        expect_equal(record.get("cipher_suite"), case.suite, "cipher suite (serve --json-log)")
        expect_equal(
            record.get("signature_scheme"), case.scheme, "signature scheme (serve --json-log)"
        )
        if case.feature == "alpn":
            expect_equal(record.get("alpn"), "http/1.1", "ALPN (serve --json-log)")
        return (
            f"{chromium_version()} loaded the page; serve logged {record.get('group')}, "
            f"{record.get('cipher_suite')}, {record.get('signature_scheme')}, alpn {record.get('alpn')}"
        )


def load_page(
    binary: str, url: str, cert_pem: Path, profile: Path
) -> subprocess.CompletedProcess[str]:
    """Chromium, headless and kept off the network, printing the DOM of ``url``."""
    argv = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-proxy-server",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
        f"--user-data-dir={profile}",
        f"--ignore-certificate-errors-spki-list={spki_pin(cert_pem)}",
        "--dump-dom",
        url,
    ]
    # `timeout` makes Chromium's whole process group end with it; subprocess's timeout is a
    # second bound in case `timeout` itself hangs.
    return subprocess.run(
        ["timeout", "--kill-after=10", str(int(TIMEOUT_S)), *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 30,
        check=False,
        cwd=profile,
    )


def _check_page(done: subprocess.CompletedProcess[str], marker: str) -> None:
    if marker not in done.stdout:
        errors = [
            line for line in done.stderr.splitlines() if "dbus" not in line and "ERROR" in line
        ]
        raise AssertionError(
            f"Chromium did not show the page (exit {done.returncode}): {' | '.join(errors[-5:])}"
        )


def _against_core(binary: str, case: Case, env: Env, profile: Path) -> str:
    bundle = env.bundle(case.cert)
    config = ServerConfig(
        certificates=(server_key(bundle),),
        groups=group_codes(case.group),
        cipher_suites=suite_codes(case.suite),
        keylog_file=None,
    )
    with CoreServer(config, http_handler(), max_connections=4, deadline_s=TIMEOUT_S) as server:
        done = load_page(
            binary, f"https://localhost:{server.port}/core", bundle.server_pem, profile
        )
        served = server.first(lambda s: "request" in s.report)
    _check_page(done, HTTP_BODY.decode().split("<p id=ok>")[1].split("</p>")[0])
    info = served.info
    assert info is not None
    expect_equal(info.group, case.group, "group (ours)")
    expect_equal(info.cipher_suite, case.suite, "cipher suite (ours)")
    expect_equal(info.signature_scheme, case.scheme, "signature scheme (ours)")
    expect(info.hello_retry, "no HelloRetryRequest, though Chromium sends no secp384r1 share")
    return f"{chromium_version()} loaded the page from the core after a HelloRetryRequest to {info.group}"


PEER = ChromiumPeer()
