"""Python's ssl module (OpenSSL 3.0), in this process, both roles.

Classical groups (``SSLContext.set_ecdh_curve`` restricts OpenSSL to one group), all three
suites (restricted on our side: ``ssl`` cannot configure TLS 1.3 suites), ECDSA, RSA,
RSA-PSS and Ed25519 certificates, mutual TLS, HelloRetryRequest and KeyUpdate started by us.
``ssl`` has no exporter, no call that sends a KeyUpdate, no way to restrict signature
algorithms, and OpenSSL 3.0 has no ML-KEM or ML-DSA: those cells are "unsupported by peer".
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import ssl
import threading
from typing import Any

from interop.matrix import (
    CLASSICAL_GROUPS,
    CLIENT_CN,
    MLDSA_ALGS,
    NATURAL_SCHEME,
    PQ_GROUPS,
    SUITES,
    Bundle,
    Case,
    Env,
    Role,
    expect,
    expect_equal,
    sample,
)
from interop.ours import (
    KEY_UPDATE_MARKER,
    CoreServer,
    check_info,
    client_key,
    client_kwargs,
    connect,
    echo_handler,
    group_codes,
    server_key,
    suite_codes,
    trust,
)

from nautilus_tls.config import ClientConfig, ServerConfig

NAME = "python-ssl"
TIMEOUT_S = 20.0
_CURVE = {"x25519": "X25519", "secp256r1": "prime256v1", "secp384r1": "secp384r1"}
_CERTS = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "rsa-pss")
NO_PQ = f"Python's ssl uses {ssl.OPENSSL_VERSION}: no ML-KEM (OpenSSL 3.5+)"
NO_MLDSA = f"Python's ssl uses {ssl.OPENSSL_VERSION}: no ML-DSA (OpenSSL 3.5+)"


class PySSLPeer:
    name = NAME
    roles: tuple[Role, ...] = ("client", "server")

    def availability(self) -> str | None:
        if not hasattr(ssl, "TLSVersion") or not ssl.HAS_TLSv1_3:
            return f"this Python's ssl ({ssl.OPENSSL_VERSION}) has no TLS 1.3"
        return None

    def version(self) -> str:
        return f"Python {platform.python_version()} ssl, {ssl.OPENSSL_VERSION}"

    def cases(self) -> list[Case]:
        c = functools.partial(Case, NAME)
        out: list[Case] = []
        for role in self.roles:
            r: Role = role
            for group, suite, cert in sample(CLASSICAL_GROUPS, SUITES, _CERTS):
                out.append(c(r, group, suite, cert, NATURAL_SCHEME[cert]))
            if r == "client":  # ssl cannot restrict its own signature algorithms: we do, as client
                out.append(c(r, "x25519", SUITES[1], "rsa2048", "rsa_pss_rsae_sha384"))
                out.append(c(r, "secp384r1", SUITES[2], "rsa2048", "rsa_pss_rsae_sha512"))
            for alg, group in (("ecdsa-p256", "x25519"), ("rsa2048", "secp384r1")):
                out.append(c(r, group, SUITES[0], "ed25519", "ed25519", "mtls", client_cert=alg))
            note = (
                "our default ClientConfig (share X25519MLKEM768); ssl accepts only secp384r1"
                if r == "client"
                else "ssl's default share X25519; we accept only secp384r1"
            )
            out.append(
                c(
                    r,
                    "secp384r1",
                    SUITES[1],
                    "ecdsa-p256",
                    NATURAL_SCHEME["ecdsa-p256"],
                    "hrr",
                    note=note,
                )
            )
            out.append(
                c(
                    r,
                    "x25519",
                    SUITES[2],
                    "ecdsa-p384",
                    NATURAL_SCHEME["ecdsa-p384"],
                    "alpn",
                    note="http/1.1",
                )
            )
            if r == "server":
                out.append(c(r, "secp384r1", SUITES[0], "ecdsa-p384", NATURAL_SCHEME["ecdsa-p384"], "bulk",
                             note="1 MiB each way in 64 KiB writes"))  # fmt: skip
            out.append(c(r, "secp256r1", SUITES[2], "rsa2048", "rsa_pss_rsae_sha256", "key-update",
                         note="we send KeyUpdate(update_requested); ssl answers with its own"))  # fmt: skip
            out.append(c(r, "x25519", SUITES[0], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "peer-key-update",
                         unsupported="Python's ssl has no API to send a KeyUpdate"))  # fmt: skip
            out.append(c(r, "x25519", SUITES[0], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "exporter",
                         unsupported="Python's ssl has no keying material exporter (RFC 5705/8446 §7.5)"))  # fmt: skip
            for group in PQ_GROUPS:
                out.append(
                    c(
                        r,
                        group,
                        SUITES[1],
                        "ecdsa-p256",
                        NATURAL_SCHEME["ecdsa-p256"],
                        unsupported=NO_PQ,
                    )
                )
            for alg in MLDSA_ALGS:
                out.append(
                    c(r, "x25519", SUITES[1], alg, NATURAL_SCHEME[alg], unsupported=NO_MLDSA)
                )
        return out

    def run(self, case: Case, env: Env) -> str:
        if case.role == "client":
            return _our_client(case, env)
        return _our_server(case, env)


def _tls13(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    return ctx


class _SSLServer:
    """One ssl server connection on an ephemeral loopback port, echoing, in a thread."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.report: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        try:
            self.listener.settimeout(TIMEOUT_S)
            raw, _ = self.listener.accept()
            raw.settimeout(TIMEOUT_S)
            with self.ctx.wrap_socket(raw, server_side=True) as tls:
                self.report.update(
                    version=tls.version(),
                    cipher=tls.cipher(),
                    alpn=tls.selected_alpn_protocol(),
                    peer=tls.getpeercert(),
                )
                for _ in range(1000):
                    try:
                        data = tls.recv(65536)
                    except ssl.SSLZeroReturnError:
                        break
                    if not data:
                        break
                    tls.sendall(data)
                self.report["done"] = True
        except BaseException as exc:
            self.report["error"] = exc

    def __enter__(self) -> _SSLServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.thread.join(TIMEOUT_S)


