"""``--workers N`` and ``--ticket-key-file F`` for ``serve`` and ``asgi``: pre-forked workers
on one port (:mod:`nautilus_tls.prefork`) that resume each other's tickets.

Any worker must open any ticket, so the workers seal with ticket keys from one store: Redis
(``--ticket-store``), a file the user names (``--ticket-key-file``) or, by default, a file in
a private temporary directory that lives as long as the parent. 0-RTT needs more than
common keys: each worker's anti-replay record is its own, so a replay sent to another
worker would be accepted; with several workers ``--early-data`` therefore needs the Redis
store, which shares that record too.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nautilus_tls.errors import ConfigError
from nautilus_tls.prefork import MAX_WORKERS, Workers, run_workers
from nautilus_tls.session.file_store import FileTicketKeyStore
from nautilus_tls.session.ticket_keys import StatelessTickets, TicketKeyManager

__all__ = ["add_worker_flags", "run", "server_kwargs"]


def _worker_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of workers, got {text!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"--workers takes 1..{MAX_WORKERS}, got {count}")
    return count


def add_worker_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=_worker_count,
        default=1,
        metavar="N",
        help="pre-fork N processes on one port (SO_REUSEPORT); they share ticket keys (default 1)",
    )
    p.add_argument(
        "--ticket-key-file",
        metavar="F",
        help="seal tickets with keys kept in file F (created 0600), shared by every process "
        "that uses it (default with --workers: a temporary file)",
    )


def _temporary_key_file() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="nautilus-ticket-keys-"))  # 0700
    # Only the parent runs atexit handlers: the workers leave through os._exit.
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory / "keys.json"


def server_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The ServerConfig arguments for ``--workers``/``--ticket-key-file`` (may be empty)."""
    workers: int = args.workers
    redis_url = getattr(args, "ticket_store", None)
    key_file = args.ticket_key_file
    if workers > 1 and getattr(args, "quic", False):
        # The workers share one TCP port through SO_REUSEPORT; the QUIC server is one process.
        # Without this, `serve --quic --workers N` would serve TCP and no QUIC client gets in.
        raise ConfigError("--workers pre-forks TCP listeners only: drop it with --quic")
    if key_file and redis_url:
        raise ConfigError("--ticket-key-file and --ticket-store both hold ticket keys: pick one")
    if workers > 1 and getattr(args, "early_data", None) is not None and not redis_url:
        raise ConfigError(
            "--early-data with --workers needs --ticket-store (Redis): each worker's 0-RTT "
            "anti-replay record is its own, so another worker would accept a replay"
        )
    if key_file is None and workers > 1 and not redis_url:
        key_file = _temporary_key_file()
    if key_file is None:
        return {}
    return {"tickets": StatelessTickets(TicketKeyManager(FileTicketKeyStore(key_file)))}


def run(args: argparse.Namespace, serve: Callable[[socket.socket], None]) -> int:
    """Pre-fork ``args.workers`` processes running ``serve(listening_socket)``; prints
    ``listening on HOST:PORT`` and the workers' PIDs once they are forked."""

    def started(workers: Workers) -> None:
        host, port = workers.address
        shown = f"[{host}]" if ":" in host else host
        print(f"listening on {shown}:{port}", flush=True)
        pids = " ".join(str(pid) for pid in workers.pids)
        print(f"{len(workers.pids)} workers: {pids}", flush=True)

    try:
        return run_workers(args.workers, args.host, args.port, serve, on_started=started)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
