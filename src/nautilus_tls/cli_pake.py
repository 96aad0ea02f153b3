"""``nautilus-tls pake``: manage the PAKE record store.

::

    nautilus-tls pake register --store users.db --user alice [--method opaque|spake2plus]
                               [--ksf argon2id|scrypt]
    nautilus-tls pake remove   --store users.db --user alice [--method ...]

The password comes from the environment variable ``NAUTILUS_PASSWORD``, else from a prompt
(twice, without echo); it is used to compute the record and never stored or printed. The
store is a SQLite file (created with mode 0600) or a ``redis://`` / ``unix://`` URL.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from nautilus_tls.errors import ConfigError
from nautilus_tls.pake.ksf import Ksf
from nautilus_tls.pake.store import METHODS, PakeStore

__all__ = ["add_pake_command", "cmd_pake", "open_store", "read_password"]

EXIT_OK, EXIT_FAILED = 0, 1
PASSWORD_ENV = "NAUTILUS_PASSWORD"


def add_pake_command(sub: Any) -> None:
    pake = sub.add_parser("pake", help="password logins (OPAQUE, SPAKE2+): the record store")
    verbs = pake.add_subparsers(dest="pake_command", required=True, metavar="VERB")
    for name, text in (("register", "register or re-register a user"), ("remove", "remove one")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("--store", required=True, metavar="F", help="SQLite file or redis URL")
        verb.add_argument("--user", required=True, help="the user name")
        verb.add_argument("--method", choices=METHODS, default="opaque", help="default opaque")
        if name == "register":
            verb.add_argument(
                "--ksf",
                choices=("argon2id", "scrypt"),
                default="argon2id",
                help="key stretching function (default argon2id, libsodium's interactive level)",
            )


def open_store(spec: str) -> PakeStore:
    """A store from the command line: a redis URL or a SQLite file path."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from nautilus_tls.pake.store_redis import RedisRecordStore

        return RedisRecordStore(spec)
    from nautilus_tls.pake.store_sqlite import SQLiteRecordStore

    return SQLiteRecordStore(spec)


def read_password(*, confirm: bool) -> bytes:
    """The password from $NAUTILUS_PASSWORD, else a prompt (confirmed when registering)."""
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        password = env
    else:
        if not sys.stdin.isatty():
            raise ConfigError(f"no password: set {PASSWORD_ENV} or run from a terminal")
        password = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ")
    if not password:
        raise ConfigError("the password is empty")
    return password.encode("utf-8")


def cmd_pake(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        if args.pake_command == "remove":
            if not store.delete(args.user, args.method):
                print(f"no {args.method} record for {args.user!r}", file=sys.stderr)
                return EXIT_FAILED
            print(f"removed {args.method} record for {args.user!r}")
            return EXIT_OK
        # Imported here: the CLI must start without the `pake` extra (pysodium, libsodium).
        from nautilus_tls.pake.server import register

        ksf = Ksf() if args.ksf == "argon2id" else Ksf("scrypt", cost=15, memory=8)
        register(store, args.user, read_password(confirm=True), method=args.method, ksf=ksf)
        print(f"registered {args.user!r} for {args.method} ({ksf.method}) in {args.store}")
        return EXIT_OK
    finally:
        store.close()
