"""The ``quic`` fuzz target: datagrams from one client address into our QUIC server endpoint.

Input: ``flags(1) || (length(2) || datagram)*`` (at most :data:`MAX_DATAGRAMS`). Flag bit 0
turns Retry on: the endpoint then validates addresses with tokens under a fixed key and clock,
so the seeds' tokens stay valid. Each input runs in its own short event loop against a fresh
:class:`~nautilus_tls.quic.endpoint.QuicEndpoint` over a transport that records what it sends.

A finding is an exception out of ``datagram_received``, a connection held by a Retry endpoint
that no datagram carrying a valid token asked for, or more than three bytes sent per byte
received from an address that was never validated (RFC 9000 §8: anti-amplification).
Seeds: a real first flight of our client (X25519MLKEM768, two datagrams), with Retry off and
on, and its second flight carrying the token of the endpoint's Retry.
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable
from functools import cache
from typing import Any

from aioquic._buffer import Buffer
from aioquic.quic.packet import QuicPacketType, pull_quic_header
from quic.quicpeers import memory_pair, our_client_config, our_server_config

from nautilus_tls.quic.api import server_quic_configuration
from nautilus_tls.quic.endpoint import QuicEndpoint
from nautilus_tls.quic.retry import RetryTokens

MAX_DATAGRAMS = 8
RETRY = 0x01
CLIENT = ("127.0.0.1", 50000)
SERVER = ("127.0.0.1", 4433)
_KEY = bytes(range(32))
_NOW = 1_800_000_000.0

ByteMutator = Callable[[bytes, int], bytes]


class Finding(Exception):
    """An invariant of the endpoint was broken."""


class _RecordingTransport(asyncio.DatagramTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.sent.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return SERVER if name == "sockname" else default

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def abort(self) -> None:
        pass


def _tokens() -> RetryTokens:
    return RetryTokens(_KEY, clock=lambda: _NOW)


@cache
def _server() -> tuple[Any, Any]:
    tls = our_server_config("ecdsa-p256")
    return tls, server_quic_configuration(tls)


def encode(flags: int, datagrams: list[bytes]) -> bytes:
    return bytes((flags,)) + b"".join(struct.pack(">H", len(d)) + d for d in datagrams)


def decode(data: bytes) -> tuple[int, list[bytes]]:
    if not data:
        return 0, []
    out: list[bytes] = []
    at = 1
    while at + 2 <= len(data) and len(out) < MAX_DATAGRAMS:
        (size,) = struct.unpack_from(">H", data, at)
        out.append(data[at + 2 : at + 2 + size])
        at += 2 + size
    return data[0], out


def _carries_valid_token(datagram: bytes) -> bool:
    if len(datagram) < 1200:
        return False
    try:
        header = pull_quic_header(Buffer(data=datagram), host_cid_length=8)
    except ValueError:
        return False
    return (
        header.packet_type == QuicPacketType.INITIAL
        and bool(header.token)
        and _tokens().redeem(CLIENT, header.destination_cid, header.token) is not None
    )


async def _feed(flags: int, datagrams: list[bytes]) -> tuple[QuicEndpoint, list[bytes]]:
    tls, quic = _server()
    endpoint = QuicEndpoint(
        configuration=quic, tls_config=tls, retry=_tokens() if flags & RETRY else None
    )
    transport = _RecordingTransport()
    endpoint.connection_made(transport)
    try:
        for datagram in datagrams:
            endpoint.datagram_received(datagram, CLIENT)
        validated = any(_carries_valid_token(d) for d in datagrams)
        if flags & RETRY and endpoint.connections and not validated:
            raise Finding("a Retry endpoint holds a connection no valid token asked for")
        received = sum(len(d) for d in datagrams)
        sent = sum(len(d) for d in transport.sent)
        if not validated and sent > 3 * received:
            raise Finding(f"sent {sent} bytes for {received} from an unvalidated address")
    finally:
        endpoint.close()
    return endpoint, transport.sent


def one_input(data: bytes) -> None:
    flags, datagrams = decode(data)
    if datagrams:
        asyncio.run(_feed(flags, datagrams))


@cache
def _flights() -> tuple[list[bytes], list[bytes]]:
    """Our client's first flight, and its flight after the Retry endpoint's answer."""
    client, _ = memory_pair(our_client_config("ecdsa-p256"), None)
    client.connect(SERVER, now=_NOW)
    first = [d for d, _ in client.datagrams_to_send(now=_NOW)]
    _, answers = asyncio.run(_feed(RETRY, first))
    client.receive_datagram(answers[0], SERVER, now=_NOW)
    second = [d for d, _ in client.datagrams_to_send(now=_NOW)]
    return first, second


def seeds() -> list[bytes]:
    first, second = _flights()
    return [encode(0, first), encode(RETRY, first), encode(RETRY, second), encode(RETRY, [])]


def mutate(data: bytes, max_size: int, seed: int, byte_mutate: ByteMutator) -> bytes:
    rng = random.Random(seed)
    flags, datagrams = decode(data)
    if not datagrams or rng.random() < 0.1:
        flags ^= RETRY
        datagrams = datagrams or [bytes(1200)]
    i = rng.randrange(len(datagrams))
    datagrams[i] = byte_mutate(datagrams[i], 1500)
    if rng.random() < 0.1 and len(datagrams) < MAX_DATAGRAMS:
        datagrams.append(datagrams[i])  # a replayed datagram
    return encode(flags, datagrams)[:max_size]
