"""httpx over Nautilus TLS: ``httpx.Client(transport=HTTPTransport(config=...))``.

:class:`HTTPTransport` and :class:`AsyncHTTPTransport` are httpx's own transports (its
connection pool, HTTP/1.1 and HTTP/2, timeouts, retries) given an httpcore network backend
whose ``start_tls`` runs our TLS instead of :mod:`ssl`: the blocking side over
:func:`nautilus_tls.sync.wrap.wrap_socket`, the asyncio side over
:func:`nautilus_tls.aio.transport.start_tls_streams`. Plain ``http://`` URLs use httpcore's
own TCP streams.

* Pooling: httpx keeps connections alive and reuses them. Resumption: every connection of
  one transport uses the same :class:`ClientConfig`, hence the same ``session_store``; a new
  connection to a server that sent tickets resumes (``SessionInfo.resumed``).
* Each response carries the negotiated :class:`SessionInfo` in
  ``response.extensions["nautilus_tls_info"]`` (also :func:`session_info`).
* ``verify=`` and ``cert=`` take httpx's values and map onto the config: ``True`` keeps the
  config's trust, ``False`` sets ``insecure_skip_verify``, a path to a PEM file or directory
  becomes the ``trust_store``; ``cert=`` is a PEM file holding both, or ``(certfile,
  keyfile[, password])``, and becomes ``client_certificate``. An ``ssl.SSLContext`` cannot
  configure this library and is refused (:class:`~nautilus_tls.errors.ConfigError`), as is
  ``cert=`` when the config already has a client certificate. ``verify=``/``cert=`` given to
  ``httpx.Client`` itself are ignored by httpx once a transport is passed: give them here.
* HTTP/2: ``http2=True`` (needs ``pip install 'httpx[http2]'``) offers ALPN ``h2`` then
  ``http/1.1`` unless ``config.alpn_protocols`` says otherwise; a config that offers ``h2``
  with ``http2=False`` is refused, since httpcore would speak HTTP/2 over it anyway.
* TLS failures surface as :class:`httpx.ConnectError` (or :class:`httpx.ConnectTimeout`);
  :func:`tls_error` finds our :class:`~nautilus_tls.errors.TLSError` in its cause chain
  (``.alert`` says which alert ended the handshake).
* The asyncio transport needs asyncio (not trio).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import ssl
from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path
from typing import Any

import httpcore
import httpx

from nautilus_tls.aio.streams import TLSReader, TLSWriter
from nautilus_tls.aio.transport import start_tls_streams
from nautilus_tls.config import CertifiedKey, ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import ConfigError, HandshakeTimeout, TLSError
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.sslobject import TLSObject
from nautilus_tls.sync.wrap import WrappedSocket, wrap_socket

__all__ = [
    "INFO_EXTENSION",
    "AsyncHTTPTransport",
    "HTTPTransport",
    "client_config_for",
    "session_info",
    "tls_error",
]

INFO_EXTENSION = "nautilus_tls_info"
"""The key of the :class:`SessionInfo` in ``response.extensions``."""

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's own default pool limits."""

VerifyTypes = bool | str | PathLike[str] | ssl.SSLContext
CertTypes = str | PathLike[str] | tuple[str, str] | tuple[str, str, str]
SocketOption = Any  # httpcore's SOCKET_OPTION tuples


def session_info(response: httpx.Response) -> SessionInfo | None:
    """What the TLS handshake under ``response`` negotiated (``None`` over plain HTTP)."""
    info = response.extensions.get(INFO_EXTENSION)
    return info if isinstance(info, SessionInfo) else None


