"""Key rotation and risk-adaptive options of the ``nautilus-tls`` command line.

``serve`` and ``connect`` take ``--rekey-bytes``/``--rekey-records``/``--rekey-seconds``
(config ``rekey_*``: a KeyUpdate once one key has sent that much, RFC 8446 §4.6.3).
``serve --risk-adaptive [--threat-level L] [--threat-level-file F]`` gives the server a
:class:`~nautilus_tls.risk.RiskEngine` (``ServerConfig.risk``); the file is re-read on SIGHUP.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from nautilus_tls.cli_jsonlog import print_json_line
from nautilus_tls.errors import ConfigError
from nautilus_tls.risk import LevelChange, RiskEngine, level_for_threat
from nautilus_tls.session_info import SessionInfo


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def add_rekey_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rekey-bytes",
        type=_positive_int,
        metavar="N",
        help="send a KeyUpdate after N bytes under one key (default: only at the AEAD limit)",
    )
    p.add_argument(
        "--rekey-records",
        type=_positive_int,
        metavar="N",
        help="send a KeyUpdate after N records under one key",
    )
    p.add_argument(
        "--rekey-seconds",
        type=_positive_float,
        metavar="S",
        help="send a KeyUpdate before sending on a key older than S seconds",
    )
    p.add_argument(
        "--rekey-request-peer",
        action="store_true",
        help="ask the peer to update its keys too on each rotation by policy",
    )


def rekey_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The ``rekey_*`` config fields the flags set (none when no flag was given)."""
    kw: dict[str, Any] = {}
    for name in ("rekey_bytes", "rekey_records", "rekey_seconds"):
        value = getattr(args, name, None)
        if value is not None:
            kw[name] = value
    if getattr(args, "rekey_request_peer", False):
        kw["rekey_request_peer"] = True
    # Over --quic these drive QUIC key updates (RFC 9001 §6, nautilus_tls.quic.key_update);
    # --rekey-request-peer adds nothing there: a QUIC key update moves both directions.
    return kw


# --- serve --risk-adaptive ----------------------------------------------------------------------


def add_risk_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--risk-adaptive",
        action="store_true",
        help="raise the security floor per client address on risk signals (failed handshakes, "
        "protocol violations, downgrades); never below the configured policy",
    )
    p.add_argument(
        "--threat-level",
        choices=("low", "elevated", "high"),
        help="operator threat level: holds every client at least at this level "
        "(with --risk-adaptive; default low)",
    )
    p.add_argument(
        "--threat-level-file",
        metavar="F",
        help="read the threat level (low|elevated|high) from F at start and on SIGHUP",
    )


def _threat_from_file(path: str) -> str:
    text = Path(path).read_text(encoding="utf-8").strip().lower()
    level_for_threat(text)  # raises ValueError naming the choices
    return text


def risk_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``{"risk": RiskEngine}`` for ``serve --risk-adaptive``; level changes are printed as
    JSON lines with ``--json-log`` (and logged on the ``nautilus_tls.risk`` logger, which
    ``serve`` shows on stderr unless ``--quiet``)."""
    if not args.risk_adaptive:
        if args.threat_level or args.threat_level_file:
            raise ConfigError("--threat-level and --threat-level-file need --risk-adaptive")
        return {}
    threat = args.threat_level or "low"
    if args.threat_level_file:
        try:
            threat = _threat_from_file(args.threat_level_file)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--threat-level-file: {exc}") from exc

    def on_change(change: LevelChange) -> None:
        if args.json_log:
            print_json_line(change.as_dict())

    return {"risk": RiskEngine(threat_level=threat, on_change=on_change)}


def watch_threat_level(args: argparse.Namespace, config: Any) -> None:
    """Re-read ``--threat-level-file`` on SIGHUP (in the running event loop)."""
    engine = getattr(config, "risk", None)
    path = args.threat_level_file
    if engine is None or not path or not hasattr(signal, "SIGHUP"):
        return

    def reload() -> None:
        try:
            engine.set_threat_level(_threat_from_file(path), why=f"SIGHUP: {path}")
        except (OSError, ValueError) as exc:
            print(f"nautilus-tls: threat level file not applied: {exc}", file=sys.stderr)

    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


def log_fields(info: SessionInfo) -> dict[str, object]:
    """The risk level a handshake ran at, for the JSON log (nothing without an engine)."""
    if info.risk_level is None:
        return {}
    return {"risk_level": info.risk_level, "risk_reason": info.risk_reason}
