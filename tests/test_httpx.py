"""httpx over Nautilus TLS: nautilus_tls.httpx transports against our own HTTPS server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from certificates import Pki

from nautilus_tls.aio import TLSReader, start_server
from nautilus_tls.config import CertifiedKey, ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import BadCertificate, ConfigError, ProtocolError
from nautilus_tls.httpx import (
    INFO_EXTENSION,
    AsyncHTTPTransport,
    HTTPTransport,
    client_config_for,
    session_info,
    tls_error,
)

TIMEOUT = 10.0
ONE_CONNECTION_EACH = httpx.Limits(max_connections=1, max_keepalive_connections=0)


async def _http_handler(reader: TLSReader | asyncio.StreamReader, writer: Any) -> None:
    """HTTP/1.1 with keep-alive: each answer says how many requests this connection served."""
    served = 0
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        served += 1
        path = head.split(b" ", 2)[1].decode()
        info = writer.get_extra_info("tls_info")
        body = json.dumps(
            {
                "path": path,
                "served_on_this_connection": served,
                "client_cert": None if info is None else info.peer_certificate_subject,
            }
        ).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()


@contextmanager
def http_servers(pki: Pki, **server_kw: Any) -> Iterator[tuple[int, int]]:
    """(https port, plain http port) served by a loop in a thread; stopped on exit."""
    loop = asyncio.new_event_loop()
    ready: list[tuple[int, int]] = []
    started = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        tls = await start_server(
            _http_handler,
            "127.0.0.1",
            0,
            config=pki.server_config(alpn_protocols=(b"http/1.1",), **server_kw),
        )
        plain = await asyncio.start_server(_http_handler, "127.0.0.1", 0)
        ready.append((tls.sockets[0].getsockname()[1], plain.sockets[0].getsockname()[1]))
        started.set()
        async with tls, plain:
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        assert started.wait(TIMEOUT)
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        loop.close()


def test_round_trips_requests_over_one_pooled_connection(tls_pki: Pki) -> None:
    with (
        http_servers(tls_pki) as (port, _),
        httpx.Client(
            transport=HTTPTransport(config=tls_pki.client_config()), timeout=TIMEOUT
        ) as client,
    ):
        first = client.get(f"https://localhost:{port}/a")
        second = client.get(f"https://localhost:{port}/b")
    assert first.json()["served_on_this_connection"] == 1
    assert second.json() == {"path": "/b", "served_on_this_connection": 2, "client_cert": None}
    info = session_info(second)
    assert info is not None and info is second.extensions[INFO_EXTENSION]
    assert info.alpn == "http/1.1" and info.server_name == "localhost" and not info.resumed


def test_resumes_the_session_on_a_new_connection(tls_pki: Pki) -> None:
    transport = HTTPTransport(config=tls_pki.client_config(), limits=ONE_CONNECTION_EACH)
    with (
        http_servers(tls_pki) as (port, _),
        httpx.Client(transport=transport, timeout=TIMEOUT) as client,
    ):
        infos = [session_info(client.get(f"https://localhost:{port}/{n}")) for n in range(3)]
    assert [i.resumed for i in infos if i is not None] == [False, True, True]


def test_async_client_pools_and_resumes(tls_pki: Pki) -> None:
    async def main(port: int) -> list[Any]:
        seen: list[Any] = []
        async with httpx.AsyncClient(
            transport=AsyncHTTPTransport(config=tls_pki.client_config()), timeout=TIMEOUT
        ) as client:
            for path in ("/a", "/b"):
                response = await client.get(f"https://localhost:{port}{path}")
                seen.append((response.json()["served_on_this_connection"], session_info(response)))
        resumed = AsyncHTTPTransport(config=tls_pki.client_config(), limits=ONE_CONNECTION_EACH)
        async with httpx.AsyncClient(transport=resumed, timeout=TIMEOUT) as client:
            for _ in range(2):
                seen.append(session_info(await client.get(f"https://localhost:{port}/c")))
        return seen

    with http_servers(tls_pki) as (port, _):
        seen = asyncio.run(asyncio.wait_for(main(port), 30))
    assert [n for n, _ in seen[:2]] == [1, 2]  # one connection, kept alive
    assert seen[1][1].version == "TLSv1.3"
    assert [info.resumed for info in seen[2:]] == [False, True]


def test_plain_http_has_no_session_info(tls_pki: Pki) -> None:
    with (
        http_servers(tls_pki) as (_, plain_port),
        httpx.Client(
            transport=HTTPTransport(config=tls_pki.client_config()), timeout=TIMEOUT
        ) as client,
    ):
        response = client.get(f"http://127.0.0.1:{plain_port}/plain")
    assert response.json()["path"] == "/plain"
    assert session_info(response) is None


def test_rejects_untrusted_server_with_connect_error_caused_by_the_alert(
    tls_pki: Pki, other_pki: Pki
) -> None:
    with (
        http_servers(tls_pki) as (port, _),
        httpx.Client(
            transport=HTTPTransport(config=other_pki.client_config()), timeout=TIMEOUT
        ) as client,
        pytest.raises(httpx.ConnectError) as caught,
    ):
        client.get(f"https://localhost:{port}/")
    assert isinstance(tls_error(caught.value), BadCertificate)


def test_async_rejects_untrusted_server_with_connect_error(tls_pki: Pki, other_pki: Pki) -> None:
    async def main(port: int) -> None:
        transport = AsyncHTTPTransport(config=other_pki.client_config())
        async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(f"https://localhost:{port}/")
        assert isinstance(tls_error(caught.value), BadCertificate)

    with http_servers(tls_pki) as (port, _):
        asyncio.run(asyncio.wait_for(main(port), 30))


def test_accepts_verify_path_and_cert_pair(tls_pki: Pki, tls_pem_dir: dict[str, Path]) -> None:
    """httpx's verify=<CA file> and cert=(certfile, keyfile) become trust_store and
    client_certificate: the server requires a client certificate and sees ours."""
    # The server and client certificates from the PEM files; the CA fields are not used here.
    pki = dataclasses.replace(
        tls_pki,
        ca_der=b"",
        server=CertifiedKey.from_files(tls_pem_dir["server_pem"], tls_pem_dir["server_key"]),
        client=CertifiedKey.from_files(tls_pem_dir["client_pem"], tls_pem_dir["client_key"]),
    )
    transport = HTTPTransport(
        verify=str(tls_pem_dir["ca_pem"]),
        cert=(str(tls_pem_dir["client_pem"]), str(tls_pem_dir["client_key"])),
    )
    client_store = TrustStore.from_file(tls_pem_dir["ca_pem"])
    with (
        http_servers(pki, client_auth="require", client_trust_store=client_store) as (port, _),
        httpx.Client(transport=transport, timeout=TIMEOUT) as client,
    ):
        body = client.get(f"https://localhost:{port}/mtls").json()
    assert "client" in body["client_cert"]  # the server saw our certificate


def test_verify_false_skips_verification(tls_pki: Pki) -> None:
    with (
        http_servers(tls_pki) as (port, _),
        httpx.Client(transport=HTTPTransport(verify=False), timeout=TIMEOUT) as client,
    ):
        assert client.get(f"https://localhost:{port}/").status_code == 200


def test_rejects_an_ssl_context_for_verify() -> None:
    with pytest.raises(ConfigError, match=r"ssl\.SSLContext"):
        HTTPTransport(verify=ssl.create_default_context())
    with pytest.raises(ConfigError, match=r"ssl\.SSLContext"):
        AsyncHTTPTransport(verify=ssl.create_default_context())


def test_rejects_wrong_verify_and_cert_types(tls_pki: Pki) -> None:
    with pytest.raises(ConfigError, match="verify="):
        client_config_for(None, verify=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cert="):
        client_config_for(None, cert=("a",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="already has a client_certificate"):
        client_config_for(
            tls_pki.client_config(client_certificate=tls_pki.client), cert=("c.pem", "k.pem")
        )


def test_rejects_h2_in_alpn_without_http2() -> None:
    with pytest.raises(ConfigError, match="http2=True"):
        HTTPTransport(config=ClientConfig(alpn_protocols=(b"h2",)))


def test_offers_alpn_for_the_http_versions_asked(tls_pki: Pki) -> None:
    assert client_config_for(None).alpn_protocols == (b"http/1.1",)
    assert client_config_for(None, http2=True).alpn_protocols == (b"h2", b"http/1.1")
    config = tls_pki.client_config()
    mapped = client_config_for(config)
    assert mapped.session_store is config.session_store  # resumption shared with the caller


def test_tls_error_is_none_for_failures_that_are_not_tls() -> None:
    assert tls_error(httpx.ConnectError("refused")) is None


def test_rejects_a_server_that_does_not_speak_tls(tls_pki: Pki) -> None:
    """https:// to a server that answers in plain HTTP: that is no TLS record; the handshake
    fails with a TLS error (and its alert), never a hang or a stray exception type."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)

        def answer_plain() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        thread = threading.Thread(target=answer_plain, daemon=True)
        thread.start()
        with (
            httpx.Client(
                transport=HTTPTransport(config=tls_pki.client_config()), timeout=TIMEOUT
            ) as client,
            pytest.raises(httpx.ConnectError) as caught,
        ):
            client.get(f"https://localhost:{listener.getsockname()[1]}/")
        thread.join(TIMEOUT)
    error = tls_error(caught.value)
    assert isinstance(error, ProtocolError)


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never answers (a handshake that cannot finish)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def test_connect_timeout_bounds_the_handshake(tls_pki: Pki) -> None:
    with (
        silent_server() as port,
        httpx.Client(
            transport=HTTPTransport(config=tls_pki.client_config()), timeout=0.5
        ) as client,
        pytest.raises(httpx.ConnectTimeout),
    ):
        started = time.monotonic()
        client.get(f"https://localhost:{port}/")
    assert time.monotonic() - started < 5  # not the config's handshake_timeout (10 s)


def test_async_connect_timeout_bounds_the_handshake(tls_pki: Pki) -> None:
    async def main(port: int) -> float:
        transport = AsyncHTTPTransport(config=tls_pki.client_config())
        async with httpx.AsyncClient(transport=transport, timeout=0.5) as client:
            started = time.monotonic()
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(f"https://localhost:{port}/")
            return time.monotonic() - started

    with silent_server() as port:
        assert asyncio.run(asyncio.wait_for(main(port), 30)) < 5