def tls_error(error: BaseException) -> TLSError | None:
    """The :class:`TLSError` behind an httpx exception (httpx wraps httpcore, which wraps
    ours), or ``None`` when the failure was not TLS."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:  # a cause cycle ends the walk
        if isinstance(current, TLSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def client_config_for(
    config: ClientConfig | None,
    *,
    verify: VerifyTypes = True,
    cert: CertTypes | None = None,
    http2: bool = False,
) -> ClientConfig:
    """``config`` (default: ``ClientConfig()``) with httpx's ``verify``/``cert``/``http2``
    applied (see the module docstring); :class:`ConfigError` for what cannot be mapped."""
    base = config if config is not None else ClientConfig()
    changes: dict[str, Any] = {}
    if isinstance(verify, ssl.SSLContext):
        raise ConfigError(
            "verify= cannot be an ssl.SSLContext: Nautilus TLS does not use the ssl module. "
            "Pass verify=True/False or a CA bundle path, or config=ClientConfig("
            "trust_store=TrustStore.from_file(...))"
        )
    if verify is False:
        changes["insecure_skip_verify"] = True
    elif isinstance(verify, str | PathLike):
        path = Path(verify)
        changes["trust_store"] = (
            TrustStore.from_directory(path) if path.is_dir() else TrustStore.from_file(path)
        )
    elif verify is not True:
        raise ConfigError(f"verify= takes True, False or a path, not {type(verify).__name__}")
    if cert is not None:
        if base.client_certificate is not None:
            raise ConfigError("cert= given but the config already has a client_certificate")
        changes["client_certificate"] = _load_cert(cert)
    alpn = base.alpn_protocols
    if not alpn:
        changes["alpn_protocols"] = (b"h2", b"http/1.1") if http2 else (b"http/1.1",)
    elif b"h2" in alpn and not http2:
        raise ConfigError("config.alpn_protocols offers h2: pass http2=True (or drop h2)")
    return dataclasses.replace(base, **changes) if changes else base


def _load_cert(cert: CertTypes) -> CertifiedKey:
    if isinstance(cert, str | PathLike):
        return CertifiedKey.from_files(Path(cert), Path(cert))  # one PEM file with chain and key
    if isinstance(cert, tuple) and len(cert) == 2:
        return CertifiedKey.from_files(cert[0], cert[1])
    if isinstance(cert, tuple) and len(cert) == 3:
        return CertifiedKey.from_files(cert[0], cert[1], password=cert[2].encode())
    raise ConfigError("cert= takes a PEM path or (certfile, keyfile[, password])")


def _alpn_placeholder() -> ssl.SSLContext:
    """httpcore sets its ALPN list on the context it is given; ours never handshakes (the
    ALPN we offer comes from the ClientConfig). Passing one also spares loading the CA file
    httpcore's default context would."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@contextlib.contextmanager
def _handshake_errors() -> Iterator[None]:
    """TLS failures as httpcore's connect errors (httpx turns them into its own)."""
    try:
        yield
    except (HandshakeTimeout, TimeoutError) as exc:
        raise httpcore.ConnectTimeout(str(exc)) from exc
    except (TLSError, OSError) as exc:
        raise httpcore.ConnectError(str(exc)) from exc


