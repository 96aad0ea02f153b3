"""FrodoKEM (640/976/1344, AES and SHAKE): a conservative LWE KEM, written here over numpy.

No installable Python package ships FrodoKEM, so this module implements it from the
specification (FrodoKEM, "Learning With Errors Key Encapsulation", the 2023 ISO proposal with
the salted encapsulation, as in the reference repository microsoft/PQCrypto-LWEKE ``FrodoKEM/``
and liboqs's ``FrodoKEM-*``). The primitives come from maintained libraries: AES-128 (the AES
variants' matrix generation) from pyca/cryptography, SHAKE128/256 from hashlib; numpy carries
the matrix arithmetic (the optional ``numpy`` package, ``pip install 'nautilus-tls[frodokem]'``,
imported on first use). Correctness is proven by liboqs's KAT hashes and by agreement with
liboqs compiled to WebAssembly (tests/crypto/test_frodokem*.py).

The scheme, per parameter set (n, logq, B extracted bits, len = 16/24/32 bytes; nbar = 8)::

    keygen:  seedA = SHAKE(z, 16); (S^T, E) = sample(SHAKE(0x5F || seedSE))
             B = A(seedA)·S + E mod q;  pk = seedA || pack(B)
             sk = s || pk || S^T (int16 LE) || SHAKE(pk, len)
    encaps:  (seedSE || k) = SHAKE(pkh || mu || salt);  (S', E', E'') = sample(SHAKE(0x96 || seedSE))
             c1 = pack(S'·A + E');  c2 = pack(S'·B + E'' + encode(mu))
             ct = c1 || c2 || salt;  ss = SHAKE(ct || k, len)
    decaps:  mu' = decode(c2 - c1·S); re-encapsulate with mu'; ss = SHAKE(ct || k' or s, len)

SHAKE is SHAKE128 for FrodoKEM-640 and SHAKE256 for 976 and 1344; A is generated from seedA
row by row with SHAKE128 or AES-128-ECB.

Side channels: Python cannot give constant time — big-integer and numpy operations take
data-dependent time, and the interpreter makes no promise at all. What is done: the
Fujisaki-Okamoto re-encryption check compares the whole recomputed ciphertext with
:func:`hmac.compare_digest` in one call, and the choice between k' and s (implicit rejection)
is an arithmetic mask, not an early exit or a branch on secret data. Use it where a timing
leak of this kind is acceptable; a C implementation (liboqs) is the choice where it is not.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from nautilus_tls.crypto.derand_kem import DerandomizedKem

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["PACKAGE", "PARAMETER_SETS", "FrodoKem", "FrodoParams"]

PACKAGE = "numpy"
"""The optional package behind the matrix arithmetic."""

_NBAR = 8
_SEED_A_LEN = 16
# Domain separators of the two SHAKE calls that expand seedSE (FrodoKEM spec, Algorithms 12/13).
_KEYGEN_SE = b"\x5f"
_ENCAPS_SE = b"\x96"


def _np() -> ModuleType:
    # numpy is optional: the provider lists FrodoKEM as unavailable without it, so this import
    # only runs once a FrodoKEM group is really used.
    return importlib.import_module(PACKAGE)


@dataclass(frozen=True, slots=True)
class FrodoParams:
    """One FrodoKEM parameter set (FrodoKEM spec Table "parameters")."""

    name: str
    n: int
    logq: int
    extracted_bits: int
    secret_len: int
    """len_sec in bytes: the length of s, k, the public key hash and the shared secret."""
    cdf: tuple[int, ...]
    """The error distribution's cumulative table (T_chi)."""
    matrix: str
    """How A is generated: ``"aes"`` or ``"shake"``."""
    level: int

    @property
    def q_mask(self) -> int:
        return (1 << self.logq) - 1

    @property
    def mu_len(self) -> int:
        return self.extracted_bits * _NBAR * _NBAR // 8

    @property
    def seed_se_len(self) -> int:
        return 2 * self.secret_len

    @property
    def salt_len(self) -> int:
        return 2 * self.secret_len

    @property
    def c1_len(self) -> int:
        return self.logq * self.n * _NBAR // 8

    @property
    def c2_len(self) -> int:
        return self.logq * _NBAR * _NBAR // 8

    @property
    def public_key_len(self) -> int:
        return _SEED_A_LEN + self.c1_len

    @property
    def ciphertext_len(self) -> int:
        return self.c1_len + self.c2_len + self.salt_len

    @property
    def secret_key_len(self) -> int:
        return self.secret_len + self.public_key_len + 2 * self.n * _NBAR + self.secret_len

    @property
    def shared_secret_len(self) -> int:
        return self.secret_len

    @property
    def keygen_randomness_len(self) -> int:
        """s || seedSE || z."""
        return self.secret_len + self.seed_se_len + _SEED_A_LEN

    @property
    def encaps_randomness_len(self) -> int:
        """mu || salt."""
        return self.mu_len + self.salt_len

    def shake(self, data: bytes, length: int) -> bytes:
        h = hashlib.shake_128(data) if self.n == 640 else hashlib.shake_256(data)
        return h.digest(length)


