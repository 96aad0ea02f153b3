"""Key rotation and risk-adaptive options of the ``nautilus-tls`` command line.

``serve`` and ``connect`` take ``--rekey-bytes``/``--rekey-records``/``--rekey-seconds``
(config ``rekey_*``: a KeyUpdate once one key has sent that much, RFC 8446 §4.6.3).
"""

from __future__ import annotations

import argparse
from typing import Any


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
    return kw
