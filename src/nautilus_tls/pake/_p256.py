"""P-256 group elements for SPAKE2+, over python-ecdsa's Jacobian point arithmetic.

The one place that touches the untyped library: everything else sees :class:`P256Point`,
fixed-length scalars and SEC1 bytes. Decoding accepts only the uncompressed encoding
(RFC 9383 §3.3: shares are uncompressed SEC1 points). python-ecdsa's ``from_bytes`` does
*not* check the curve equation for that encoding, so :meth:`P256Point.decode` asks the curve
(``contains_point``) itself, after checking both coordinates are below the field prime; the
identity has no uncompressed encoding, so it never decodes.
"""

from __future__ import annotations

from typing import Any

from ecdsa.ecdsa import generator_256  # type: ignore[import-untyped]  # no stubs
from ecdsa.ellipticcurve import INFINITY, PointJacobi  # type: ignore[import-untyped]
from ecdsa.errors import MalformedPointError  # type: ignore[import-untyped]

from nautilus_tls.pake.errors import MalformedPakeMessage, PakeInvalidElement

__all__ = ["ORDER", "POINT_LEN", "SCALAR_LEN", "P256Point"]

ORDER: int = int(generator_256.order())
SCALAR_LEN = 32
POINT_LEN = 65  # 0x04 || X || Y


class P256Point:
    """A point of P-256 (never the identity once decoded; results may be, see is_identity)."""

    __slots__ = ("_p",)

    def __init__(self, point: Any) -> None:
        self._p = point

    @classmethod
    def generator(cls) -> P256Point:
        return cls(generator_256)

    @classmethod
    def decode(cls, data: bytes) -> P256Point:
        if len(data) != POINT_LEN or data[0] != 4:
            raise MalformedPakeMessage("a P-256 share must be a 65-byte uncompressed point")
        try:
            point = PointJacobi.from_bytes(
                generator_256.curve(), data, valid_encodings=("uncompressed",)
            )
        except (MalformedPointError, ValueError, AssertionError) as exc:
            raise PakeInvalidElement("the P-256 share is not a point on the curve") from exc
        curve = generator_256.curve()
        x, y = int(point.x()), int(point.y())
        if not (x < curve.p() and y < curve.p() and curve.contains_point(x, y)):
            raise PakeInvalidElement("the P-256 share is not a point on the curve")
        return cls(point)

    @classmethod
    def decode_any(cls, data: bytes) -> P256Point:
        """Also the compressed form: only for the fixed M and N constants of RFC 9383 §4."""
        return cls(PointJacobi.from_bytes(generator_256.curve(), data))

    def encode(self) -> bytes:
        if self.is_identity():
            raise PakeInvalidElement("the identity element has no encoding")
        out: bytes = self._p.to_bytes("uncompressed")
        return out

    def is_identity(self) -> bool:
        return bool(self._p == INFINITY)

    def __add__(self, other: P256Point) -> P256Point:
        return P256Point(self._p + other._p)

    def __sub__(self, other: P256Point) -> P256Point:
        return P256Point(self._p + (-other._p))

    def mul(self, scalar: int) -> P256Point:
        return P256Point(self._p * (scalar % ORDER))
