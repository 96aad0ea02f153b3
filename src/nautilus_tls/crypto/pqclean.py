"""Post-quantum primitives from PQClean, through the optional ``pqcrypto`` package.

``pqcrypto`` (>= 1.0, ``pip install 'nautilus-tls[pq]'``) ships PQClean's C code compiled for
Python. It is imported lazily, on first use: without it the library works, and the algorithms
that need it (HQC, sntrup761, Classic McEliece, SLH-DSA) are listed as unavailable and cannot be
configured.

This module only wraps the raw primitives — ``keygen``/``encaps``/``decaps`` and
``sign``/``verify`` on byte strings, with the sizes declared up front so that the algorithm
table can be shown without the package. How they become TLS groups and signature schemes is
decided in :mod:`nautilus_tls.crypto.kem` and :mod:`nautilus_tls.crypto.slhdsa`.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

from nautilus_tls.errors import ConfigError

__all__ = [
    "PACKAGE",
    "PqcleanKemPrimitive",
    "PqcleanSigner",
    "available",
    "backend",
    "module_available",
]

PACKAGE = "pqcrypto"
"""The optional package (PyPI ``pqcrypto``) behind every algorithm in this module."""

INSTALL_HINT = "pip install 'nautilus-tls[pq]'"


@functools.cache
def module_available(name: str) -> bool:
    """True when module ``name`` imports (cached; ``module_available.cache_clear()`` resets)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def available() -> bool:
    """True when ``pqcrypto`` is installed and imports."""
    return module_available(PACKAGE)


def backend(kind: str, module: str) -> ModuleType:
    """``pqcrypto.<kind>.<module>`` (kind ``kem`` or ``sign``); ConfigError without the package."""
    if not available():
        raise ConfigError(f"{module} needs the optional package {PACKAGE} ({INSTALL_HINT})")
    return importlib.import_module(f"{PACKAGE}.{kind}.{module}")


class PqcleanKemPrimitive:
    """One PQClean KEM: raw ``keygen``/``encaps``/``decaps`` with fixed sizes.

    The sizes are declared here (and checked against the package's own constants in the
    tests), so that they are known without importing ``pqcrypto``.
    """

    __slots__ = ("ciphertext_len", "module", "name", "public_key_len", "shared_secret_len")

    def __init__(
        self,
        name: str,
        module: str,
        *,
        public_key_len: int,
        ciphertext_len: int,
        shared_secret_len: int = 32,
    ) -> None:
        self.name = name
        self.module = module
        self.public_key_len = public_key_len
        self.ciphertext_len = ciphertext_len
        self.shared_secret_len = shared_secret_len

    def __repr__(self) -> str:
        return f"PqcleanKemPrimitive({self.name})"

    def keygen(self) -> tuple[bytes, bytes]:
        """``(public_key, secret_key)`` from the backend's own randomness."""
        public_key, secret_key = backend("kem", self.module).keygen()
        return bytes(public_key), bytes(secret_key)

    def encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
        """``(ciphertext, shared_secret)``; ValueError for a public key of the wrong size."""
        ciphertext, shared_secret = backend("kem", self.module).encaps(public_key)
        return bytes(ciphertext), bytes(shared_secret)

    def decaps(self, secret_key: bytes, ciphertext: bytes) -> bytes:
        """The shared secret (implicit rejection: a bad ciphertext gives an unrelated secret)."""
        return bytes(backend("kem", self.module).decaps(secret_key, ciphertext))


class PqcleanSigner:
    """One PQClean signature algorithm in pure mode with the empty FIPS 205 context."""

    __slots__ = ("module", "name", "public_key_len", "secret_key_len", "signature_len")

    def __init__(
        self,
        name: str,
        module: str,
        *,
        public_key_len: int,
        secret_key_len: int,
        signature_len: int,
    ) -> None:
        self.name = name
        self.module = module
        self.public_key_len = public_key_len
        self.secret_key_len = secret_key_len
        self.signature_len = signature_len

    def __repr__(self) -> str:
        return f"PqcleanSigner({self.name})"

    def keygen(self) -> tuple[bytes, bytes]:
        public_key, secret_key = backend("sign", self.module).keygen()
        return bytes(public_key), bytes(secret_key)

    def sign(self, secret_key: bytes, message: bytes) -> bytes:
        return bytes(backend("sign", self.module).sign(secret_key, message))

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` verifies; False for a bad or malformed signature."""
        try:
            backend("sign", self.module).verify(public_key, message, signature)
        except ValueError:  # pqcrypto.InvalidSignatureError is a ValueError
            return False
        return True
