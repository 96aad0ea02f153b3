"""A real HTTPS server of ours for the did:web tests: our TLSListener (the tests' PKI) in a
thread, answering GET requests from a table of paths. Bound to 127.0.0.1 on an ephemeral
port; every socket operation has a timeout, and ``stop`` joins the thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from certificates import pki

from nautilus_tls.errors import TLSError
from nautilus_tls.sync.socket import TLSListener

IO_TIMEOUT = 5.0


@dataclass
class DocumentServer:
    """``routes``: path -> (HTTP status, body). ``hits`` counts requests per path."""

    routes: dict[str, tuple[int, bytes]]
    port: int = 0
    hits: dict[str, int] = field(default_factory=dict)

    @property
    def authority(self) -> str:
        """``localhost%3APORT``: the did:web spelling of our address."""
        return f"localhost%3A{self.port}"


def _read_head(tls: object) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 16 * 1024:
        chunk = tls.recv(4096)  # type: ignore[attr-defined]
        if not chunk:
            break
        head += chunk
    return head


def _answer(server: DocumentServer, listener: TLSListener, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            tls = listener.accept(timeout=0.2)
        except TimeoutError:
            continue
        except (TLSError, OSError):
            continue  # a client that gave up the handshake (the untrusted-CA test)
        with tls:
            try:
                tls.settimeout(IO_TIMEOUT)
                request_line = _read_head(tls).split(b"\r\n", 1)[0].decode("latin-1")
                path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else "/"
                server.hits[path] = server.hits.get(path, 0) + 1
                status, body = server.routes.get(path, (404, b"not found"))
                tls.sendall(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/did+json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            except (TLSError, OSError):
                continue


@contextlib.contextmanager
def document_server(routes: dict[str, tuple[int, bytes]]) -> Iterator[DocumentServer]:
    """Serve ``routes`` over TLS on 127.0.0.1 (certificate for localhost from pki())."""
    listener = TLSListener("127.0.0.1", 0, pki().server_config())
    server = DocumentServer(routes=routes, port=listener.address[1])
    stop = threading.Event()
    thread = threading.Thread(target=_answer, args=(server, listener, stop), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()
