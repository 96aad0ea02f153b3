"""GnuTLS 3.7 command-line tools (Debian's gnutls-bin): ``gnutls-serv`` and ``gnutls-cli``,
both roles.

Classical groups only, all three suites, ECDSA/RSA/RSA-PSS/Ed25519 certificates, mutual TLS,
HelloRetryRequest, ALPN, and the exporter (``--keymatexport``) compared with ours in every
case. GnuTLS 3.7 has neither ML-KEM nor ML-DSA: those cells are "unsupported by peer". Raw
public keys (RFC 7250) against the same tools are in test_gnutls_raw_keys.py.

Each tool prints what it negotiated as ``- Description: (TLS1.3-X.509)-(ECDHE-X25519)-
(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)``, which is checked against the case beside our own
SessionInfo. gnutls-serv can neither bind to loopback only nor report an ephemeral port: it
gets a port just found free on 127.0.0.1. Every wait for a line is bounded, and each tool is
ended by its PID.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from typing import Any

from interop.matrix import (
    CLASSICAL_GROUPS,
    CLIENT_CN,
    EXPORTER_LABEL,
    NATURAL_SCHEME,
    Case,
    Env,
    Role,
    Unsupported,
    classical_cases,
    expect,
    expect_equal,
)
from interop.ours import (
    CoreServer,
    check_info,
    client_key,
    client_kwargs,
    connect,
    echo_handler,
    group_codes,
    scheme_codes,
    server_key,
    suite_codes,
    trust,
)
from interop.procs import LineProcess

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.session_info import SessionInfo

NAME = "gnutls"
WAIT_S = 20.0
INSTALL = "apt-get install -y gnutls-bin"
TOOLS = ("gnutls-cli", "gnutls-serv")
_GROUP = {"x25519": "X25519", "secp256r1": "SECP256R1", "secp384r1": "SECP384R1"}
_CIPHER = {
    "TLS_AES_128_GCM_SHA256": "AES-128-GCM",
    "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
    "TLS_CHACHA20_POLY1305_SHA256": "CHACHA20-POLY1305",
}
_SIGN = {
    "ed25519": "EdDSA-Ed25519",
    "ecdsa_secp256r1_sha256": "ECDSA-SECP256R1-SHA256",
    "ecdsa_secp384r1_sha384": "ECDSA-SECP384R1-SHA384",
    "rsa_pss_rsae_sha256": "RSA-PSS-RSAE-SHA256",
    "rsa_pss_rsae_sha384": "RSA-PSS-RSAE-SHA384",
    "rsa_pss_rsae_sha512": "RSA-PSS-RSAE-SHA512",
    "rsa_pss_pss_sha256": "RSA-PSS-SHA256",
}
_CERTS = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "rsa-pss")
NO_PQ_KEM = "GnuTLS 3.7 has no ML-KEM key exchange"
NO_MLDSA = "GnuTLS 3.7 has no ML-DSA"
_DESCRIPTION = re.compile(
    r"^- Description: \(TLS1\.3-X\.509\)-\(ECDHE-([^)]+)\)-\(([^)]+)\)-\(([^)]+)\)"
)


def gnutls_version() -> str:
    binary = shutil.which("gnutls-cli")
    if binary is None:
        return "missing"
    done = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    words = done.stdout.split()
    return f"GnuTLS {words[1]}" if len(words) > 1 else "GnuTLS (version unknown)"


def _priority(case: Case, *groups: str) -> str:
    """TLS 1.3 only, the case's suite, and ``groups`` (default the case's group) in order."""
    wanted = ":".join(f"+GROUP-{_GROUP[g]}" for g in groups or (case.group,))
    return f"NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:{wanted}:-CIPHER-ALL:+{_CIPHER[case.suite]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GnuTLSPeer:
    name = NAME
    roles: tuple[Role, ...] = ("client", "server")

    def availability(self) -> str | None:
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing:
            return f"{', '.join(missing)} not on PATH (Debian: {INSTALL})"
        return None

    def version(self) -> str:
        return gnutls_version()

    def cases(self) -> list[Case]:
        out: list[Case] = []
        for role in self.roles:
            r: Role = role
            note = (
                "our default ClientConfig (share X25519MLKEM768) against gnutls-serv"
                if r == "client"
                else "gnutls-cli offers X25519, SECP384R1, SECP256R1; we accept only secp256r1"
            )
            out += classical_cases(
                NAME, r, _CERTS,
                hrr_group="x25519" if r == "client" else "secp256r1", hrr_note=note,
                no_pq_kem=NO_PQ_KEM, no_mldsa=NO_MLDSA,
            )  # fmt: skip
        return out

    def run(self, case: Case, env: Env) -> str:
        if self.availability() is not None:
            raise Unsupported("gnutls-bin disappeared")
        if case.role == "client":
            return _our_client(case, env)
        return _our_server(case, env)


def _negotiated(proc: LineProcess) -> tuple[str, str, str]:
    """(group, signature, cipher) from the tool's ``- Description:`` line."""
    found = proc.wait_for(_DESCRIPTION, WAIT_S)
    group, sign, cipher = found.groups()
    return group, sign, cipher


