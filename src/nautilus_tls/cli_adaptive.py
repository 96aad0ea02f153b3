"""Adaptive negotiation options: ``connect --adaptive [--adaptive-state FILE]
[--adaptive-strict]`` and ``serve --adaptive``, and the ``hello_retry`` and ``negotiation``
fields of their JSON output.

The state file defaults to ``$XDG_CACHE_HOME/nautilus-tls/adaptive.json`` (``~/.cache/...``
when the variable is unset): a cache, safe to delete; it holds server names, the groups they
chose and timings, never keys.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from nautilus_tls.adaptive.client import AdaptiveNegotiation
from nautilus_tls.adaptive.server import AdaptiveServer
from nautilus_tls.errors import ConfigError
from nautilus_tls.session_info import SessionInfo

STATE_FILE_NAME = "adaptive.json"


def default_state_file() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or ""
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return base / "nautilus-tls" / STATE_FILE_NAME


def add_client_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--adaptive",
        action="store_true",
        help="choose the key shares from what this server did before (within the policy)",
    )
    p.add_argument(
        "--adaptive-state",
        metavar="FILE",
        help=f"where --adaptive keeps what it learned (default {default_state_file()})",
    )
    p.add_argument(
        "--adaptive-strict",
        action="store_true",
        help="with --adaptive: refuse a server that negotiated post-quantum before and now "
        "does not",
    )


def add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--adaptive",
        action="store_true",
        help="ChaCha20-Poly1305 for clients that list it first; under CPU load the cheapest "
        "allowed post-quantum group first",
    )


def server_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"adaptive": AdaptiveServer()} if args.adaptive else {}


def client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if not args.adaptive:
        if args.adaptive_state or args.adaptive_strict:
            raise ConfigError("--adaptive-state and --adaptive-strict need --adaptive")
        return {}
    state = Path(args.adaptive_state) if args.adaptive_state else default_state_file()
    return {"adaptive": AdaptiveNegotiation(state, strict=args.adaptive_strict)}


def session_fields(info: SessionInfo) -> dict[str, object]:
    """What ``connect`` and ``serve`` report about the negotiation itself (``hello_retry`` is
    in every record already)."""
    return {"negotiation": info.as_dict()["negotiation"]}


def describe(record: dict[str, object]) -> list[str]:
    """Lines for the text output of ``connect``."""
    lines: list[str] = []
    negotiation = record.get("negotiation")
    if isinstance(negotiation, dict):
        lines.append(f"  negotiation       {negotiation['reason']}")
        lines += [f"  WARNING           {w}" for w in negotiation["warnings"]]
    return lines
