"""One echo round trip between two Nautilus peers over 127.0.0.1, through the asyncio adapter
or the blocking one (shared by the provider and large-ClientHello tests)."""

from __future__ import annotations

import asyncio
import threading

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
