"""``nautilus-tls``: make certificates, run a server, connect to one, or watch the demo.

Subcommands::

    nautilus-tls cert     [--alg mldsa65] [--out DIR] [--name localhost ...]
    nautilus-tls serve    [--host H] [--port P] [--cert F --key F] [--client-ca F]
                          [--require-client-cert] [--groups LIST] [--suites LIST] [--alpn LIST]
                          [--mode echo|http] [--keylog F] [--json-log] [--x509-profile P]
                          [--workers N] [--ticket-key-file F]
    nautilus-tls connect  HOST:PORT [--servername N] [--cafile F] [--insecure] [--cert F --key F]
                          [--groups LIST] [--suites LIST] [--alpn LIST] [--send TEXT] [--json]
                          [--x509-profile webpki|private] [--ragged-eof error|allow]
    nautilus-tls demo     [--alg mldsa65] [--mutual] [--json]
    nautilus-tls asgi     MODULE:APP --cert F --key F [--host H] [--port P] [--workers N]
    nautilus-tls algorithms [--measure] [--markdown | --json] [--output F]
    nautilus-tls ledger   serve|add|monitor ...   (a transparency log; see nautilus_tls.ledger.cli)
    nautilus-tls did      create --method key|web ...   (DIDs, raw keys; see nautilus_tls.cli_did)
    nautilus-tls pake     register|remove --store F --user U [--method opaque|spake2plus]
                          (password logins' record store; see nautilus_tls.cli_pake)

``serve --quic`` and ``connect --quic [--get PATH]`` run the same over QUIC (UDP) and HTTP/3;
see nautilus_tls.cli_quic.

serve and connect also take ``--policy pq-only|hybrid|compat``, ``--min-security-level N``
and ``--sigalgs LIST`` (same as ``--schemes``); connect ``--key-shares LIST``, serve
``--preference server|client``. Groups, suites and signature schemes are named as
``nautilus-tls algorithms`` lists them (IANA names such as ``X25519MLKEM768``,
``TLS_AES_256_GCM_SHA384``, ``mldsa65``; private-use ones such as ``X25519HQC256``,
``slhdsa_sha2_128f``), comma-separated, in preference order.

Exit status: 0 on success, 1 when a connection or handshake fails (the message names the
alert), 2 for usage and configuration errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import logging
import os
import re
import socket
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from nautilus_tls import (
    _version,
    cli_adaptive,
    cli_asgi,
    cli_certs,
    cli_composite,
    cli_connect,
    cli_did,
    cli_pake,
    cli_quic,
    cli_risk,
    cli_sessions,
    cli_workers,
)
from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.cli_jsonlog import print_json_line, print_line
from nautilus_tls.cli_pake import add_pake_command, cmd_pake
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto.provider import (
    DEFAULT_PROVIDER,
    with_bike,
    with_composite,
    with_frodokem,
)
from nautilus_tls.crypto.x509 import X509_PROFILES, TrustStore, subject_of
from nautilus_tls.errors import ConfigError, MissingCloseNotify, ProtocolError, TLSError
from nautilus_tls.ledger import cli as ledger_cli
from nautilus_tls.ledger.cli import add_ledger_command, cmd_ledger
from nautilus_tls.policy import PRESETS, Kind, codes_for_names
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.tools import catalog
from nautilus_tls.tools.certgen import (
    ALGORITHMS,
    CERT_ALGORITHMS,
    COMPOSITE_ALGORITHMS,
    write_pem_bundle,
)
from nautilus_tls.tools.demo import run_demo

__all__ = ["build_parser", "main"]

DEFAULT_CERT_NAMES = ["localhost", "127.0.0.1", "::1"]
DEFAULT_PORT = 8443
REPLY_TIMEOUT = 10.0
"""Seconds ``connect --send`` waits for the server to answer and close."""
CLOSE_AFTER_IDLE = 0.3
"""Seconds of silence from the server after which ``connect --send`` sends close_notify."""
HTTP_REQUEST_TIMEOUT = 30.0
MAX_HTTP_HEAD = 16 * 1024

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A usage or configuration problem: printed as ``error: ...``, exit status 2."""


# --- argument types -----------------------------------------------------------------------