# fmt: off
_CDF_640 = (4643, 13363, 20579, 25843, 29227, 31145, 32103, 32525, 32689, 32745, 32762, 32766, 32767)
_CDF_976 = (5638, 15915, 23689, 28571, 31116, 32217, 32613, 32731, 32760, 32766, 32767)
_CDF_1344 = (9142, 23462, 30338, 32361, 32725, 32765, 32767)
# fmt: on


def _sets() -> dict[str, FrodoParams]:
    out = {}
    for n, logq, bits, sec, cdf, level in (
        (640, 15, 2, 16, _CDF_640, 128),
        (976, 16, 3, 24, _CDF_976, 192),
        (1344, 16, 4, 32, _CDF_1344, 256),
    ):
        for matrix in ("aes", "shake"):
            name = f"FrodoKEM-{n}-{matrix.upper()}"
            out[name] = FrodoParams(name, n, logq, bits, sec, cdf, matrix, level)
    return out


PARAMETER_SETS: dict[str, FrodoParams] = _sets()
"""The six parameter sets by their liboqs names (``FrodoKEM-640-AES`` ... ``FrodoKEM-1344-SHAKE``)."""


# --- the building blocks (numpy arrays of int64 throughout) ----------------------------------


def _matrix_a(p: FrodoParams, seed_a: bytes) -> NDArray[Any]:
    """A (n x n) from seedA, as float64 so that the products go through BLAS exactly (every
    partial sum stays below 2^31, far inside float64's 2^53 of exact integers)."""
    np = _np()
    n = p.n
    if p.matrix == "aes":
        # Block (i, j) for j a multiple of 8 is AES128(seedA, le16(i) || le16(j) || 0^12) and
        # gives A[i][j..j+7] as little-endian uint16s.
        blocks = np.zeros((n, n // 8, 8), dtype="<u2")
        blocks[:, :, 0] = np.arange(n, dtype="<u2")[:, None]
        blocks[:, :, 1] = np.arange(0, n, 8, dtype="<u2")[None, :]
        encryptor = Cipher(algorithms.AES(seed_a), modes.ECB()).encryptor()
        raw = encryptor.update(blocks.tobytes()) + encryptor.finalize()
    else:
        # Row i is SHAKE128(le16(i) || seedA) as n little-endian uint16s.
        raw = b"".join(
            hashlib.shake_128(i.to_bytes(2, "little") + seed_a).digest(2 * n) for i in range(n)
        )
    matrix: NDArray[Any] = np.frombuffer(raw, dtype="<u2").reshape(n, n).astype(np.float64)
    return matrix


def _sample(p: FrodoParams, r: NDArray[Any]) -> NDArray[Any]:
    """The error distribution from 16-bit uniform values: |e| from the CDF table on the top 15
    bits, its sign from the lowest bit."""
    np = _np()
    table = np.array(p.cdf[:-1], dtype=np.int64)
    magnitude = ((r[:, None] >> 1) > table[None, :]).sum(axis=1, dtype=np.int64)
    sign = (r & 1).astype(np.int64)
    result: NDArray[Any] = magnitude * (1 - 2 * sign)
    return result


def _expand_se(p: FrodoParams, separator: bytes, seed_se: bytes, count: int) -> NDArray[Any]:
    np = _np()
    raw = p.shake(separator + seed_se, 2 * count)
    return _sample(p, np.frombuffer(raw, dtype="<u2").astype(np.int64))


def _pack(p: FrodoParams, values: NDArray[Any]) -> bytes:
    """logq-bit values, most significant bit first, concatenated."""
    np = _np()
    masked = values.ravel() & p.q_mask
    if p.logq == 16:
        return bytes(masked.astype(">u2").tobytes())
    shifts = np.arange(p.logq - 1, -1, -1, dtype=np.int64)
    bits = ((masked[:, None] >> shifts[None, :]) & 1).astype(np.uint8)
    return bytes(np.packbits(bits.ravel()).tobytes())


def _unpack(p: FrodoParams, data: bytes) -> NDArray[Any]:
    np = _np()
    if p.logq == 16:
        values: NDArray[Any] = np.frombuffer(data, dtype=">u2").astype(np.int64)
        return values
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).reshape(-1, p.logq)
    weights = 1 << np.arange(p.logq - 1, -1, -1, dtype=np.int64)
    result: NDArray[Any] = bits.astype(np.int64) @ weights
    return result


def _encode(p: FrodoParams, mu: bytes) -> NDArray[Any]:
    """mu as 64 B-bit values (least significant bit first), each scaled to the top of Z_q."""
    np = _np()
    b = p.extracted_bits
    bits = np.unpackbits(np.frombuffer(mu, dtype=np.uint8), bitorder="little").reshape(-1, b)
    values = bits.astype(np.int64) @ (1 << np.arange(b, dtype=np.int64))
    result: NDArray[Any] = values << (p.logq - b)
    return result.reshape(_NBAR, _NBAR)


def _decode(p: FrodoParams, m: NDArray[Any]) -> bytes:
    """The inverse of :func:`_encode`, rounding each value to its nearest B-bit level."""
    np = _np()
    b = p.extracted_bits
    shift = p.logq - b
    values = (((m.ravel() & p.q_mask) + (1 << (shift - 1))) >> shift) & ((1 << b) - 1)
    bits = ((values[:, None] >> np.arange(b, dtype=np.int64)[None, :]) & 1).astype(np.uint8)
    return bytes(np.packbits(bits.ravel(), bitorder="little").tobytes())


def _to_int(a: NDArray[Any]) -> NDArray[Any]:
    np = _np()
    result: NDArray[Any] = a.astype(np.int64)
    return result


def _select(ok: bool, k: bytes, s: bytes) -> bytes:
    """``k`` if ``ok`` else ``s``, through a mask rather than a branch on the secret ``ok``."""
    mask = -int(ok) & ((1 << (8 * len(k))) - 1)
    a = int.from_bytes(k, "big")
    b = int.from_bytes(s, "big")
    return ((a & mask) | (b & ~mask & ((1 << (8 * len(k))) - 1))).to_bytes(len(k), "big")


# --- the KEM ---------------------------------------------------------------------------------


class FrodoKem(DerandomizedKem[FrodoParams]):
    """One FrodoKEM parameter set as a :class:`~nautilus_tls.crypto.kem.KemPrimitive`.

    ``keygen``/``encaps`` draw from ``os.urandom``; ``keygen_derand``/``encaps_derand`` take
    the randomness explicitly (known-answer tests). ``decaps`` never fails on a well-sized
    ciphertext: a forged one yields a pseudorandom secret (implicit rejection).
    """

    __slots__ = ()

    def keygen_derand(self, randomness: bytes) -> tuple[bytes, bytes]:
        """``(public_key, secret_key)`` from ``s || seedSE || z``."""
        p = self.params
        if len(randomness) != p.keygen_randomness_len:
            raise ValueError(f"{p.name}: key generation takes {p.keygen_randomness_len} bytes")
        s = randomness[: p.secret_len]
        seed_se = randomness[p.secret_len : p.secret_len + p.seed_se_len]
        z = randomness[p.secret_len + p.seed_se_len :]
        seed_a = p.shake(z, _SEED_A_LEN)
        noise = _expand_se(p, _KEYGEN_SE, seed_se, 2 * p.n * _NBAR)
        s_t = noise[: p.n * _NBAR].reshape(_NBAR, p.n)
        e = noise[p.n * _NBAR :].reshape(p.n, _NBAR)
        b = _to_int(_matrix_a(p, seed_a) @ s_t.T.astype(float)) + e
        public_key = seed_a + _pack(p, b)
        pkh = p.shake(public_key, p.secret_len)
        s_bytes = bytes(s_t.astype("<i2").tobytes())
        return public_key, s + public_key + s_bytes + pkh

    def encaps_derand(self, public_key: bytes, randomness: bytes) -> tuple[bytes, bytes]:
        """``(ciphertext, shared_secret)`` for ``public_key`` from ``mu || salt``."""
        p = self.params
        if len(public_key) != p.public_key_len:
            raise ValueError(f"{p.name}: the public key must be {p.public_key_len} bytes")
        if len(randomness) != p.encaps_randomness_len:
            raise ValueError(f"{p.name}: encapsulation takes {p.encaps_randomness_len} bytes")
        mu, salt = randomness[: p.mu_len], randomness[p.mu_len :]
        pkh = p.shake(public_key, p.secret_len)
        c1, c2, k = self._encrypt(public_key, pkh, mu, salt)
        ciphertext = c1 + c2 + salt
        return ciphertext, p.shake(ciphertext + k, p.secret_len)

    def decaps(self, secret_key: bytes, ciphertext: bytes) -> bytes:
        np = _np()
        p = self.params
        if len(secret_key) != p.secret_key_len:
            raise ValueError(f"{p.name}: the secret key must be {p.secret_key_len} bytes")
        if len(ciphertext) != p.ciphertext_len:
            raise ValueError(f"{p.name}: the ciphertext must be {p.ciphertext_len} bytes")
        s = secret_key[: p.secret_len]
        at = p.secret_len
        public_key = secret_key[at : at + p.public_key_len]
        at += p.public_key_len
        s_t = np.frombuffer(secret_key[at : at + 2 * p.n * _NBAR], dtype="<i2").astype(np.int64)
        pkh = secret_key[at + 2 * p.n * _NBAR :]
        c1 = ciphertext[: p.c1_len]
        c2 = ciphertext[p.c1_len : p.c1_len + p.c2_len]
        salt = ciphertext[p.c1_len + p.c2_len :]
        b_prime = _unpack(p, c1).reshape(_NBAR, p.n)
        c = _unpack(p, c2).reshape(_NBAR, _NBAR)
        w = c - b_prime @ s_t.reshape(_NBAR, p.n).T
        mu = _decode(p, w)
        c1_again, c2_again, k = self._encrypt(public_key, pkh, mu, salt)
        # Fujisaki-Okamoto check: the ciphertext must re-encrypt to itself; one constant-time
        # comparison over all of it, then an arithmetic choice of k' or s (implicit rejection).
        ok = hmac.compare_digest(c1_again + c2_again, c1 + c2)
        return p.shake(ciphertext + _select(ok, k, s), p.secret_len)

    def _encrypt(
        self, public_key: bytes, pkh: bytes, mu: bytes, salt: bytes
    ) -> tuple[bytes, bytes, bytes]:
        """``(c1, c2, k)``: the deterministic part shared by encapsulation and the FO check."""
        p = self.params
        n = p.n
        derived = p.shake(pkh + mu + salt, p.seed_se_len + p.secret_len)
        seed_se, k = derived[: p.seed_se_len], derived[p.seed_se_len :]
        noise = _expand_se(p, _ENCAPS_SE, seed_se, (2 * n + _NBAR) * _NBAR)
        s_prime = noise[: n * _NBAR].reshape(_NBAR, n)
        e_prime = noise[n * _NBAR : 2 * n * _NBAR].reshape(_NBAR, n)
        e_second = noise[2 * n * _NBAR :].reshape(_NBAR, _NBAR)
        seed_a = public_key[:_SEED_A_LEN]
        b_prime = _to_int(s_prime.astype(float) @ _matrix_a(p, seed_a)) + e_prime
        b = _unpack(p, public_key[_SEED_A_LEN:]).reshape(n, _NBAR)
        v = s_prime @ b + e_second
        c = v + _encode(p, mu)
        return _pack(p, b_prime), _pack(p, c), k
