"""The blocking adapter over loopback: TLSSocket and TLSListener on the same core."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from certificates import Pki
from loopback import python_ssl_server

from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    ConnectionClosedError,
    HandshakeTimeout,
    MissingCloseNotify,
    ProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.sync import TLSListener, TLSSocket

TIMEOUT = 10.0


@contextmanager
def listener_thread(
    listener: TLSListener, serve_one: Callable[[TLSSocket], None]
) -> Iterator[list[BaseException]]:
    """Accept one connection in a thread and run ``serve_one`` on it; errors are collected."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with listener.accept(timeout=TIMEOUT) as conn:
                serve_one(conn)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        thread.join(TIMEOUT)
        assert not thread.is_alive()


def echo(conn: TLSSocket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def test_echo_key_update_and_exporter(tls_pki: Pki) -> None:
    exporters: list[bytes] = []

    def serve_one(conn: TLSSocket) -> None:
        exporters.append(conn.export_keying_material(b"EXPERIMENTAL-sync", None, 32))
        echo(conn)

    with TLSListener("127.0.0.1", 0, tls_pki.server_config()) as listener:
        host, port = listener.address
        assert host == "127.0.0.1" and port > 0
        with (
            listener_thread(listener, serve_one) as errors,
            TLSSocket.connect(
                listener.address,
                config=tls_pki.client_config(),
                server_name="localhost",
                timeout=TIMEOUT,
            ) as client,
        ):
            assert client.info.group == "X25519MLKEM768"
            assert client.info.signature_scheme == "mldsa65"
            client.sendall(b"ping")
            assert client.recv(100) == b"ping"
            client.key_update()
            big = bytes(range(256)) * 200
            client.sendall(big)
            got = b""
            while len(got) < len(big):
                got += client.recv(65536)
            assert got == big
            assert client.key_updates_received == 1 and client.key_updates_sent == 1
            mine = client.export_keying_material(b"EXPERIMENTAL-sync", None, 32)
        assert errors == []
    assert exporters == [mine]


def test_clean_close_reads_as_empty_bytes(tls_pki: Pki) -> None:
    def serve_one(conn: TLSSocket) -> None:
        conn.sendall(b"bye")

    with (
        TLSListener("127.0.0.1", 0, tls_pki.server_config()) as listener,
        listener_thread(listener, serve_one),
        TLSSocket.connect(
            listener.address,
            config=tls_pki.client_config(),
            server_name="localhost",
            timeout=TIMEOUT,
        ) as client,
    ):
        data = b""
        while chunk := client.recv(10):
            data += chunk
        assert data == b"bye"
        assert client.recv(10) == b""


def test_eof_without_close_notify_raises_truncation(tls_pki: Pki) -> None:
    def serve_one(conn: TLSSocket) -> None:
        conn.sendall(b"partial")
        conn._sock.close()  # TCP close without close_notify
        conn._closed = True

    with (
        TLSListener("127.0.0.1", 0, tls_pki.server_config()) as listener,
        listener_thread(listener, serve_one),
        TLSSocket.connect(
            listener.address,
            config=tls_pki.client_config(),
            server_name="localhost",
            timeout=TIMEOUT,
        ) as client,
    ):
        got = b""
        with pytest.raises(RemoteProtocolError, match="truncation"):
            while True:
                got += client.recv(100)
        assert got == b"partial"


def test_rejects_unknown_ca_with_alert(tls_pki: Pki, other_pki: Pki) -> None:
    with TLSListener("127.0.0.1", 0, tls_pki.server_config()) as listener:
        with listener_thread(listener, echo) as errors:
            with pytest.raises(BadCertificate) as info:
                TLSSocket.connect(
                    listener.address, config=other_pki.client_config(), server_name="localhost"
                )
            assert info.value.alert == AlertDescription.unknown_ca
        assert len(errors) == 1 and isinstance(errors[0], ProtocolError)


def test_client_handshake_timeout(tls_pki: Pki) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent, pytest.raises(HandshakeTimeout):
        TLSSocket.connect(
            silent.getsockname(),
            config=tls_pki.client_config(handshake_timeout=0.3),
            server_name="localhost",
        )


def test_listener_times_out_a_silent_client(tls_pki: Pki) -> None:
    with TLSListener("127.0.0.1", 0, tls_pki.server_config(handshake_timeout=0.3)) as listener:
        with (
            listener_thread(listener, echo) as errors,
            socket.create_connection(listener.address, timeout=TIMEOUT) as raw,
        ):
            assert raw.recv(100) == b""  # closed by the server
        assert len(errors) == 1 and isinstance(errors[0], HandshakeTimeout)


def test_mutual_tls(tls_pki: Pki) -> None:
    subjects: list[str | None] = []

    def serve_one(conn: TLSSocket) -> None:
        subjects.append(conn.info.peer_certificate_subject)
        echo(conn)

    config = tls_pki.server_config(client_auth="require", client_trust_store=tls_pki.store)
    with TLSListener("127.0.0.1", 0, config) as listener:
        with (
            listener_thread(listener, serve_one) as errors,
            TLSSocket.connect(
                listener.address,
                config=tls_pki.client_config(client_certificate=tls_pki.client),
                server_name="localhost",
                timeout=TIMEOUT,
            ) as client,
        ):
            client.sendall(b"x")
            assert client.recv(1) == b"x"
        assert errors == []
    assert subjects and subjects[0] is not None and "client.nautilus.test" in subjects[0]


# --- peers that leave without close_notify (issue 11, item 18) -----------------------------


def _python_ssl_client(port: int, pki_dir: Path, **kw: Any) -> TLSSocket:
    config = ClientConfig(
        trust_store=TrustStore.from_file(pki_dir / "ca.pem"), x509_profile="private", **kw
    )
    return TLSSocket.connect(
        ("127.0.0.1", port), config=config, server_name="localhost", timeout=TIMEOUT
    )


def test_recv_delivers_the_reply_before_a_reset(openssl_pki: Path) -> None:
    with (
        python_ssl_server(openssl_pki, then="reset") as port,
        _python_ssl_client(port, openssl_pki) as client,
    ):
        client.sendall(b"ping")
        assert client.recv(100) == b"ping"
        with pytest.raises(ConnectionClosedError, match="reset"):
            client.recv(100)
        client.close()  # never raises for a peer that left first


@pytest.mark.parametrize("ragged_eof", ["error", "allow"])
def test_ragged_eof_setting_decides_how_recv_ends(openssl_pki: Path, ragged_eof: str) -> None:
    with (
        python_ssl_server(openssl_pki, then="close") as port,
        _python_ssl_client(port, openssl_pki, ragged_eof=ragged_eof) as client,
    ):
        client.sendall(b"ping")
        assert client.recv(100) == b"ping"
        if ragged_eof == "allow":
            assert client.recv(100) == b""
        else:
            with pytest.raises(MissingCloseNotify, match="without close_notify"):
                client.recv(100)