def _names(kind: Kind) -> Any:
    def parse(text: str) -> tuple[int, ...]:
        try:
            return codes_for_names(kind, text, cli_composite.NAMES)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _alpn_list(text: str) -> tuple[bytes, ...]:
    protocols = tuple(p.strip().encode() for p in text.split(",") if p.strip())
    if not protocols:
        raise argparse.ArgumentTypeError("empty ALPN list")
    return protocols


def _host_port(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (or [IPv6]:PORT), got {text!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return host, port


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0"}


def _unescape(text: str) -> str:
    r"""``\n``, ``\r``, ``\t``, ``\0`` and ``\\`` in ``--send`` text."""
    return re.sub(r"\\([nrt0\\])", lambda m: _ESCAPES[m.group(1)], text)


def _format_address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)


# --- the parser -----------------------------------------------------------------------------


def _add_server_options(p: argparse.ArgumentParser) -> None:
    """What a TLS server is configured with, shared by ``serve`` and ``asgi``: client
    certificates, algorithms, tickets and 0-RTT, adaptive choice, DIDs, transparency, key
    rotation, risk levels, password logins."""
    p.add_argument(
        "--client-ca", metavar="F", help="ask for client certificates issued by these CAs"
    )
    p.add_argument(
        "--require-client-cert", action="store_true", help="refuse clients without a certificate"
    )
    _add_tls_options(p)
    p.add_argument(
        "--preference",
        choices=("server", "client"),
        default="server",
        help="whose order picks the suite and group (default server)",
    )
    cli_sessions.add_server_flags(p)
    cli_adaptive.add_server_flags(p)
    cli_did.add_server_flags(p)
    ledger_cli.add_transparency_server_flags(p)
    cli_risk.add_rekey_flags(p)
    cli_risk.add_risk_flags(p)
    cli_pake.add_server_flags(p)


def _add_tls_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--groups",
        type=_names("group"),
        help="key exchange groups in preference order, e.g. X25519MLKEM768,x25519",
    )
    p.add_argument(
        "--suites",
        type=_names("cipher suite"),
        help="cipher suites in preference order, e.g. TLS_AES_256_GCM_SHA384",
    )
    p.add_argument(
        "--schemes",
        "--sigalgs",
        type=_names("signature scheme"),
        help="signature schemes for CertificateVerify, e.g. mldsa65,ed25519",
    )
    p.add_argument(
        "--policy", choices=tuple(PRESETS), help="security policy preset (default hybrid)"
    )
    p.add_argument(
        "--min-security-level",
        type=int,
        default=0,
        metavar="BITS",
        help="drop algorithms below this level (128, 192, 256; see 'algorithms')",
    )
    p.add_argument("--alpn", type=_alpn_list, help="ALPN protocols, e.g. h2,http/1.1")
    p.add_argument("--keylog", metavar="F", help="append TLS secrets to F (NSS key log format)")
    p.add_argument(
        "--ragged-eof",
        choices=("error", "allow"),
        default="error",
        help="a peer that closes without close_notify: error (default; possible truncation) "
        "or allow (a clean end after whole records)",
    )
    p.add_argument(
        "--x509-profile",
        choices=X509_PROFILES,
        default="webpki",
        help="how the peer's certificates are checked: webpki (default, CA/Browser Forum "
        "rules) or private (also accepts a CA without keyUsage, as openssl req -x509 makes)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nautilus-tls",
        description="Post-quantum TLS 1.3: hybrid ML-KEM key exchange, ML-DSA certificates.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cert = sub.add_parser("cert", help="make a development CA, server and client certificate")
    cert.add_argument(
        "--alg",
        choices=CERT_ALGORITHMS,
        default="mldsa65",
        help="key algorithm (default mldsa65; mldsa65-ecdsa-p256 and mldsa65-ed25519 are "
        "composite ML-DSA, draft-ietf-lamps-pq-composite-sigs, for Nautilus peers only)",
    )
    cert.add_argument(
        "--out",
        default="nautilus-certs",
        metavar="DIR",
        help="output directory (default ./nautilus-certs)",
    )
    cert.add_argument(
        "--name",
        action="append",
        metavar="NAME",
        help="DNS name or IP address for the server certificate (repeatable; "
        "default localhost, 127.0.0.1, ::1)",
    )

    serve = sub.add_parser("serve", help="run a TLS server (echo or a small HTTP page)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks one)"
    )
    serve.add_argument(
        "--cert",
        metavar="F",
        action="append",
        help="certificate chain PEM (default: make a development bundle); repeatable with "
        "--key: each connection gets the pair that fits its SNI and signature algorithms",
    )
    serve.add_argument(
        "--key", metavar="F", action="append", help="private key PEM for the matching --cert"
    )
    serve.add_argument(
        "--alg",
        choices=CERT_ALGORITHMS,
        default="mldsa65",
        help="algorithm of a generated bundle (as for cert; a composite one needs clients that "
        "offer its scheme)",
    )
    serve.add_argument(
        "--cert-dir",
        metavar="DIR",
        help="where to write a generated bundle (default: a new temp dir)",
    )
    serve.add_argument(
        "--mode", choices=("echo", "http"), default="echo", help="echo (default) or http"
    )
    serve.add_argument(
        "--json-log", action="store_true", help="print one JSON object per finished handshake"
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="do not log failed handshakes")
    _add_server_options(serve)
    cli_workers.add_worker_flags(serve)

    conn = sub.add_parser("connect", help="connect to a TLS server")
    conn.add_argument("address", type=_host_port, metavar="HOST:PORT")
    conn.add_argument(
        "--servername", metavar="N", help="server name for SNI and verification (default HOST)"
    )
    conn.add_argument("--cafile", metavar="F", help="trust these CAs (default: the system roots)")
    conn.add_argument(
        "--insecure",
        action="store_true",
        help="do NOT verify the server certificate (testing only)",
    )
    conn.add_argument("--cert", metavar="F", help="client certificate chain PEM")
    conn.add_argument("--key", metavar="F", help="private key PEM for --cert")
    conn.add_argument(
        "--send", metavar="TEXT", help=r"send TEXT (\n, \r, \t escapes), print the reply, exit"
    )
    conn.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    conn.add_argument(
        "--timeout",
        type=float,
        default=REPLY_TIMEOUT,
        help="seconds to wait for a --send reply (default 10; with --quic: for the whole "
        "connection, handshake included)",
    )
    _add_tls_options(conn)
    conn.add_argument(
        "--key-shares",
        type=_names("group"),
        metavar="LIST",
        help="groups to send key shares for (default: the policy's share group when it is in "
        "--groups, else the first of --groups)",
    )
    cli_sessions.add_client_flags(conn)
    cli_adaptive.add_client_flags(conn)
    cli_connect.add_connect_flags(conn)
    cli_quic.add_flags(serve, conn)
    cli_did.add_client_flags(conn)
    ledger_cli.add_transparency_client_flags(conn)
    cli_risk.add_rekey_flags(conn)
    cli_pake.add_client_flags(conn)
    cli_sessions.add_ticket_keys_command(sub)

    demo = sub.add_parser("demo", help="a full post-quantum handshake on 127.0.0.1, explained")
    demo.add_argument(
        "--alg",
        choices=ALGORITHMS,
        default="mldsa65",
        help="certificate algorithm (default mldsa65)",
    )
    demo.add_argument(
        "--mutual", action="store_true", help="also authenticate the client with a certificate"
    )
    demo.add_argument("--json", action="store_true", help="print the report as JSON")

    add_ledger_command(sub)
    cli_asgi.add_asgi_command(sub, server_options=_add_server_options)
    cli_did.add_did_command(sub)
    add_pake_command(sub)

    algs = sub.add_parser(
        "algorithms", help="list every group, cipher suite and signature scheme (and cost)"
    )
    algs.add_argument(
        "--measure", action="store_true", help="time keygen/encaps/decaps, sign/verify, seal/open"
    )
    fmt = algs.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="a Markdown document")
    fmt.add_argument("--json", action="store_true", help="JSON")
    algs.add_argument("--output", metavar="F", help="write to F instead of standard output")
    algs.add_argument(
        "--readme",
        metavar="F",
        help="also put the Markdown tables into F between the generated-algorithms markers",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "cert": cmd_cert,
        "serve": cmd_serve,
        "connect": cmd_connect,
        "demo": cmd_demo,
        "algorithms": cmd_algorithms,
        "ticket-keys": cli_sessions.cmd_ticket_keys,
        "ledger": cmd_ledger,
        "asgi": cmd_asgi,
        "did": cli_did.cmd_did,
        "pake": cmd_pake,
    }
    try:
        return commands[args.command](args)
    except (CliError, ConfigError, cli_did.DidUsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _common_config(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if args.groups:
        kw["groups"] = args.groups
    if args.suites:
        kw["cipher_suites"] = args.suites
    if args.schemes:
        kw["signature_schemes"] = args.schemes
    if args.policy:
        kw["policy"] = args.policy
    if args.min_security_level:
        kw["min_security_level"] = args.min_security_level
    if args.alpn:
        kw["alpn_protocols"] = args.alpn
    if args.keylog:
        kw["keylog_file"] = args.keylog
    kw["x509_profile"] = args.x509_profile
    kw["ragged_eof"] = args.ragged_eof
    kw.update(cli_risk.rekey_kwargs(args))
    return kw


def _load_key_pair(cert: str | None, key: str | None) -> CertifiedKey | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise CliError("--cert and --key go together")
    return cli_certs.load_pair(cert, key)


def _log_record(info: SessionInfo, peer: Any) -> dict[str, object]:
    """The fields ``serve --json-log`` and ``connect --json`` share."""
    return {
        "version": info.version,
        "cipher_suite": info.cipher_suite,
        "group": info.group,
        "signature_scheme": info.signature_scheme,
        "alpn": info.alpn,
        "client_certificate": None,
        "peer": _format_address(peer),
        "resumed": info.resumed,
        "early_data": info.early_data,
        "early_data_sent": info.early_data_sent,
        "hello_retry": info.hello_retry,
        **cli_did.session_record(info),
    }


def cmd_asgi(args: argparse.Namespace) -> int:
    if args.threat_level_file:
        # uvicorn handles SIGTERM/SIGINT only: a SIGHUP would end the server, not re-read.
        raise CliError("--threat-level-file needs serve (asgi re-reads nothing on SIGHUP)")
    certified = (cli_certs.load_pair(args.cert, args.key),)
    return cli_asgi.cmd_asgi(args, certified, _server_kwargs(args, certified, None))


# --- cert -------------------------------------------------------------------------------------


def cmd_cert(args: argparse.Namespace) -> int:
    names = args.name or DEFAULT_CERT_NAMES
    paths = write_pem_bundle(args.out, args.alg, names)
    print(f"wrote a {args.alg} development bundle for {', '.join(names)}:")
    for label, path in paths.items():
        print(f"  {label:<11} {path}")
    out = Path(args.out)
    print(f"serve:   nautilus-tls serve --cert {out / 'server.pem'} --key {out / 'server.key'}")
    print(f"connect: nautilus-tls connect localhost:{DEFAULT_PORT} --cafile {out / 'ca.pem'}")
    if args.alg in COMPOSITE_ALGORITHMS:
        print("composite keys: only Nautilus peers whose configs list the composite schemes")
        print("(provider with_composite(DEFAULT_PROVIDER); code points 0xFE10/0xFE11) accept them")
    return EXIT_OK


# --- serve ------------------------------------------------------------------------------------


def _server_config(args: argparse.Namespace) -> ServerConfig:
    generated_ca: Path | None = None
    certified = cli_certs.load_pairs(args.cert, args.key)
    if cli_pake.pake_alone(args):
        print(
            "no --cert given: password logins only (PAKE alone, no certificate is sent; "
            "clients: connect --pake-user NAME)",
            flush=True,
        )
    elif not certified:
        out = (
            Path(args.cert_dir)
            if args.cert_dir
            else Path(tempfile.mkdtemp(prefix="nautilus-certs-"))
        )
        names = list(DEFAULT_CERT_NAMES)
        if args.host not in names and args.host not in ("0.0.0.0", "::", ""):
            names.append(args.host)
        paths = write_pem_bundle(out, args.alg, names)
        certified = (CertifiedKey.from_files(paths["server_pem"], paths["server_key"]),)
        generated_ca = paths["ca_pem"]
        print(
            f"no --cert given: made a {args.alg} development bundle in {out} "
            f"(clients: --cafile {paths['ca_pem']}; client certificate: {paths['client_pem']})",
            flush=True,
        )
    return ServerConfig(certificates=certified, **_server_kwargs(args, certified, generated_ca))


def _server_kwargs(
    args: argparse.Namespace, certified: tuple[CertifiedKey, ...], generated_ca: Path | None
) -> dict[str, Any]:
    """The ServerConfig arguments of the flags _add_server_options adds (and workers')."""
    kw = _common_config(args)
    ca_file = Path(args.client_ca) if args.client_ca else None
    if args.require_client_cert and ca_file is None:
        if generated_ca is None:
            raise CliError("--require-client-cert needs --client-ca")
        ca_file = generated_ca
    if ca_file is not None:
        kw["client_trust_store"] = TrustStore.from_file(ca_file)
        kw["client_auth"] = "require" if args.require_client_cert else "request"
    kw.update(cli_sessions.server_kwargs(args))
    kw.update(cli_adaptive.server_kwargs(args))
    kw.update(cli_workers.server_kwargs(args))
    _add_options(kw, cli_did.server_kwargs(args))
    kw.update(cli_risk.risk_kwargs(args))
    kw["preference"] = args.preference
    _add_options(kw, ledger_cli.transparency_server_kwargs(args, [c.chain for c in certified]))
    kw.update(cli_pake.server_kwargs(args))
    kw.update(cli_composite.server_kwargs(kw, certified))
    return kw


def _add_options(kw: dict[str, Any], more: dict[str, Any]) -> None:
    """``kw.update(more)``, except that extension plug-ins from several options (a DID, a
    transparency stapler) add up instead of replacing each other."""
    hooks = (*kw.get("extension_hooks", ()), *more.get("extension_hooks", ()))
    kw.update(more)
    if hooks:
        kw["extension_hooks"] = hooks


def cmd_serve(args: argparse.Namespace) -> int:
    config = _server_config(args)
    cli_sessions.warn_if_no_tickets(config, args.ticket_store)
    if args.quic:
        config = cli_quic.serve_config(args, config)
    else:
        cli_quic.refuse_quic_only_serve_flags(args)
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("nautilus-tls: %(message)s"))
        for name in ("nautilus_tls.aio", "nautilus_tls.risk"):  # handshakes, risk levels
            adapter_log = logging.getLogger(name)
            adapter_log.addHandler(handler)
            adapter_log.setLevel(logging.DEBUG)
    if args.workers > 1:
        return cli_workers.run(args, lambda sock: asyncio.run(_serve(args, config, sock)))
    try:
        asyncio.run(cli_quic.serve(args, config) if args.quic else _serve(args, config))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return EXIT_OK


async def _serve(
    args: argparse.Namespace, config: ServerConfig, sock: socket.socket | None = None
) -> None:
    async def handle(reader: TLSReader, writer: TLSWriter) -> None:
        info = writer.info
        peer = writer.get_extra_info("peername")
        record = _log_record(info, peer)
        if sock is not None:  # one of --workers N: say which one answered
            record["worker"] = os.getpid()
        record["client_certificate"] = info.peer_certificate_subject
        record["client_certificate_names"] = list(info.peer_certificate_names)
        record.update(cli_adaptive.session_fields(info))
        record.update(cli_risk.log_fields(info))
        if args.json_log:
            print_json_line(record)
        else:
            print_line(
                f"handshake from {record['peer']}: {info.version} {info.group or '-'} "
                f"{info.cipher_suite} {info.signature_scheme or '-'} alpn={info.alpn or '-'} "
                f"client_certificate={info.peer_certificate_subject or '-'} "
                f"resumed={'yes' if info.resumed else 'no'} "
                f"hello_retry={'yes' if info.hello_retry else 'no'}"
            )
        try:
            if args.mode == "http":
                await _answer_http(reader, writer, record)
            else:
                if reader.early_data:  # echoing is safe to repeat, so 0-RTT data is echoed too
                    writer.write(reader.early_data)
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
        except (TLSError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            if not args.quiet:
                print(
                    f"nautilus-tls: connection from {record['peer']} ended: {exc}",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            writer.close()

    if sock is not None:  # a pre-forked worker: the parent has said where it listens
        server = await start_server(handle, sock=sock, config=config)
    else:
        server = await start_server(handle, args.host, args.port, config=config)
        address = server.sockets[0].getsockname()
        print(f"listening on {_format_address(address)}", flush=True)
    cli_risk.watch_threat_level(args, config)
    async with server:
        await server.serve_forever()


async def _head_after_early_data(reader: TLSReader) -> bytes:
    """The request head when (part of) it came as 0-RTT data: the early bytes, then what
    followed after the handshake, up to the blank line."""
    buf = bytearray(reader.early_data)
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HTTP_HEAD:
            raise asyncio.LimitOverrunError("request head too large", len(buf))
        chunk = await reader.read(4096)
        if not chunk:
            raise asyncio.IncompleteReadError(bytes(buf), None)
        buf += chunk
    return bytes(buf[: buf.index(b"\r\n\r\n") + 4])


async def _answer_http(reader: TLSReader, writer: TLSWriter, record: dict[str, object]) -> None:
    early = bool(reader.early_data)
    try:
        if early:
            head = await asyncio.wait_for(_head_after_early_data(reader), HTTP_REQUEST_TIMEOUT)
        else:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_REQUEST_TIMEOUT)
    except asyncio.LimitOverrunError:
        _http_response(writer, 431, "Request Header Fields Too Large", "request head too large\n")
        return
    except asyncio.IncompleteReadError:
        return  # the client went away before finishing its request
    if len(head) > MAX_HTTP_HEAD:
        _http_response(writer, 431, "Request Header Fields Too Large", "request head too large\n")
        return
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        _http_response(writer, 400, "Bad Request", "bad request\n")
        return
    method, target = parts[0], parts[1]
    if early and method not in ("GET", "HEAD"):
        # RFC 8470 §5.2: 0-RTT can be replayed; only safe methods are answered from it.
        _http_response(writer, 425, "Too Early", "send this request after the handshake\n")
        return
    if method not in ("GET", "HEAD"):
        _http_response(
            writer, 405, "Method Not Allowed", "only GET\n", extra="Allow: GET, HEAD\r\n"
        )
        return
    rows = "\n".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v) if v is not None else '-')}</td></tr>"
        for k, v in record.items()
    )
    page = (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>Nautilus TLS</title></head>\n'
        "<body><h1>Nautilus TLS</h1>\n"
        f"<p>You asked for <code>{html.escape(target)}</code> over post-quantum TLS 1.3. "
        "This connection negotiated:</p>\n"
        f"<table>\n{rows}\n</table>\n</body></html>\n"
    )
    _http_response(
        writer, 200, "OK", page, content_type="text/html; charset=utf-8", head_only=method == "HEAD"
    )


