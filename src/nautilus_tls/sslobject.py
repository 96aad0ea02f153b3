"""An ``ssl.SSLObject``-shaped, read-only view of one connection, for code written for ``ssl``.

HTTP clients and servers (httpcore, uvicorn, urllib3) look at ``get_extra_info('ssl_object')``
or at the socket for ``selected_alpn_protocol()``, ``version()``, ``cipher()`` and
``getpeercert()``. :class:`TLSObject` answers those from the :class:`SessionInfo` of a
:class:`~nautilus_tls.connection.Connection`; it decides nothing and holds no secret.
"""

from __future__ import annotations

from nautilus_tls.config import is_ip_address
from nautilus_tls.connection import Connection
from nautilus_tls.session_info import SessionInfo

__all__ = ["TLSObject"]

# Secret bits of each TLS 1.3 cipher suite (RFC 8446 §B.4), as ``ssl`` reports them.
_SUITE_BITS = {
    "TLS_AES_128_GCM_SHA256": 128,
    "TLS_AES_256_GCM_SHA384": 256,
    "TLS_CHACHA20_POLY1305_SHA256": 256,
    "TLS_AES_128_CCM_SHA256": 128,
    "TLS_AES_128_CCM_8_SHA256": 128,
}


class TLSObject:
    """What ``ssl.SSLObject`` tells about a connection; ``None`` before the handshake ends."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def __repr__(self) -> str:
        return f"<TLSObject {self._conn!r}>"

    @property
    def session_info(self) -> SessionInfo | None:
        """Everything the handshake negotiated (``None`` until it has finished)."""
        return self._conn.info

    @property
    def server_side(self) -> bool:
        return not self._conn.is_client

    @property
    def server_hostname(self) -> str | None:
        info = self._conn.info
        return info.server_name if info is not None else None

    @property
    def session_reused(self) -> bool:
        info = self._conn.info
        return info is not None and info.resumed

    def selected_alpn_protocol(self) -> str | None:
        info = self._conn.info
        return info.alpn if info is not None else None

    def version(self) -> str | None:
        info = self._conn.info
        return info.version if info is not None else None

    def cipher(self) -> tuple[str, str, int] | None:
        """``(suite, protocol version, secret bits)`` like :meth:`ssl.SSLSocket.cipher`."""
        info = self._conn.info
        if info is None:
            return None
        return (info.cipher_suite, info.version, _SUITE_BITS.get(info.cipher_suite, 0))

    def getpeercert(self, binary_form: bool = False) -> dict[str, object] | bytes | None:
        """The peer's end-entity certificate: DER with ``binary_form``, else a dict with its
        ``subject`` (RFC 4514 string, not ``ssl``'s nested tuples) and ``subjectAltName`` in
        ``ssl``'s shape. ``None`` when the peer sent none (a server without client auth)."""
        info = self._conn.info
        if info is None or not info.peer_certificates:
            return None
        if binary_form:
            return info.peer_certificates[0]
        names = tuple(
            ("IP Address" if is_ip_address(name) else "DNS", name)
            for name in info.peer_certificate_names
        )
        return {"subject": info.peer_certificate_subject, "subjectAltName": names}

    def pending(self) -> int:
        return 0  # decrypted data is held by the adapter, not here
