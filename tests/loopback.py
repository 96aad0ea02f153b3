"""One echo round trip between two Nautilus peers over 127.0.0.1, through the asyncio adapter
or the blocking one (shared by the provider and large-ClientHello tests), and a Python ``ssl``
server that closes the way many scripts do (for the end-of-stream tests)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.sync import TLSListener, TLSSocket

TIMEOUT = 20.0
PAYLOAD = bytes(range(256)) * 80  # 20 KiB: more than one record each way


def aio_echo(client_cfg: ClientConfig, server_cfg: ServerConfig) -> tuple[SessionInfo, SessionInfo]:
    """(client info, server info) after echoing :data:`PAYLOAD` through the asyncio adapter."""
    server_infos: list[SessionInfo] = []

    async def echo(reader: TLSReader, writer: TLSWriter) -> None:
        server_infos.append(writer.info)
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    async def main() -> SessionInfo:
        server = await start_server(echo, "127.0.0.1", 0, config=server_cfg)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await connect(
                "127.0.0.1", port, config=client_cfg, server_name="localhost"
            )
            writer.write(PAYLOAD)
            await writer.drain()
            assert await reader.readexactly(len(PAYLOAD)) == PAYLOAD
            info = writer.info
            writer.close()
            await writer.wait_closed()
            return info
        finally:
            server.close()
            await server.wait_closed()

    client_info = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    return client_info, server_infos[0]


def sync_echo(
    client_cfg: ClientConfig, server_cfg: ServerConfig
) -> tuple[SessionInfo, SessionInfo]:
    """(client info, server info) after echoing :data:`PAYLOAD` through TLSSocket/TLSListener."""
    server_infos: list[SessionInfo] = []
    errors: list[BaseException] = []

    with TLSListener("127.0.0.1", 0, server_cfg) as listener:

        def serve() -> None:
            try:
                with listener.accept(timeout=TIMEOUT) as conn:
                    server_infos.append(conn.info)
                    while data := conn.recv(65536):
                        conn.sendall(data)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with TLSSocket.connect(
            listener.address, config=client_cfg, server_name="localhost", timeout=TIMEOUT
        ) as client:
            client.sendall(PAYLOAD)
            got = b""
            while len(got) < len(PAYLOAD):
                got += client.recv(65536)
            assert got == PAYLOAD
            info = client.info
        thread.join(TIMEOUT)
        assert not thread.is_alive() and errors == []
    return info, server_infos[0]


ADAPTERS = {"asyncio": aio_echo, "blocking": sync_echo}


@contextmanager
def python_ssl_server(
    pki_dir: Path, *, then: Literal["close", "reset"], connections: int = 1
) -> Iterator[int]:
    """A Python ``ssl`` server on 127.0.0.1 (yields its port) using ``pki_dir``'s
    server.pem/server.key. Per connection it does ``recv(100)``, ``sendall`` of what it got,
    then either ``close()`` without close_notify ("close", like HTTP/1.0 servers and many
    scripts) or, once the reply has had time to arrive, a TCP reset ("reset")."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki_dir / "server.pem", pki_dir / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> None:
        for _ in range(connections):
            try:
                raw, _ = listener.accept()
                with context.wrap_socket(raw, server_side=True) as tls:
                    tls.settimeout(TIMEOUT)
                    tls.sendall(tls.recv(100))
                    if then == "reset":
                        time.sleep(0.3)
                        # SO_LINGER 0: close() sends RST instead of FIN.
                        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                if stopping.is_set():
                    return
                continue  # a client that gave up; the test reports its own failure

    stopping = threading.Event()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes a pending accept()
        thread.join(TIMEOUT)
        listener.close()
