"""P-256 group elements for SPAKE2+ over libcrypto: the arithmetic agrees with pyca/cryptography
(an independent implementation), hostile encodings are refused without leaving OpenSSL errors
queued, and a multiplication takes the same time whatever the scalar."""

from __future__ import annotations

import ctypes
import ctypes.util
import secrets
import ssl
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from nautilus_tls.pake._p256 import ORDER, POINT_LEN, P256Point, libcrypto_version
from nautilus_tls.pake.errors import MalformedPakeMessage, PakeInvalidElement

G = P256Point.generator()
FIELD_PRIME = 2**256 - 2**224 + 2**192 + 2**96 - 1


def _pyca_times_generator(k: int) -> bytes:
    key = ec.derive_private_key(k, ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _queued_errors() -> int:
    """OpenSSL's error queue for this thread, in the library the module loaded."""
    dll = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
    dll.ERR_peek_error.restype = ctypes.c_ulong
    return int(dll.ERR_peek_error())


def test_runs_on_openssl_3() -> None:
    assert libcrypto_version() >= 0x30000000


def test_the_generator_and_its_multiples_match_pyca() -> None:
    assert G.encode() == _pyca_times_generator(1)
    for k in (2, 3, ORDER - 1, secrets.randbelow(ORDER - 1) + 1, secrets.randbelow(ORDER - 1) + 1):
        assert G.mul(k).encode() == _pyca_times_generator(k), k


def test_multiplying_another_point_matches_pyca() -> None:
    for _ in range(5):
        a, b = (secrets.randbelow(ORDER - 1) + 1 for _ in range(2))
        point = P256Point.decode(_pyca_times_generator(a))
        assert point.mul(b).encode() == _pyca_times_generator(a * b % ORDER)


def test_addition_and_subtraction_follow_the_group_law() -> None:
    a, b = (secrets.randbelow(ORDER - 1) + 1 for _ in range(2))
    pa, pb = G.mul(a), G.mul(b)
    assert (pa + pb).encode() == _pyca_times_generator((a + b) % ORDER)
    assert (pa - pb).encode() == _pyca_times_generator((a - b) % ORDER)
    assert (G + G).encode() == G.mul(2).encode()


def test_the_identity_has_no_encoding_and_is_neutral() -> None:
    for identity in (G - G, G.mul(ORDER), G.mul(0), P256Point.decode(G.encode()).mul(ORDER)):
        assert identity.is_identity()
        with pytest.raises(PakeInvalidElement):
            identity.encode()
    zero = G - G
    assert (zero + G).encode() == G.encode()
    assert (G + zero).encode() == G.encode()
    assert zero.mul(5).is_identity()


def test_decode_accepts_only_uncompressed_points() -> None:
    compressed = bytes([2 + (G.encode()[-1] & 1)]) + G.encode()[1:33]
    assert P256Point.decode_any(compressed).encode() == G.encode()
    for bad in (compressed, b"", b"\x00", G.encode()[:-1], G.encode() + b"\x00",
                b"\x06" + G.encode()[1:], b"\x00" * POINT_LEN):  # fmt: skip
        with pytest.raises(MalformedPakeMessage):
            P256Point.decode(bad)


def test_decode_refuses_points_off_the_curve_and_out_of_range_coordinates() -> None:
    x, y = G.encode()[1:33], int.from_bytes(G.encode()[33:], "big")
    off_curve = b"\x04" + x + ((y + 1) % FIELD_PRIME).to_bytes(32, "big")
    y_plus_p = b"\x04" + x + (y + FIELD_PRIME).to_bytes(33, "big")[1:]  # y + p mod 2^256
    zero_point = b"\x04" + bytes(64)
    max_coords = b"\x04" + b"\xff" * 64
    for bad in (off_curve, zero_point, max_coords, y_plus_p):
        with pytest.raises(PakeInvalidElement):
            P256Point.decode(bad)
        assert _queued_errors() == 0


def test_a_refused_point_leaves_python_ssl_working() -> None:
    with pytest.raises(PakeInvalidElement):
        P256Point.decode(b"\x04" + b"\xff" * 64)
    context = ssl.create_default_context()
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_repr_shows_no_coordinates() -> None:
    assert G.mul(12345).encode().hex() not in repr(G.mul(12345))
    assert repr(G.mul(7)) == "P256Point(<point>)"


def _fastest(point: P256Point, scalar: int, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        point.mul(scalar)
        best = min(best, time.perf_counter() - t0)
    return best


def test_multiplication_time_does_not_depend_on_the_scalar() -> None:
    """A short scalar against a full-width one: a double-and-add over Python integers (what
    python-ecdsa does) is many times faster for the short one; constant-time code is not."""
    point = G.mul(secrets.randbelow(ORDER - 1) + 1)
    short, full = 1, ORDER - 1
    ratios = []
    for base in (point, G):
        fast_short = fast_full = float("inf")
        for _ in range(3):  # alternate, so load drifts hit both
            fast_short = min(fast_short, _fastest(base, short, 60))
            fast_full = min(fast_full, _fastest(base, full, 60))
        ratios.append(fast_full / fast_short)
    assert all(0.6 < r < 1.6 for r in ratios), ratios
