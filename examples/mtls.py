"""Mutual TLS: the server requires a client certificate issued by its CA.

    python examples/mtls.py

A client with a certificate is let in and the server sees who it is; a client without one
is refused.
"""

from __future__ import annotations

import asyncio
import tempfile

import nautilus_tls
from nautilus_tls import CertifiedKey, ClientConfig, ServerConfig, TLSError, TrustStore
from nautilus_tls.tools.certgen import write_pem_bundle


async def greet(reader: nautilus_tls.TLSReader, writer: nautilus_tls.TLSWriter) -> None:
    writer.write(f"hello, {writer.info.peer_certificate_subject}\n".encode())
    await writer.drain()


async def main() -> None:
    certs = write_pem_bundle(tempfile.mkdtemp(), "mldsa65", ["localhost"])  # development only
    trust = TrustStore.from_file(certs["ca_pem"])
    server_config = ServerConfig(
        certificates=(CertifiedKey.from_files(certs["server_pem"], certs["server_key"]),),
        client_auth="require",
        client_trust_store=trust,  # the CAs whose client certificates are accepted
    )
    server = await nautilus_tls.start_server(greet, "127.0.0.1", 0, config=server_config)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with_cert = ClientConfig(
            trust_store=trust,
            client_certificate=CertifiedKey.from_files(certs["client_pem"], certs["client_key"]),
        )
        reader, writer = await nautilus_tls.connect("localhost", port, config=with_cert)
        print("with a certificate:", (await reader.read(65536)).decode().strip())
        writer.close()
        await writer.wait_closed()

        try:
            reader, writer = await nautilus_tls.connect(
                "localhost", port, config=ClientConfig(trust_store=trust)
            )
            await reader.read(65536)  # TLS 1.3: the refusal can come after our Finished
        except TLSError as exc:
            print(f"without a certificate: refused ({exc})")


if __name__ == "__main__":
    asyncio.run(main())
