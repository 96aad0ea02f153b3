"""The sans-I/O core driven by hand: a correct loop over plain sockets.

    python examples/sansio_loop.py

The connection never touches a socket. The loop's rules, for any transport:

1. after every call into the connection, write out ``data_to_send()`` (a handshake message,
   an alert, a KeyUpdate can appear after ``receive_data`` as well as after ``send_data``);
2. feed every byte read to ``receive_data``, and ``b""`` once the transport reports its end;
3. drain ``next_event()`` until it returns None, and act on each event (answer the peer's
   close_notify, ``ConnectionClosed(clean=True)``, with ``close()``: it sends ours);
4. a ``TLSError`` raised by any call is fatal: send what ``data_to_send()`` still holds (the
   alert), then close the transport.
"""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Callable

from nautilus_tls import (
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    DataReceived,
    Event,
    HandshakeCompleted,
    ServerConfig,
    ServerConnection,
    TLSError,
    TrustStore,
)
from nautilus_tls.connection import Connection
from nautilus_tls.tools.certgen import write_pem_bundle


def flush(conn: Connection, sock: socket.socket) -> None:
    if data := conn.data_to_send():
        sock.sendall(data)


OnEvent = Callable[[Connection, Event], None]


def run(conn: Connection, sock: socket.socket, on_event: OnEvent, log: list[str]) -> None:
    """Drive ``conn`` over ``sock`` until the TLS connection ends; ``on_event`` may send."""
    try:
        flush(conn, sock)  # a client's ClientHello after start()
        while True:
            data = sock.recv(65536)
            conn.receive_data(data)  # b"": the peer closed the socket
            flush(conn, sock)
            while (event := conn.next_event()) is not None:
                if isinstance(event, HandshakeCompleted):
                    log.append(f"handshake done: {event.info.group}, {event.info.cipher_suite}")
                on_event(conn, event)
                if isinstance(event, ConnectionClosed):
                    if event.clean:
                        conn.close()  # answer the peer's close_notify with ours (no-op if sent)
                    flush(conn, sock)
                    log.append(f"closed (clean={event.clean})")
                    return
                flush(conn, sock)
            if not data:
                return
    except TLSError as exc:
        log.append(f"failed: {exc}")
        flush(conn, sock)  # the alert that says why
    finally:
        sock.close()


def main() -> None:
    certs = write_pem_bundle(tempfile.mkdtemp(), "mldsa65", ["localhost"])  # development only
    server_key = CertifiedKey.from_files(certs["server_pem"], certs["server_key"])
    server = ServerConnection(ServerConfig(certificates=(server_key,)))
    client_config = ClientConfig(trust_store=TrustStore.from_file(certs["ca_pem"]))
    client = ClientConnection(client_config, "localhost")
    client_sock, server_sock = socket.socketpair()
    server_log: list[str] = []
    client_log: list[str] = []

    def echo(conn: Connection, event: Event) -> None:
        if isinstance(event, DataReceived):
            conn.send_data(event.data.upper())

    def client_side(conn: Connection, event: Event) -> None:
        if isinstance(event, HandshakeCompleted):
            conn.send_data(b"hello, sans-I/O")
        elif isinstance(event, DataReceived):
            client_log.append(f"reply: {event.data.decode()}")
            conn.close()  # close_notify; the server answers with its own

    thread = threading.Thread(target=run, args=(server, server_sock, echo, server_log))
    thread.start()
    client.start()
    run(client, client_sock, client_side, client_log)
    thread.join(30)
    for line in client_log:
        print("client", line)
    for line in server_log:
        print("server", line)


if __name__ == "__main__":
    main()