def _http_response(
    writer: TLSWriter,
    status: int,
    reason: str,
    body: str,
    *,
    content_type: str = "text/plain; charset=utf-8",
    extra: str = "",
    head_only: bool = False,
) -> None:
    payload = body.encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"{extra}"
        "Connection: close\r\n\r\n"
    ).encode()
    writer.write(head if head_only else head + payload)


# --- algorithms -------------------------------------------------------------------------------


def cmd_algorithms(args: argparse.Namespace) -> int:
    # The listing includes the add-ons a config must combine explicitly (FrodoKEM, composite
    # ML-DSA, BIKE).
    provider = with_bike(with_composite(with_frodokem(DEFAULT_PROVIDER)))
    table = catalog.rows(provider)
    if args.measure:
        catalog.measure(table, provider=provider)
    if args.markdown:
        text = catalog.render_markdown(table)
    elif args.json:
        text = catalog.render_json(table) + "\n"
    else:
        text = catalog.render_text(table)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    if args.readme:
        readme = Path(args.readme)
        readme.write_text(
            replace_generated_block(
                readme.read_text(encoding="utf-8"), catalog.render_markdown(table)
            ),
            encoding="utf-8",
        )
        print(f"updated the algorithm tables in {args.readme}")
    return EXIT_OK


