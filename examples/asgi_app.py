"""An ASGI application under uvicorn over post-quantum TLS (pip install 'nautilus-tls[asgi]').

From the command line, the same application is served with

    nautilus-tls asgi asgi_app:app --cert server.pem --key server.key [--workers 4]

This script runs it in a thread with nautilus_tls.asgi.TLSServer, fetches one page with
httpx over our TLS and stops:

    python examples/asgi_app.py
"""

from __future__ import annotations

import tempfile
import threading
import time
from typing import Any

import httpx
import uvicorn

from nautilus_tls import CertifiedKey, ClientConfig, ServerConfig, TrustStore
from nautilus_tls.asgi import TLSServer
from nautilus_tls.httpx import HTTPTransport
from nautilus_tls.tools.certgen import write_pem_bundle


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return  # no lifespan work in this example
    body = f"scheme={scope['scheme']} path={scope['path']}\n".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    certs = write_pem_bundle(tempfile.mkdtemp(), "mldsa65", ["localhost"])  # development only
    tls = ServerConfig(
        certificates=(CertifiedKey.from_files(certs["server_pem"], certs["server_key"]),),
        alpn_protocols=(b"http/1.1",),
    )
    ports: list[int] = []
    server = TLSServer(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"),
        tls,
        on_listening=lambda socks: ports.append(socks[0].getsockname()[1]),
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not ports and time.monotonic() < deadline:
        time.sleep(0.05)

    config = ClientConfig(trust_store=TrustStore.from_file(certs["ca_pem"]))
    with httpx.Client(transport=HTTPTransport(config=config)) as client:
        print(client.get(f"https://localhost:{ports[0]}/hello").text.strip())
    server.should_exit = True
    thread.join(30)


if __name__ == "__main__":
    main()