@contextlib.contextmanager
def _io_errors(timeout: type[Exception], failure: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise timeout(str(exc)) from exc
    except (TLSError, OSError) as exc:
        raise failure(str(exc)) from exc


# --- blocking --------------------------------------------------------------------------------


class _SyncTLSStream(httpcore.NetworkStream):
    def __init__(self, tls: WrappedSocket) -> None:
        self._tls = tls

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _io_errors(httpcore.ReadTimeout, httpcore.ReadError):
            self._tls.settimeout(timeout)
            return self._tls.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _io_errors(httpcore.WriteTimeout, httpcore.WriteError):
            self._tls.settimeout(timeout)
            self._tls.sendall(buffer)

    def close(self) -> None:
        self._tls.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("TLS inside TLS (an HTTPS proxy) is not supported")

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._tls.ssl_object
        if info == "is_readable":
            return self._tls.is_readable()
        if info == "client_addr":
            return self._tls.getsockname()
        if info == "server_addr":
            return self._tls.getpeername()
        return None


class _SyncPlainStream(httpcore.NetworkStream):
    """httpcore's TCP stream, with ``start_tls`` running Nautilus TLS over its socket."""

    def __init__(self, inner: httpcore.NetworkStream, config: ClientConfig) -> None:
        self._inner = inner
        self._config = config

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        sock = self._inner.get_extra_info("socket")
        with _handshake_errors():
            tls = wrap_socket(
                sock,
                config=self._config,
                server_hostname=server_hostname,
                handshake_timeout=timeout,  # httpx's connect timeout bounds the handshake too
            )
        return _SyncTLSStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _SyncBackend(httpcore.NetworkBackend):
    def __init__(self, config: ClientConfig) -> None:
        self._tcp = httpcore.SyncBackend()
        self._config = config

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._tcp.connect_tcp(host, port, timeout, local_address, socket_options)
        return _SyncPlainStream(inner, self._config)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._tcp.connect_unix_socket(path, timeout, socket_options)
        return _SyncPlainStream(inner, self._config)


def _pool_options(
    limits: httpx.Limits,
    http1: bool,
    http2: bool,
    local_address: str | None,
    retries: int,
    socket_options: Iterable[SocketOption] | None,
) -> dict[str, Any]:
    """httpcore pool arguments as httpx makes them, with the ALPN-only placeholder context."""
    return {
        "ssl_context": _alpn_placeholder(),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
        "http1": http1,
        "http2": http2,
        "local_address": local_address,
        "retries": retries,
        "socket_options": socket_options,
    }


def _attach_info(response: httpx.Response) -> None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if isinstance(ssl_object, TLSObject) and ssl_object.session_info is not None:
        response.extensions[INFO_EXTENSION] = ssl_object.session_info


class HTTPTransport(httpx.HTTPTransport):
    """httpx's blocking transport over Nautilus TLS (see the module docstring)."""

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        verify: VerifyTypes = True,
        cert: CertTypes | None = None,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = DEFAULT_LIMITS,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> None:
        self.config = client_config_for(config, verify=verify, cert=cert, http2=http2)
        super().__init__(verify=False, http1=http1, http2=http2, limits=limits)
        pool = _pool_options(limits, http1, http2, local_address, retries, socket_options)
        self._pool = httpcore.ConnectionPool(network_backend=_SyncBackend(self.config), **pool)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        _attach_info(response)
        return response


# --- asyncio ---------------------------------------------------------------------------------


class _AsyncStream(httpcore.AsyncNetworkStream):
    """An asyncio stream pair: plain TCP first, our TLS streams after ``start_tls``."""

    def __init__(
        self,
        reader: asyncio.StreamReader | TLSReader,
        writer: asyncio.StreamWriter | TLSWriter,
        config: ClientConfig,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._config = config

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _io_errors(httpcore.ReadTimeout, httpcore.ReadError):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _io_errors(httpcore.WriteTimeout, httpcore.WriteError):
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()  # close_notify goes out; the transport closes on its own

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        reader, writer = self._reader, self._writer
        if isinstance(reader, TLSReader) or isinstance(writer, TLSWriter):
            raise httpcore.UnsupportedProtocol("TLS inside TLS (an HTTPS proxy) is not supported")
        with _handshake_errors():
            async with asyncio.timeout(timeout):
                tls_reader, tls_writer = await start_tls_streams(
                    reader, writer, config=self._config, server_hostname=server_hostname
                )
        return _AsyncStream(tls_reader, tls_writer, self._config)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle pooled connection the server has closed
            reader = self._reader
            return reader.at_eof() or reader.exception() is not None
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        return self._writer.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, config: ClientConfig) -> None:
        self._config = config

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = None if local_address is None else (local_address, 0)
        with _io_errors(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
            sock = writer.get_extra_info("socket")
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _AsyncStream(reader, writer, self._config)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with _io_errors(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        return _AsyncStream(reader, writer, self._config)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class AsyncHTTPTransport(httpx.AsyncHTTPTransport):
    """httpx's asyncio transport over Nautilus TLS (see the module docstring)."""

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        verify: VerifyTypes = True,
        cert: CertTypes | None = None,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = DEFAULT_LIMITS,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> None:
        self.config = client_config_for(config, verify=verify, cert=cert, http2=http2)
        super().__init__(verify=False, http1=http1, http2=http2, limits=limits)
        pool = _pool_options(limits, http1, http2, local_address, retries, socket_options)
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=_AsyncBackend(self.config), **pool
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        _attach_info(response)
        return response