README_BEGIN = "<!-- BEGIN generated algorithm tables: nautilus-tls algorithms --measure --readme README.md -->"
README_END = "<!-- END generated algorithm tables -->"


def replace_generated_block(document: str, markdown: str) -> str:
    """``document`` with the text between the README markers replaced by ``markdown``'s
    tables (its title dropped, its headings one level down)."""
    begin, end = document.find(README_BEGIN), document.find(README_END)
    if begin < 0 or end < begin:
        raise CliError("the README has no generated-algorithms markers")
    body = markdown.split("\n", 1)[1].replace("\n## ", "\n#### ").strip()
    return document[: begin + len(README_BEGIN)] + "\n" + body + "\n" + document[end:]


# --- connect ----------------------------------------------------------------------------------


def _client_config(args: argparse.Namespace) -> ClientConfig:
    kw = _common_config(args)
    if args.key_shares:
        kw["key_share_groups"] = args.key_shares
    # Otherwise the library's rule decides (policy.initial_key_share_groups), as for any config.
    if args.cafile:
        kw["trust_store"] = TrustStore.from_file(args.cafile)
    if args.insecure:
        kw["insecure_skip_verify"] = True
    client_key = _load_key_pair(args.cert, args.key)
    if client_key is not None:
        kw["client_certificate"] = client_key
    kw.update(cli_sessions.client_kwargs(args))
    kw.update(cli_adaptive.client_kwargs(args))
    kw.update(cli_connect.client_kwargs(args))
    _add_options(kw, cli_did.client_kwargs(args))
    _add_options(kw, ledger_cli.transparency_client_kwargs(args))
    kw.update(cli_pake.client_kwargs(args))
    kw.update(cli_composite.client_kwargs(kw))
    return ClientConfig(**kw)


