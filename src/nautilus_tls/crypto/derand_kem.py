"""The :class:`~nautilus_tls.crypto.kem.KemPrimitive` shell shared by the KEMs this library
implements against official known-answer tests (FrodoKEM, BIKE): sizes come from the
parameter set, and ``keygen``/``encaps`` draw ``os.urandom`` for the derandomized
``keygen_derand``/``encaps_derand`` that the KATs drive."""

from __future__ import annotations

import os
from typing import Generic, Protocol, TypeVar

__all__ = ["DerandomizedKem", "KemParams"]


class KemParams(Protocol):
    """What the shell reads from a parameter set."""

    @property
    def name(self) -> str: ...

    @property
    def public_key_len(self) -> int: ...

    @property
    def ciphertext_len(self) -> int: ...

    @property
    def secret_key_len(self) -> int: ...

    @property
    def shared_secret_len(self) -> int: ...

    @property
    def keygen_randomness_len(self) -> int: ...

    @property
    def encaps_randomness_len(self) -> int: ...


P = TypeVar("P", bound=KemParams)


class DerandomizedKem(Generic[P]):
    """One parameter set as a KemPrimitive; subclasses add the three derandomized operations."""

    __slots__ = ("params",)

    def __init__(self, params: P) -> None:
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params.name})"

    @property
    def name(self) -> str:
        return self.params.name

    @property
    def public_key_len(self) -> int:
        return self.params.public_key_len

    @property
    def ciphertext_len(self) -> int:
        return self.params.ciphertext_len

    @property
    def shared_secret_len(self) -> int:
        return self.params.shared_secret_len

    @property
    def secret_key_len(self) -> int:
        return self.params.secret_key_len

    def keygen(self) -> tuple[bytes, bytes]:
        return self.keygen_derand(os.urandom(self.params.keygen_randomness_len))

    def encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
        return self.encaps_derand(public_key, os.urandom(self.params.encaps_randomness_len))

    def keygen_derand(self, randomness: bytes) -> tuple[bytes, bytes]:
        raise NotImplementedError

    def encaps_derand(self, public_key: bytes, randomness: bytes) -> tuple[bytes, bytes]:
        raise NotImplementedError
