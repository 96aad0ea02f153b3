"""The openssl command-line tool (OpenSSL 3.0): ``s_server`` and ``s_client``, both roles.

Classical groups only, all three suites, ECDSA/RSA/RSA-PSS/Ed25519 certificates, mutual TLS,
HelloRetryRequest, KeyUpdate both ways (a ``k``/``K`` line on s_server's or s_client's stdin
sends one) and the exporter (``-keymatexport``). OpenSSL 3.0 has neither ML-KEM nor ML-DSA:
those cells are "unsupported by peer".

Both tools are driven through their stdin and read line by line from stdout; every wait for
a line is bounded, and the process is ended by its PID.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from typing import Any

from interop.matrix import (
    CLIENT_CN,
    EXPORTER_LABEL,
    NATURAL_SCHEME,
    SUITES,
    Case,
    Env,
    Role,
    Unsupported,
    classical_cases,
    expect,
    expect_equal,
)
from interop.ours import (
    KEY_UPDATE_MARKER,
    CoreServer,
    CoreStream,
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
from interop.procs import LineProcess

from nautilus_tls.config import ClientConfig, ServerConfig

NAME = "openssl"
WAIT_S = 20.0
_OPENSSL_GROUP = {"x25519": "X25519", "secp256r1": "P-256", "secp384r1": "P-384"}
# What s_client prints as "Server Temp Key: ..." for each group.
_TEMP_KEY = {"x25519": "X25519", "secp256r1": "prime256v1", "secp384r1": "secp384r1"}
# What s_client prints as "Peer signature type" for each of our schemes.
_SIG_TYPE = {
    "ed25519": ("ed25519", None),
    "ecdsa_secp256r1_sha256": ("ECDSA", "SHA256"),
    "ecdsa_secp384r1_sha384": ("ECDSA", "SHA384"),
    "rsa_pss_rsae_sha256": ("RSA-PSS", "SHA256"),
    "rsa_pss_rsae_sha384": ("RSA-PSS", "SHA384"),
    "rsa_pss_rsae_sha512": ("RSA-PSS", "SHA512"),
    "rsa_pss_pss_sha256": ("RSA-PSS", "SHA256"),
}
_CERTS = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "rsa-pss")
NO_PQ_KEM = "OpenSSL 3.0 has no ML-KEM key exchange (it came in OpenSSL 3.5)"
NO_MLDSA = "OpenSSL 3.0 has no ML-DSA (it came in OpenSSL 3.5)"


def openssl_binary() -> str | None:
    return shutil.which("openssl")


def openssl_version() -> str:
    binary = openssl_binary()
    if binary is None:
        return "missing"
    done = subprocess.run(
        [binary, "version"], capture_output=True, text=True, timeout=10, check=False
    )
    return " ".join(done.stdout.split()[:2])  # "OpenSSL 3.0.19"


class OpenSSLPeer:
    name = NAME
    roles: tuple[Role, ...] = ("client", "server")

    def availability(self) -> str | None:
        if openssl_binary() is None:
            return "no openssl command on PATH (Debian: apt-get install -y openssl)"
        return None

    def version(self) -> str:
        return openssl_version()

    def cases(self) -> list[Case]:
        out: list[Case] = []
        for role in self.roles:
            r: Role = role
            peer_tool = "s_server" if r == "client" else "s_client"
            c = functools.partial(Case, NAME, r)
            extra = [
                c("secp256r1", SUITES[0], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "key-update",
                  note="we send KeyUpdate(update_requested) mid-stream; data both ways after"),
                c("x25519", SUITES[1], "rsa2048", "rsa_pss_rsae_sha256", "peer-key-update",
                  note=f"{peer_tool} sends 'k' (update_not_requested) then 'K' (update_requested)"),
            ]  # fmt: skip
            note = (
                "our default ClientConfig (share X25519MLKEM768) against s_server -groups X25519"
                if r == "client"
                else "s_client -groups X25519:P-256 (share X25519); we accept only secp256r1"
            )
            out += classical_cases(
                NAME, r, _CERTS,
                hrr_group="x25519" if r == "client" else "secp256r1", hrr_note=note,
                no_pq_kem=NO_PQ_KEM, no_mldsa=NO_MLDSA, extra=extra,
            )  # fmt: skip
        return out

    def run(self, case: Case, env: Env) -> str:
        binary = openssl_binary()
        if binary is None:
            raise Unsupported("openssl disappeared")
        if case.role == "client":
            return _our_client(binary, case, env)
        return _our_server(binary, case, env)


def _exporter(proc: LineProcess) -> str:
    return proc.wait_for(r"Keying material: ([0-9A-Fa-f]+)", WAIT_S).group(1).lower()


def _s_line(proc: LineProcess, text: str) -> None:
    """Wait until the tool printed ``text`` (data it decrypted) on a line of its own."""
    proc.wait_for(rf"{re.escape(text)}$", WAIT_S)  # output may interleave on one line


def _search(pattern: str, text: str, what: str) -> re.Match[str]:
    found = re.search(pattern, text, re.MULTILINE)
    if found is None:
        raise AssertionError(f"the openssl tool printed no {what} (/{pattern}/)")
    return found


def _wait_key_updates(stream: CoreStream, count: int) -> None:
    stream._until(lambda: stream.key_updates("receive") >= count, f"KeyUpdate number {count}")


def _our_client(binary: str, case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    argv: list[Any] = [
        binary, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3",
        "-cert", bundle.server_pem, "-key", bundle.server_key,
        "-groups", _OPENSSL_GROUP[case.group], "-ciphersuites", case.suite,
        "-keymatexport", EXPORTER_LABEL, "-keymatexportlen", "32",
    ]  # fmt: skip
    kw = client_kwargs(case, bundle)
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        argv += ["-Verify", "1", "-CAfile", cb.ca_pem, "-verify_return_error"]
        kw["client_certificate"] = client_key(cb)
    if case.feature == "alpn":
        argv += ["-alpn", "h2,http/1.1"]
        kw["alpn_protocols"] = (b"http/1.1",)
    notes: list[str] = []
    with LineProcess(argv, stdin=True) as server:
        port = int(server.wait_for(r"^ACCEPT .*:(\d+)$", WAIT_S).group(1))
        stream = connect(port, ClientConfig(**kw))
        info = stream.conn.info
        ours_exporter = stream.exporter()
        stream.send(b"ping from nautilus\n")
        cipher = server.wait_for(r"^CIPHER is (\S+)", WAIT_S).group(1)
        theirs_exporter = _exporter(server)
        _s_line(server, "ping from nautilus")
        server.write("pong from openssl\n")
        expect_equal(stream.recv_until(b"\n"), b"pong from openssl\n", "data from s_server")
        if case.feature == "key-update":
            stream.key_update(request_peer=True)
            stream.send(b"sent after our KeyUpdate\n")
            _s_line(server, "sent after our KeyUpdate")
            server.write("answer after our KeyUpdate\n")
            expect_equal(
                stream.recv_until(b"\n"), b"answer after our KeyUpdate\n", "data after KeyUpdate"
            )
            expect(
                stream.key_updates("receive") >= 1,
                "s_server did not answer our KeyUpdate with its own",
            )
            notes.append("s_server answered our KeyUpdate")
        if case.feature == "peer-key-update":
            for n, letter in enumerate("kK", start=1):
                server.write(f"{letter}\n")
                _wait_key_updates(stream, n)
                server.write(f"after {letter}\n")
                expect_equal(
                    stream.recv_until(b"\n"),
                    f"after {letter}\n".encode(),
                    "data after s_server's KeyUpdate",
                )
                stream.send(f"reply after {letter}\n".encode())
                _s_line(server, f"reply after {letter}")
            answered = stream.key_updates("send", requested_by_peer=True)
            expect_equal(answered, 1, "KeyUpdates we sent because s_server asked ('K' only)")
            notes.append("s_server's k and K both applied; we answered K")
        stream.close()
    info = check_info(info, case)
    expect_equal(cipher, case.suite, "cipher suite (s_server)")
    expect_equal(theirs_exporter, ours_exporter, "exporter value (s_server vs ours)")
    if case.client_cert:
        text = server.text()
        expect(f"CN = {CLIENT_CN}" in text, "s_server printed no client certificate subject")
        expect("verify error" not in text, "s_server reported a verify error")
        notes.append(f"s_server verified our {case.client_cert} client certificate")
    if case.feature == "alpn":
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        notes.append("ALPN http/1.1")
    return "; ".join([f"s_server cipher {cipher}; exporter equal", *notes])


def _our_server(binary: str, case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    kw: dict[str, Any] = {
        "certificates": (server_key(bundle),),
        "groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": None,
    }
    groups = _OPENSSL_GROUP[case.group]
    if case.feature == "hrr":
        groups = f"X25519:{groups}"
    argv: list[Any] = [
        binary, "s_client", "-connect", "", "-servername", "localhost", "-tls1_3",
        "-groups", groups, "-ciphersuites", case.suite,
        "-CAfile", bundle.ca_pem, "-verify_return_error", "-verify_hostname", "localhost",
        "-keymatexport", EXPORTER_LABEL, "-keymatexportlen", "32",
    ]  # fmt: skip
    if case.scheme != NATURAL_SCHEME[case.cert]:
        argv += ["-sigalgs", case.scheme]
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        kw.update(client_auth="require", client_trust_store=trust(cb.ca_pem))
        argv += ["-cert", cb.client_pem, "-key", cb.client_key]
    if case.feature == "alpn":
        kw["alpn_protocols"] = (b"h2", b"http/1.1")
        argv += ["-alpn", "http/1.1"]
    notes: list[str] = []
    with CoreServer(ServerConfig(**kw), echo_handler()) as server:
        argv[3] = f"127.0.0.1:{server.port}"
        with LineProcess(argv, stdin=True) as client:
            theirs_exporter = _exporter(client)  # printed after the rest of the session summary
            summary = client.text()
            verify = _search(r"Verify return code: (\d+) \((.*)\)", summary, "verify result")
            cipher = _search(r"New, TLSv1\.3, Cipher is (\S+)", summary, "cipher").group(1)
            client.write("hello from s_client\n")
            _s_line(client, "hello from s_client")
            if case.feature == "key-update":
                client.write(f"please update {KEY_UPDATE_MARKER.decode()}\n")
                _s_line(client, f"please update {KEY_UPDATE_MARKER.decode()}")
                client.write("after our KeyUpdate\n")  # s_client's answering KeyUpdate goes first
                _s_line(client, "after our KeyUpdate")
            if case.feature == "peer-key-update":
                for letter in "kK":
                    client.write(f"{letter}\n")
                    client.wait_for(r"^KEYUPDATE$", WAIT_S)
                    client.write(f"after {letter}\n")  # the KeyUpdate goes out before this
                    _s_line(client, f"after {letter}")
            client.close_stdin()  # s_client sends close_notify and exits
            client.wait(WAIT_S)
            served = server.one()
        text = client.text()
    info = served.info
    info = check_info(info, case)
    expect_equal(
        verify.group(1), "0", f"s_client verification of our certificate ({verify.group(2)})"
    )
    expect_equal(cipher, case.suite, "cipher suite (s_client)")
    temp_key = re.search(r"Server Temp Key: (?:ECDH, )?([^,]+),", text)
    expect(temp_key is not None, "s_client printed no Server Temp Key")
    assert temp_key is not None
    expect_equal(temp_key.group(1), _TEMP_KEY[case.group], "group (s_client)")
    sig = re.search(r"Peer signature type: (\S+)", text)
    digest = re.search(r"Peer signing digest: (\S+)", text)
    expect_equal(
        (sig.group(1) if sig else None, digest.group(1) if digest else None),
        _SIG_TYPE[case.scheme],
        "peer signature type and digest (s_client)",
    )
    expect_equal(theirs_exporter, served.report["exporter"], "exporter value (s_client vs ours)")
    stream = served.stream
    assert stream is not None
    if case.client_cert:
        expect(
            CLIENT_CN in str(info.peer_certificate_subject),
            f"client certificate subject (ours): {info.peer_certificate_subject}",
        )
        notes.append(
            f"we verified s_client's {case.client_cert} certificate ({info.client_certificate_scheme})"
        )
    if case.feature == "alpn":
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        expect("ALPN protocol: http/1.1" in text, "s_client did not report ALPN http/1.1")
        notes.append("ALPN http/1.1")
    if case.feature == "key-update":
        expect(stream.key_updates("receive") >= 1, "s_client did not answer our KeyUpdate")
        notes.append("s_client answered our KeyUpdate")
    if case.feature == "peer-key-update":
        expect(
            stream.key_updates("receive") >= 2,
            f"we saw {stream.key_updates('receive')} of s_client's 2 KeyUpdates",
        )
        expect_equal(
            stream.key_updates("send", requested_by_peer=True),
            1,
            "KeyUpdates we answered ('K' only)",
        )
        notes.append("s_client's k and K both applied; we answered K")
    return "; ".join(
        [
            f"s_client: {cipher}, {temp_key.group(1)}, {sig.group(1) if sig else '?'}, exporter equal",
            *notes,
        ]
    )


PEER = OpenSSLPeer()