def cmd_connect(args: argparse.Namespace) -> int:
    if args.insecure:
        print(
            "WARNING: --insecure: the server's certificate is NOT verified. Anyone on the network "
            "path can impersonate the server and read everything. Use only for testing.",
            file=sys.stderr,
            flush=True,
        )
    config = _client_config(args)
    if args.quic or args.get is not None:
        return cli_quic.cmd_connect(args, config)
    try:
        return asyncio.run(_connect(args, config))
    except KeyboardInterrupt:
        return EXIT_FAILED


def _describe_failure(exc: TLSError) -> str:
    # A missing close_notify involves no alert: the peer just closed the socket.
    if isinstance(exc, ProtocolError) and not isinstance(exc, MissingCloseNotify):
        message = exc.args[0] if exc.args else type(exc).__name__
        return f"{exc.alert.name}: {message}{cli_connect.peer_alert_hint(exc)}"
    return str(exc)


async def _connect(args: argparse.Namespace, config: ClientConfig) -> int:
    host, port, server_name = cli_connect.target(args)
    try:
        reader, writer = await connect(
            host,
            port,
            config=config,
            server_name=server_name,
            early_data=cli_sessions.early_data(args),
            connect_timeout=args.connect_timeout,
        )
    except TLSError as exc:
        cli_connect.print_trace_after_failure(args)
        print(
            f"error: TLS handshake with {host}:{port} failed: {_describe_failure(exc)}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except OSError as exc:
        print(f"error: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILED

    info = writer.info
    record = _log_record(info, writer.get_extra_info("peername"))
    credential = config.client_certificate
    if (
        info.client_certificate_scheme
        and credential is not None
        and credential.certificate_type == 0
    ):
        record["client_certificate"] = subject_of(credential.certificate_entries()[0].cert_data)
    record["server_name"] = info.server_name
    record["server_certificate"] = info.peer_certificate_subject
    record["server_certificate_names"] = list(info.peer_certificate_names)
    raw_key = info.certificate_type == "raw_public_key"  # RFC 7250: no certificates
    record["peer_chain"] = [] if raw_key else [subject_of(der) for der in info.peer_certificates]
    record["verified"] = not config.insecure_skip_verify
    record.update(cli_adaptive.session_fields(info))
    cli_connect.extend_record(record, info, args)
    record.update(ledger_cli.transparency_record(args, info))
    record.update(cli_pake.json_fields(info))

    record["key_updates"] = writer.get_extra_info("key_updates")
    if args.send is None:
        if args.json:
            print_json_line(record)
        else:
            _print_session(record, sys.stderr)
        return await _relay(reader, writer)

    if not args.json:
        _print_session(record, sys.stdout)
    status = EXIT_OK
    reply = bytearray()
    try:
        await _exchange(reader, writer, _unescape(args.send).encode(), reply, args.timeout)
    except TimeoutError:
        print(f"error: no end of reply within {args.timeout:g} s", file=sys.stderr)
        status = EXIT_FAILED
    except TLSError as exc:
        print(f"error: connection failed: {_describe_failure(exc)}", file=sys.stderr)
        status = EXIT_FAILED
    finally:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), args.timeout)
    if args.json:
        record["key_updates"] = writer.get_extra_info("key_updates")
        record["reply"] = reply.decode("utf-8", "replace")
        print_json_line(record)
    else:
        sys.stdout.write(reply.decode("utf-8", "replace"))
        sys.stdout.flush()
    return status


