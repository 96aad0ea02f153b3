"""``nautilus-tls ledger``: run a log, add entries to one, follow one.

::

    nautilus-tls ledger serve   [--db ledger.sqlite | --db postgresql://...] [--host H]
                                [--port P] [--key log.key] [--alg ed25519|mldsa65]
    nautilus-tls ledger add     --log http://H:P (--cert F | --raw-key F | --did DID)
                                [--log-key log.pub]
    nautilus-tls ledger monitor --log http://H:P --log-key log.pub [--name N ...]
                                [--watch-key F ...] [--interval S] [--count N]
    nautilus-tls ledger anchor  --log http://H:P --log-key log.pub --rpc http://NODE
                                (--contract ADDR | --deploy) [--from ADDR]

``serve`` creates the log key on first use and writes its public key next to it as
``log.pub``; it prints ``listening on http://H:P`` once the socket is bound (``--port 0``
picks a free port). ``add`` prints the entry's index; with ``--log-key`` it also verifies
the entry's inclusion proof against a signed tree head. ``monitor`` prints one JSON object
per line and exits 1 when the log forks, rewinds or serves entries that do not match its
signed root. ``anchor`` verifies the log's tree head and writes its size and root to the
anchor contract (:mod:`.anchor`) through the node's JSON-RPC, printing one JSON object. The
HTTP, database and Ethereum packages are imported only when a command runs.

It also holds the glue for the TLS commands (issue 16): ``nautilus-tls serve ...
--transparency-log http://H:P`` staples proofs of the served chain from that log, and
``nautilus-tls connect ... --require-transparency log.pub [--transparency-state F]`` accepts
the server only with a valid proof; its JSON then has ``"transparency": {"index", "tree_size",
"verified", ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from nautilus_tls.errors import ConfigError
from nautilus_tls.ledger.errors import LedgerError
from nautilus_tls.ledger.sth import LOG_KEY_ALGORITHMS

__all__ = [
    "add_ledger_command",
    "add_transparency_client_flags",
    "add_transparency_server_flags",
    "cmd_ledger",
    "transparency_client_kwargs",
    "transparency_record",
    "transparency_server_kwargs",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_ledger_command(sub: Any) -> None:
    ledger = sub.add_parser("ledger", help="a transparency log of certificates, keys and DIDs")
    commands = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve a log over HTTP")
    serve.add_argument(
        "--db",
        default="ledger.sqlite",
        help="SQLite file or postgresql:// URL (default %(default)s)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default %(default)s)")
    serve.add_argument("--port", type=int, default=8600, help="port (default %(default)s; 0 picks)")
    serve.add_argument(
        "--key",
        default="log.key",
        help="log private key PEM, created if missing (default %(default)s)",
    )
    serve.add_argument(
        "--alg", choices=LOG_KEY_ALGORITHMS, default="ed25519", help="algorithm of a new log key"
    )

    add = commands.add_parser("add", help="add a certificate chain, raw public key or DID")
    add.add_argument("--log", required=True, metavar="URL", help="the log, http://H:P")
    what = add.add_mutually_exclusive_group(required=True)
    what.add_argument("--cert", metavar="F", help="certificate chain PEM (leaf first)")
    what.add_argument("--raw-key", metavar="F", help="public key PEM (SubjectPublicKeyInfo)")
    what.add_argument("--did", metavar="DID", help="a DID, did:method:id")
    add.add_argument("--log-key", metavar="F", help="verify inclusion with this log public key")

    monitor = commands.add_parser("monitor", help="follow a log and report watched entries")
    monitor.add_argument("--log", required=True, metavar="URL", help="the log, http://H:P")
    monitor.add_argument("--log-key", required=True, metavar="F", help="the log's public key")
    monitor.add_argument("--name", action="append", default=[], help="watch this name (repeatable)")
    monitor.add_argument(
        "--watch-key", action="append", default=[], metavar="F", help="watch this public key PEM"
    )
    monitor.add_argument("--interval", type=float, default=10.0, help="seconds between polls")
    monitor.add_argument("--count", type=int, default=0, help="stop after N polls (0: never)")

    anchor = commands.add_parser("anchor", help="write the log's tree head to an Ethereum chain")
    anchor.add_argument("--log", required=True, metavar="URL", help="the log, http://H:P")
    anchor.add_argument("--log-key", required=True, metavar="F", help="the log's public key")
    anchor.add_argument("--rpc", required=True, metavar="URL", help="an Ethereum node, http://H:P")
    target = anchor.add_mutually_exclusive_group(required=True)
    target.add_argument("--contract", metavar="ADDR", help="the anchor contract's address")
    target.add_argument("--deploy", action="store_true", help="deploy a new anchor contract")
    anchor.add_argument("--from", dest="sender", metavar="ADDR", help="sending account")


def cmd_ledger(args: argparse.Namespace) -> int:
    commands = {"serve": _serve, "add": _add, "monitor": _monitor, "anchor": _anchor}
    try:
        return commands[args.ledger_command](args)
    except LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _log_key(path: Path, algorithm: str) -> Any:
    from nautilus_tls.ledger.sth import LogKey

    if path.exists():
        key = LogKey.from_pem(path.read_bytes())
    else:
        key = LogKey.generate(algorithm)
        # Created with owner-only permissions: it is the log's signing key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.to_pem())
    (path.parent / "log.pub").write_bytes(key.public.to_pem())
    return key


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nautilus_tls.ledger.api import create_app
    from nautilus_tls.ledger.log import TransparencyLog
    from nautilus_tls.ledger.store import open_store

    key = _log_key(Path(args.key), args.alg)
    store = open_store(args.db)
    sock = socket.create_server((args.host, args.port))
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(
        create_app(TransparencyLog(store, key)), log_level="warning", access_log=False
    )
    print(f"listening on http://{shown}:{port} (log id {key.public.log_id.hex()})", flush=True)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
    return EXIT_OK


def _read_public_key_pem(path: str) -> Any:
    from nautilus_tls.ledger.sth import LogPublicKey

    return LogPublicKey.from_pem(Path(path).read_bytes())


def _entry(args: argparse.Namespace) -> Any:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_public_key,
    )

    from nautilus_tls.crypto.x509 import load_certificate_chain_pem
    from nautilus_tls.ledger.entries import Entry

    if args.cert:
        return Entry.x509_chain(load_certificate_chain_pem(Path(args.cert).read_bytes()))
    if args.raw_key:
        try:
            key = load_pem_public_key(Path(args.raw_key).read_bytes())
        except ValueError as exc:
            raise LedgerError(f"{args.raw_key} is not a PEM public key") from exc
        return Entry.raw_public_key(
            key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
    return Entry.did(args.did)


def _add(args: argparse.Namespace) -> int:
    from nautilus_tls.ledger.client import LedgerClient

    entry = _entry(args)
    keys = [_read_public_key_pem(args.log_key)] if args.log_key else []
    with LedgerClient(args.log, keys) as client:
        index = client.add(entry)
        if keys:
            sth = client.get_sth()
            if client.prove_inclusion(entry.leaf_hash(), sth) != index:
                raise LedgerError("the log proved the entry at a different index")
    print(index)
    return EXIT_OK


def _watched_keys(paths: list[str]) -> set[bytes]:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_public_key,
    )

    keys = set()
    for path in paths:
        try:
            key = load_pem_public_key(Path(path).read_bytes())
        except ValueError as exc:
            raise LedgerError(f"{path} is not a PEM public key") from exc
        keys.add(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    return keys


def _monitor(args: argparse.Namespace) -> int:
    from nautilus_tls.ledger.client import LedgerClient
    from nautilus_tls.ledger.monitor import Monitor

    def emit(record: dict[str, object]) -> None:
        print(json.dumps(record), flush=True)

    with LedgerClient(args.log, [_read_public_key_pem(args.log_key)]) as client:
        monitor = Monitor(client, set(args.name), _watched_keys(args.watch_key))
        polls = 0
        while True:
            try:
                matches = monitor.poll()
            except LedgerError as exc:
                emit({"event": "inconsistent", "error": str(exc)})
                return EXIT_FAILED
            sth = monitor.sth
            if sth is None:  # a successful poll always sets it
                raise LedgerError("monitor has no tree head after a poll")
            emit(
                {"event": "tree_head", "tree_size": sth.tree_size, "root_hash": sth.root_hash.hex()}
            )
            for m in matches:
                found = {"event": "match", "index": m.index, "reason": m.reason}
                emit({**found, "entry": m.entry.describe()})
            polls += 1
            if args.count and polls >= args.count:
                return EXIT_OK
            time.sleep(args.interval)


def _anchor(args: argparse.Namespace) -> int:
    from nautilus_tls.ledger.anchor import AnchorContract, anchor_latest
    from nautilus_tls.ledger.client import LedgerClient

    keys = [_read_public_key_pem(args.log_key)]
    try:
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 30}))
        if args.deploy:
            contract = AnchorContract.deploy(w3, args.sender)
        else:
            contract = AnchorContract(w3, Web3.to_checksum_address(args.contract), args.sender)
        with LedgerClient(args.log, keys) as client:
            sth, tx = anchor_latest(client, keys, contract)
    except LedgerError:
        raise
    except Exception as exc:  # web3's provider and ABI errors have no common base class
        raise LedgerError(f"cannot anchor through {args.rpc}: {exc}") from None
    record = {"contract": contract.address, "tree_size": sth.tree_size,
              "root_hash": sth.root_hash.hex(), "transaction": tx}  # fmt: skip
    print(json.dumps(record), flush=True)
    return EXIT_OK


# --- glue for `nautilus-tls serve` and `nautilus-tls connect` ------------------------------


def add_transparency_server_flags(p: Any) -> None:
    p.add_argument(
        "--transparency-log",
        metavar="URL",
        help="staple proofs that the certificate is in this log (http://H:P, ledger serve)",
    )


def add_transparency_client_flags(p: Any) -> None:
    p.add_argument(
        "--require-transparency",
        action="append",
        default=[],
        metavar="LOG.PUB",
        help="accept the server only with a stapled proof from this log (repeatable)",
    )
    p.add_argument(
        "--transparency-state",
        metavar="F",
        help="remember the logs' newest tree heads in F (default: next to --sess-out/--sess-in, "
        "else for this run only)",
    )


def transparency_server_kwargs(
    args: argparse.Namespace, chains: list[tuple[bytes, ...]]
) -> dict[str, Any]:
    """``extension_hooks`` with a started stapler when ``--transparency-log`` is given. A log
    that does not answer now is retried in the background; the server starts anyway."""
    if not args.transparency_log:
        return {}
    from nautilus_tls.ledger.client import LedgerClient
    from nautilus_tls.ledger.stapler import TransparencyStapler

    stapler = TransparencyStapler(LedgerClient(args.transparency_log), chains)
    if not stapler.refresh():
        print(
            f"warning: no log proof from {args.transparency_log} yet (log down, or the "
            "certificate is not in it): serving without it, retrying in the background",
            file=sys.stderr,
            flush=True,
        )
    return {"extension_hooks": (stapler.start(),)}


def _state_path(args: argparse.Namespace) -> Path | None:
    if args.transparency_state:
        return Path(args.transparency_state)
    session_file = getattr(args, "sess_out", None) or getattr(args, "sess_in", None)
    return Path(session_file + ".tree-heads.json") if session_file else None


def transparency_client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if not args.require_transparency:
        if args.transparency_state:
            raise ConfigError("--transparency-state needs --require-transparency")
        return {}
    from nautilus_tls.ledger.transparency import RequireTransparency, TreeHeadMemory

    try:
        keys = [_read_public_key_pem(path) for path in args.require_transparency]
        return {
            "require_transparency": RequireTransparency(keys, TreeHeadMemory(_state_path(args)))
        }
    except (LedgerError, OSError) as exc:
        raise ConfigError(f"--require-transparency: {exc}") from None


def transparency_record(args: argparse.Namespace, info: Any) -> dict[str, object]:
    """The ``transparency`` member of connect's JSON (only under --require-transparency)."""
    if not args.require_transparency:
        return {}
    report = info.transparency
    return {"transparency": report.as_dict() if report is not None else None}
