"""Retry tokens: a QUIC server's address validation before it keeps any state (RFC 9000 §8.1).

With Retry on, a server answers a client's first Initial with a Retry packet carrying a token
instead of starting a handshake. Only a client that receives datagrams at its claimed address
can echo the token in its next Initial, so a spoofed source address costs the server one
small stateless packet and never a connection, a key share or a certificate flight.

A token is sealed with AES-256-GCM under a key of the endpoint's (random per endpoint unless
given, e.g. shared by the workers behind one address); it names the original Destination
Connection ID (the server must echo it in its transport parameters, RFC 9000 §7.3), the
connection ID the Retry chose (the client must send to it, RFC 9000 §17.2.5.2), and when it
was issued; the client's address and port are its associated data. Tokens live
:data:`DEFAULT_LIFETIME` seconds: clients echo them at once (RFC 9000 §8.1.4 advises short
lives).
"""

from __future__ import annotations

import ipaddress
import os
import struct
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["DEFAULT_LIFETIME", "MAX_TOKEN_LEN", "RetryTokens"]

DEFAULT_LIFETIME = 10.0
_NONCE_LEN = 12
_TAG_LEN = 16
_MAX_CID_LEN = 20  # RFC 9000 §17.2
# nonce || sealed(issued ms (8) || cid len (1) || cid || cid len (1) || cid) || tag
MAX_TOKEN_LEN = _NONCE_LEN + 8 + 2 * (1 + _MAX_CID_LEN) + _TAG_LEN
# A token's issue time may be ahead of the clock by this much (clock steps, other workers).
_SKEW = 1.0


def _address_bytes(address: Any) -> bytes:
    """The client's IP address and UDP port, as the token's associated data."""
    host, port = address[0], address[1]
    return ipaddress.ip_address(host).packed + struct.pack(">H", port)


class RetryTokens:
    """Mints and checks the tokens of one endpoint (or of workers sharing ``key``)."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        lifetime: float = DEFAULT_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if key is not None and len(key) != 32:
            raise ValueError("a retry token key is 32 bytes")
        if not 0 < lifetime <= 600:
            raise ValueError("a retry token lifetime is between 0 and 600 seconds")
        self._aead = AESGCM(key if key is not None else os.urandom(32))
        self._lifetime = lifetime
        self._clock = clock

    def __repr__(self) -> str:
        return f"RetryTokens(<key>, lifetime={self._lifetime})"

    def mint(self, address: Any, original_dcid: bytes, retry_scid: bytes) -> bytes:
        """A token for the client at ``address`` whose first Initial went to
        ``original_dcid`` and that must now send to ``retry_scid``."""
        if len(original_dcid) > _MAX_CID_LEN or len(retry_scid) > _MAX_CID_LEN:
            raise ValueError("a connection ID is at most 20 bytes")
        issued = int(self._clock() * 1000)
        body = (
            struct.pack(">QB", issued, len(original_dcid))
            + original_dcid
            + bytes((len(retry_scid),))
            + retry_scid
        )
        nonce = os.urandom(_NONCE_LEN)
        return nonce + self._aead.encrypt(nonce, body, _address_bytes(address))

    def redeem(self, address: Any, dcid: bytes, token: bytes) -> bytes | None:
        """The original Destination Connection ID if ``token`` is one of ours, for this
        address, sent to the connection ID its Retry chose, and not expired; else None."""
        if not _NONCE_LEN + _TAG_LEN + 10 <= len(token) <= MAX_TOKEN_LEN:
            return None
        try:
            body = self._aead.decrypt(
                token[:_NONCE_LEN], token[_NONCE_LEN:], _address_bytes(address)
            )
        except (InvalidTag, ValueError):  # ValueError: an address that is not an IP
            return None
        issued_ms, odcid_len = struct.unpack_from(">QB", body)
        odcid = body[9 : 9 + odcid_len]
        rest = body[9 + odcid_len :]
        # Sealed by us, so well formed; the checks guard against a key shared with a bug.
        if len(odcid) != odcid_len or not rest or len(rest) != 1 + rest[0]:
            return None
        if rest[1:] != dcid:
            return None
        age = self._clock() - issued_ms / 1000
        if not -_SKEW <= age <= self._lifetime:
            return None
        return odcid