def _check_theirs(case: Case, negotiated: tuple[str, str, str], exporter: str, ours: str) -> str:
    group, sign, cipher = negotiated
    tool = "gnutls-serv" if case.role == "client" else "gnutls-cli"
    expect_equal(group, _GROUP[case.group], f"group ({tool})")
    expect_equal(sign, _SIGN[case.scheme], f"server signature ({tool})")
    expect_equal(cipher, _CIPHER[case.suite], f"cipher ({tool})")
    expect_equal(exporter, ours, f"exporter value ({tool} vs ours)")
    return f"{tool}: {group}, {sign}, {cipher}, exporter equal"


def _alpn(case: Case, info: SessionInfo, text: str) -> list[str]:
    """With the ``alpn`` feature: both ends chose http/1.1 (the tool says so in its output)."""
    if case.feature != "alpn":
        return []
    expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
    expect("- Application protocol: http/1.1" in text, "the GnuTLS tool reported no ALPN")
    return ["ALPN http/1.1"]


def _key_material(proc: LineProcess) -> str:
    return proc.wait_for(r"^- Key material: ([0-9a-f]+)", WAIT_S).group(1)


def _our_client(case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    port = _free_port()
    # HelloRetryRequest: our default ClientConfig shares X25519MLKEM768, which it lacks.
    priority = _priority(case, *CLASSICAL_GROUPS) if case.feature == "hrr" else _priority(case)
    argv: list[Any] = [
        "gnutls-serv", "--port", port, "--echo", "--priority", priority,
        "--x509certfile", bundle.server_pem, "--x509keyfile", bundle.server_key,
        "--keymatexport", EXPORTER_LABEL, "--keymatexportsize", "32",
    ]  # fmt: skip
    kw = client_kwargs(case, bundle)
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        argv += ["--require-client-cert", "--verify-client-cert", "--x509cafile", cb.ca_pem]
        kw["client_certificate"] = client_key(cb)
    else:
        argv += ["--disable-client-cert"]
    if case.feature == "alpn":
        argv += ["--alpn", "h2", "--alpn", "http/1.1"]
        kw["alpn_protocols"] = (b"http/1.1",)
    with LineProcess([str(a) for a in argv]) as server:
        server.wait_for(r"listening on IPv4", WAIT_S)
        stream = connect(port, ClientConfig(**kw))
        info = stream.conn.info
        ours_exporter = stream.exporter()
        stream.send(b"ping from nautilus\n")
        expect_equal(stream.recv_until(b"\n"), b"ping from nautilus\n", "echo from gnutls-serv")
        stream.close()
        negotiated = _negotiated(server)
        theirs_exporter = _key_material(server)
        text = server.text()
    info = check_info(info, case)
    notes = [_check_theirs(case, negotiated, theirs_exporter, ours_exporter)]
    if case.client_cert:
        # --verify-client-cert: an untrusted certificate ends the connection (access_denied).
        expect("- Status: The certificate is trusted." in text, "gnutls-serv did not trust it")
        expect(f"Subject: CN={CLIENT_CN}" in text, "gnutls-serv printed no client subject")
        notes.append(f"gnutls-serv required and verified our {case.client_cert} certificate")
    return "; ".join([*notes, *_alpn(case, info, text)])


def _our_server(case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    kw: dict[str, Any] = {
        "certificates": (server_key(bundle),),
        "groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": None,
    }
    priority = _priority(case)
    if case.feature == "hrr":  # its shares are for its first groups, which we do not take
        priority = _priority(case, "x25519", "secp384r1", case.group)
    if case.scheme != NATURAL_SCHEME[case.cert]:
        kw["signature_schemes"] = scheme_codes(case.scheme)
    argv: list[Any] = [
        "gnutls-cli", "127.0.0.1", "--port", "", "--sni-hostname", "localhost",
        "--verify-hostname", "localhost", "--x509cafile", bundle.ca_pem, "--priority", priority,
        "--keymatexport", EXPORTER_LABEL, "--keymatexportsize", "32",
    ]  # fmt: skip
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        kw.update(client_auth="require", client_trust_store=trust(cb.ca_pem))
        argv += ["--x509certfile", cb.client_pem, "--x509keyfile", cb.client_key]
    if case.feature == "alpn":
        kw["alpn_protocols"] = (b"h2", b"http/1.1")
        argv += ["--alpn", "http/1.1"]
    notes: list[str] = []
    with CoreServer(ServerConfig(**kw), echo_handler()) as server:
        argv[3] = server.port
        with LineProcess([str(a) for a in argv], stdin=True) as client:
            client.wait_for(r"^- Status: The certificate is trusted", WAIT_S)
            negotiated = _negotiated(client)
            theirs_exporter = _key_material(client)
            client.wait_for(r"^- Handshake was completed", WAIT_S)
            client.write("hello from gnutls-cli\n")
            client.wait_for(r"^hello from gnutls-cli$", WAIT_S, stream="stdout")
            client.close_stdin()  # gnutls-cli sends close_notify and exits
            client.wait(WAIT_S)
            served = server.one()
        text = client.text()
    info = check_info(served.info, case)
    exporter = served.report["exporter"]
    notes.append(_check_theirs(case, negotiated, theirs_exporter, exporter))
    if case.client_cert:
        expect(
            CLIENT_CN in str(info.peer_certificate_subject),
            f"client certificate subject (ours): {info.peer_certificate_subject}",
        )
        notes.append(f"we verified gnutls-cli's {case.client_cert} certificate")
    return "; ".join([*notes, *_alpn(case, info, text)])


PEER = GnuTLSPeer()
