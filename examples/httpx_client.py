"""httpx over post-quantum TLS: nautilus_tls.httpx.HTTPTransport (pip install
'nautilus-tls[httpx]'), against a small blocking-socket server in a thread.

    python examples/httpx_client.py

The second request opens a new connection (keep-alive is off here to show it) and resumes
the first one's session with a ticket: no certificate, one round trip less.
"""

from __future__ import annotations

import tempfile
import threading

import httpx

from nautilus_tls import CertifiedKey, ClientConfig, ServerConfig, TLSListener, TrustStore
from nautilus_tls.httpx import HTTPTransport, session_info
from nautilus_tls.tools.certgen import write_pem_bundle


def serve(listener: TLSListener, connections: int) -> None:
    """Answer one request on each of ``connections`` connections."""
    for _ in range(connections):
        with listener.accept(timeout=30) as conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            body = b"hello from a post-quantum server\n"
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                + body
            )


def main() -> None:
    certs = write_pem_bundle(tempfile.mkdtemp(), "mldsa65", ["localhost"])  # development only
    server_key = CertifiedKey.from_files(certs["server_pem"], certs["server_key"])
    listener = TLSListener("127.0.0.1", 0, ServerConfig(certificates=(server_key,)))
    port = listener.address[1]
    thread = threading.Thread(target=serve, args=(listener, 2), daemon=True)
    thread.start()

    config = ClientConfig(trust_store=TrustStore.from_file(certs["ca_pem"]))
    one_use = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(transport=HTTPTransport(config=config, limits=one_use)) as client:
        for _ in range(2):
            response = client.get(f"https://localhost:{port}/")
            info = session_info(response)
            assert info is not None
            print(
                response.status_code,
                response.text.strip(),
                f"group={info.group}",
                f"resumed={info.resumed}",
            )
    thread.join(30)
    listener.close()


if __name__ == "__main__":
    main()
