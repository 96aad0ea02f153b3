"""The two multiformats a ``did:key`` uses: unsigned varints (the multicodec prefix) and
multibase base58btc (the ``z`` prefix).

Base58 is the maintained ``base58`` package (Bitcoin alphabet, as multibase's base58btc);
the varint is the multiformats ``unsigned-varint`` rule, which also forbids non-minimal
encodings and caps the length at 9 bytes (so one value has exactly one encoding, and a DID
has exactly one key).
"""

from __future__ import annotations

import base58

from nautilus_tls.did.errors import InvalidDid

__all__ = ["decode_base58btc", "decode_varint", "encode_base58btc", "encode_varint"]

BASE58BTC_PREFIX = "z"
MAX_VARINT_BYTES = 9  # multiformats unsigned-varint: at most 63 bits in 9 bytes
MAX_MULTIBASE_CHARS = 8192  # an ML-DSA-87 key (2,592 bytes) is ~3,540 base58 characters


def encode_varint(value: int) -> bytes:
    """The unsigned-varint encoding of ``value`` (7 bits per byte, low group first)."""
    if value < 0 or value >= 1 << 63:
        raise ValueError("varint out of range")
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def decode_varint(data: bytes) -> tuple[int, int]:
    """``(value, length)`` of the varint at the start of ``data``; InvalidDid when it is
    truncated, longer than 9 bytes or not minimally encoded."""
    value = 0
    for i, byte in enumerate(data[:MAX_VARINT_BYTES]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise InvalidDid("multicodec varint is not minimally encoded")
            return value, i + 1
    raise InvalidDid("multicodec varint is truncated or too long")


def encode_base58btc(data: bytes) -> str:
    """Multibase base58btc: ``z`` followed by the Bitcoin-alphabet base58 of ``data``."""
    return BASE58BTC_PREFIX + base58.b58encode(data).decode("ascii")


def decode_base58btc(text: str) -> bytes:
    """The bytes of a multibase base58btc string; InvalidDid for another base or bad digits."""
    if not text.startswith(BASE58BTC_PREFIX):
        raise InvalidDid("expected multibase base58btc (a 'z' prefix)")
    if len(text) > MAX_MULTIBASE_CHARS:
        raise InvalidDid("multibase value is too long")
    try:
        decoded = base58.b58decode(text[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise InvalidDid("invalid base58btc digits") from None
    if not decoded:
        raise InvalidDid("empty multibase value")
    return decoded
