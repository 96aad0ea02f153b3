"""tlslite-ng 0.8 (pure Python; ML-KEM from kyber-py), in this process, both roles.

Groups x25519mlkem768, secp256r1mlkem768, secp384r1mlkem1024, x25519, secp256r1 and
secp384r1; the three suites; ECDSA, RSA, RSA-PSS and Ed25519 certificates; mutual TLS; ALPN;
HelloRetryRequest; KeyUpdate started by either side (``send_keyupdate_request``); exporter
values compared in every case (tlslite's exporter takes no context). tlslite-ng has no pure
ML-KEM groups and no ML-DSA: those cells are "unsupported by peer".

Two tlslite-ng 0.8.2 bugs are worked around, not hidden: it derives exporter_master_secret over
a transcript that includes the client's Certificate and CertificateVerify (RFC 8446 §7.1 says
up to the server Finished), so exporter values are not compared when a client certificate is
used (Node and openssl agree with ours there); and it compresses its client certificate unasked,
so compression is switched off in its settings.

tlslite does not verify certificate chains: as a client it is checked here that the chain
it received is exactly our server's, and as a server that the client's is our client's.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import socket
import threading
import warnings
from typing import Any

from interop.matrix import (
    CLIENT_CN,
    EXPORTER_LABEL,
    MLDSA_ALGS,
    NATURAL_SCHEME,
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
from nautilus_tls.crypto.x509 import load_certificate_chain_pem
from nautilus_tls.wire.enums import CipherSuite, NamedGroup

NAME = "tlslite-ng"
TIMEOUT_S = 30.0
_GROUP = {
    "X25519MLKEM768": "x25519mlkem768",
    "SecP256r1MLKEM768": "secp256r1mlkem768",
    "SecP384r1MLKEM1024": "secp384r1mlkem1024",
    "x25519": "x25519",
    "secp256r1": "secp256r1",
    "secp384r1": "secp384r1",
}
_SUITE = {
    "TLS_AES_128_GCM_SHA256": "aes128gcm",
    "TLS_AES_256_GCM_SHA384": "aes256gcm",
    "TLS_CHACHA20_POLY1305_SHA256": "chacha20-poly1305",
}
_CERTS = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "rsa-pss")
_EXPORTER_BUG = "tlslite-ng hashes the client's Certificate into exporter_master_secret"
_INSTALL = "pip install tlslite-ng==0.8.2 kyber-py (the [test] extra has both)"


class TlsliteUnavailable(Exception):
    pass


def _api() -> Any:
    with warnings.catch_warnings():  # tlslite.integration imports asyncore (deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        from tlslite import api  # type: ignore[import-untyped]

    return api


class TlslitePeer:
    name = NAME
    roles: tuple[Role, ...] = ("client", "server")

    def availability(self) -> str | None:
        if importlib.util.find_spec("tlslite") is None:
            return f"tlslite-ng is not installed; {_INSTALL}"
        with warnings.catch_warnings():  # tlslite.integration imports asyncore (deprecated)
            warnings.simplefilter("ignore", DeprecationWarning)
            import tlslite
            from tlslite.utils.compat import ML_KEM_AVAILABLE  # type: ignore[import-untyped]

        if not ML_KEM_AVAILABLE:
            return f"tlslite-ng found no ML-KEM implementation (kyber-py); {_INSTALL}"
        version = getattr(tlslite, "__version__", "?")
        if not str(version).startswith("0.8"):
            return f"tlslite-ng {version} found, 0.8.x needed; {_INSTALL}"
        return None

    def version(self) -> str:
        try:
            return f"tlslite-ng {importlib.metadata.version('tlslite-ng')}, kyber-py {importlib.metadata.version('kyber-py')}"
        except importlib.metadata.PackageNotFoundError:
            return "missing"

    def cases(self) -> list[Case]:
        c = functools.partial(Case, NAME)
        out: list[Case] = []
        for role in self.roles:
            r: Role = role
            for group, suite, cert in sample(tuple(_GROUP), SUITES, _CERTS):
                out.append(c(r, group, suite, cert, NATURAL_SCHEME[cert]))
            out.append(c(r, "X25519MLKEM768", SUITES[1], "rsa2048", "rsa_pss_rsae_sha384"))
            out.append(c(r, "x25519", SUITES[2], "rsa2048", "rsa_pss_rsae_sha512"))
            for alg, group in (("ecdsa-p256", "X25519MLKEM768"), ("ed25519", "SecP256r1MLKEM768")):
                out.append(
                    c(
                        r,
                        group,
                        SUITES[0],
                        "ecdsa-p384",
                        NATURAL_SCHEME["ecdsa-p384"],
                        "mtls",
                        client_cert=alg,
                    )
                )
            note = (
                "first share X25519MLKEM768; tlslite accepts only secp384r1mlkem1024"
                if r == "client"
                else "tlslite's share x25519, x25519mlkem768 offered: we prefer PQ"
            )
            group = "SecP384r1MLKEM1024" if r == "client" else "X25519MLKEM768"
            out.append(
                c(r, group, SUITES[1], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "hrr", note=note)
            )
            out.append(
                c(r, "SecP256r1MLKEM768", SUITES[2], "ed25519", "ed25519", "alpn", note="http/1.1")
            )
            out.append(c(r, "X25519MLKEM768", SUITES[0], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "key-update",
                         note="we send KeyUpdate(update_requested); tlslite answers"))  # fmt: skip
            out.append(c(r, "SecP384r1MLKEM1024", SUITES[1], "ecdsa-p384", NATURAL_SCHEME["ecdsa-p384"], "peer-key-update",
                         note="tlslite sends KeyUpdate update_not_requested, then update_requested"))  # fmt: skip
            for group in ("MLKEM768", "MLKEM1024"):
                out.append(c(r, group, SUITES[1], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"],
                             unsupported="tlslite-ng 0.8 has only the hybrid ML-KEM groups"))  # fmt: skip
            for alg in MLDSA_ALGS:
                out.append(c(r, "X25519MLKEM768", SUITES[1], alg, NATURAL_SCHEME[alg],
                             unsupported="tlslite-ng 0.8 has no ML-DSA signatures"))  # fmt: skip
        return out

    def run(self, case: Case, env: Env) -> str:
        if case.role == "client":
            return _our_client(case, env)
        return _our_server(case, env)


def _settings(
    case: Case, *, groups: list[str] | None = None, shares: list[str] | None = None
) -> Any:
    api = _api()
    settings = api.HandshakeSettings()
    settings.minVersion = (3, 4)
    settings.maxVersion = (3, 4)
    settings.cipherNames = [_SUITE[case.suite]]
    settings.eccCurves = groups if groups is not None else [_GROUP[case.group]]
    settings.keyShares = shares if shares is not None else [_GROUP[case.group]]
    settings.dhGroups = []
    # tlslite 0.8.2 decides whether to compress its *client* Certificate from its own
    # ClientHello instead of the server's CertificateRequest (RFC 8879 §3), so it would send a
    # CompressedCertificate that nobody asked for. Not compressing sidesteps that bug.
    settings.certificate_compression_send = []
    if case.scheme.startswith("rsa_pss_rsae_sha"):  # tlslite as server picks SHA-512 itself
        settings.rsaSchemes = ["pss"]
        settings.rsaSigHashes = [case.scheme.rsplit("_", 1)[1]]
    return settings


def _chain_and_key(pem: Any, key: Any) -> tuple[Any, Any]:
    api = _api()
    chain = api.X509CertChain()
    chain.parsePemList(pem.read_text())
    return chain, api.parsePEMKey(key.read_text(), private=True)


def _key_update(conn: Any, requested: bool) -> None:
    from tlslite.constants import KeyUpdateMessageType  # type: ignore[import-untyped]

    kind = (
        KeyUpdateMessageType.update_requested
        if requested
        else KeyUpdateMessageType.update_not_requested
    )
    for _ in conn.send_keyupdate_request(kind):
        pass


def _read_exactly(conn: Any, count: int) -> bytes:
    got = b""
    for _ in range(1000):
        if len(got) >= count:
            break
        chunk = conn.read(max=count - len(got))
        if not chunk:
            break
        got += bytes(chunk)
    return got


def _snapshot(conn: Any) -> dict[str, Any]:
    """What tlslite negotiated, read right after the handshake (close() resets some of it)."""
    return {
        "version": conn.version,
        "suite": conn.session.cipherSuite,
        "cipher": conn.getCipherName(),
        "group": conn.ecdhCurve,
        "alpn": bytes(conn.session.appProto or b""),
    }


def _check_tlslite(snap: dict[str, Any], case: Case) -> str:
    expect_equal(snap["version"], (3, 4), "protocol (tlslite)")
    expect_equal(snap["suite"], CipherSuite[case.suite], "cipher suite (tlslite)")
    expect_equal(snap["group"], NamedGroup[case.group], "group (tlslite)")
    return f"tlslite: {snap['cipher']}, group {_GROUP[case.group]}"


def _first_der(chain: Any) -> bytes:
    return bytes(chain.x509List[0].bytes)


class _TlsliteServer:
    def __init__(self, case: Case, bundle: Bundle, client_bundle: Bundle | None) -> None:
        self.case = case
        self.chain, self.key = _chain_and_key(bundle.server_pem, bundle.server_key)
        self.client_bundle = client_bundle
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.report: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        api = _api()
        case = self.case
        try:
            self.listener.settimeout(TIMEOUT_S)
            raw, _ = self.listener.accept()
            raw.settimeout(TIMEOUT_S)
            conn = api.TLSConnection(raw)
            conn.handshakeServer(
                certChain=self.chain,
                privateKey=self.key,
                settings=_settings(case),
                reqCert=self.client_bundle is not None,
                alpn=[bytearray(b"h2"), bytearray(b"http/1.1")] if case.feature == "alpn" else None,
            )
            self.report["conn"] = conn
            self.report["snap"] = _snapshot(conn)
            self.report["exporter"] = bytes(
                conn.keyingMaterialExporter(bytearray(EXPORTER_LABEL.encode()), 32)
            ).hex()
            data = _read_exactly(conn, 18)
            conn.write(data)
            if case.feature == "key-update":
                conn.write(_read_exactly(conn, 15))
            if case.feature == "peer-key-update":
                for requested in (False, True):
                    _key_update(conn, requested)
                    conn.write(b"after update")
                    self.report.setdefault("replies", []).append(_read_exactly(conn, 5))
            rest = conn.read()  # close_notify
            self.report["rest"] = bytes(rest)
            conn.close()
        except BaseException as exc:
            self.report["error"] = exc

    def __enter__(self) -> _TlsliteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.thread.join(TIMEOUT_S)


def _our_client(case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    client_bundle = env.bundle(case.client_cert) if case.client_cert else None
    kw = client_kwargs(case, bundle)
    if case.feature == "hrr":
        kw["groups"] = group_codes("X25519MLKEM768", case.group)
        kw["key_share_groups"] = group_codes("X25519MLKEM768")
    if client_bundle is not None:
        kw["client_certificate"] = client_key(client_bundle)
    if case.feature == "alpn":
        kw["alpn_protocols"] = (b"http/1.1",)
    notes: list[str] = []
    with _TlsliteServer(case, bundle, client_bundle) as server:
        stream = connect(server.port, ClientConfig(**kw), deadline_s=TIMEOUT_S)
        info = stream.conn.info
        ours_exporter = stream.exporter()
        stream.send(b"ping from nautilus")
        expect_equal(stream.recv_exactly(18), b"ping from nautilus", "echo from tlslite")
        if case.feature == "key-update":
            stream.key_update(request_peer=True)
            stream.send(b"after KeyUpdate")
            expect_equal(stream.recv_exactly(15), b"after KeyUpdate", "echo after KeyUpdate")
            expect(stream.key_updates("receive") >= 1, "tlslite did not answer our KeyUpdate")
            notes.append("tlslite answered our KeyUpdate")
        if case.feature == "peer-key-update":
            for n in (1, 2):
                expect_equal(
                    stream.recv_exactly(12), b"after update", "data after tlslite's KeyUpdate"
                )
                expect(stream.key_updates("receive") >= n, f"tlslite's KeyUpdate {n} not seen")
                stream.send(b"reply")
            expect_equal(
                stream.key_updates("send", requested_by_peer=True), 1, "KeyUpdates we answered"
            )
            notes.append(
                "tlslite's update_not_requested and update_requested applied; we answered one"
            )
        stream.close()
    server.thread.join(TIMEOUT_S)
    report = server.report
    if "error" in report:
        raise AssertionError(f"tlslite server failed: {report['error']!r}")
    conn = report["conn"]
    info = check_info(info, case)
    notes.insert(0, _check_tlslite(report["snap"], case))
    if client_bundle is None:
        expect_equal(report["exporter"], ours_exporter, "exporter value (tlslite vs ours)")
        notes.insert(1, "exporter equal")
    else:
        notes.insert(1, f"exporter not compared ({_EXPORTER_BUG})")
    if client_bundle is not None:
        expect(conn.session.clientCertChain is not None, "tlslite got no client certificate")
        expect_equal(
            _first_der(conn.session.clientCertChain),
            load_certificate_chain_pem(client_bundle.client_pem.read_bytes())[0],
            "client certificate (tlslite)",
        )
        notes.append(f"tlslite checked our {case.client_cert} CertificateVerify")
    if case.feature == "alpn":
        expect_equal(report["snap"]["alpn"], b"http/1.1", "ALPN (tlslite)")
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        notes.append("ALPN http/1.1")
    return "; ".join(notes)


def _our_server(case: Case, env: Env) -> str:
    api = _api()
    bundle = env.bundle(case.cert)
    kw: dict[str, Any] = {
        "certificates": (server_key(bundle),),
        "groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": None,
    }
    settings = _settings(case)
    if case.feature == "hrr":
        del kw["groups"]  # our defaults: X25519MLKEM768 first, prefer_post_quantum
        settings = _settings(case, groups=["x25519", _GROUP[case.group]], shares=["x25519"])
    chain = key = None
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        kw.update(client_auth="require", client_trust_store=trust(cb.ca_pem))
        chain, key = _chain_and_key(cb.client_pem, cb.client_key)
    if case.feature == "alpn":
        kw["alpn_protocols"] = (b"h2", b"http/1.1")
    notes: list[str] = []
    with CoreServer(ServerConfig(**kw), echo_handler(), deadline_s=TIMEOUT_S) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S)
        conn = api.TLSConnection(raw)
        try:
            conn.handshakeClientCert(
                certChain=chain,
                privateKey=key,
                settings=settings,
                serverName="localhost",
                alpn=[bytearray(b"http/1.1")] if case.feature == "alpn" else None,
            )
            snap = _snapshot(conn)
            theirs_exporter = bytes(
                conn.keyingMaterialExporter(bytearray(EXPORTER_LABEL.encode()), 32)
            ).hex()
            messages = [b"hello from tlslite"]
            if case.feature == "key-update":
                messages = [b"one " + KEY_UPDATE_MARKER, b"two"]
            for i, msg in enumerate(messages):
                if case.feature == "peer-key-update":
                    _key_update(conn, requested=i > 0)
                conn.write(msg)
                expect_equal(_read_exactly(conn, len(msg)), msg, "echo (tlslite)")
            if case.feature == "peer-key-update":
                _key_update(conn, requested=True)
                conn.write(b"last")
                expect_equal(_read_exactly(conn, 4), b"last", "echo (tlslite)")
            conn.close()
        finally:
            raw.close()
        served = server.one()
    info = served.info
    stream = served.stream
    assert stream is not None
    info = check_info(info, case)
    notes.append(_check_tlslite(snap, case))
    if case.client_cert is None:
        expect_equal(theirs_exporter, served.report["exporter"], "exporter value (tlslite vs ours)")
        notes.append("exporter equal")
    else:
        notes.append(f"exporter not compared ({_EXPORTER_BUG})")
    expect_equal(
        _first_der(conn.session.serverCertChain),
        load_certificate_chain_pem(bundle.server_pem.read_bytes())[0],
        "server certificate (tlslite)",
    )
    if case.client_cert:
        expect(
            CLIENT_CN in str(info.peer_certificate_subject),
            f"client certificate subject (ours): {info.peer_certificate_subject}",
        )
        notes.append(
            f"we verified tlslite's {case.client_cert} certificate ({info.client_certificate_scheme})"
        )
    if case.feature == "alpn":
        expect_equal(snap["alpn"], b"http/1.1", "ALPN (tlslite)")
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        notes.append("ALPN http/1.1")
    if case.feature == "key-update":
        expect(stream.key_updates("receive") >= 1, "tlslite did not answer our KeyUpdate")
        notes.append("tlslite answered our KeyUpdate")
    if case.feature == "peer-key-update":
        expect(
            stream.key_updates("receive") >= 2,
            f"we saw {stream.key_updates('receive')} of tlslite's KeyUpdates",
        )
        expect_equal(
            stream.key_updates("send", requested_by_peer=True), 1, "KeyUpdates we answered"
        )
        notes.append("tlslite's KeyUpdates applied; we answered the requested ones")
    return "; ".join(notes)


PEER = TlslitePeer()
