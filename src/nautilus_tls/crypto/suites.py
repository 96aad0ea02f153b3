"""TLS 1.3 cipher suites: hash, key and IV sizes, and the AEAD for each (RFC 8446 §B.4).

The record layer never imports ``cryptography``; it gets an :class:`Aead` object from
:meth:`SuiteParams.new_aead` and opens records through :func:`open_record`, which turns an
authentication failure into ``None``.

Which suites a connection can use is the config's
:class:`~nautilus_tls.crypto.provider.CryptoProvider`'s business; this module only defines the
parameters of the suites we implement (:data:`AES_128_GCM_SHA256`, ... and the off-by-default
:data:`AES_128_CCM_SHA256`). A provider's own suite is a :class:`SuiteParams` whose ``aead``
factory builds the AEAD; it must respect the record layer: the tag is 16 bytes, the nonce 12,
and the code point is a :class:`~nautilus_tls.wire.enums.CipherSuite` member (checked by
:func:`nautilus_tls.crypto.provider.suite_entry`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from nautilus_tls.wire.enums import CipherSuite

__all__ = [
    "AES_128_CCM_SHA256",
    "AES_128_GCM_SHA256",
    "AES_256_GCM_SHA384",
    "CHACHA20_POLY1305_SHA256",
    "TAG_LEN",
    "Aead",
    "SuiteInfo",
    "SuiteParams",
    "constant_time_equal",
    "open_record",
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
    # A provider's AEAD constructor (key -> Aead); None for the built-in AES-GCM / ChaCha20.
    aead: Callable[[bytes], Aead] | None = field(default=None, compare=False, repr=False)
    # Records protected under one key before a KeyUpdate is due (RFC 8446 §5.5). AES-GCM: at
    # most 2^24.5 full-size records, rounded down to 2^24.
    confidentiality_limit: int = field(default=2**24, compare=False)

    def new_aead(self, key: bytes) -> Aead:
        """A fresh AEAD object for ``key`` (keep one per traffic key and reuse it)."""
        if len(key) != self.key_len:
            raise ValueError(f"{self.suite.name} needs a {self.key_len}-byte key")
        if self.aead is not None:
            return self.aead(key)
        if self.suite is CipherSuite.TLS_CHACHA20_POLY1305_SHA256:
            return ChaCha20Poly1305(key)
        return AESGCM(key)


AES_128_GCM_SHA256 = SuiteParams(CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16, 12)
AES_256_GCM_SHA384 = SuiteParams(CipherSuite.TLS_AES_256_GCM_SHA384, "sha384", 48, 32, 12)
# ChaCha20-Poly1305 has no practical limit below the 2^64 sequence number space; 2^60 keeps a
# margin (RFC 8446 §5.5).
CHACHA20_POLY1305_SHA256 = SuiteParams(
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "sha256", 32, 32, 12, confidentiality_limit=2**60
)
AES_128_CCM_SHA256 = SuiteParams(
    CipherSuite.TLS_AES_128_CCM_SHA256, "sha256", 32, 16, 12, aead=AESCCM
)
"""TLS_AES_128_CCM_SHA256 (RFC 8446 §B.4) with pyca/cryptography's AES-CCM (16-byte tag): a
standard suite, in no provider by default (few peers want it outside constrained devices);
``provider.with_suites(suite_entry(AES_128_CCM_SHA256, ...))`` adds it. RFC 8446 §5.5 points to
the AES-GCM analysis for its limit; CCM's bound is of the same order (2^24)."""

TAG_LEN = 16
"""The record layer's fixed AEAD tag length (RFC 8446 §5.2 overhead accounting)."""


@dataclass(frozen=True, slots=True)
class SuiteInfo:
    """What the algorithm table says about a cipher suite. ``level`` is the AEAD key size in
    bits (the classical security level; Grover's algorithm halves it against a quantum
    attacker, which is why the pq-only policy keeps the 256-bit suites)."""

    name: str
    code: int
    level: int
    key_len: int
    hash_name: str
    standard: bool
    reference: str = ""


def open_record(aead: Aead, nonce: bytes, data: bytes, aad: bytes) -> bytes | None:
    """Decrypt and authenticate ``data``; ``None`` when the tag does not verify."""
    try:
        return aead.decrypt(nonce, data, aad)
    except InvalidTag:
        return None


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare MACs, binders and verify_data without leaking where they differ."""
    return hmac.compare_digest(a, b)
