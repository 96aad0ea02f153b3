"""asyncio adapter: :func:`connect` and :func:`start_server` return TLS streams."""

from nautilus_tls.aio.streams import CLOSE_TIMEOUT, TLSReader, TLSWriter, connect, start_server

__all__ = ["CLOSE_TIMEOUT", "TLSReader", "TLSWriter", "connect", "start_server"]
