"""ASGI applications under uvicorn, over Nautilus TLS (the ``asgi`` extra: ``uvicorn``).

:class:`TLSServer` is a :class:`uvicorn.Server` whose listening sockets come from
:func:`nautilus_tls.aio.transport.create_server`: uvicorn's own HTTP and WebSocket protocols
run unchanged on a :class:`~nautilus_tls.aio.transport.TLSTransport`, which answers
``get_extra_info('sslcontext')``, so ``scope["scheme"]`` is ``"https"`` (``"wss"``).
Every HTTP and WebSocket scope carries the ASGI TLS extension, ``scope["extensions"]["tls"]``
(server certificate, client certificate chain and name, TLS version, cipher suite), and
``scope["extensions"]["nautilus_tls"]["session_info"]`` (:mod:`nautilus_tls.asgi.tls_scope`).
Everything else (lifespan, graceful shutdown on SIGTERM, access log, limits) is uvicorn's.

    from nautilus_tls.asgi import serve
    serve("myapp:app", host="127.0.0.1", port=8443, tls=ServerConfig(certificates=(key,)))

The command line is ``nautilus-tls asgi MODULE:APP --cert F --key F [--workers N]``
(:mod:`nautilus_tls.cli_asgi`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from uvicorn.importer import ImportFromStringError, import_from_string

from nautilus_tls.aio.streams import TLSWriter
from nautilus_tls.aio.transport import create_server
from nautilus_tls.asgi.tls_scope import TLSScopes
from nautilus_tls.config import ServerConfig
from nautilus_tls.errors import ConfigError

__all__ = ["TLSServer", "load_app", "serve"]

logger = logging.getLogger("uvicorn.error")

STARTUP_FAILURE = 3
"""uvicorn's exit status when the application's lifespan startup fails."""
GRACEFUL_SHUTDOWN = 10
"""Seconds open connections get to finish after SIGTERM."""

HandshakeHook = Callable[[TLSWriter], None]
ListeningHook = Callable[[list[socket.socket]], None]


def load_app(spec: str, app_dir: str = ".") -> Any:
    """The object ``MODULE:ATTRIBUTE`` names, importing MODULE from ``app_dir`` (default the
    current directory) and ``sys.path``, as ``uvicorn MODULE:APP`` does."""
    directory = os.path.abspath(app_dir)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        return import_from_string(spec)
    except ImportFromStringError as exc:
        raise ConfigError(f"cannot load the ASGI app {spec!r}: {exc}") from None


class TLSServer(uvicorn.Server):
    """uvicorn's server with every listening socket speaking Nautilus TLS."""

    def __init__(
        self,
        config: uvicorn.Config,
        tls: ServerConfig,
        *,
        on_handshake: HandshakeHook | None = None,
        on_listening: ListeningHook | None = None,
    ) -> None:
        if config.is_ssl:
            raise ConfigError("give TLS settings as a ServerConfig, not uvicorn's ssl_* options")
        super().__init__(config)
        self.tls = tls
        # scope["extensions"]["tls"] (the ASGI TLS extension) for each live connection.
        self.tls_scopes = TLSScopes()
        self._on_handshake = on_handshake
        self._on_listening = on_listening

    def _handshake_done(self, writer: TLSWriter) -> None:
        self.tls_scopes.add(writer)
        if self._on_handshake is not None:
            self._on_handshake(writer)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            raise SystemExit(STARTUP_FAILURE)
        config = self.config
        # Outermost, so a proxy-headers middleware rewrites scope["client"] after the look-up.
        config.loaded_app = self.tls_scopes.wrap(config.loaded_app)

        def create_protocol() -> asyncio.Protocol:
            protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state
            )
            return protocol

        where: list[dict[str, Any]] = (
            [{"sock": sock} for sock in sockets]
            if sockets is not None
            else [{"host": config.host, "port": config.port}]
        )
        self.servers = []
        try:
            for place in where:
                server = await create_server(
                    create_protocol,
                    config=self.tls,
                    on_handshake=self._handshake_done,
                    backlog=config.backlog,
                    **place,
                )
                self.servers.append(server)
        except OSError as exc:
            logger.error("cannot listen on %s:%s: %s", config.host, config.port, exc)
            await self.lifespan.shutdown()
            raise SystemExit(1) from None
        listeners = [sock for server in self.servers for sock in server.sockets]
        for sock in listeners[:1]:
            host, port = sock.getsockname()[:2]
            shown = f"[{host}]" if ":" in str(host) else host
            logger.info("Uvicorn running on https://%s:%d over Nautilus TLS", shown, port)
        if self._on_listening is not None:
            self._on_listening(listeners)
        self.started = True


def serve(
    app: Any,
    *,
    tls: ServerConfig,
    host: str = "127.0.0.1",
    port: int = 8443,
    sock: socket.socket | None = None,
    log_level: str = "info",
    on_handshake: HandshakeHook | None = None,
    on_listening: ListeningHook | None = None,
) -> None:
    """Run ``app`` (an ASGI application or its ``MODULE:APP`` string) until SIGTERM/SIGINT,
    on ``(host, port)`` or on the listening socket ``sock``."""
    if isinstance(app, str):
        app = load_app(app)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )
    server = TLSServer(config, tls, on_handshake=on_handshake, on_listening=on_listening)
    with _stop_signals_end_quietly():
        server.run(sockets=[sock] if sock is not None else None)


@contextlib.contextmanager
def _stop_signals_end_quietly() -> Iterator[None]:
    """uvicorn shuts down gracefully on SIGTERM/SIGINT and then raises the signal again for
    the handler that was there before it; with none (SIG_DFL) the process would die of the
    signal after a clean shutdown. Here the signal, once handled, just lets ``serve`` return."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda number, frame: None) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
