"""The server process of the load test (tests/test_load.py): an asyncio TLS echo server.

``python tests/loadserver.py PEM_DIR HANDSHAKE_TIMEOUT`` serves on 127.0.0.1 (an ephemeral
port, printed as ``port N`` on stdout) with two certificates: ECDSA P-256 for ``localhost``
and ML-DSA-65 for ``pq.localhost`` (chosen by SNI). Each connection echoes one line, then
closes. It prints ``stats ...`` lines when asked on stdin (``stats``) and exits when stdin
closes.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

from nautilus_tls.aio import TLSReader, TLSWriter, start_server
from nautilus_tls.config import CertifiedKey, ServerConfig

counts = {"handshakes": 0}


async def echo_line(reader: TLSReader, writer: TLSWriter) -> None:
    counts["handshakes"] += 1
    try:
        writer.write(await reader.readline())
        await writer.drain()
    finally:
        writer.close()


async def main(pem_dir: Path, handshake_timeout: float) -> None:
    config = ServerConfig(
        certificates=(
            CertifiedKey.from_files(
                pem_dir / "ecdsa" / "server.pem", pem_dir / "ecdsa" / "server.key"
            ),
            CertifiedKey.from_files(pem_dir / "pq" / "server.pem", pem_dir / "pq" / "server.key"),
        ),
        handshake_timeout=handshake_timeout,
        session_tickets=0,
        keylog_file=None,
    )
    server = await start_server(echo_line, "127.0.0.1", 0, config=config, backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := await stdin.readline():
        if line.strip() == b"stats":
            gc.collect()
            tasks = len(asyncio.all_tasks())
            print(f"stats handshakes={counts['handshakes']} tasks={tasks}", flush=True)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2])))
