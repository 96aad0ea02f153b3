"""wrap_socket: TLS over sockets the caller connected, with the ssl.SSLSocket surface."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from certificates import Pki

from nautilus_tls.errors import BadCertificate, ConfigError
from nautilus_tls.sync.wrap import WrappedSocket, wrap_socket

TIMEOUT = 10.0


@contextmanager
def tls_server(
    pki: Pki, serve_one: Callable[[WrappedSocket], None], **server_kw: object
) -> Iterator[tuple[int, list[BaseException]]]:
    """A loopback listener whose one connection is wrapped server-side and served in a thread."""
    errors: list[BaseException] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def run() -> None:
        try:
            raw, _ = listener.accept()
            with wrap_socket(raw, config=pki.server_config(**server_kw), timeout=TIMEOUT) as tls:
                serve_one(tls)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], errors
    finally:
        thread.join(TIMEOUT)
        listener.close()
        assert not thread.is_alive()


def _client(pki: Pki, port: int, **kw: object) -> WrappedSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return wrap_socket(raw, config=pki.client_config(**kw), server_hostname="localhost")


def test_round_trips_with_makefile_recv_into_and_half_close(tls_pki: Pki) -> None:
    def serve(tls: WrappedSocket) -> None:
        reader = tls.makefile("rb")
        line = reader.readline()
        rest = reader.read()  # until the client's close_notify
        tls.sendall(line.upper() + rest + b"|done")

    with tls_server(tls_pki, serve) as (port, errors), _client(tls_pki, port) as tls:
        assert tls.send(b"hello\nworld") == len(b"hello\nworld")
        tls.shutdown(socket.SHUT_WR)  # close_notify + FIN; the server can still answer
        buf = bytearray(64)
        got = b""
        while n := tls.recv_into(buf):
            got += bytes(buf[:n])
    assert not errors, errors
    assert got == b"HELLO\nworld|done"


def test_answers_ssl_queries_like_ssl_sslsocket(tls_pki: Pki) -> None:
    with tls_server(tls_pki, lambda tls: None) as (port, errors), _client(tls_pki, port) as tls:
        assert tls.version() == "TLSv1.3"
        suite, version, bits = tls.cipher() or ("", "", 0)
        assert suite.startswith("TLS_") and version == "TLSv1.3" and bits in (128, 256)
        assert tls.getpeercert(binary_form=True) == tls_pki.server.chain[0]
        cert = tls.getpeercert()
        assert isinstance(cert, dict) and ("DNS", "localhost") in cert["subjectAltName"]
        assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
        assert tls.selected_alpn_protocol() is None
        assert tls.ssl_object.session_info == tls.info
    assert not errors, errors


def test_http_client_speaks_http_over_the_wrapped_socket(tls_pki: Pki) -> None:
    def serve(tls: WrappedSocket) -> None:
        request = tls.makefile("rb")
        while request.readline() not in (b"\r\n", b""):
            pass
        body = b"post-quantum"
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            raw = socket.create_connection((self.host, self.port), timeout=TIMEOUT)
            self.sock = wrap_socket(  # type: ignore[assignment]
                raw, config=tls_pki.client_config(), server_hostname="localhost"
            )

    with tls_server(tls_pki, serve) as (port, errors):
        conn = Conn("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"post-quantum"
        conn.close()
    assert not errors, errors


def test_rejects_client_without_server_hostname(tls_pki: Pki) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        raw = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        with raw, pytest.raises(ConfigError, match="server_hostname"):
            wrap_socket(raw, config=tls_pki.client_config())


def test_rejects_untrusted_server_and_closes_the_socket(tls_pki: Pki, other_pki: Pki) -> None:
    def serve(tls: WrappedSocket) -> None:
        pass

    with tls_server(tls_pki, serve) as (port, errors):
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        with pytest.raises(BadCertificate):
            wrap_socket(raw, config=other_pki.client_config(), server_hostname="localhost")
        assert raw.fileno() == -1  # closed by wrap_socket
    assert errors  # the server saw the alert


def test_rejects_a_config_that_is_not_one(tls_pki: Pki) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        raw = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        with raw, pytest.raises(ConfigError, match="ClientConfig or a ServerConfig"):
            wrap_socket(raw, config=object())  # type: ignore[arg-type]


def test_idle_socket_reads_readable_only_once_the_peer_closes(tls_pki: Pki) -> None:
    """Post-handshake messages (tickets, a KeyUpdate) do not make an idle socket readable;
    the peer's close_notify does (httpcore drops pooled connections that read readable)."""
    done = threading.Event()

    def serve(tls: WrappedSocket) -> None:
        tls.key_update(request_peer=False)
        done.wait(TIMEOUT)

    with tls_server(tls_pki, serve) as (port, errors), _client(tls_pki, port) as tls:
        deadline = time.monotonic() + TIMEOUT
        while tls.key_updates_received == 0 and time.monotonic() < deadline:
            assert not tls.is_readable()
            time.sleep(0.02)
        assert tls.key_updates_received == 1
        assert not tls.is_readable()
        done.set()
        while not tls.is_readable() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert tls.is_readable()
        assert tls.recv(10) == b""  # close_notify from the server
    assert not errors, errors
