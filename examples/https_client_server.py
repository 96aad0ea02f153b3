"""An HTTPS server and its client over post-quantum TLS, with the asyncio streams.

    python examples/https_client_server.py

The server answers one HTTP/1.1 request per connection; the client sends a GET, reads the
answer until the server's close_notify and prints what the handshake negotiated.
"""

from __future__ import annotations

import asyncio
import tempfile

import nautilus_tls
from nautilus_tls import CertifiedKey, ClientConfig, ServerConfig, TrustStore
from nautilus_tls.tools.certgen import write_pem_bundle


async def handle(reader: nautilus_tls.TLSReader, writer: nautilus_tls.TLSWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")  # the request head
    body = f"hello over {writer.info.group}\n".encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    writer.close()  # close_notify: the client knows the answer is complete


async def main() -> None:
    certs = write_pem_bundle(tempfile.mkdtemp(), "mldsa65", ["localhost"])  # development only
    server_key = CertifiedKey.from_files(certs["server_pem"], certs["server_key"])
    server_config = ServerConfig(certificates=(server_key,), alpn_protocols=(b"http/1.1",))
    server = await nautilus_tls.start_server(handle, "127.0.0.1", 0, config=server_config)
    port = server.sockets[0].getsockname()[1]
    async with server:
        client_config = ClientConfig(
            trust_store=TrustStore.from_file(certs["ca_pem"]), alpn_protocols=(b"http/1.1",)
        )
        reader, writer = await nautilus_tls.connect("localhost", port, config=client_config)
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        response = b""
        while chunk := await reader.read(65536):  # b"" after the server's close_notify
            response += chunk
        writer.close()
        await writer.wait_closed()
        info = writer.info
        print(response.decode().splitlines()[0])
        print(response.decode().split("\r\n\r\n", 1)[1].strip())
        print(f"group={info.group} suite={info.cipher_suite} signature={info.signature_scheme}")


if __name__ == "__main__":
    asyncio.run(main())
