"""Nautilus TLS: post-quantum TLS 1.3 for Python."""

from nautilus_tls._version import __version__ as __version__
from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import ProtocolError, TLSError
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.sync import TLSListener, TLSSocket

__all__ = [
    "CertifiedKey",
    "ClientConfig",
    "ClientConnection",
    "ProtocolError",
    "ServerConfig",
    "ServerConnection",
    "SessionInfo",
    "TLSError",
    "TLSListener",
    "TLSReader",
    "TLSSocket",
    "TLSWriter",
    "TrustStore",
    "connect",
    "start_server",
]
