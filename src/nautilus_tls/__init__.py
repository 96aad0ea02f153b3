"""Nautilus TLS: post-quantum TLS 1.3 for Python.

The public names below are loaded on first use (PEP 562), so that importing one layer loads
only that layer and the ones under it: ``import nautilus_tls.wire`` brings in neither the
asyncio and blocking adapters nor the CLI (tests/test_layers.py checks this). The
``TYPE_CHECKING`` imports give mypy and IDEs the same names with their real types.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__all__ = [
    "AlertReceived",
    "CertifiedKey",
    "ClientConfig",
    "ClientConnection",
    "ConfigError",
    "ConnectionClosed",
    "DataReceived",
    "EarlyDataReceived",
    "Event",
    "HandshakeCompleted",
    "HandshakeTimeout",
    "KeyUpdated",
    "PakeClient",
    "ProtocolError",
    "ServerConfig",
    "ServerConnection",
    "SessionInfo",
    "SessionTicketReceived",
    "TLSError",
    "TLSListener",
    "TLSReader",
    "TLSSocket",
    "TLSWriter",
    "TrustStore",
    "connect",
    "start_server",
]

# Which module each public name lives in.
_HOMES: dict[str, str] = {
    "AlertReceived": "nautilus_tls.events",
    "CertifiedKey": "nautilus_tls.config",
    "ClientConfig": "nautilus_tls.config",
    "ClientConnection": "nautilus_tls.connection",
    "ConfigError": "nautilus_tls.errors",
    "ConnectionClosed": "nautilus_tls.events",
    "DataReceived": "nautilus_tls.events",
    "EarlyDataReceived": "nautilus_tls.events",
    "Event": "nautilus_tls.events",
    "HandshakeCompleted": "nautilus_tls.events",
    "HandshakeTimeout": "nautilus_tls.errors",
    "KeyUpdated": "nautilus_tls.events",
    "ProtocolError": "nautilus_tls.errors",
    "ServerConfig": "nautilus_tls.config",
    "ServerConnection": "nautilus_tls.connection",
    "SessionInfo": "nautilus_tls.session_info",
    "PakeClient": "nautilus_tls.pake.tls",
    "SessionTicketReceived": "nautilus_tls.events",
    "TLSError": "nautilus_tls.errors",
    "TLSListener": "nautilus_tls.sync",
    "TLSReader": "nautilus_tls.aio",
    "TLSSocket": "nautilus_tls.sync",
    "TLSWriter": "nautilus_tls.aio",
    "TrustStore": "nautilus_tls.crypto.x509",
    "__version__": "nautilus_tls._version",
    "connect": "nautilus_tls.aio",
    "start_server": "nautilus_tls.aio",
}

if TYPE_CHECKING:
    from nautilus_tls._version import __version__ as __version__
    from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
    from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
    from nautilus_tls.connection import ClientConnection, ServerConnection
    from nautilus_tls.crypto.x509 import TrustStore
    from nautilus_tls.errors import ConfigError, HandshakeTimeout, ProtocolError, TLSError
    from nautilus_tls.events import (
        AlertReceived,
        ConnectionClosed,
        DataReceived,
        EarlyDataReceived,
        Event,
        HandshakeCompleted,
        KeyUpdated,
        SessionTicketReceived,
    )
    from nautilus_tls.pake.tls import PakeClient
    from nautilus_tls.session_info import SessionInfo
    from nautilus_tls.sync import TLSListener, TLSSocket


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        # AttributeError (not ImportError) so that ``from nautilus_tls import defaults`` falls
        # through to importing the submodule, as it would without this hook.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
