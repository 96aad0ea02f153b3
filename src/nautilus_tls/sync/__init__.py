"""Blocking adapter: :class:`TLSSocket` (client and accepted connections) and :class:`TLSListener`."""

from nautilus_tls.sync.socket import TLSListener, TLSSocket

__all__ = ["TLSListener", "TLSSocket"]
