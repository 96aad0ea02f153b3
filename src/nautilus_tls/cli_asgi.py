"""``nautilus-tls asgi MODULE:APP --cert F --key F [--host H] [--port P] [--workers N]``: an
ASGI application under uvicorn over Nautilus TLS (:mod:`nautilus_tls.asgi`; needs the
``asgi`` extra). MODULE is imported from the current directory and ``PYTHONPATH``, as
``uvicorn MODULE:APP`` does. ``--json-log`` prints one JSON object per finished handshake.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Callable
from typing import Any

from nautilus_tls import cli_workers
from nautilus_tls.aio.streams import TLSWriter
from nautilus_tls.cli_jsonlog import print_json_line
from nautilus_tls.config import CertifiedKey, ServerConfig
from nautilus_tls.errors import ConfigError

__all__ = ["add_asgi_command", "cmd_asgi"]

DEFAULT_PORT = 8443
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def add_asgi_command(sub: Any, server_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``asgi``; ``server_options`` adds the server flags ``serve`` has (client
    certificates, groups, tickets, DIDs, transparency, risk, password logins...)."""
    p = sub.add_parser("asgi", help="run an ASGI application (uvicorn) over post-quantum TLS")
    p.add_argument("app", metavar="MODULE:APP", help="the ASGI application, e.g. myapp:app")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks one)"
    )
    p.add_argument("--cert", metavar="F", required=True, help="certificate chain PEM")
    p.add_argument("--key", metavar="F", required=True, help="private key PEM for --cert")
    p.add_argument(
        "--app-dir", default=".", metavar="DIR", help="import MODULE from DIR (default .)"
    )
    p.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="uvicorn's log level (default info)"
    )
    p.add_argument(
        "--json-log", action="store_true", help="print one JSON object per finished handshake"
    )
    server_options(p)
    cli_workers.add_worker_flags(p)


def _handshake_logger(workers: int) -> Callable[[TLSWriter], None]:
    def log(writer: TLSWriter) -> None:
        info = writer.info
        record: dict[str, object] = {
            "version": info.version,
            "cipher_suite": info.cipher_suite,
            "group": info.group,
            "signature_scheme": info.signature_scheme,
            "alpn": info.alpn,
            "resumed": info.resumed,
            "hello_retry": info.hello_retry,
        }
        if workers > 1:
            record["worker"] = os.getpid()
        print_json_line(record)

    return log


def _print_listening(listeners: list[socket.socket]) -> None:
    host, port = listeners[0].getsockname()[:2]
    shown = f"[{host}]" if ":" in str(host) else host
    print(f"listening on {shown}:{port}", flush=True)


def cmd_asgi(
    args: argparse.Namespace, certified: tuple[CertifiedKey, ...], tls_kwargs: dict[str, Any]
) -> int:
    """Run the command; ``tls_kwargs`` are the ServerConfig arguments of the server flags
    (workers' included)."""
    try:
        from nautilus_tls import asgi
    except ImportError as exc:
        raise ConfigError(
            f"nautilus-tls asgi needs uvicorn: pip install 'nautilus-tls[asgi]' ({exc})"
        ) from None
    app = asgi.load_app(args.app, args.app_dir)  # in the parent: a bad name fails once, early
    tls_kwargs.setdefault("alpn_protocols", (b"http/1.1",))  # uvicorn speaks HTTP/1.1
    config = ServerConfig(certificates=certified, **tls_kwargs)
    on_handshake = _handshake_logger(args.workers) if args.json_log else None

    def run(sock: socket.socket | None, on_listening: Any = None) -> None:
        asgi.serve(
            app,
            tls=config,
            host=args.host,
            port=args.port,
            sock=sock,
            log_level=args.log_level,
            on_handshake=on_handshake,
            on_listening=on_listening,
        )

    if args.workers > 1:
        return cli_workers.run(args, run)
    run(None, _print_listening)
    return 0
