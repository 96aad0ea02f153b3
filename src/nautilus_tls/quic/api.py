"""TLS over QUIC for applications: :func:`connect` and :func:`serve` with asyncio streams,
one per QUIC bidirectional stream (HTTP/3 is :mod:`nautilus_tls.quic.h3`).

Over QUIC the client sends two key shares by default, X25519MLKEM768 and x25519
(:func:`quic_client_config`), as browsers do: a classical-only QUIC server (aioquic) cannot
answer a missing share with HelloRetryRequest. ALPN is required (RFC 9001 §8.1). Resumption
works as over TCP: tickets land in ``config.session_store`` and the next :func:`connect` to
the same server, port and ALPN offers them; :class:`QuicClient.info` says ``resumed``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import ConfigError, TLSError
from nautilus_tls.quic.aioquic_tls import NautilusQuicConnection
from nautilus_tls.quic.endpoint import (
    DEFAULT_MAX_CONNECTIONS,
    HandshakeObserver,
    ProtocolFactory,
    QuicEndpoint,
    open_connection,
    start_endpoint,
    wait_handshake,
)
from nautilus_tls.quic.retry import RetryTokens
from nautilus_tls.session.client_store import session_key
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import NamedGroup

logger = logging.getLogger("nautilus_tls.quic")

QUIC_KEY_SHARE_GROUPS: tuple[int, ...] = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)
MAX_REPLY = 16 * 1024 * 1024  # what QuicClient.request reads at most

StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def with_quic_key_shares(config: ClientConfig) -> ClientConfig:
    """``config`` sending QUIC's default key shares, X25519MLKEM768 and x25519 (issue 13
    item 4), when its groups allow both; else ``config`` as it is (the library's rule)."""
    try:
        return dataclasses.replace(config, key_share_groups=QUIC_KEY_SHARE_GROUPS)
    except ConfigError:
        return config


def quic_client_config(**kw: Any) -> ClientConfig:
    """A :class:`ClientConfig` with QUIC's default key shares unless ``key_share_groups``
    is given."""
    config = ClientConfig(**kw)
    return config if "key_share_groups" in kw else with_quic_key_shares(config)


def alpn_names(config: ClientConfig | ServerConfig) -> list[str]:
    """The config's ALPN protocols as aioquic wants them; QUIC cannot do without."""
    if not config.alpn_protocols:
        raise ConfigError("QUIC needs ALPN (RFC 9001 §8.1): set alpn_protocols")
    return [p.decode("ascii") for p in config.alpn_protocols]


def _client_quic_configuration(
    config: ClientConfig, server_name: str, quic: QuicConfiguration | None
) -> QuicConfiguration:
    if quic is None:
        return QuicConfiguration(
            is_client=True, alpn_protocols=alpn_names(config), server_name=server_name
        )
    return dataclasses.replace(quic, server_name=server_name)


# RFC 9000 §7.4.1: 0-RTT uses the server's transport parameters from the connection that
# brought the ticket. Kept beside each session store (in memory, per process), by session key.
_REMEMBERED: weakref.WeakKeyDictionary[Any, dict[str, bytes]] = weakref.WeakKeyDictionary()
_REMEMBERED_PER_STORE = 256


def _remember(store: Any, key: str) -> Callable[[bytes], None]:
    def keep(params: bytes) -> None:
        kept = _REMEMBERED.setdefault(store, {})
        if key not in kept and len(kept) >= _REMEMBERED_PER_STORE:
            kept.pop(next(iter(kept)))  # bounded: the oldest server goes first
        kept[key] = params

    return keep


def remember_transport_parameters(store: Any, key: str, params: bytes) -> None:
    """Remember a server's transport parameters for 0-RTT with ``store``'s tickets for
    ``key`` (e.g. loaded from a file: the CLI keeps them beside its session file)."""
    _remember(store, key)(params)


def remembered_transport_parameters(store: Any) -> dict[str, bytes]:
    """What is remembered beside ``store``, by session key."""
    return dict(_REMEMBERED.get(store, {}))


class QuicClient:
    """A connected QUIC client: its negotiated session and its streams. After
    ``connect(..., early_data=...)``, ``early_stream`` is the stream that carried it."""

    def __init__(self, protocol: QuicConnectionProtocol) -> None:
        self.protocol = protocol
        self.early_stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @property
    def info(self) -> SessionInfo:
        connection = self.protocol._quic
        if not isinstance(connection, NautilusQuicConnection) or connection.session_info is None:
            raise TLSError("the QUIC handshake has not completed")
        return connection.session_info

    async def open_stream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new bidirectional stream."""
        return await self.protocol.create_stream()

    async def request(self, data: bytes, *, limit: int = MAX_REPLY) -> bytes:
        """Send ``data`` on a new stream, finish it, and read the reply to its end (at most
        ``limit`` bytes: a longer reply is an error, not a truncation)."""
        reader, writer = await self.open_stream()
        writer.write(data)
        writer.write_eof()
        return await read_reply(reader, limit)

    async def early_reply(self, *, limit: int = MAX_REPLY) -> bytes:
        """The reply on the stream that carried ``early_data``, read to its end."""
        if self.early_stream is None:
            raise TLSError("connect() was given no early_data")
        return await read_reply(self.early_stream[0], limit)


async def read_reply(reader: asyncio.StreamReader, limit: int) -> bytes:
    """A stream read to its end, at most ``limit`` bytes (more is an error)."""
    reply = bytearray()
    while chunk := await reader.read(65536):
        reply += chunk
        if len(reply) > limit:
            raise TLSError(f"the reply is longer than {limit} bytes")
    return bytes(reply)


@asynccontextmanager
async def connect(
    host: str,
    port: int,
    *,
    config: ClientConfig,
    server_name: str | None = None,
    quic: QuicConfiguration | None = None,
    create_protocol: ProtocolFactory = QuicConnectionProtocol,
    early_data: bytes | None = None,
) -> AsyncIterator[QuicClient]:
    """A QUIC connection to ``host``:``port`` with our TLS, handshake done; closed on exit.

    ``server_name`` (SNI and the certificate's name) defaults to ``host``; ``quic`` tunes the
    transport (its TLS fields are not used: ``config`` is the TLS). Raises what
    :func:`~nautilus_tls.quic.endpoint.open_connection` raises for a failed handshake.

    ``early_data``: sent on a first stream (``client.early_stream``, its reply through
    ``client.early_reply()``) before the handshake completes: as 0-RTT when a ticket from an
    earlier connection to this server (in this process) allows it; ``client.info.early_data``
    says whether the server accepted it. Rejected or not attempted, the same bytes go as
    1-RTT data (QUIC retransmits what the server dropped), so nothing is lost; 0-RTT data
    can be replayed, so send only what is safe to repeat.
    """
    name = server_name if server_name is not None else host
    quic_cfg = _client_quic_configuration(config, name, quic)
    key = session_key(name, port, config.alpn_protocols)
    store = config.session_store
    remembered = _REMEMBERED.get(store, {}).get(key) if store is not None else None
    async with open_connection(
        host,
        port,
        configuration=quic_cfg,
        tls_config=config,
        create_protocol=create_protocol,
        session_key=key,
        wait_connected=early_data is None,
        early_data=early_data,
        remembered_parameters=remembered if early_data is not None else None,
        on_ticket=_remember(store, key) if store is not None else None,
    ) as protocol:
        client = QuicClient(protocol)
        if early_data is not None:
            reader, writer = await protocol.create_stream()
            writer.write(early_data)
            writer.write_eof()
            client.early_stream = (reader, writer)
            await wait_handshake(protocol, config.handshake_timeout, f"{host}:{port}")
        yield client


def server_quic_configuration(
    config: ServerConfig, quic: QuicConfiguration | None = None
) -> QuicConfiguration:
    """The QUIC configuration of a server: ``quic`` or a default, with the config's ALPN.

    Only QUIC version 1: our server builds its transport parameters before aioquic's
    compatible version negotiation could change them (RFC 9368)."""
    base = quic or QuicConfiguration(is_client=False)
    return dataclasses.replace(
        base, is_client=False, alpn_protocols=alpn_names(config), supported_versions=[1]
    )


class _Handlers:
    """Runs a handler per stream; keeps the tasks (asyncio holds them weakly) and logs what
    a handler raises instead of losing it."""

    def __init__(self, handler: StreamHandler) -> None:
        self._handler = handler
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._run(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handler(reader, writer)
        except Exception:
            logger.exception("QUIC stream handler failed")
            writer.transport.abort()


async def serve(
    handler: StreamHandler,
    host: str,
    port: int,
    *,
    config: ServerConfig,
    quic: QuicConfiguration | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    on_handshake: HandshakeObserver | None = None,
    retry: RetryTokens | None = None,
) -> QuicEndpoint:
    """Listen on UDP ``host``:``port`` (0: ephemeral); ``handler(reader, writer)`` runs for
    every bidirectional stream a client opens, ``on_handshake(info, address)`` for every
    completed handshake; ``retry`` (:class:`~nautilus_tls.quic.retry.RetryTokens`) validates
    client addresses with a Retry packet first. ``close()`` the returned endpoint to stop."""
    return await start_endpoint(
        host,
        port,
        configuration=server_quic_configuration(config, quic),
        tls_config=config,
        stream_handler=_Handlers(handler),
        max_connections=max_connections,
        on_handshake=on_handshake,
        retry=retry,
    )


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A stream handler that echoes everything until the client finishes its side."""
    while data := await reader.read(65536):
        writer.write(data)
    writer.write_eof()


__all__ = [
    "QUIC_KEY_SHARE_GROUPS",
    "QuicClient",
    "connect",
    "echo",
    "quic_client_config",
    "remember_transport_parameters",
    "remembered_transport_parameters",
    "serve",
    "server_quic_configuration",
    "with_quic_key_shares",
]
