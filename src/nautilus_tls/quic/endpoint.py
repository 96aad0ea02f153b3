"""UDP endpoints for :class:`~nautilus_tls.quic.aioquic_tls.NautilusQuicConnection` on asyncio.

aioquic's own ``connect`` and ``serve`` construct its ``QuicConnection`` themselves, so they
cannot carry our TLS. These are their counterparts for ours: a client socket
(:func:`open_connection`) and a server demultiplexer (:class:`QuicEndpoint`) that routes
datagrams by connection ID, answers unknown versions with Version Negotiation (RFC 9000 §6),
starts a connection only for a full-size Initial (RFC 9000 §14.1, anti-amplification) and
keeps at most ``max_connections`` of them. With ``retry``
(:class:`~nautilus_tls.quic.retry.RetryTokens`) it first validates each client's address with
a Retry packet (RFC 9000 §8.1.2) and starts a connection only for an Initial that echoes a
valid token. The per-connection protocol is aioquic's
:class:`~aioquic.asyncio.QuicConnectionProtocol` (or a subclass, e.g. for HTTP/3).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, cast

from aioquic._buffer import Buffer
from aioquic.asyncio.protocol import QuicConnectionProtocol, QuicStreamHandler
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration
from aioquic.quic.packet import (
    QuicHeader,
    QuicPacketType,
    encode_quic_retry,
    encode_quic_version_negotiation,
    pull_quic_header,
)

from nautilus_tls.aio.prefetch import (
    blocks_in_handshake,
    client_judge,
    keep_prefetched,
    prefetch,
    prefetch_within,
)
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import HandshakeTimeout, TLSError
from nautilus_tls.quic.aioquic_tls import NautilusQuicConnection
from nautilus_tls.quic.retry import RetryTokens
from nautilus_tls.session_info import SessionInfo

logger = logging.getLogger("nautilus_tls.quic")

DEFAULT_MAX_CONNECTIONS = 1024
# Datagrams kept for a connection while its handshake is in a worker thread (more are
# dropped, as a full socket buffer would; QUIC retransmits).
MAX_QUEUED_DATAGRAMS = 64

ProtocolFactory = Callable[..., QuicConnectionProtocol]
HandshakeObserver = Callable[[SessionInfo, Any], None]
"""Called with what a server connection's handshake negotiated and the client's address."""


@asynccontextmanager
async def open_connection(
    host: str,
    port: int,
    *,
    configuration: QuicConfiguration,
    tls_config: ClientConfig,
    create_protocol: ProtocolFactory = QuicConnectionProtocol,
    stream_handler: QuicStreamHandler | None = None,
    wait_connected: bool = True,
    session_key: str | None = None,
    **connection_kw: Any,
) -> AsyncIterator[QuicConnectionProtocol]:
    """A QUIC client connection with our TLS, its handshake done (within the config's
    ``handshake_timeout``) unless ``wait_connected`` is false; closed on exit.

    A failed handshake raises the :class:`~nautilus_tls.errors.TLSError` that ended it: ours
    (its ``.alert`` is what we sent as CRYPTO_ERROR), :class:`~nautilus_tls.errors.PeerAlert`
    for the peer's CRYPTO_ERROR, :class:`~nautilus_tls.errors.HandshakeTimeout`, or
    :class:`~nautilus_tls.errors.ConnectionClosedError` for any other close. A verifier with
    blocking look-ups (a DID verifier expecting a did:web DID) makes them first, in a worker
    thread, within the handshake timeout (the handshake runs on the event loop)."""
    loop = asyncio.get_running_loop()
    await prefetch_within(tls_config.verifier, tls_config.handshake_timeout)
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, _, _, _, addr = infos[0]
    if configuration.server_name is None:
        configuration = dataclasses.replace(configuration, server_name=host)
    connection = NautilusQuicConnection(
        configuration=configuration,
        tls_config=tls_config,
        session_key=session_key,
        **connection_kw,
    )
    local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: create_protocol(connection, stream_handler=stream_handler),
        local_addr=local,
        family=family,
    )
    quic = protocol
    try:
        quic.connect(cast(Any, addr), transmit=True)
        if wait_connected:
            await wait_handshake(quic, tls_config.handshake_timeout, f"{host}:{port}")
        yield quic
    finally:
        _drop_connected_waiter(quic)
        quic.close()
        # A peer that is gone never acknowledges: the close frame went out, the socket goes.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(quic.wait_closed(), 2.0)
        transport.close()


async def wait_handshake(protocol: QuicConnectionProtocol, timeout: float, peer: str) -> None:
    """Wait for the handshake of ``protocol`` (ours) to complete; raise as
    :func:`open_connection` says when it does not."""
    connection = protocol._quic
    assert isinstance(connection, NautilusQuicConnection)
    if connection._close_event is not None and connection.session_info is None:
        raise handshake_failure(connection)  # already over: aioquic's waiter would not wake
    if connection.session_info is None:
        try:
            await asyncio.wait_for(protocol.wait_connected(), timeout)
        except TimeoutError:
            _drop_connected_waiter(protocol)
            raise HandshakeTimeout(
                f"QUIC handshake with {peer} did not finish within {timeout:g} s"
            ) from None
        except ConnectionError:
            raise handshake_failure(connection) from None


def _drop_connected_waiter(protocol: QuicConnectionProtocol) -> None:
    """aioquic's handshake waiter outlives a cancelled wait (it is shielded): drop it, or
    closing the connection later sets an exception nobody reads ("Future exception was never
    retrieved" on stderr)."""
    waiter, protocol._connected_waiter = protocol._connected_waiter, None
    if waiter is not None and not waiter.done():
        waiter.cancel()


def handshake_failure(connection: NautilusQuicConnection) -> TLSError:
    """Why ``connection`` closed before its handshake completed, as our error type."""
    return connection.handshake_failure()


class QuicEndpoint(asyncio.DatagramProtocol):
    """The server side: one UDP socket, many connections, each with our TLS."""

    def __init__(
        self,
        *,
        configuration: QuicConfiguration,
        tls_config: ServerConfig,
        create_protocol: ProtocolFactory = QuicConnectionProtocol,
        stream_handler: QuicStreamHandler | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        on_handshake: HandshakeObserver | None = None,
        retry: RetryTokens | None = None,
    ) -> None:
        if configuration.is_client:
            raise ValueError("a server endpoint needs a server QUIC configuration")
        self._configuration = configuration
        self._tls_config = tls_config
        self._create_protocol = create_protocol
        self._stream_handler = stream_handler
        self._max_connections = max_connections
        self._on_handshake = on_handshake
        self._retry = retry
        self._by_cid: dict[bytes, QuicConnectionProtocol] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self.retries_sent = 0
        # A client verifier that may block (a did:web only the client names): handshake
        # datagrams go to the connection in a worker thread, one batch at a time per
        # connection, its timer held off meanwhile, so the loop never waits on a fetch.
        self._offload = blocks_in_handshake(client_judge(tls_config))
        self._busy: dict[QuicConnectionProtocol, list[tuple[bytes, Any]]] = {}

    @property
    def connections(self) -> int:
        return len(set(self._by_cid.values()))

    def is_serving(self) -> bool:
        """True from binding until :meth:`close`."""
        return self._transport is not None and not self._transport.is_closing()

    @property
    def address(self) -> tuple[str, int]:
        if self._transport is None:
            raise RuntimeError("the endpoint is not bound")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return host, port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def close(self) -> None:
        for protocol in set(self._by_cid.values()):
            if protocol not in self._busy:  # a worker holds the others: they just go
                protocol.close()
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self._transport is None:
            return
        try:
            header = pull_quic_header(
                Buffer(data=data), host_cid_length=self._configuration.connection_id_length
            )
        except ValueError:
            return  # not QUIC, or truncated: dropped (RFC 9000 §12.2 allows it)
        supported = self._configuration.supported_versions
        if (
            header.version is not None
            and header.packet_type != QuicPacketType.VERSION_NEGOTIATION
            and header.version not in supported
        ):
            # RFC 9000 §6.1 (never in answer to a Version Negotiation packet: no ping-pong).
            self._transport.sendto(
                encode_quic_version_negotiation(
                    source_cid=header.destination_cid,
                    destination_cid=header.source_cid,
                    supported_versions=supported,
                ),
                addr,
            )
            return
        protocol = self._by_cid.get(header.destination_cid)
        if protocol is None:
            protocol = self._accept(header, len(data), addr)
        if protocol is None:
            return
        if self._offload and (protocol in self._busy or not _handshake_complete(protocol)):
            self._receive_off_loop(protocol, data, addr)
        else:
            protocol.datagram_received(data, addr)

    def _receive_off_loop(self, protocol: QuicConnectionProtocol, data: bytes, addr: Any) -> None:
        queued = self._busy.get(protocol)
        if queued is not None:
            if len(queued) < MAX_QUEUED_DATAGRAMS:
                queued.append((data, addr))
            return
        self._busy[protocol] = []
        self._start_batch(protocol, [(data, addr)])

    def _start_batch(
        self, protocol: QuicConnectionProtocol, batch: list[tuple[bytes, Any]]
    ) -> None:
        # aioquic's protocol re-arms its timer in transmit(); until then nothing on the loop
        # may touch the connection (QuicConnection is not thread-safe).
        timer = protocol._timer
        if timer is not None:
            timer.cancel()
            protocol._timer = protocol._timer_at = None
        quic, loop = protocol._quic, asyncio.get_running_loop()
        now = loop.time()

        def receive() -> None:
            for data, addr in batch:
                quic.receive_datagram(data, addr, now=now)

        worker = loop.run_in_executor(None, receive)
        worker.add_done_callback(partial(self._batch_done, protocol))

    def _batch_done(self, protocol: QuicConnectionProtocol, worker: asyncio.Future[None]) -> None:
        queued = self._busy.pop(protocol, [])
        if worker.cancelled() or (self._transport is None or self._transport.is_closing()):
            return
        failure = worker.exception()
        if failure is not None:  # a bug below the connection's own error handling
            logger.error("QUIC handshake datagrams failed: %r", failure)
            protocol.close()
            return
        protocol._process_events()
        protocol.transmit()
        if queued and not _handshake_complete(protocol):
            self._busy[protocol] = []
            self._start_batch(protocol, queued)
            return
        for data, addr in queued:
            protocol.datagram_received(data, addr)

    def _accept(self, header: QuicHeader, size: int, addr: Any) -> QuicConnectionProtocol | None:
        # RFC 9000 §14.1: a client's first datagram is at least 1200 bytes; smaller ones
        # would let a spoofer amplify. A full server stops taking new connections.
        if header.packet_type != QuicPacketType.INITIAL or size < SMALLEST_MAX_DATAGRAM_SIZE:
            return None
        if self.connections >= self._max_connections:
            return None
        dcid = header.destination_cid
        original_dcid, retry_scid = dcid, None
        if self._retry is not None:
            redeemed = self._retry.redeem(addr, dcid, header.token) if header.token else None
            if redeemed is None:
                # No token, or not one of ours (a stale one, or another server's): validate
                # the address first (RFC 9000 §8.1.3). Retry is smaller than the Initial.
                self._send_retry(header, addr)
                return None
            original_dcid, retry_scid = redeemed, dcid
        connection = NautilusQuicConnection(
            configuration=self._configuration,
            tls_config=self._tls_config,
            original_destination_connection_id=original_dcid,
            retry_source_connection_id=retry_scid,
            # The risk engine judges the client by its address (host only: its ports vary).
            peer_address=str(addr[0]),
            on_handshake=self._observer_for(addr),
        )
        protocol = self._create_protocol(connection, stream_handler=self._stream_handler)
        protocol.connection_made(cast(asyncio.BaseTransport, self._transport))
        protocol._connection_id_issued_handler = partial(self._issued, protocol=protocol)
        protocol._connection_id_retired_handler = partial(self._retired, protocol=protocol)
        protocol._connection_terminated_handler = partial(self._terminated, protocol=protocol)
        self._by_cid[dcid] = protocol
        self._by_cid[connection.host_cid] = protocol
        return protocol

    def _send_retry(self, header: QuicHeader, addr: Any) -> None:
        assert self._retry is not None and self._transport is not None
        if header.version is None:
            return
        retry_scid = os.urandom(self._configuration.connection_id_length)
        try:
            token = self._retry.mint(addr, header.destination_cid, retry_scid)
        except ValueError:
            return  # an address that is not an IP: nothing to validate
        self._transport.sendto(
            encode_quic_retry(
                version=header.version,
                source_cid=retry_scid,
                destination_cid=header.source_cid,
                original_destination_cid=header.destination_cid,
                retry_token=token,
            ),
            addr,
        )
        self.retries_sent += 1

    def _observer_for(self, addr: Any) -> Callable[[SessionInfo], None] | None:
        observer = self._on_handshake
        if observer is None:
            return None
        if not self._offload:
            return lambda info: observer(info, addr)
        loop = asyncio.get_running_loop()

        def on_loop(info: SessionInfo) -> None:
            # An offloaded handshake completes in a worker thread: the observer runs on the loop.
            loop.call_soon_threadsafe(observer, info, addr)

        return on_loop

    def _issued(self, cid: bytes, protocol: QuicConnectionProtocol) -> None:
        self._by_cid[cid] = protocol

    def _retired(self, cid: bytes, protocol: QuicConnectionProtocol) -> None:
        if self._by_cid.get(cid) is protocol:
            del self._by_cid[cid]

    def _terminated(self, protocol: QuicConnectionProtocol) -> None:
        for cid in [c for c, p in self._by_cid.items() if p is protocol]:
            del self._by_cid[cid]


def _handshake_complete(protocol: QuicConnectionProtocol) -> bool:
    return bool(protocol._quic._handshake_complete)


async def start_endpoint(
    host: str,
    port: int,
    *,
    configuration: QuicConfiguration,
    tls_config: ServerConfig,
    create_protocol: ProtocolFactory = QuicConnectionProtocol,
    stream_handler: QuicStreamHandler | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    on_handshake: HandshakeObserver | None = None,
    retry: RetryTokens | None = None,
) -> QuicEndpoint:
    """Bind a :class:`QuicEndpoint` on ``host``:``port`` (0: an ephemeral port);
    ``on_handshake(info, address)`` runs for every connection whose handshake completes;
    ``retry`` validates client addresses with Retry packets first. A client verifier with
    blocking look-ups (did:web DIDs it lists) makes them in a worker thread before the
    endpoint binds, then as often as it asks while the endpoint serves."""
    loop = asyncio.get_running_loop()
    verifier = client_judge(tls_config)
    interval = await prefetch(verifier)  # before any client can be judged
    _, protocol = await loop.create_datagram_endpoint(
        partial(
            QuicEndpoint,
            configuration=configuration,
            tls_config=tls_config,
            create_protocol=create_protocol,
            stream_handler=stream_handler,
            max_connections=max_connections,
            on_handshake=on_handshake,
            retry=retry,
        ),
        local_addr=(host, port),
    )
    keep_prefetched(protocol, verifier, interval)
    return protocol
