"""``connect`` options in the manner of ``openssl s_client`` and curl: ``--trace`` (every
handshake message with direction, size and time), ``--showcerts`` (the peer's chain as
PEM), ``--connect-timeout`` and ``--handshake-timeout``, ``--resolve HOST:PORT:ADDR``.
"""

from __future__ import annotations

import argparse
import re
import ssl
import sys
from typing import Any

from nautilus_tls.errors import AlertDescription, PeerAlert
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.tools.trace import HandshakeTracer, TracedMessage

__all__ = ["add_connect_flags", "client_kwargs", "extend_record", "print_extras", "target"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 86400), got {text!r}")
    return value


def _resolve_entry(text: str) -> tuple[str, int, str]:
    """``HOST:PORT:ADDR`` (ADDR may be ``[IPv6]``), as curl's ``--resolve``."""
    match = re.fullmatch(r"([^:\[\]]+):(\d+):(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT:ADDRESS, got {text!r}")
    port = int(match.group(2))
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port out of range in {text!r}")
    return match.group(1).lower(), port, match.group(3).strip("[]")


def add_connect_flags(p: argparse.ArgumentParser) -> None:
    switches = {
        "--trace": "print every handshake message (direction, size, time; key shares, HRR)",
        "--showcerts": "print the server's certificate chain as PEM",
    }
    for flag, text in switches.items():
        p.add_argument(flag, action="store_true", help=text)
    p.add_argument(
        "--connect-timeout", type=_seconds, metavar="S", help="seconds for the TCP connect"
    )
    p.add_argument(
        "--handshake-timeout",
        type=_seconds,
        metavar="S",
        help="seconds for TCP connect and TLS handshake together (default 30)",
    )
    p.add_argument(
        "--resolve",
        type=_resolve_entry,
        action="append",
        default=[],
        metavar="HOST:PORT:ADDR",
        help="connect to ADDR for HOST:PORT (SNI and verification still use HOST); repeatable",
    )


def target(args: argparse.Namespace) -> tuple[str, int, str]:
    """(address to connect to, port, server name) after ``--resolve`` and ``--servername``."""
    host, port = args.address
    address = host
    for name, entry_port, entry_address in args.resolve:
        if name == host.lower() and entry_port == port:
            address = entry_address
            break
    return address, port, args.servername or host


def client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """ClientConfig arguments; with ``--trace`` also sets ``args.tracer``."""
    kw: dict[str, Any] = {}
    if args.handshake_timeout is not None:
        kw["handshake_timeout"] = args.handshake_timeout
    args.tracer = None
    if args.trace:
        # Text mode prints each message as it happens (a failed handshake shows how far it
        # got); JSON mode puts the list in the record (and on stderr if the handshake fails).
        live = None if args.json else _print_live
        args.tracer = HandshakeTracer(on_message=live)
        kw["handshake_trace"] = args.tracer
    return kw


def _print_live(message: TracedMessage) -> None:
    print(message.render(), file=sys.stderr, flush=True)


# What to do when the server refuses us with one of these alerts (RFC 8446 §6.2).
PEER_ALERT_HINTS: dict[int, str] = {
    AlertDescription.certificate_required: (
        "the server requires a client certificate: give --cert F --key F"
    ),
    AlertDescription.handshake_failure: (
        "no key exchange group, cipher suite or signature scheme in common: compare --groups, "
        "--suites, --schemes and --policy with the server's (see nautilus-tls algorithms)"
    ),
}


def peer_alert_hint(exc: Exception) -> str:
    """``" (what to do)"`` for an alert the server sent that has a usual fix, else ``""``."""
    hint = PEER_ALERT_HINTS.get(exc.description) if isinstance(exc, PeerAlert) else None
    return f" ({hint})" if hint else ""


def print_trace_after_failure(args: argparse.Namespace) -> None:
    """With ``--json --trace``, how far a failed handshake got (text mode printed it live)."""
    tracer = getattr(args, "tracer", None)
    if tracer is not None and args.json:
        for message in tracer.messages:
            _print_live(message)


def extend_record(record: dict[str, object], info: SessionInfo, args: argparse.Namespace) -> None:
    if args.showcerts:
        record["peer_chain_pem"] = [ssl.DER_cert_to_PEM_cert(der) for der in info.peer_certificates]
    tracer: HandshakeTracer | None = args.tracer
    if tracer is not None:
        record["trace"] = [m.as_dict() for m in tracer.messages]


def print_extras(record: dict[str, object], out: Any) -> None:
    """The text-mode additions: the PEM chain of ``--showcerts``."""
    chain = record.get("peer_chain_pem")
    subjects = record.get("peer_chain")
    if not isinstance(chain, list):
        return
    print("---\ncertificate chain (PEM)", file=out)
    for i, pem in enumerate(chain):
        subject = subjects[i] if isinstance(subjects, list) and i < len(subjects) else "-"
        print(f" {i} s:{subject}", file=out)
        out.write(pem)
    out.flush()
