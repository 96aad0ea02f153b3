"""ristretto255 for OPAQUE's OPRF and 3DH, over libsodium (through pysodium).

The one place that touches the untyped binding. Elements are 32-byte canonical encodings,
scalars 32-byte little-endian values below the group order. libsodium does the group and
scalar arithmetic; what is ours is the hash-to-group plumbing RFC 9497 specifies around it:
``expand_message_xmd`` (RFC 9380 §5.3.1, SHA-512), fed to libsodium's one-way map
(``crypto_core_ristretto255_from_hash``, RFC 9496 §4.3.4) or reduced to a scalar.
"""

from __future__ import annotations

import hashlib

import pysodium  # type: ignore[import-untyped]  # a thin ctypes binding, no stubs

from nautilus_tls.pake.errors import MalformedPakeMessage, PakeInvalidElement

__all__ = [
    "ELEMENT_LEN",
    "SCALAR_LEN",
    "base_mul",
    "check_element",
    "expand_message_xmd",
    "hash_to_group",
    "hash_to_scalar",
    "random_scalar",
    "scalar_invert",
    "scalar_mul",
]

ELEMENT_LEN = 32
SCALAR_LEN = 32
_IDENTITY = bytes(ELEMENT_LEN)


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 with SHA-512 (b_in_bytes 64, s_in_bytes 128)."""
    if not (len(dst) <= 255 and 0 < length <= 255 * 64):
        raise ValueError("expand_message_xmd: DST or output length out of range")
    dst_prime = dst + bytes([len(dst)])
    b0 = hashlib.sha512(bytes(128) + msg + length.to_bytes(2, "big") + b"\x00" + dst_prime).digest()
    blocks = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    while len(blocks) * 64 < length:
        mixed = bytes(a ^ b for a, b in zip(b0, blocks[-1], strict=True))
        blocks.append(hashlib.sha512(mixed + bytes([len(blocks) + 1]) + dst_prime).digest())
    return b"".join(blocks)[:length]


def hash_to_group(msg: bytes, dst: bytes) -> bytes:
    """RFC 9380 / RFC 9496 hash_to_ristretto255: 64 uniform bytes through the one-way map."""
    out: bytes = pysodium.crypto_core_ristretto255_from_hash(expand_message_xmd(msg, dst, 64))
    return out


def hash_to_scalar(msg: bytes, dst: bytes) -> bytes:
    """RFC 9497 §4.1: 64 uniform bytes, little-endian, reduced modulo the group order."""
    out: bytes = pysodium.crypto_core_ristretto255_scalar_reduce(expand_message_xmd(msg, dst, 64))
    return out


def check_element(data: bytes) -> bytes:
    """RFC 9497 DeserializeElement: canonical encoding, not the identity."""
    if len(data) != ELEMENT_LEN:
        raise MalformedPakeMessage("a ristretto255 element is 32 bytes")
    if not pysodium.crypto_core_ristretto255_is_valid_point(data) or data == _IDENTITY:
        raise PakeInvalidElement("not a canonical ristretto255 element, or the identity")
    return data


def scalar_mul(scalar: bytes, element: bytes) -> bytes:
    """``scalar * element``; libsodium refuses an invalid element or an identity result."""
    try:
        out: bytes = pysodium.crypto_scalarmult_ristretto255(scalar, element)
    except ValueError as exc:
        raise PakeInvalidElement("ristretto255 multiplication gives the identity") from exc
    return out


def base_mul(scalar: bytes) -> bytes:
    try:
        out: bytes = pysodium.crypto_scalarmult_ristretto255_base(scalar)
    except ValueError as exc:
        raise PakeInvalidElement("ristretto255 multiplication gives the identity") from exc
    return out


def scalar_invert(scalar: bytes) -> bytes:
    out: bytes = pysodium.crypto_core_ristretto255_scalar_invert(scalar)
    return out


def random_scalar() -> bytes:
    """A uniformly random non-zero scalar (libsodium's randombytes)."""
    out: bytes = pysodium.crypto_core_ristretto255_scalar_random()
    return out