async def _exchange(
    reader: TLSReader, writer: TLSWriter, request: bytes, reply: bytearray, timeout: float
) -> None:
    """Send ``request`` and collect the reply into ``reply`` until the server ends the stream.

    Our close_notify goes out only once the server has been quiet for
    :data:`CLOSE_AFTER_IDLE` seconds (servers such as an echo loop wait for it). Sent at once,
    it is unread input at a server that answers and closes without reading further (a
    Python ``ssl`` script, an HTTP/1.0 server), and its TCP stack then resets the connection,
    which can destroy the reply still in its send queue.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    writer.write(request)
    await writer.drain()
    while (remaining := deadline - loop.time()) > 0:
        closed = writer.is_closing()
        try:
            chunk = await asyncio.wait_for(
                reader.read(65536), remaining if closed else min(remaining, CLOSE_AFTER_IDLE)
            )
        except TimeoutError:
            if closed:
                raise
            writer.close()  # the server is waiting for us: close_notify
            continue
        if not chunk:
            return
        reply.extend(chunk)
    raise TimeoutError


def _print_session(record: dict[str, object], out: TextIO) -> None:
    verified = "yes" if record["verified"] else "NO (--insecure)"
    lines = [
        f"connected to {record['peer']} (server name {record['server_name'] or '-'})",
        f"  protocol          {record['version']}",
        f"  key exchange      {record['group'] or '- (resumed without (EC)DHE)'}",
        f"  cipher suite      {record['cipher_suite']}",
        f"  signature scheme  {record['signature_scheme'] or '- (resumed)'}",
        f"  ALPN              {record['alpn'] or '-'}",
        f"  client cert       {record['client_certificate'] or '-'}",
        f"  resumed           {'yes' if record['resumed'] else 'no'}",
        f"  hello retry       {'yes' if record.get('hello_retry') else 'no'}",
        f"  early data        {record['early_data']}"
        + (f" ({record['early_data_sent']} bytes as 0-RTT)" if record["early_data_sent"] else ""),
        f"  verified          {verified}",
        *cli_adaptive.describe(record),
        "  peer chain",
    ]
    chain = record["peer_chain"]
    if isinstance(chain, list):
        lines += [f"    {i} {subject or '-'}" for i, subject in enumerate(chain)]
    print("\n".join(lines), file=out, flush=True)
    cli_connect.print_extras(record, out)


async def _relay(reader: TLSReader, writer: TLSWriter) -> int:
    """stdin to the peer, the peer to stdout, until the peer closes."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def read_stdin() -> None:
        fd = sys.stdin.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except (OSError, ValueError):
                chunk = b""
            loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            if not chunk:
                return

    threading.Thread(target=read_stdin, name="nautilus-tls-stdin", daemon=True).start()

    async def upstream() -> None:
        while chunk := await chunks.get():
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(upstream())
    status = EXIT_OK
    try:
        while data := await reader.read(65536):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
    except TLSError as exc:
        print(f"error: connection failed: {_describe_failure(exc)}", file=sys.stderr)
        status = EXIT_FAILED
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, TLSError):
            await sender
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), REPLY_TIMEOUT)
    return status


# --- demo -------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    report = run_demo(alg=args.alg, mutual=args.mutual)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.render())
    return EXIT_OK if report.ok else EXIT_FAILED
