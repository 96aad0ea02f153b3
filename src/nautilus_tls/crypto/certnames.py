"""Names an end-entity certificate is valid for (used to pick a server certificate by SNI)."""

from __future__ import annotations

from cryptography import x509


def names_of(cert_der: bytes) -> tuple[str, ...]:
    """DNS names and IP addresses from the subjectAltName extension (empty if absent)."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return ()
    dns: list[str] = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)
