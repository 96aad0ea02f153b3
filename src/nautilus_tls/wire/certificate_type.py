"""The certificate type extensions of RFC 7250 §4.1 (TLS 1.3 placement: RFC 8446 §4.2):
``client_certificate_type`` (19) and ``server_certificate_type`` (20).

In the ClientHello each holds a list of types, preferred first::

    CertificateType client_certificate_types<1..2^8-1>;

and in EncryptedExtensions the one type chosen::

    CertificateType client_certificate_type;

Type values (IANA "TLS Certificate Types"): X509 = 0, RawPublicKey = 2.
"""

from __future__ import annotations

from collections.abc import Sequence

from nautilus_tls.errors import AlertDescription, DecodeError, LocalProtocolError, PeerMisbehaved
from nautilus_tls.wire.buffer import Reader, Writer

__all__ = [
    "RAW_PUBLIC_KEY",
    "X509",
    "decode_certificate_type_list",
    "decode_chosen_certificate_type",
    "encode_certificate_type_list",
    "encode_chosen_certificate_type",
    "select_certificate_type",
]

X509 = 0
RAW_PUBLIC_KEY = 2


def encode_certificate_type_list(types: Sequence[int]) -> bytes:
    """The ClientHello form: a 1-byte length, then the types."""
    if not types or len(types) > 0xFF or any(not 0 <= t <= 0xFF for t in types):
        raise LocalProtocolError(
            f"cannot offer certificate types {list(types)}", alert=AlertDescription.internal_error
        )
    w = Writer()
    w.vector(1, bytes(types))
    return w.getvalue()


def decode_certificate_type_list(data: bytes) -> tuple[int, ...]:
    """The ClientHello form (non-empty; unknown types survive as ints)."""
    r = Reader(data)
    types = r.vector(1, min_len=1)
    r.expect_end("certificate type list")
    return tuple(types)


def encode_chosen_certificate_type(cert_type: int) -> bytes:
    """The EncryptedExtensions form: one byte."""
    return bytes([cert_type])


def decode_chosen_certificate_type(data: bytes, offered: Sequence[int]) -> int:
    """The EncryptedExtensions form: one byte, which must be a type we offered (RFC 7250
    §4.2; otherwise illegal_parameter)."""
    if len(data) != 1:
        raise DecodeError("a chosen certificate type is one byte")
    if data[0] not in offered:
        raise PeerMisbehaved(
            f"the server chose certificate type {data[0]}, which we did not offer",
            alert=AlertDescription.illegal_parameter,
        )
    return data[0]


def select_certificate_type(offered: Sequence[int] | None, ours: Sequence[int]) -> int | None:
    """The type to use: the first of the peer's ``offered`` types (its preference) that is
    in ``ours``; ``offered`` None (the extension was absent) means X.509 only (RFC 7250 §4.1).
    None when there is no type in common (the caller sends unsupported_certificate)."""
    for cert_type in offered if offered is not None else (X509,):
        if cert_type in ours:
            return cert_type
    return None