def _our_client(case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    ctx = _tls13(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    ctx.load_cert_chain(bundle.server_pem, bundle.server_key)
    ctx.set_ecdh_curve(_CURVE[case.group])
    kw = client_kwargs(case, bundle)
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cb.ca_pem)
        kw["client_certificate"] = client_key(cb)
    if case.feature == "alpn":
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        kw["alpn_protocols"] = (b"http/1.1",)
    with _SSLServer(ctx) as server:
        stream = connect(server.port, ClientConfig(**kw))
        info = stream.conn.info
        stream.send(b"ping from nautilus")
        expect_equal(stream.recv_exactly(18), b"ping from nautilus", "echo from ssl")
        if case.feature == "key-update":
            stream.key_update(request_peer=True)
            stream.send(b"after KeyUpdate")
            expect_equal(stream.recv_exactly(15), b"after KeyUpdate", "echo after KeyUpdate")
            expect(
                stream.key_updates("receive") >= 1, "ssl did not answer our KeyUpdate with its own"
            )
        stream.close()
    server.thread.join(TIMEOUT_S)
    report = server.report
    if "error" in report:
        raise AssertionError(f"ssl server failed: {report['error']!r}")
    info = check_info(info, case)
    expect_equal(report["version"], "TLSv1.3", "protocol (ssl)")
    expect_equal(report["cipher"][0], case.suite, "cipher suite (ssl)")
    notes = [f"ssl: {report['cipher'][0]}"]
    if case.client_cert:
        subject = dict(x[0] for x in report["peer"]["subject"])
        expect_equal(subject.get("commonName"), CLIENT_CN, "client certificate CN (ssl)")
        notes.append(f"ssl verified our {case.client_cert} client certificate")
    if case.feature == "alpn":
        expect_equal(report["alpn"], "http/1.1", "ALPN (ssl)")
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        notes.append("ALPN http/1.1")
    if case.feature == "key-update":
        notes.append("ssl answered our KeyUpdate")
    return "; ".join(notes)


def _client_context(bundle: Bundle, case: Case, env: Env) -> ssl.SSLContext:
    ctx = _tls13(ssl.create_default_context(cafile=str(bundle.ca_pem)))
    if case.feature != "hrr":
        ctx.set_ecdh_curve(_CURVE[case.group])
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        ctx.load_cert_chain(cb.client_pem, cb.client_key)
    if case.feature == "alpn":
        ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _our_server(case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    ctx = _client_context(bundle, case, env)
    kw: dict[str, Any] = {
        "certificates": (server_key(bundle),),
        "groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": None,
    }
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        kw.update(client_auth="require", client_trust_store=trust(cb.ca_pem))
    if case.feature == "alpn":
        kw["alpn_protocols"] = (b"h2", b"http/1.1")
    messages = [b"hello from ssl"]
    if case.feature == "bulk":
        blob = os.urandom(1 << 20)
        messages = [blob[i : i + 65536] for i in range(0, len(blob), 65536)]
    if case.feature == "key-update":
        messages = [b"one " + KEY_UPDATE_MARKER, b"two", b"three"]
    with CoreServer(ServerConfig(**kw), echo_handler()) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S)
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            cipher = tls.cipher()
            alpn = tls.selected_alpn_protocol()
            for msg in messages:
                tls.sendall(msg)
                got = b""
                for _ in range(100):
                    if len(got) >= len(msg):
                        break
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                expect_equal(got, msg, "echo (ssl)")
            tls.unwrap()  # close_notify both ways
        served = server.one()
    info = served.info
    info = check_info(info, case)
    expect_equal(cipher[0] if cipher else None, case.suite, "cipher suite (ssl)")
    notes = [f"ssl: {cipher[0] if cipher else '?'}, certificate verified"]
    if case.client_cert:
        expect(
            CLIENT_CN in str(info.peer_certificate_subject),
            f"client certificate subject (ours): {info.peer_certificate_subject}",
        )
        notes.append(
            f"we verified ssl's {case.client_cert} certificate ({info.client_certificate_scheme})"
        )
    if case.feature == "alpn":
        expect_equal(alpn, "http/1.1", "ALPN (ssl)")
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        notes.append("ALPN http/1.1")
    if case.feature == "key-update":
        stream = served.stream
        assert stream is not None
        expect(stream.key_updates("receive") >= 1, "ssl did not answer our KeyUpdate")
        notes.append("ssl answered our KeyUpdate")
    return "; ".join(notes)


PEER = PySSLPeer()
