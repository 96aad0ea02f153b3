"""P-256 group elements for SPAKE2+, over OpenSSL's libcrypto (the system's, through ctypes).

Why libcrypto: SPAKE2+ multiplies points by secrets derived from the password (w0, w1) and by
ephemeral secrets (x, y). pyca/cryptography has no API for point addition or for multiplying
an arbitrary point, and a pure-Python multiplication (python-ecdsa, which this module used
before) takes time that depends on the scalar. OpenSSL 3 multiplies a single P-256 point in
constant time (its nistz256/nistp256 code or its Montgomery ladder), and we mark every scalar
``BN_FLG_CONSTTIME`` as well. Point additions and negations run OpenSSL's generic field
arithmetic, which does not promise constant time; no scalar goes through them.

A point is held as its SEC1 uncompressed encoding (``None`` for the identity) and decoded into
a short-lived ``EC_POINT`` for each operation, so no native object outlives a call and no
OpenSSL error is left queued for Python's ``ssl`` module, which shares this library.
Decoding a share accepts only the 65-byte uncompressed form (RFC 9383 §3.3); OpenSSL refuses
coordinates at or above the field prime and points off the curve, and the identity has no
such encoding.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from nautilus_tls.pake.errors import MalformedPakeMessage, PakeInvalidElement

__all__ = ["ORDER", "POINT_LEN", "SCALAR_LEN", "P256Point", "libcrypto_version"]

ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SCALAR_LEN = 32
POINT_LEN = 65  # 0x04 || X || Y

_NID_P256 = 415  # NID_X9_62_prime256v1
_UNCOMPRESSED = 4  # POINT_CONVERSION_UNCOMPRESSED
_BN_FLG_CONSTTIME = 0x04
_OPENSSL_3 = 0x30000000

_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "OpenSSL_version_num": (ctypes.c_ulong, []),
    "ERR_clear_error": (None, []),
    "EC_GROUP_new_by_curve_name": (_P, [ctypes.c_int]),
    "EC_GROUP_get0_generator": (_P, [_P]),
    "EC_POINT_new": (_P, [_P]),
    "EC_POINT_clear_free": (None, [_P]),
    "EC_POINT_oct2point": (ctypes.c_int, [_P, _P, ctypes.c_char_p, ctypes.c_size_t, _P]),
    "EC_POINT_point2oct": (
        ctypes.c_size_t,
        [_P, _P, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, _P],
    ),
    "EC_POINT_is_at_infinity": (ctypes.c_int, [_P, _P]),
    "EC_POINT_add": (ctypes.c_int, [_P, _P, _P, _P, _P]),
    "EC_POINT_invert": (ctypes.c_int, [_P, _P, _P]),
    "EC_POINT_mul": (ctypes.c_int, [_P, _P, _P, _P, _P, _P]),
    "BN_bin2bn": (_P, [ctypes.c_char_p, ctypes.c_int, _P]),
    "BN_set_flags": (None, [_P, ctypes.c_int]),
    "BN_clear_free": (None, [_P]),
}


class _Lib:
    """libcrypto's functions this module calls, with their C signatures, and the group."""

    def __init__(self, dll: ctypes.CDLL) -> None:
        for name, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(dll, name)
            function.restype = restype
            function.argtypes = argtypes
            setattr(self, name, function)
        self.group: int = self.EC_GROUP_new_by_curve_name(_NID_P256)
        if not self.group:
            raise RuntimeError("libcrypto has no P-256 group")

    def __getattr__(self, name: str) -> Callable[..., Any]:  # the functions set above
        raise AttributeError(name)


@cache
def _lib() -> _Lib:
    # find_library reads ldconfig's cache; the soname is the fallback where that is missing.
    path = ctypes.util.find_library("crypto") or "libcrypto.so.3"
    try:
        dll = ctypes.CDLL(path)
    except OSError:
        raise RuntimeError("SPAKE2+ needs OpenSSL 3's libcrypto (Debian: libssl3)") from None
    version = int(dll.OpenSSL_version_num())
    if version < _OPENSSL_3:
        raise RuntimeError(f"SPAKE2+ needs OpenSSL 3's libcrypto, found {version:#x} at {path}")
    return _Lib(dll)


def libcrypto_version() -> int:
    """``OpenSSL_version_num()`` of the library doing the arithmetic."""
    return int(_lib().OpenSSL_version_num())


