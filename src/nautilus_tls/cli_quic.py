"""``serve --quic`` and ``connect --quic``: the command line over QUIC (UDP), with the TLS
flags of the TCP commands (groups, suites, ALPN, certificates, session files).

- ``serve --quic --mode echo``: every bidirectional stream is echoed; ALPN ``nautilus-echo``
  unless ``--alpn`` says otherwise. ``--mode http``: HTTP/3 with ALPN ``h3``; ``GET /``
  answers 200 with a small page that names the negotiated group.
- ``connect --quic HOST:PORT``: ``--send TEXT`` opens one stream, sends, finishes and prints
  the reply; ``--get PATH`` is an HTTP/3 GET that prints the body; ``--json`` prints one
  object (``group``, ``cipher_suite``, ``alpn``, ``resumed``, ``early_data``,
  ``hello_retry``, and ``reply`` or ``status`` and ``body``; the TCP record's fields too),
  without it the TCP command's text (the ``--get`` body alone on stdout). Two key shares by
  default (X25519MLKEM768 and x25519); ``--key-shares`` chooses.

``serve --quic --quic-retry`` answers each client's first Initial with a Retry packet and
starts a handshake only for an Initial that echoes its token (RFC 9000 §8.1.2).

0-RTT: ``serve --quic --early-data`` accepts it (max_early_data 0xffffffff, RFC 9001 §4.6.1);
``connect --quic --sess-out F`` keeps the servers' transport parameters in ``F.quic-params.json``
beside the session file (RFC 9000 §7.4.1), and ``connect --quic --sess-in F --early-data FILE``
sends FILE on a first stream as 0-RTT (``early_reply`` in the JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from nautilus_tls import cli_risk
from nautilus_tls.cli_jsonlog import print_json_line, print_line
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import ConfigError, ProtocolError, TLSError
from nautilus_tls.session_info import SessionInfo

ECHO_ALPN = b"nautilus-echo"
H3_ALPN = b"h3"
EXIT_OK, EXIT_FAILED = 0, 1
QUIC_MAX_EARLY_DATA = 0xFFFFFFFF  # RFC 9001 §4.6.1


def add_flags(serve: argparse.ArgumentParser, connect: argparse.ArgumentParser) -> None:
    serve.add_argument("--quic", action="store_true", help="serve over QUIC (UDP) instead of TCP")
    serve.add_argument(
        "--quic-retry",
        action="store_true",
        help="with --quic: validate each client's address with a Retry packet before any "
        "handshake state (RFC 9000 §8.1.2; costs clients one round trip)",
    )
    connect.add_argument("--quic", action="store_true", help="connect over QUIC (UDP)")
    connect.add_argument(
        "--get", metavar="PATH", help="with --quic: an HTTP/3 GET of PATH; print the body"
    )


def _params_file(session_file: str) -> Path:
    """Where the CLI keeps the servers' transport parameters beside a session file (0-RTT
    over QUIC needs them with the ticket, RFC 9000 §7.4.1)."""
    return Path(session_file + ".quic-params.json")


def _load_parameters(args: argparse.Namespace, config: ClientConfig) -> None:
    from nautilus_tls.quic.api import remember_transport_parameters

    if not (args.sess_in and config.session_store is not None):
        return
    path = _params_file(args.sess_in)
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        items = [(str(k), bytes.fromhex(v)) for k, v in dict(saved).items()]
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a transport-parameters file: {exc}") from None
    for key, params in items:
        remember_transport_parameters(config.session_store, key, params)


def _save_parameters(args: argparse.Namespace, config: ClientConfig) -> None:
    from nautilus_tls.quic.api import remembered_transport_parameters

    if not (args.sess_out and config.session_store is not None):
        return
    kept = remembered_transport_parameters(config.session_store)
    if kept:
        path = _params_file(args.sess_out)
        path.write_text(json.dumps({k: v.hex() for k, v in kept.items()}), encoding="utf-8")


# connect's flags that only the TCP path reads: refused with --quic rather than ignored.
TCP_ONLY_CONNECT_FLAGS = ("trace", "showcerts", "resolve", "connect_timeout")


def _no_tcp_only_flags(args: argparse.Namespace) -> None:
    given = [
        f"--{name.replace('_', '-')}" for name in TCP_ONLY_CONNECT_FLAGS if getattr(args, name)
    ]
    if given:
        raise ConfigError(f"{', '.join(given)}: TLS over TCP only, not with --quic yet")


# --- serve -----------------------------------------------------------------------------------


def refuse_quic_only_serve_flags(args: argparse.Namespace) -> None:
    """``serve`` over TCP: the flags that only QUIC reads are refused, not ignored."""
    if args.quic_retry:
        raise ConfigError("--quic-retry validates QUIC client addresses: it needs --quic")


def serve_config(args: argparse.Namespace, config: ServerConfig) -> ServerConfig:
    """``config`` for QUIC: the mode's ALPN unless ``--alpn`` was given; ``--early-data``
    accepts 0-RTT with max_early_data 0xffffffff (RFC 9001 §4.6.1: QUIC's flow control, not
    the ticket, limits it, so a BYTES value does not apply)."""
    if args.early_data is not None:
        config = dataclasses.replace(config, max_early_data=QUIC_MAX_EARLY_DATA)
    if args.alpn:
        if args.mode == "http" and H3_ALPN not in config.alpn_protocols:
            raise ConfigError("--mode http over QUIC is HTTP/3: --alpn must include h3")
        return config
    return dataclasses.replace(
        config, alpn_protocols=(H3_ALPN if args.mode == "http" else ECHO_ALPN,)
    )


async def serve(args: argparse.Namespace, config: ServerConfig) -> None:
    """Run the QUIC server of ``serve --quic`` (``config`` from :func:`serve_config`)."""
    from nautilus_tls.quic.api import echo, serve
    from nautilus_tls.quic.h3 import serve_http3
    from nautilus_tls.quic.retry import RetryTokens

    def log(info: SessionInfo, address: Any) -> None:
        log_handshake(args, info, address)

    retry = RetryTokens() if args.quic_retry else None
    if args.mode == "http":
        endpoint = await serve_http3(
            args.host, args.port, config=config, on_handshake=log, retry=retry
        )
    else:
        endpoint = await serve(
            echo, args.host, args.port, config=config, on_handshake=log, retry=retry
        )
    host, port = endpoint.address
    alpn = ",".join(p.decode() for p in config.alpn_protocols)
    validation = ", address validation by Retry" if retry is not None else ""
    print(f"QUIC (UDP), mode {args.mode}, ALPN {alpn}{validation}", flush=True)
    print(f"listening on {f'[{host}]' if ':' in host else host}:{port}", flush=True)
    cli_risk.watch_threat_level(args, config)  # --threat-level-file on SIGHUP, as over TCP
    try:
        await asyncio.Event().wait()  # until interrupted
    finally:
        endpoint.close()


def handshake_record(info: SessionInfo, address: Any) -> dict[str, object]:
    """The record ``serve --json-log`` prints over TCP, for a QUIC handshake (and
    ``transport``, as ``connect --quic --json`` has it)."""
    from nautilus_tls import cli_adaptive
    from nautilus_tls.cli import _log_record  # the fields serve and connect share over TCP

    record: dict[str, object] = {"transport": "quic", **_log_record(info, address)}
    record["client_certificate"] = info.peer_certificate_subject
    record["client_certificate_names"] = list(info.peer_certificate_names)
    record.update(cli_adaptive.session_fields(info))
    record.update(cli_risk.log_fields(info))
    return record


def log_handshake(args: argparse.Namespace, info: SessionInfo, address: Any) -> None:
    """One line per completed handshake on stdout: JSON with ``--json-log``, else the
    text line of the TCP server."""
    record = handshake_record(info, address)
    if args.json_log:
        print_json_line(record)
        return
    print_line(
        f"QUIC handshake from {record['peer']}: {info.version} {info.group or '-'} "
        f"{info.cipher_suite} {info.signature_scheme or '-'} alpn={info.alpn or '-'} "
        f"client_certificate={info.peer_certificate_subject or '-'} "
        f"resumed={'yes' if info.resumed else 'no'} "
        f"hello_retry={'yes' if info.hello_retry else 'no'}"
    )


# --- connect ---------------------------------------------------------------------------------


def connect_config(args: argparse.Namespace, config: ClientConfig) -> ClientConfig:
    """``config`` for QUIC: ALPN from the request kind unless ``--alpn``; two key shares
    (X25519MLKEM768, x25519) unless ``--key-shares`` (issue 13 item 4)."""
    from nautilus_tls.quic.api import with_quic_key_shares

    if args.early_data and args.get is not None:
        raise ConfigError("--early-data over QUIC goes on an echo stream, not with --get")
    _no_tcp_only_flags(args)
    if args.send is not None and args.get is not None:
        raise ConfigError("give --send or --get, not both")
    if not args.alpn:
        alpn = H3_ALPN if args.get is not None else ECHO_ALPN
        config = dataclasses.replace(config, alpn_protocols=(alpn,))
    return config if args.key_shares else with_quic_key_shares(config)


def cmd_connect(args: argparse.Namespace, config: ClientConfig) -> int:
    if not args.quic:
        raise ConfigError("--get is an HTTP/3 request: it needs --quic")
    config = connect_config(args, config)
    try:
        return asyncio.run(asyncio.wait_for(_connect(args, config), args.timeout))
    except TimeoutError:
        host, port = args.address
        print(
            f"error: no answer from {host}:{port} over QUIC (UDP) within {args.timeout:g} s: "
            "is a QUIC server (serve --quic) listening there? (--timeout sets the wait)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED


def record_of(info: SessionInfo) -> dict[str, Any]:
    return {
        "transport": "quic",
        "version": info.version,
        "cipher_suite": info.cipher_suite,
        "group": info.group,
        "signature_scheme": info.signature_scheme,
        "alpn": info.alpn,
        "server_name": info.server_name,
        "server_certificate": info.peer_certificate_subject,
        "resumed": info.resumed,
        "early_data": info.early_data,
        "hello_retry": info.hello_retry,
        "key_updates": key_updates(info),
    }


def key_updates(info: SessionInfo) -> dict[str, int]:
    """The QUIC key updates so far (RFC 9001 §6), as the TCP connect JSON has them."""
    return {"sent": info.key_updates_sent, "received": info.key_updates_received}


def _client_fields(config: ClientConfig, info: SessionInfo, peer: str) -> dict[str, object]:
    """The fields of the TCP ``connect`` record that :func:`record_of` lacks: the text
    output (``cli._print_session``) shows them."""
    from nautilus_tls import cli_adaptive
    from nautilus_tls.crypto.x509 import subject_of

    credential = config.client_certificate
    ours = None
    # Only an X.509 certificate has a subject to name (a raw key has none, RFC 7250).
    if info.client_certificate_scheme and credential and credential.certificate_type == 0:
        ours = subject_of(credential.certificate_entries()[0].cert_data)
    raw_key = info.certificate_type == "raw_public_key"
    return {
        "peer": peer,
        "client_certificate": ours,
        "server_certificate_names": list(info.peer_certificate_names),
        "peer_chain": [] if raw_key else [subject_of(der) for der in info.peer_certificates],
        "verified": not config.insecure_skip_verify,
        "early_data_sent": info.early_data_sent,
        **cli_adaptive.session_fields(info),
    }


def _print_text(args: argparse.Namespace, record: dict[str, Any]) -> None:
    """The TCP ``connect`` text output: the session (on stdout before a ``--send`` reply,
    else on stderr, so that a ``--get`` body alone goes to stdout), then the data."""
    from nautilus_tls.cli import _print_session

    out = sys.stdout if args.send is not None else sys.stderr
    _print_session(record, out)
    if "status" in record:
        print(f"  HTTP status       {record['status']}", file=out, flush=True)
    for key in ("early_reply", "reply", "body"):
        sys.stdout.write(record.get(key, ""))
    sys.stdout.flush()


def _verification_fields(args: argparse.Namespace, info: SessionInfo) -> dict[str, object]:
    """What the TCP ``connect`` reports about the DID and transparency checks, over QUIC too."""
    from nautilus_tls import cli_did
    from nautilus_tls.ledger import cli as ledger_cli

    return {**cli_did.session_record(info), **ledger_cli.transparency_record(args, info)}


def _failure(exc: TLSError) -> str:
    if isinstance(exc, ProtocolError):
        return f"{exc.alert.name}: {exc.args[0] if exc.args else type(exc).__name__}"
    return str(exc)


async def _connect(args: argparse.Namespace, config: ClientConfig) -> int:
    from nautilus_tls.cli import _format_address, _unescape  # as the TCP command has them
    from nautilus_tls.quic.api import connect
    from nautilus_tls.quic.h3 import http3_get

    host, port = args.address
    name = args.servername or host
    record: dict[str, Any]
    try:
        if args.get is not None:
            response, info = await http3_get(host, port, args.get, config=config, server_name=name)
            record = record_of(info)
            record["status"] = response.status
            record["body"] = response.body.decode("utf-8", "replace")
        else:
            early = Path(args.early_data).read_bytes() if args.early_data else None
            _load_parameters(args, config)
            async with connect(
                host, port, config=config, server_name=name, early_data=early
            ) as client:
                info = client.info
                record = record_of(info)
                if early is not None:
                    record["early_reply"] = (await client.early_reply()).decode("utf-8", "replace")
                if args.send is not None:
                    reply = await client.request(_unescape(args.send).encode())
                    record["reply"] = reply.decode("utf-8", "replace")
                record["key_updates"] = key_updates(client.info)  # they come as data flows
    except TLSError as exc:
        print(f"error: QUIC connection to {host}:{port} failed: {_failure(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"error: cannot reach {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _save_parameters(args, config)
    record.update(_verification_fields(args, info))
    record.update(_client_fields(config, info, _format_address((host, port))))
    if args.json:
        print_json_line(record)
    else:
        _print_text(args, record)
    return EXIT_OK
