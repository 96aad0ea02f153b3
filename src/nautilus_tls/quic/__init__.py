"""TLS over QUIC (RFC 9001) on aioquic's transport, with this library's handshake engine.

- :mod:`~nautilus_tls.quic.keys`: RFC 9001 packet protection keys (Appendix A reproduced);
- :mod:`~nautilus_tls.quic.aioquic_tls`: our engine in place of aioquic's TLS context;
- :mod:`~nautilus_tls.quic.endpoint`: UDP client and server endpoints for it;
- :mod:`~nautilus_tls.quic.retry`: Retry tokens, a server's address validation;
- :mod:`~nautilus_tls.quic.api`: ``connect``/``serve`` with asyncio streams;
- :mod:`~nautilus_tls.quic.h3`: HTTP/3 GET client and page server.

``connect``, ``serve``, ``quic_client_config``, ``http3_get``, ``serve_http3`` and
``RetryTokens`` are loaded on first use (all but ``RetryTokens`` need aioquic, the ``quic``
extra); ``keys`` does not.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["RetryTokens", "connect", "http3_get", "quic_client_config", "serve", "serve_http3"]

_HOMES = {
    "connect": "nautilus_tls.quic.api",
    "serve": "nautilus_tls.quic.api",
    "quic_client_config": "nautilus_tls.quic.api",
    "http3_get": "nautilus_tls.quic.h3",
    "serve_http3": "nautilus_tls.quic.h3",
    "RetryTokens": "nautilus_tls.quic.retry",
}

if TYPE_CHECKING:
    from nautilus_tls.quic.api import connect, quic_client_config, serve
    from nautilus_tls.quic.h3 import http3_get, serve_http3
    from nautilus_tls.quic.retry import RetryTokens


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
