"""A server that accepts only post-quantum key exchange and signatures (policy "pq-only").

    python examples/pq_only_server.py

A default client (hybrid policy, X25519MLKEM768 first) connects; a client that offers only
classical x25519 is refused with the alert the server sends.
"""

from __future__ import annotations

import asyncio
import tempfile

import nautilus_tls
from nautilus_tls import CertifiedKey, ClientConfig, ServerConfig, TLSError, TrustStore
from nautilus_tls.tools.certgen import write_pem_bundle
from nautilus_tls.wire.enums import NamedGroup


async def echo(reader: nautilus_tls.TLSReader, writer: nautilus_tls.TLSWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


async def main() -> None:
    certs = write_pem_bundle(tempfile.mkdtemp(), "mldsa65", ["localhost"])  # development only
    server_config = ServerConfig(
        certificates=(CertifiedKey.from_files(certs["server_pem"], certs["server_key"]),),
        policy="pq-only",
    )
    server = await nautilus_tls.start_server(echo, "127.0.0.1", 0, config=server_config)
    port = server.sockets[0].getsockname()[1]
    trust = TrustStore.from_file(certs["ca_pem"])
    async with server:
        _, writer = await nautilus_tls.connect(
            "localhost", port, config=ClientConfig(trust_store=trust)
        )
        print(f"default client: {writer.info.group} with {writer.info.signature_scheme}")
        writer.close()
        await writer.wait_closed()

        classical = ClientConfig(trust_store=trust, policy="compat", groups=(NamedGroup.x25519,))
        try:
            await nautilus_tls.connect("localhost", port, config=classical)
        except TLSError as exc:
            print(f"classical client refused: {exc}")


if __name__ == "__main__":
    asyncio.run(main())
