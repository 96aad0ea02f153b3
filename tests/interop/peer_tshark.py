"""tshark (Wireshark 4.0, Debian package ``tshark``): decrypts a loopback capture of a Nautilus
connection with the SSLKEYLOGFILE that Nautilus wrote, and finds the application data in clear.

The capture is taken by tshark itself (``-i lo -f "tcp port N"``, root needed); the case
waits for tshark's "Capturing on" line before connecting, and for the two FIN segments before
stopping it. The capture is then read back twice: without the key log (the secret tokens must
not appear) and with it (``-o tls.keylog_file:F``: they must, and so must the encrypted
handshake messages). The side that writes the key log is ours (``role``); the other end is our
own as well, or curl for ``nautilus-tls serve --keylog``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

from interop import serve
from interop.matrix import (
    NATURAL_SCHEME,
    SUITES,
    Case,
    Env,
    PeerUnavailable,
    Role,
    Unsupported,
    expect,
    expect_equal,
)
from interop.ours import (
    CoreServer,
    client_key,
    connect,
    echo_handler,
    group_codes,
    server_key,
    suite_codes,
    trust,
)
from interop.procs import LineProcess

from nautilus_tls.config import ClientConfig, ServerConfig

NAME = "tshark"
START_S = 30.0
READ_S = 120
PROBE_S = 0.5
_INSTALL = "DEBIAN_FRONTEND=noninteractive apt-get install -y tshark (.ci/run does this)"
# Handshake types that only a decrypting dissector sees in TLS 1.3.
_ENCRYPTED_HANDSHAKE = {
    "8": "EncryptedExtensions",
    "11": "Certificate",
    "15": "CertificateVerify",
    "20": "Finished",
}


def tshark_binary() -> str | None:
    return shutil.which("tshark")


class TsharkPeer:
    name = NAME
    roles: tuple[Role, ...] = ("client", "server")

    def availability(self) -> str | None:
        if tshark_binary() is None:
            return f"tshark is not installed; {_INSTALL}"
        if os.geteuid() != 0 and shutil.which("dumpcap") is None:
            return "capturing on loopback needs root or dumpcap with capabilities"
        return None

    def version(self) -> str:
        binary = tshark_binary()
        if binary is None:
            return "missing"
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        return " ".join(done.stdout.split()[:3]) or "?"  # "TShark (Wireshark) 4.0.17"

    def cases(self) -> list[Case]:
        c = functools.partial(Case, NAME)
        return [
            c("server", "X25519MLKEM768", SUITES[0], "mldsa65", "mldsa65", "keylog", note="our server writes the key log"),
            c("server", "SecP384r1MLKEM1024", SUITES[1], "ecdsa-p384", NATURAL_SCHEME["ecdsa-p384"], "keylog",
              note="our server writes the key log; mutual TLS", client_cert="mldsa44"),
            c("server", "x25519", SUITES[2], "rsa2048", NATURAL_SCHEME["rsa2048"], "key-update",
              note="our server writes the key log; a KeyUpdate each way mid-stream"),
            c("client", "MLKEM768", SUITES[1], "ed25519", "ed25519", "keylog", note="our client writes the key log"),
            c("client", "SecP256r1MLKEM768", SUITES[2], "mldsa87", "mldsa87", "key-update",
              note="our client writes the key log; a KeyUpdate each way mid-stream"),
            c("server", "x25519", SUITES[0], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "keylog-cli",
              note="nautilus-tls serve --mode http --keylog F, fetched by curl"),
        ]  # fmt: skip

    def run(self, case: Case, env: Env) -> str:
        binary = tshark_binary()
        if binary is None:
            raise Unsupported("tshark disappeared")
        work = env.scratch("tshark")
        keylog = work / "keys.log"
        pcap = work / "capture.pcapng"
        token = f"nautilus-in-clear-{os.urandom(6).hex()}"
        if case.feature == "keylog-cli":
            return _cli_case(binary, case, env, work, keylog, pcap, token)
        return _core_case(binary, case, env, keylog, pcap, token)


class Capture:
    """``tshark -i lo -f "tcp port N or udp port P" -w FILE``, printing a line per packet.

    tshark says "Capturing on" a little before packets really flow, so readiness is proven
    with UDP probes to a socket of ours on port P until tshark prints one (bounded).
    """

    def __init__(self, binary: str, port: int, pcap: Path) -> None:
        self._probe_rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._probe_rx.bind(("127.0.0.1", 0))
        probe_port = self._probe_rx.getsockname()[1]
        argv: list[str | Path] = [binary, "-i", "lo", "-f", f"tcp port {port} or udp port {probe_port}", "-w", pcap,
                "-P", "-l", "-n", "-a", "duration:120"]  # fmt: skip
        self.process = LineProcess(argv, stop_signal=signal.SIGINT)

    def __enter__(self) -> Capture:
        self.process.start()
        try:
            self.process.wait_for(r"Capturing on", START_S, stream="stderr")
            self._probe()
        except (EOFError, TimeoutError) as exc:
            self.close()
            raise PeerUnavailable(f"tshark cannot capture on loopback: {exc}") from exc
        return self

    def _probe(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for _ in range(int(START_S / PROBE_S)):
                tx.sendto(b"probe", self._probe_rx.getsockname())
                try:
                    self.process.wait_for(r"\bUDP\b", PROBE_S, stream="stdout")
                    return
                except TimeoutError:
                    continue
        raise TimeoutError(
            f"tshark saw none of our UDP probes in {START_S:g}s{self.process.tail()}"
        )

    def wait_for_fins(self, timeout: float = 20.0) -> None:
        """Both FIN segments (or a RST) seen: everything of the connection is captured."""
        for _ in range(2):
            end = self.process.wait_for(r"\[(FIN|RST)\b", timeout, stream="stdout")
            if end.group(1) == "RST":
                return

    def close(self) -> None:
        self.process.stop()
        self._probe_rx.close()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tshark(binary: str, *args: str | Path) -> str:
    done = subprocess.run(
        [binary, "-n", *map(str, args)], capture_output=True, text=True, timeout=READ_S, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"tshark {' '.join(map(str, args))} failed: {done.stderr.strip()[-500:]}"
        )
    return done.stdout


def _follow(binary: str, pcap: Path, keylog: Path | None) -> str:
    opts: list[str | Path] = ["-r", pcap, "-q", "-z", "follow,tls,ascii,0"]
    if keylog is not None:
        opts = ["-o", f"tls.keylog_file:{keylog}", *opts]
    return _tshark(binary, *opts)


def _decrypted_handshake_types(binary: str, pcap: Path, keylog: Path) -> set[str]:
    out = _tshark(binary, "-o", f"tls.keylog_file:{keylog}", "-r", pcap, "-Y", "tls.handshake.type",
                  "-T", "fields", "-e", "tls.handshake.type")  # fmt: skip
    return {t for line in out.split() for t in line.split(",")}


def _verify(binary: str, pcap: Path, keylog: Path, tokens: list[str]) -> str:
    text = keylog.read_text()
    labels = sorted(set(re.findall(r"^([A-Z_0-9]+) ", text, re.MULTILINE)))
    expect(
        {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
         "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"} <= set(labels),
        f"key log lacks TLS 1.3 secrets: {labels}",
    )  # fmt: skip
    blind = _follow(binary, pcap, None)
    for token in tokens:
        expect(
            token not in blind,
            f"{token!r} readable without the key log: the capture is not encrypted?",
        )
    clear = _follow(binary, pcap, keylog)
    missing = [t for t in tokens if t not in clear]
    expect(
        not missing,
        f"tshark did not decrypt {missing} with our key log (follow tls: {clear[-400:]!r})",
    )
    types = _decrypted_handshake_types(binary, pcap, keylog)
    unseen = [name for code, name in _ENCRYPTED_HANDSHAKE.items() if code not in types]
    expect(
        not unseen,
        f"tshark could not decrypt the handshake messages {unseen} (saw types {sorted(types)})",
    )
    return f"tshark decrypted {len(tokens)} secret message(s) and {', '.join(_ENCRYPTED_HANDSHAKE.values())} with our key log ({len(labels)} labels)"


def _core_case(binary: str, case: Case, env: Env, keylog: Path, pcap: Path, token: str) -> str:
    bundle = env.bundle(case.cert)
    server_kw: dict[str, Any] = {
        "certificates": (server_key(bundle),),
        "groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": str(keylog) if case.role == "server" else None,
    }
    client_kw: dict[str, Any] = {
        "trust_store": trust(bundle.ca_pem),
        "groups": group_codes(case.group),
        "key_share_groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": str(keylog) if case.role == "client" else None,
    }
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        server_kw.update(client_auth="require", client_trust_store=trust(cb.ca_pem))
        client_kw["client_certificate"] = client_key(cb)
    tokens = [token]
    with (
        CoreServer(ServerConfig(**server_kw), echo_handler()) as server,
        Capture(binary, server.port, pcap) as cap,
    ):
        stream = connect(server.port, ClientConfig(**client_kw))
        stream.send(token.encode())
        expect_equal(stream.recv_exactly(len(token)), token.encode(), "echo")
        if case.feature == "key-update":
            stream.key_update(request_peer=True)
            second = token + "-after-key-update"
            stream.send(second.encode())
            expect_equal(stream.recv_exactly(len(second)), second.encode(), "echo after KeyUpdate")
            expect(stream.key_updates("receive") >= 1, "our server did not answer the KeyUpdate")
            tokens.append(second)
        stream.close()
        stream.sock.close()
        server.one()
        cap.wait_for_fins()
    detail = _verify(binary, pcap, keylog, tokens)
    if case.feature == "key-update":
        types = _decrypted_handshake_types(binary, pcap, keylog)
        expect("24" in types, "tshark did not see the KeyUpdate (handshake type 24)")
        detail += "; KeyUpdates decrypted and followed"
    return detail


def _cli_case(
    binary: str, case: Case, env: Env, work: Path, keylog: Path, pcap: Path, token: str
) -> str:
    missing = serve.availability()
    if missing:
        raise AssertionError(f"nautilus-tls serve is not usable: {missing}")
    curl = shutil.which("curl")
    if curl is None:
        raise PeerUnavailable("this case fetches the page with curl, which is not installed")
    bundle = env.bundle(case.cert)
    args = ["--mode", "http", "--cert", str(bundle.server_pem), "--key", str(bundle.server_key),
            "--groups", case.group, "--suites", case.suite, "--keylog", str(keylog)]  # fmt: skip
    with serve.NautilusServe(*args) as server, Capture(binary, server.port, pcap) as cap:
        done = subprocess.run(
            [curl, "--silent", "--show-error", "--tlsv1.3", "--max-time", "30", "--noproxy", "*",
             "--cacert", str(bundle.ca_pem), "--resolve", f"localhost:{server.port}:127.0.0.1",
             f"https://localhost:{server.port}/{token}"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        expect(done.returncode == 0, f"curl failed: {done.stderr.strip()[-300:]}")
        record = server.next_handshake()
        cap.wait_for_fins()
    expect_equal(record.get("group"), case.group, "group (serve --json-log)")
    detail = _verify(
        binary, pcap, keylog, [f"GET /{token} HTTP/1.1", "<title>Nautilus TLS</title>"]
    )
    return f"{detail}; the request line and the page were in clear"


PEER = TsharkPeer()
