"""The request every benchmark server answers, whatever the stack (Python, Node, tlslite).

The client's first byte says what it wants:

* ``E`` + payload: echo. Everything after the ``E`` (and everything sent later) comes back.
* ``B`` + 8-byte big-endian length + that many bytes: bulk. The server counts the bytes and
  answers one byte ``k`` when it has them all.

After that the server reads until end of stream and closes. ``node_bench.js`` implements the
same protocol; keep them in step.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from nautilus_tls.errors import TLSError

ECHO = b"E"
BULK = b"B"
PING = b"ping"
ECHO_REQUEST = ECHO + PING
BULK_ACK = b"k"
READ_SIZE = 1 << 20
CHUNK = 64 * 1024


def bulk_header(total: int) -> bytes:
    return BULK + total.to_bytes(8, "big")


async def _serve(reader: Any, writer: Any) -> None:
    # 0-RTT: a Nautilus server reader keeps early data apart; treat it as the first bytes.
    buf = bytes(getattr(reader, "early_data", b"")) or await reader.read(READ_SIZE)
    if not buf:
        return
    if buf[:1] == BULK:
        while len(buf) < 9:
            more = await reader.read(READ_SIZE)
            if not more:
                return
            buf += more
        total = int.from_bytes(buf[1:9], "big")
        got = len(buf) - 9
        while got < total:
            data = await reader.read(READ_SIZE)
            if not data:
                return
            got += len(data)
        writer.write(BULK_ACK)
        await writer.drain()
        while await reader.read(READ_SIZE):
            pass
        return
    payload = buf[1:]
    while True:
        if payload:
            writer.write(payload)
            await writer.drain()
        payload = await reader.read(READ_SIZE)
        if not payload:
            return


async def serve_connection(reader: Any, writer: Any) -> None:
    """The server side of one connection, for asyncio stream pairs of any stack."""
    try:
        await _serve(reader, writer)
    except (OSError, TLSError, asyncio.IncompleteReadError):
        pass  # the client went away; a benchmark server does not care why
    finally:
        with contextlib.suppress(Exception):
            writer.close()
