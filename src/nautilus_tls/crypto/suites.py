"""TLS 1.3 cipher suites: hash, key and IV sizes, and the AEAD for each (RFC 8446 §B.4).

The record layer never imports ``cryptography``; it gets an :class:`Aead` object from
:meth:`SuiteParams.new_aead` and opens records through :func:`open_record`, which turns an
authentication failure into ``None``.

Suites are a registry too: :func:`register_cipher_suite` adds one (a :class:`SuiteParams` whose
``aead`` factory builds the AEAD, e.g. AES-CCM in :mod:`nautilus_tls.crypto.providers`). Limits
of the record layer that a provider must respect: the tag is 16 bytes, the nonce 12, and the
code point is a :class:`~nautilus_tls.wire.enums.CipherSuite` member.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from nautilus_tls.wire.enums import CipherSuite, display_name

__all__ = [
    "AEAD_CONFIDENTIALITY_LIMIT",
    "SUPPORTED_SUITES",
    "Aead",
    "SuiteInfo",
    "SuiteParams",
    "constant_time_equal",
    "open_record",
    "register_cipher_suite",
    "registered_suites",
    "suite_info",
    "suite_name",
    "suite_params",
    "unregister_cipher_suite",
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

    def new_aead(self, key: bytes) -> Aead:
        """A fresh AEAD object for ``key`` (keep one per traffic key and reuse it)."""
        if len(key) != self.key_len:
            raise ValueError(f"{self.suite.name} needs a {self.key_len}-byte key")
        if self.aead is not None:
            return self.aead(key)
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


# --- registry ----------------------------------------------------------------------------------

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


_INFO: dict[int, SuiteInfo] = {}


def register_cipher_suite(
    params: SuiteParams,
    *,
    level: int,
    confidentiality_limit: int,
    standard: bool = True,
    reference: str = "",
    replace: bool = False,
) -> SuiteInfo:
    """Make a cipher suite negotiable. The AEAD must have a 16-byte tag and a 12-byte nonce
    (checked here); ``confidentiality_limit`` is records per key before a KeyUpdate (§5.5)."""
    suite = params.suite
    if not replace and suite in _PARAMS:
        raise ValueError(f"{suite.name} is already registered")
    if params.iv_len != 12:
        raise ValueError(f"{suite.name}: the record layer builds 12-byte nonces")
    probe = params.new_aead(bytes(params.key_len)).encrypt(bytes(params.iv_len), b"", b"")
    if len(probe) != TAG_LEN:
        raise ValueError(f"{suite.name}: the record layer needs a {TAG_LEN}-byte AEAD tag")
    if confidentiality_limit < 1:
        raise ValueError(f"{suite.name}: confidentiality_limit must be positive")
    info = SuiteInfo(
        name=suite.name,
        code=int(suite),
        level=level,
        key_len=params.key_len,
        hash_name=params.hash_name,
        standard=standard,
        reference=reference,
    )
    _PARAMS[suite] = params
    _INFO[suite] = info
    AEAD_CONFIDENTIALITY_LIMIT[suite] = confidentiality_limit
    return info


def unregister_cipher_suite(suite: int) -> None:
    """Remove a registered suite (for tests and plugins)."""
    _PARAMS.pop(suite)
    _INFO.pop(suite, None)
    AEAD_CONFIDENTIALITY_LIMIT.pop(CipherSuite(suite), None)


def suite_info(suite: int) -> SuiteInfo | None:
    return _INFO.get(suite)


def suite_name(suite: int) -> str:
    info = _INFO.get(suite)
    return info.name if info is not None else display_name(CipherSuite, suite)


def registered_suites() -> tuple[SuiteInfo, ...]:
    return tuple(_INFO.values())


for _suite, _level in (
    (CipherSuite.TLS_AES_128_GCM_SHA256, 128),
    (CipherSuite.TLS_AES_256_GCM_SHA384, 256),
    (CipherSuite.TLS_CHACHA20_POLY1305_SHA256, 256),
):
    _INFO[_suite] = SuiteInfo(
        name=_suite.name,
        code=int(_suite),
        level=_level,
        key_len=_PARAMS[_suite].key_len,
        hash_name=_PARAMS[_suite].hash_name,
        standard=True,
        reference="RFC 8446",
    )


def open_record(aead: Aead, nonce: bytes, data: bytes, aad: bytes) -> bytes | None:
    """Decrypt and authenticate ``data``; ``None`` when the tag does not verify."""
    try:
        return aead.decrypt(nonce, data, aad)
    except InvalidTag:
        return None


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare MACs, binders and verify_data without leaking where they differ."""
    return hmac.compare_digest(a, b)
