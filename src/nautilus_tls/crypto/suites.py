"""TLS 1.3 cipher suites: hash, key and IV sizes, and the AEAD for each (RFC 8446 §B.4).

The record layer never imports ``cryptography``; it gets an :class:`Aead` object from
:meth:`SuiteParams.new_aead` and opens records through :func:`open_record`, which turns an
authentication failure into ``None``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from nautilus_tls.wire.enums import CipherSuite

__all__ = [
    "AEAD_CONFIDENTIALITY_LIMIT",
    "SUPPORTED_SUITES",
    "Aead",
    "SuiteParams",
    "constant_time_equal",
    "open_record",
    "suite_params",
]


class Aead(Protocol):
    """An AEAD bound to one key (AESGCM / ChaCha20Poly1305 from cryptography)."""

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


@dataclass(frozen=True, slots=True)
class SuiteParams:
    """What a cipher suite fixes: the transcript/HKDF hash and the AEAD key and IV sizes."""

    suite: CipherSuite
    hash_name: str
    hash_len: int
    key_len: int
    iv_len: int

    def new_aead(self, key: bytes) -> Aead:
        """A fresh AEAD object for ``key`` (keep one per traffic key and reuse it)."""
        if len(key) != self.key_len:
            raise ValueError(f"{self.suite.name} needs a {self.key_len}-byte key")
        if self.suite is CipherSuite.TLS_CHACHA20_POLY1305_SHA256:
            return ChaCha20Poly1305(key)
        return AESGCM(key)


_PARAMS: dict[int, SuiteParams] = {
    p.suite: p
    for p in (
        SuiteParams(CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16, 12),
        SuiteParams(CipherSuite.TLS_AES_256_GCM_SHA384, "sha384", 48, 32, 12),
        SuiteParams(CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "sha256", 32, 32, 12),
    )
}

SUPPORTED_SUITES: tuple[CipherSuite, ...] = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)

# Records protected under one key before a KeyUpdate is due. RFC 8446 §5.5: AES-GCM at most
# 2^24.5 full-size records (we round down to 2^24); ChaCha20-Poly1305 has no practical limit
# below the 2^64 sequence number space, 2^60 keeps a margin.
AEAD_CONFIDENTIALITY_LIMIT: dict[CipherSuite, int] = {
    CipherSuite.TLS_AES_128_GCM_SHA256: 2**24,
    CipherSuite.TLS_AES_256_GCM_SHA384: 2**24,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256: 2**60,
}


def suite_params(suite: int) -> SuiteParams | None:
    """The parameters of a suite we implement, or ``None`` (unknown, GREASE, CCM, SCSV)."""
    return _PARAMS.get(suite)


def open_record(aead: Aead, nonce: bytes, data: bytes, aad: bytes) -> bytes | None:
    """Decrypt and authenticate ``data``; ``None`` when the tag does not verify."""
    try:
        return aead.decrypt(nonce, data, aad)
    except InvalidTag:
        return None


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare MACs, binders and verify_data without leaking where they differ."""
    return hmac.compare_digest(a, b)