@contextmanager
def _point(lib: _Lib, encoding: bytes | None = None) -> Iterator[int]:
    """A fresh ``EC_POINT`` (set from ``encoding`` if given), wiped and freed on exit."""
    point = lib.EC_POINT_new(lib.group)
    if not point:
        raise MemoryError("EC_POINT_new")
    try:
        if encoding is not None and not lib.EC_POINT_oct2point(
            lib.group, point, encoding, len(encoding), None
        ):
            lib.ERR_clear_error()
            raise PakeInvalidElement("the P-256 share is not a point on the curve")
        yield point
    finally:
        lib.EC_POINT_clear_free(point)


@contextmanager
def _scalar(lib: _Lib, value: int) -> Iterator[int]:
    """``value mod ORDER`` as a constant-time ``BIGNUM``, wiped and freed on exit."""
    raw = (value % ORDER).to_bytes(SCALAR_LEN, "big")
    bn = lib.BN_bin2bn(raw, SCALAR_LEN, None)
    if not bn:
        raise MemoryError("BN_bin2bn")
    try:
        lib.BN_set_flags(bn, _BN_FLG_CONSTTIME)
        yield bn
    finally:
        lib.BN_clear_free(bn)


def _encode(lib: _Lib, point: int) -> bytes | None:
    if lib.EC_POINT_is_at_infinity(lib.group, point):
        return None
    out = ctypes.create_string_buffer(POINT_LEN)
    if lib.EC_POINT_point2oct(lib.group, point, _UNCOMPRESSED, out, POINT_LEN, None) != POINT_LEN:
        lib.ERR_clear_error()
        raise RuntimeError("EC_POINT_point2oct failed")
    return out.raw


def _check(lib: _Lib, ok: int, what: str) -> None:
    if not ok:
        lib.ERR_clear_error()
        raise RuntimeError(f"{what} failed")


class P256Point:
    """A point of P-256 (never the identity once decoded; results may be, see is_identity)."""

    __slots__ = ("_enc", "_generator")

    def __init__(self, encoding: bytes | None, *, generator: bool = False) -> None:
        self._enc = encoding
        self._generator = generator

    def __repr__(self) -> str:
        return "P256Point(<point>)"

    @classmethod
    def generator(cls) -> P256Point:
        lib = _lib()
        return cls(_encode(lib, lib.EC_GROUP_get0_generator(lib.group)), generator=True)

    @classmethod
    def decode(cls, data: bytes) -> P256Point:
        if len(data) != POINT_LEN or data[0] != 4:
            raise MalformedPakeMessage("a P-256 share must be a 65-byte uncompressed point")
        lib = _lib()
        with _point(lib, bytes(data)) as point:
            return cls(_encode(lib, point))

    @classmethod
    def decode_any(cls, data: bytes) -> P256Point:
        """Also the compressed form: only for the fixed M and N constants of RFC 9383 §4."""
        lib = _lib()
        with _point(lib, bytes(data)) as point:
            return cls(_encode(lib, point))

    def encode(self) -> bytes:
        if self._enc is None:
            raise PakeInvalidElement("the identity element has no encoding")
        return self._enc

    def is_identity(self) -> bool:
        return self._enc is None

    def __add__(self, other: P256Point) -> P256Point:
        return self._combine(other, negate=False)

    def __sub__(self, other: P256Point) -> P256Point:
        return self._combine(other, negate=True)

    def _combine(self, other: P256Point, *, negate: bool) -> P256Point:
        lib = _lib()
        with _point(lib, self._enc) as a, _point(lib, other._enc) as b, _point(lib) as out:
            if negate:
                _check(lib, lib.EC_POINT_invert(lib.group, b, None), "EC_POINT_invert")
            _check(lib, lib.EC_POINT_add(lib.group, out, a, b, None), "EC_POINT_add")
            return P256Point(_encode(lib, out))

    def mul(self, scalar: int) -> P256Point:
        """``scalar * self``, in constant time for the scalar (fixed-base for the generator)."""
        lib = _lib()
        with _scalar(lib, scalar) as k, _point(lib) as out:
            if self._generator:
                ok = lib.EC_POINT_mul(lib.group, out, k, None, None, None)
            else:
                with _point(lib, self._enc) as base:
                    ok = lib.EC_POINT_mul(lib.group, out, None, base, k, None)
            _check(lib, ok, "EC_POINT_mul")
            return P256Point(_encode(lib, out))
