"""The ASGI TLS extension (asgiref ``specs/tls.rst``, version 0.2) for applications under
:class:`nautilus_tls.asgi.TLSServer`: ``scope["extensions"]["tls"]``, plus
``scope["extensions"]["nautilus_tls"]["session_info"]`` (the whole
:class:`~nautilus_tls.session_info.SessionInfo`: group, signature scheme, PAKE login...).

uvicorn builds each scope itself, so :class:`TLSScopes` wraps the application once and finds
the connection by the addresses uvicorn puts in the scope (``client`` and ``server``, read
from the same socket as ours). It is the outermost wrapper, so a proxy-headers middleware
that rewrites ``client`` runs after the look-up. Entries die with their connections.
"""

from __future__ import annotations

import base64
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nautilus_tls.aio.streams import TLSWriter
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import CipherSuite, ProtocolVersion

__all__ = ["TLSScopes", "tls_extension"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
Address = tuple[str, int]


@lru_cache(maxsize=64)
def _pem(der: bytes) -> str:
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def tls_extension(info: SessionInfo) -> dict[str, Any]:
    """``scope["extensions"]["tls"]`` for a server session (asgiref TLS extension 0.2)."""
    x509 = info.certificate_type == "x509"
    chain = info.peer_certificates if x509 else ()
    ours = info.local_certificate
    suite = CipherSuite.__members__.get(info.cipher_suite)
    return {
        "server_cert": _pem(ours) if ours is not None else None,
        "client_cert_chain": [_pem(der) for der in chain],
        "client_cert_name": info.peer_certificate_subject if chain else None,
        "client_cert_error": None,  # a client certificate that fails ends the handshake
        "tls_version": int(ProtocolVersion.TLS1_3),
        "cipher_suite": int(suite) if suite is not None else None,
    }


def _address(value: object) -> Address | None:
    if isinstance(value, (tuple, list)) and len(value) >= 2:
        try:
            return (str(value[0]), int(value[1]))
        except (TypeError, ValueError):
            return None
    return None


@dataclass(slots=True)
class _Entry:
    alive: weakref.ref[object]
    tls: dict[str, Any]
    info: SessionInfo


class TLSScopes:
    """The TLS extension of each live connection, by (client, server) address."""

    def __init__(self) -> None:
        self._by_addresses: dict[tuple[Address, Address], _Entry] = {}
        self._prune_at = 1024

    def __len__(self) -> int:
        return len(self._by_addresses)

    def add(self, writer: TLSWriter) -> None:
        """Called for each finished handshake (``on_handshake``)."""
        info = writer.info
        client = _address(writer.get_extra_info("peername"))
        server = _address(writer.get_extra_info("sockname"))
        if info is None or client is None or server is None:
            return
        if len(self._by_addresses) >= self._prune_at:
            self._prune()
        # The connection's protocol lives as long as the connection: the entry goes with it.
        self._by_addresses[(client, server)] = _Entry(
            weakref.ref(writer._protocol), tls_extension(info), info
        )

    def _prune(self) -> None:
        self._by_addresses = {k: e for k, e in self._by_addresses.items() if e.alive() is not None}
        self._prune_at = max(1024, 2 * len(self._by_addresses))

    def lookup(self, scope: Scope) -> _Entry | None:
        client, server = _address(scope.get("client")), _address(scope.get("server"))
        if client is None or server is None:
            return None
        entry = self._by_addresses.get((client, server))
        if entry is None or entry.alive() is None:
            return None
        return entry

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` with the TLS extension in every HTTP and WebSocket scope."""

        async def with_tls(scope: Scope, receive: Any, send: Any) -> None:
            if scope.get("type") in ("http", "websocket"):
                entry = self.lookup(scope)
                if entry is not None:
                    extensions = dict(scope.get("extensions") or {})
                    extensions["tls"] = dict(entry.tls)
                    extensions["nautilus_tls"] = {"session_info": entry.info}
                    scope = {**scope, "extensions": extensions}
            await app(scope, receive, send)

        return with_tls
