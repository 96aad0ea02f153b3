"""Session resumption options of the ``nautilus-tls`` command line: ticket files for
``connect``, ticket settings and a shared ticket-key store for ``serve``, and the
``ticket-keys`` command.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nautilus_tls.errors import ConfigError
from nautilus_tls.session._util import SessionStoreError
from nautilus_tls.session.client_store import ClientTicket, FileSessionStore
from nautilus_tls.session.ticket_keys import StatelessTickets, TicketKeyManager

DEFAULT_EARLY_DATA = 16384


class _SplitStore:
    """Reads tickets from one file (``--sess-in``) and writes new ones to another (``--sess-out``)."""

    def __init__(self, read: FileSessionStore | None, write: FileSessionStore | None) -> None:
        self._read = read
        self._write = write

    def put(self, key: str, ticket: ClientTicket) -> None:
        if self._write is not None:
            self._write.put(key, ticket)

    def take(self, key: str, now: float) -> ClientTicket | None:
        return self._read.take(key, now) if self._read is not None else None


def add_client_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sess-in", metavar="F", help="resume with a ticket from session file F")
    p.add_argument("--sess-out", metavar="F", help="save the server's tickets to session file F")
    p.add_argument(
        "--early-data",
        metavar="FILE",
        help="send FILE's contents as 0-RTT early data when a ticket allows it",
    )


def add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tickets",
        type=int,
        metavar="N",
        help="NewSessionTickets after each handshake (default 2)",
    )
    p.add_argument(
        "--early-data",
        nargs="?",
        type=int,
        const=DEFAULT_EARLY_DATA,
        metavar="BYTES",
        help=f"accept 0-RTT early data, at most BYTES per connection (default {DEFAULT_EARLY_DATA})",
    )
    p.add_argument(
        "--ticket-store",
        metavar="URL",
        help="share ticket keys and the 0-RTT anti-replay record through Redis (redis://...)",
    )


def add_ticket_keys_command(sub: Any) -> None:
    keys = sub.add_parser("ticket-keys", help="manage the ticket keys in a shared store")
    keys.add_argument("action", choices=("rotate", "list"))
    keys.add_argument("--ticket-store", metavar="URL", required=True, help="redis://...")


def client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if not (args.sess_in or args.sess_out):
        return {}
    read = FileSessionStore(args.sess_in) if args.sess_in else None
    write = FileSessionStore(args.sess_out) if args.sess_out else None
    if args.sess_in and args.sess_out and Path(args.sess_in) == Path(args.sess_out):
        return {"session_store": read}
    return {"session_store": _SplitStore(read, write)}


def early_data(args: argparse.Namespace) -> bytes | None:
    if not args.early_data:
        return None
    return Path(args.early_data).read_bytes()


def _redis(url: str) -> tuple[Any, Any]:
    from nautilus_tls.session.redis_store import RedisAntiReplay, RedisTicketKeyStore

    return RedisTicketKeyStore(url), RedisAntiReplay(url)


def server_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if args.tickets is not None:
        kw["session_tickets"] = args.tickets
    if args.early_data is not None:
        kw["max_early_data"] = args.early_data
    if args.ticket_store:
        if not args.ticket_store.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("--ticket-store takes a redis:// (or rediss://, unix://) URL")
        key_store, anti_replay = _redis(args.ticket_store)
        kw["tickets"] = StatelessTickets(TicketKeyManager(key_store))
        kw["anti_replay"] = anti_replay
    return kw


def store_address(url: str) -> str:
    """Where a Redis URL points, without its user name or password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or parts.path or "?"
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "the ticket store"


def _when(created_at: float, now: float) -> str:
    stamp = datetime.fromtimestamp(created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    age = max(0.0, now - created_at)
    hours, rest = divmod(int(age), 3600)
    return f"{stamp} ({hours} h {rest // 60} min ago)"


def _one_line_store_errors() -> None:
    """The store's own warning would repeat ours: a command line says it once."""
    logging.getLogger("nautilus_tls.session").addHandler(logging.NullHandler())


def cmd_ticket_keys(args: argparse.Namespace) -> int:
    _one_line_store_errors()
    key_store, _ = _redis(args.ticket_store)
    manager = TicketKeyManager(key_store)
    try:
        if args.action == "rotate":
            key = manager.rotate()
            created = _when(key.created_at, time.time())
            print(f"rotated: new current ticket key {key.key_id.hex()} (created {created})")
        stored = key_store.keys()  # newest first
    except SessionStoreError:
        print(
            f"error: cannot reach the ticket store at {store_address(args.ticket_store)}",
            file=sys.stderr,
        )
        return 1
    if not stored:
        print(
            f"no ticket keys in {store_address(args.ticket_store)} (the first server that "
            "issues a ticket makes one; `ticket-keys rotate` makes one now)"
        )
    now = time.time()
    for i, key in enumerate(stored):
        role = "current" if i == 0 else "opens older tickets"
        print(f"key {key.key_id.hex()}  created {_when(key.created_at, now)}  {role}")
    return 0


def warn_if_no_tickets(config: Any, ticket_store: str | None) -> None:
    """serve: say so at start when tickets cannot be issued (resumption then never works)."""
    if config.session_tickets == 0:
        return
    tickets = config.tickets
    if not isinstance(tickets, StatelessTickets):
        return
    _one_line_store_errors()
    try:
        tickets.keys.current_key()
    except SessionStoreError as exc:
        where = store_address(ticket_store) if ticket_store else "the ticket key store"
        print(
            f"warning: cannot reach {where} ({exc}): no session tickets will be issued, so "
            "clients cannot resume, until it answers",
            file=sys.stderr,
            flush=True,
        )
