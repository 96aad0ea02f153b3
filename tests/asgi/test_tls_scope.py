"""The ASGI TLS extension under TLSServer (uvicorn, in this process): every HTTP scope carries
``extensions["tls"]`` (asgiref TLS extension 0.2) and our SessionInfo, per connection, with
and without a client certificate; scopes the server cannot match get no extension."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from certificates import pki

from nautilus_tls.asgi import TLSServer
from nautilus_tls.asgi.tls_scope import TLSScopes, tls_extension
from nautilus_tls.config import ServerConfig
from nautilus_tls.crypto.x509 import subject_of
from nautilus_tls.httpx import HTTPTransport
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.sync import TLSSocket

TIMEOUT = 30.0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        tls = (scope.get("extensions") or {}).get("tls") or {}
        await send({"type": "websocket.send", "text": json.dumps({"tls": tls})})
        await send({"type": "websocket.close"})
        return
    if scope["type"] != "http":
        return
    extensions = scope.get("extensions") or {}
    info = extensions.get("nautilus_tls", {}).get("session_info")
    body = {
        "tls": extensions.get("tls"),
        "group": info.group if info is not None else None,
        "client": list(scope["client"]),
    }
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


@contextmanager
def running(tls: ServerConfig) -> Iterator[tuple[TLSServer, int]]:
    server = TLSServer(uvicorn.Config(app, log_level="warning", lifespan="off"), tls)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(TIMEOUT)
        sock.close()
        assert not thread.is_alive()


def _pem_der(pem: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


def test_scopes_carry_the_tls_extension_with_the_client_certificate() -> None:
    p = pki("ecdsa-p256")
    tls = p.server_config(client_auth="require", client_trust_store=p.store)
    client_cfg = p.client_config(client_certificate=p.client)
    with (
        running(tls) as (_, port),
        httpx.Client(transport=HTTPTransport(config=client_cfg), timeout=TIMEOUT) as client,
    ):
        body = client.get(f"https://localhost:{port}/").json()
    ext = body["tls"]
    assert ext["tls_version"] == 0x0304
    assert ext["cipher_suite"] in (0x1301, 0x1302, 0x1303)
    assert _pem_der(ext["server_cert"]) == p.server.chain[0]
    assert [_pem_der(c) for c in ext["client_cert_chain"]] == list(p.client.chain)
    assert ext["client_cert_name"] == subject_of(p.client.chain[0])
    assert ext["client_cert_error"] is None
    assert body["group"] == "X25519MLKEM768"


def test_without_a_client_certificate_the_chain_is_empty() -> None:
    p = pki("mldsa65")
    with (
        running(p.server_config()) as (server, port),
        httpx.Client(transport=HTTPTransport(config=p.client_config()), timeout=TIMEOUT) as c,
    ):
        first = c.get(f"https://localhost:{port}/a").json()
        second = c.get(f"https://localhost:{port}/b").json()  # the same connection
        assert len(server.tls_scopes) == 1
    for body in (first, second):
        assert body["tls"]["client_cert_chain"] == [] and body["tls"]["client_cert_name"] is None
        assert _pem_der(body["tls"]["server_cert"]) == p.server.chain[0]


class _Alive:
    pass


def _info(suite: str, **kw: Any) -> SessionInfo:
    return SessionInfo(
        version="TLSv1.3",
        cipher_suite=suite,
        group="X25519MLKEM768",
        signature_scheme=None,
        alpn=None,
        server_name=None,
        **kw,
    )


def test_a_scope_of_an_unknown_or_closed_connection_gets_no_extension() -> None:
    scopes = TLSScopes()
    assert scopes.lookup({"client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}) is None
    assert scopes.lookup({"client": None, "server": ("127.0.0.1", 2)}) is None
    assert scopes.lookup({"client": ("x", "not a port"), "server": ("127.0.0.1", 2)}) is None

    class Writer:
        def __init__(self, alive: object) -> None:
            self._protocol = alive
            self.info = _info("TLS_AES_128_GCM_SHA256")

        def get_extra_info(self, name: str) -> object:
            return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 443)}[name]

    alive = _Alive()
    scopes.add(Writer(alive))  # type: ignore[arg-type]
    scope = {"client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 443)}
    entry = scopes.lookup(scope)
    assert entry is not None and entry.tls["cipher_suite"] == 0x1301
    assert entry.tls["server_cert"] is None  # no signature scheme: nothing was presented
    ref = weakref.ref(alive)
    del alive
    assert ref() is None
    assert scopes.lookup(scope) is None  # the connection is gone: no stale extension


def test_tls_extension_names_no_server_certificate_for_a_resumed_session() -> None:
    info = _info("TLS_AES_256_GCM_SHA384", resumed=True)
    ext = tls_extension(info)
    assert ext["server_cert"] is None and ext["cipher_suite"] == 0x1302


@pytest.mark.parametrize("entries", [2000])
def test_dead_entries_are_pruned_so_the_table_stays_bounded(entries: int) -> None:
    scopes = TLSScopes()

    class Writer:
        def __init__(self, port: int) -> None:
            self._protocol = _Alive()  # dies at once: a closed connection
            self.port = port
            self.info = _info("TLS_AES_128_GCM_SHA256")

        def get_extra_info(self, name: str) -> object:
            return ("127.0.0.1", self.port) if name == "peername" else ("127.0.0.1", 443)

    for port in range(entries):
        scopes.add(Writer(port))  # type: ignore[arg-type]
    assert len(scopes) < 1100


def _read_exact(sock: TLSSocket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def test_websocket_scopes_carry_the_tls_extension_too() -> None:
    pytest.importorskip("websockets", reason="uvicorn's WebSocket support needs websockets")
    p = pki("mldsa65")
    with running(p.server_config()) as (_, port):
        sock = TLSSocket.connect(("127.0.0.1", port), config=p.client_config(),
                                 server_name="localhost", timeout=TIMEOUT)  # fmt: skip
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                f"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += _read_exact(sock, 1)
            assert head.startswith(b"HTTP/1.1 101")
            first, size = _read_exact(sock, 2)
            assert first == 0x81  # one unmasked text frame (RFC 6455 §5.2)
            if size == 126:
                size = int.from_bytes(_read_exact(sock, 2), "big")
            body = json.loads(_read_exact(sock, size))
        finally:
            sock.close()
    assert body["tls"]["tls_version"] == 0x0304
    assert _pem_der(body["tls"]["server_cert"]) == p.server.chain[0]
