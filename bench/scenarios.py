"""One harness for every asyncio stack: the client side of each scenario, and in-process runs.

Each function measures one run and returns one number. ``port`` is a server of the same
stack, either in this process (:func:`in_process` starts one on the running loop) or in a
child process (the two-process variant). Every loop is bounded by a deadline and a count,
and every connection by :data:`CONNECTION_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bench.stacks import Client, Stack, port_of
from bench.wire import CHUNK, ECHO_REQUEST, PING, bulk_header, serve_connection

CONNECTION_TIMEOUT = 30.0
T = TypeVar("T")


class BenchError(Exception):
    """A run did not do what it was meant to (a resumption that was not one, a bad echo)."""


@dataclass
class HandshakeRun:
    count: int
    seconds: float
    resumed: int

    @property
    def rate(self) -> float:
        return self.count / self.seconds


async def _echo_once(client: Client, port: int, *, early: bool = False) -> tuple[bool, bool]:
    async with asyncio.timeout(CONNECTION_TIMEOUT):
        opened = await client.open(port, early_data=ECHO_REQUEST if early else None)
        if not opened.early_accepted:
            opened.writer.write(ECHO_REQUEST)
        reply = await opened.reader.readexactly(len(PING))
        if reply != PING:
            raise BenchError(f"bad echo {reply!r}")
        await client.close(opened)
        return opened.resumed, opened.early_accepted


async def warm_up(clients: list[Client], port: int) -> None:
    """One untimed connection per slot: code paths warm, and a ticket for resumption."""
    await asyncio.gather(*(_echo_once(c, port) for c in clients))


async def handshakes(
    clients: list[Client], port: int, *, duration: float, max_count: int
) -> HandshakeRun:
    """Connections (connect, handshake, one echo, close) with ``len(clients)`` in flight."""
    loop = asyncio.get_running_loop()
    started = 0
    done = 0
    resumed = 0
    t0 = loop.time()
    deadline = t0 + duration

    async def worker(client: Client) -> None:
        nonlocal started, done, resumed
        while started < max_count and loop.time() < deadline:
            started += 1
            was_resumed, _ = await _echo_once(client, port)
            done += 1
            resumed += was_resumed

    await asyncio.gather(*(worker(c) for c in clients))
    return HandshakeRun(done, loop.time() - t0, resumed)


async def time_to_first_byte(
    client: Client, port: int, *, count: int, mode: str
) -> tuple[float, int]:
    """Median seconds from connect() to the first echoed byte over ``count`` connections,
    and how many did what ``mode`` ("full", "resumed", "0rtt") asks."""
    samples: list[float] = []
    matched = 0
    for _ in range(count):
        async with asyncio.timeout(CONNECTION_TIMEOUT):
            t0 = time.perf_counter()
            opened = await client.open(port, early_data=ECHO_REQUEST if mode == "0rtt" else None)
            if not opened.early_accepted:
                opened.writer.write(ECHO_REQUEST)
            await opened.reader.readexactly(len(PING))
            samples.append(time.perf_counter() - t0)
            await client.close(opened)
        if mode == "full":
            matched += not opened.resumed
        elif mode == "resumed":
            matched += opened.resumed and not opened.early_accepted
        else:
            matched += opened.early_accepted
    return statistics.median(samples), matched


async def bulk(client: Client, port: int, *, total: int, chunk: int = CHUNK) -> float:
    """Seconds to send ``total`` bytes in ``chunk``-byte writes and get the server's ack."""
    if total <= 0 or total % chunk:
        raise ValueError("total must be a positive multiple of chunk")
    async with asyncio.timeout(max(CONNECTION_TIMEOUT, total / 2**20)):
        opened = await client.open(port)
        writer = opened.writer
        data = b"x" * chunk
        t0 = time.perf_counter()
        writer.write(bulk_header(total))
        for _ in range(total // chunk):
            writer.write(data)
            await writer.drain()
        await opened.reader.readexactly(1)
        seconds = time.perf_counter() - t0
        await client.close(opened)
    return seconds


async def in_process(
    stack: Stack, body: Callable[[int], Awaitable[T]], *, early: bool = False
) -> T:
    """Run ``body(port)`` against a server of ``stack`` on this very loop."""
    server = await stack.serve(serve_connection, early=early)
    try:
        return await body(port_of(server))
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), CONNECTION_TIMEOUT)
