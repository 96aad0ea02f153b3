"""``nautilus-tls pake``: manage the PAKE record store.

::

    nautilus-tls pake register --store users.db --user alice [--method opaque|spake2plus]
                               [--ksf argon2id|scrypt]
    nautilus-tls pake remove   --store users.db --user alice [--method ...]
    nautilus-tls serve   ... --pake-store users.db [--pake-optional]
    nautilus-tls connect ... --pake-user alice [--pake opaque|spake2plus] [--pake-ksf ...]

``serve --pake-store`` requires every client to log in with a password (OPAQUE or SPAKE2+,
inside the TLS handshake; ``--pake-optional`` also lets clients without one in) and still
presents its certificate; ``connect --pake-user`` logs in, and its ``--json`` record says
``"auth": "opaque"`` or ``"spake2plus"``. A wrong password ends the handshake with
decrypt_error before any application data. The password comes from the environment variable ``NAUTILUS_PASSWORD``, else from a prompt
(twice, without echo); it is used to compute the record and never stored or printed. The
store is a SQLite file (created with mode 0600), a ``redis://`` / ``unix://`` URL or a
``postgresql://`` / ``postgres://`` URL.
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
from nautilus_tls.session_info import SessionInfo

__all__ = [
    "add_client_flags",
    "add_pake_command",
    "add_server_flags",
    "client_kwargs",
    "cmd_pake",
    "json_fields",
    "open_store",
    "pake_alone",
    "read_password",
    "server_kwargs",
]

EXIT_OK, EXIT_FAILED = 0, 1
PASSWORD_ENV = "NAUTILUS_PASSWORD"


def add_pake_command(sub: Any) -> None:
    pake = sub.add_parser("pake", help="password logins (OPAQUE, SPAKE2+): the record store")
    verbs = pake.add_subparsers(dest="pake_command", required=True, metavar="VERB")
    for name, text in (("register", "register or re-register a user"), ("remove", "remove one")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument(
            "--store", required=True, metavar="F", help="SQLite file, redis or postgresql URL"
        )
        verb.add_argument("--user", required=True, help="the user name")
        verb.add_argument("--method", choices=METHODS, default="opaque", help="default opaque")
        if name == "register":
            verb.add_argument(
                "--ksf",
                choices=("argon2id", "scrypt"),
                default="argon2id",
                help="key stretching function (default argon2id, libsodium's interactive level)",
            )


def _ksf(name: str) -> Ksf:
    """The KSF a command-line name stands for (the same on register and connect)."""
    return Ksf() if name == "argon2id" else Ksf("scrypt", cost=15, memory=8)


def add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pake-store",
        metavar="F",
        help="password logins against this record store (file or URL); without --cert the "
        "server has no certificate and the login alone authenticates it",
    )
    p.add_argument(
        "--pake-optional",
        action="store_true",
        help="with --pake-store: clients may skip the login (then a certificate is needed)",
    )


def add_client_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pake-user", metavar="U", help="log in as U with a password (OPAQUE/SPAKE2+)")
    p.add_argument(
        "--pake", choices=METHODS, default="opaque", help="login method (default opaque)"
    )
    p.add_argument(
        "--pake-ksf",
        choices=("argon2id", "scrypt"),
        default="argon2id",
        help="the key stretching the user registered with (default argon2id)",
    )


def server_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``pake_store`` (and ``pake_optional``) for the ServerConfig."""
    if not args.pake_store:
        if args.pake_optional:
            raise ConfigError("--pake-optional needs --pake-store")
        return {}
    from nautilus_tls.pake.server import PakeServer

    return {
        "pake_store": PakeServer(open_store(args.pake_store)),
        "pake_optional": args.pake_optional,
    }


def pake_alone(args: argparse.Namespace) -> bool:
    """``serve --pake-store`` without ``--cert`` and without ``--pake-optional``: every
    client logs in, so the server runs without a certificate."""
    return bool(args.pake_store) and not args.pake_optional and not args.cert


def client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``pake`` for the ClientConfig: each connection logs in as ``--pake-user``."""
    if not args.pake_user:
        return {}
    from nautilus_tls.pake.tls import PakeClient

    password = read_password(confirm=False)
    return {"pake": PakeClient(args.pake_user, password, method=args.pake, ksf=_ksf(args.pake_ksf))}


def json_fields(info: SessionInfo) -> dict[str, object]:
    """``{"auth": method}`` when a password login authenticated this connection."""
    return {"auth": info.auth} if info.auth is not None else {}


def open_store(spec: str) -> PakeStore:
    """A store from the command line: a PostgreSQL or redis URL, or a SQLite file path."""
    if spec.startswith(("postgresql://", "postgres://")):
        from nautilus_tls.pake.store_postgres import PostgresRecordStore

        return PostgresRecordStore(spec)
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

        ksf = _ksf(args.ksf)
        register(store, args.user, read_password(confirm=True), method=args.method, ksf=ksf)
        print(f"registered {args.user!r} for {args.method} ({ksf.method}) in {args.store}")
        return EXIT_OK
    finally:
        store.close()
