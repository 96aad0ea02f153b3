"""Names an end-entity certificate is valid for (used to pick a server certificate by SNI and
reported in SessionInfo)."""

from __future__ import annotations

from functools import lru_cache

from cryptography import x509

# Every handshake reports the peer leaf's names, and a server or a client talks to the same few
# certificates again and again: parsing them once saves a certificate parse per handshake. Only
# certificates up to _CACHED_DER_MAX bytes are kept, bounding what a peer can pin in memory.
_CACHED_DER_MAX = 8192
_CACHE_SIZE = 128


def names_of(cert_der: bytes) -> tuple[str, ...]:
    """DNS names and IP addresses from the subjectAltName extension (empty if absent)."""
    if type(cert_der) is bytes and len(cert_der) <= _CACHED_DER_MAX:
        return _names_cached(cert_der)
    return _names(cert_der)


def _names(cert_der: bytes) -> tuple[str, ...]:
    try:
        cert = x509.load_der_x509_certificate(cert_der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return ()
    dns: list[str] = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)


_names_cached = lru_cache(maxsize=_CACHE_SIZE)(_names)
