"""curl (OpenSSL 3.0) fetching a page from ``nautilus-tls serve --mode http`` over TLS 1.3,
verifying our certificate with ``--cacert``. curl is a client only: we are the server.

Classical groups (``--curves``), all suites (``--tls13-ciphers``), ECDSA/RSA/RSA-PSS/Ed25519
certificates, a client certificate (``--cert``), ALPN; one case goes to our sans-I/O core
directly instead of the CLI. curl's OpenSSL 3.0 has no ML-KEM and no ML-DSA.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from typing import Any

from interop import serve
from interop.matrix import (
    CLASSICAL_GROUPS,
    CLIENT_CN,
    MLDSA_ALGS,
    NATURAL_SCHEME,
    PQ_GROUPS,
    SUITES,
    Case,
    Env,
    Role,
    Unsupported,
    expect,
    expect_equal,
    sample,
)
from interop.ours import HTTP_BODY, CoreServer, group_codes, http_handler, server_key, suite_codes

from nautilus_tls.config import ServerConfig

NAME = "curl"
TIMEOUT_S = 30
_CURVE = {"x25519": "X25519", "secp256r1": "P-256", "secp384r1": "P-384"}
_CERTS = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "rsa-pss")


def curl_binary() -> str | None:
    return shutil.which("curl")


class CurlPeer:
    name = NAME
    roles: tuple[Role, ...] = ("server",)

    def availability(self) -> str | None:
        if curl_binary() is None:
            return "no curl on PATH (Debian: apt-get install -y curl)"
        return None

    def version(self) -> str:
        binary = curl_binary()
        if binary is None:
            return "missing"
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        first = done.stdout.splitlines()[0] if done.stdout else "?"
        return " ".join(first.split()[:2] + [w for w in first.split() if w.startswith("OpenSSL/")])

    def cases(self) -> list[Case]:
        c = functools.partial(Case, NAME, "server")
        out: list[Case] = []
        for group, suite, cert in sample(CLASSICAL_GROUPS, SUITES, _CERTS):
            out.append(
                c(
                    group,
                    suite,
                    cert,
                    NATURAL_SCHEME[cert],
                    "http",
                    note="nautilus-tls serve --mode http",
                )
            )
        out.append(c("secp384r1", SUITES[2], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "http", client_cert="ecdsa-p384",
                     note="serve --client-ca --require-client-cert; curl --cert"))  # fmt: skip
        for group, scheme in (
            ("x25519", "rsa_pss_rsae_sha384"),
            ("secp256r1", "rsa_pss_rsae_sha512"),
        ):
            out.append(
                c(group, SUITES[1], "rsa2048", scheme, "http", note=f"serve --schemes {scheme}")
            )
        out.append(
            c(
                "x25519",
                SUITES[0],
                "ed25519",
                "ed25519",
                "alpn",
                note="curl offers h2,http/1.1; serve --alpn http/1.1",
            )
        )
        out.append(c("secp256r1", SUITES[1], "ecdsa-p384", NATURAL_SCHEME["ecdsa-p384"], "http-core",
                     note="the sans-I/O core serving the page, not the CLI"))  # fmt: skip
        reason = "curl 7.88 here uses OpenSSL 3.0: no ML-KEM"
        for group in PQ_GROUPS:
            out.append(
                c(
                    group,
                    SUITES[1],
                    "ecdsa-p256",
                    NATURAL_SCHEME["ecdsa-p256"],
                    "http",
                    unsupported=reason,
                )
            )
        for alg in MLDSA_ALGS:
            out.append(c("x25519", SUITES[1], alg, NATURAL_SCHEME[alg], "http",
                         unsupported="curl 7.88 here uses OpenSSL 3.0: no ML-DSA"))  # fmt: skip
        return out

    def run(self, case: Case, env: Env) -> str:
        binary = curl_binary()
        if binary is None:
            raise Unsupported("curl disappeared")
        bundle = env.bundle(case.cert)
        argv = [
            binary, "--silent", "--show-error", "--verbose", "--tlsv1.3", "--tls-max", "1.3",
            "--max-time", str(TIMEOUT_S), "--cacert", str(bundle.ca_pem),
            "--curves", _CURVE[case.group], "--tls13-ciphers", case.suite,
            "--noproxy", "*", "--write-out", "\n%{http_code}",
        ]  # fmt: skip
        if case.client_cert:
            cb = env.bundle(case.client_cert)
            argv += ["--cert", str(cb.client_pem), "--key", str(cb.client_key)]
        if case.feature == "http-core":
            return _against_core(argv, case, env)
        missing = serve.availability()
        if missing:
            raise AssertionError(f"nautilus-tls serve is not usable: {missing}")
        args: list[Any] = [
            "--mode", "http", "--cert", bundle.server_pem, "--key", bundle.server_key,
            "--groups", case.group, "--suites", case.suite,
        ]  # fmt: skip
        if case.scheme != NATURAL_SCHEME[case.cert]:
            args += ["--schemes", case.scheme]
        if case.client_cert:
            args += ["--client-ca", env.bundle(case.client_cert).ca_pem, "--require-client-cert"]
        if case.feature == "alpn":
            args += ["--alpn", "http/1.1"]
        with serve.NautilusServe(*args) as server:
            url = f"https://localhost:{server.port}/interop"
            done = _curl([*argv, "--resolve", f"localhost:{server.port}:127.0.0.1", url])
            record = server.next_handshake()
        body, status = _split(done)
        expect(done.returncode == 0, f"curl exit {done.returncode}: {_tail(done.stderr)}")
        expect_equal(status, "200", "HTTP status (curl)")
        expect("Nautilus TLS" in body, f"page not received: {body[:200]!r}")
        seen = _check_curl(done.stderr, case)
        expect_equal(record.get("group"), case.group, "group (serve --json-log)")
        expect_equal(record.get("cipher_suite"), case.suite, "cipher suite (serve --json-log)")
        expect_equal(
            record.get("signature_scheme"), case.scheme, "signature scheme (serve --json-log)"
        )
        notes = [seen, f"serve logged {record.get('group')}"]
        if case.client_cert:
            expect(
                CLIENT_CN in str(record.get("client_certificate")),
                f"client certificate (serve): {record.get('client_certificate')}",
            )
            notes.append(f"serve verified curl's {case.client_cert} certificate")
        if case.feature == "alpn":
            expect_equal(record.get("alpn"), "http/1.1", "ALPN (serve --json-log)")
            expect(
                re.search(r"ALPN.*accepted.*http/1\.1", done.stderr) is not None,
                "curl did not report ALPN http/1.1",
            )
            notes.append("ALPN http/1.1")
        return "; ".join(notes)


def _curl(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S + 15, check=False)


def _split(done: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    body, _, status = done.stdout.rpartition("\n")
    return body, status.strip()


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-8:])


def _check_curl(stderr: str, case: Case) -> str:
    found = re.search(r"SSL connection using (TLSv1\.3) / (\S+)", stderr)
    expect(found is not None, f"curl printed no TLS summary: {_tail(stderr)}")
    assert found is not None
    expect_equal(found.group(2), case.suite, "cipher suite (curl)")
    expect(
        "SSL certificate verify ok" in stderr,
        f"curl did not verify our certificate: {_tail(stderr)}",
    )
    return f"curl: {found.group(1)} {found.group(2)}, certificate verified with --cacert"


def _against_core(argv: list[str], case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    config = ServerConfig(
        certificates=(server_key(bundle),),
        groups=group_codes(case.group),
        cipher_suites=suite_codes(case.suite),
        keylog_file=None,
    )
    with CoreServer(config, http_handler()) as server:
        url = f"https://localhost:{server.port}/core"
        done = _curl([*argv, "--resolve", f"localhost:{server.port}:127.0.0.1", url])
        served = server.one()
    body, status = _split(done)
    expect(done.returncode == 0, f"curl exit {done.returncode}: {_tail(done.stderr)}")
    expect_equal(status, "200", "HTTP status (curl)")
    expect_equal(body.encode(), HTTP_BODY, "page (curl)")
    info = served.info
    assert info is not None
    expect_equal(info.group, case.group, "group (ours)")
    expect_equal(info.cipher_suite, case.suite, "cipher suite (ours)")
    expect_equal(info.signature_scheme, case.scheme, "signature scheme (ours)")
    return f"{_check_curl(done.stderr, case)}; request {served.report.get('request')!r}"


PEER = CurlPeer()
