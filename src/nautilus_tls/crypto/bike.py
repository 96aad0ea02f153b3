"""BIKE (levels 1, 3, 5; the round-4 specification, v5.1): a QC-MDPC code-based KEM, written
here over numpy.

**NIST did not select BIKE.** In March 2025 NIST chose HQC as its second, code-based KEM
(FIPS 207 draft) and BIKE left the process. It is here for research and comparison, on
private-use code points, in an opt-in add-on (``bike_provider()``).

**Decoding failures.** BIKE's decoder (BGF, implemented here as specified: five iterations,
the first with the black and gray masked steps) fails, for a correctly generated ciphertext,
with a probability the designers target at 2^-128, 2^-192 and 2^-256 per decapsulation for L1,
L3 and L5 (an extrapolation from simulations and a model, not a proof). A failure is not an
error: decapsulation returns the implicit-rejection secret, the two sides derive different
secrets, and the TLS handshake fails at Finished (decrypt_error); the client just connects
again, and nothing secret is exposed. At these rates it does not happen in practice; the
concerns are that the rates are extrapolated, and that an attacker crafting ciphertexts to
raise them (the GJS reaction attack on earlier QC-MDPC schemes) needs many decapsulations
under one key, which the FO transform and TLS's ephemeral key shares deny.

No installable Python package ships BIKE; this module follows the specification and the
round-4 additional implementation (awslabs/bike-kem, as in liboqs). Primitives: SHA3-384 and
SHAKE256 from hashlib; numpy carries the polynomial arithmetic in F2[x]/(x^r - 1) (the
optional ``numpy`` package, imported on first use). Correctness: the reference KATs (first
entries of awslabs/bike-kem ``tests/kats/BIKE_L1.kat``/``BIKE_L3.kat``) and liboqs's KAT
hashes for all three levels (tests/crypto/test_bike.py). There is no second implementation to
cross-check against here: the liboqs WebAssembly build on npm (``@oqs/liboqs-js`` 0.15.1, the
only version) does not include BIKE.

The scheme (r, weights d per half-key, t error bits; 32-byte m, sigma, ss)::

    keygen:  (seed0, seed1) = randomness;  h0, h1 = d random bits each (SHAKE256(seed0),
             Fisher-Yates);  h = h1 * h0^-1;  pk = h;  sigma = seed1
    encaps:  m = first 32 bytes of randomness;  (e0, e1) = t bits (SHAKE256(m), Fisher-Yates
             over 2r);  c0 = e0 + e1 * h;  c1 = m xor L(e0, e1);  ss = K(m, c0, c1)
    decaps:  (e0', e1') = BGF(c0 * h0);  m' = c1 xor L(e0', e1');
             ss = K(m', c) if H(m') == e' else K(sigma, c)

with L and K SHA3-384 truncated to 32 bytes. The secret key is liboqs's layout: the two index
lists (uint32 LE), h0, h1, pk, sigma.

Side channels: as :mod:`.frodokem` — Python and numpy run in data-dependent time; the decoder
does a fixed number of iterations and the final choice is an arithmetic mask, but this is not a
constant-time implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from nautilus_tls.crypto.derand_kem import DerandomizedKem

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["PACKAGE", "PARAMETER_SETS", "BikeKem", "BikeParams"]

PACKAGE = "numpy"
"""The optional package behind the polynomial arithmetic."""

_M_BYTES = 32
_SEED_BYTES = 32
_NB_ITER = 5  # BGF iterations (spec: NbIter)
_TAU = 3  # the gray zone below the threshold (spec: tau)


def _np() -> ModuleType:
    return importlib.import_module(PACKAGE)


@dataclass(frozen=True, slots=True)
class BikeParams:
    name: str
    r: int
    d: int  # weight of h0 and of h1 (w = 2d)
    t: int  # error weight
    level: int
    threshold_slope: float
    threshold_offset: float
    threshold_min: int

    @property
    def r_bytes(self) -> int:
        return (self.r + 7) // 8

    @property
    def public_key_len(self) -> int:
        return self.r_bytes

    @property
    def ciphertext_len(self) -> int:
        return self.r_bytes + _M_BYTES

    @property
    def secret_key_len(self) -> int:
        return 2 * 4 * self.d + 3 * self.r_bytes + _M_BYTES

    @property
    def shared_secret_len(self) -> int:
        return 32

    @property
    def keygen_randomness_len(self) -> int:
        return 2 * _SEED_BYTES  # seed0 for h0/h1, seed1 = sigma

    @property
    def encaps_randomness_len(self) -> int:
        return 2 * _SEED_BYTES

    def threshold(self, syndrome_weight: int) -> int:
        """The BGF flipping threshold (spec §2.3: max(floor(a*|s| + b), min))."""
        return max(
            int(self.threshold_slope * syndrome_weight + self.threshold_offset), self.threshold_min
        )


# BIKE spec v5.1 Table 1 and the decoder thresholds of §2.3.
PARAMETER_SETS: dict[str, BikeParams] = {
    p.name: p
    for p in (
        BikeParams("BIKE-L1", 12323, 71, 134, 128, 0.0069722, 13.530, 36),
        BikeParams("BIKE-L3", 24659, 103, 199, 192, 0.005265, 15.2588, 52),
        BikeParams("BIKE-L5", 40973, 137, 264, 256, 0.00402312, 17.8785, 69),
    )
}


# --- sampling -----------------------------------------------------------------------------------


def _fisher_yates(stream: bytes, count: int, bound: int) -> list[int]:
    """``count`` distinct indices below ``bound`` from a SHAKE256 stream (4 bytes, little
    endian, per index), the spec's constant-weight sampler (Sendrier's Fisher-Yates variant)."""
    out = [0] * count
    for n, i in enumerate(range(count - 1, -1, -1)):
        rand = int.from_bytes(stream[4 * n : 4 * n + 4], "little")
        pick = i + ((rand * (bound - i)) >> 32)
        out[i] = i if pick in out[i + 1 :] else pick
    return out


def _bits(indices: list[int], r: int) -> NDArray[Any]:
    np = _np()
    v: NDArray[Any] = np.zeros(r, dtype=np.uint8)
    v[indices] = 1
    return v


def _to_bytes(v: NDArray[Any]) -> bytes:
    return bytes(_np().packbits(v, bitorder="little").tobytes())


def _from_bytes(data: bytes, r: int) -> NDArray[Any] | None:
    """The polynomial in ``data``, or None when bits at or above r are set (not canonical)."""
    np = _np()
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    if bits[r:].any():
        return None
    poly: NDArray[Any] = bits[:r].copy()
    return poly


# --- arithmetic in F2[x]/(x^r - 1) --------------------------------------------------------------


def _mul_sparse(dense: NDArray[Any], support: list[int] | NDArray[Any]) -> NDArray[Any]:
    """``dense * sum(x^i for i in support)``: XOR of rotations."""
    np = _np()
    out: NDArray[Any] = np.zeros_like(dense)
    for i in support:
        out ^= np.roll(dense, int(i))
    return out


def _mul_dense(a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
    """Product of two dense polynomials: an FFT convolution over the integers (exact: every
    coefficient is at most r < 2^16, far inside float64's exact range), then mod 2 and
    folded mod x^r - 1."""
    np = _np()
    r = a.shape[0]
    n = 1 << (2 * r - 1).bit_length()
    full = np.fft.irfft(
        np.fft.rfft(a.astype(np.float64), n) * np.fft.rfft(b.astype(np.float64), n), n
    )
    coefficients = np.rint(full[: 2 * r - 1]).astype(np.int64) & 1
    out = coefficients[:r].copy()
    out[: r - 1] ^= coefficients[r:]
    product: NDArray[Any] = out.astype(np.uint8)
    return product


def _frobenius(a: NDArray[Any], k: int) -> NDArray[Any]:
    """``a^(2^k)``: squaring permutes coefficients (x^i -> x^(i*2^k mod r))."""
    np = _np()
    r = a.shape[0]
    out: NDArray[Any] = np.zeros_like(a)
    out[(np.arange(r, dtype=np.int64) * pow(2, k, r)) % r] = a
    return out


def _inverse(a: NDArray[Any]) -> NDArray[Any]:
    """``a^-1 = a^(2^(r-1) - 2)`` (Itoh-Tsujii): x^r - 1 = (x - 1)·Phi_r with Phi_r
    irreducible because 2 is primitive mod r, and ``a`` of odd weight is a unit."""
    r = a.shape[0]
    # f(k) = a^(2^k - 1), built along the bits of r - 2: f(i + j) = f(i)^(2^j) * f(j).
    target = r - 2
    f, have = a.copy(), 1
    for bit in bin(target)[3:]:
        f = _mul_dense(_frobenius(f, have), f)
        have *= 2
        if bit == "1":
            f = _mul_dense(_frobenius(f, 1), a)
            have += 1
    return _frobenius(f, 1)  # (a^(2^(r-2) - 1))^2 = a^(2^(r-1) - 2)


# --- hashing ------------------------------------------------------------------------------------


def _sha3_384_32(*parts: bytes) -> bytes:
    return hashlib.sha3_384(b"".join(parts)).digest()[:32]


def _error_from(p: BikeParams, m: bytes) -> tuple[NDArray[Any], NDArray[Any]]:
    """H(m): the error vector (e0, e1) of weight t drawn from SHAKE256(m)."""
    indices = _fisher_yates(hashlib.shake_256(m).digest(4 * p.t), p.t, 2 * p.r)
    e0 = [i for i in indices if i < p.r]
    e1 = [i - p.r for i in indices if i >= p.r]
    return _bits(e0, p.r), _bits(e1, p.r)


def _l(e0: NDArray[Any], e1: NDArray[Any]) -> bytes:
    return _sha3_384_32(_to_bytes(e0), _to_bytes(e1))


# --- the BGF decoder (spec §2.3) -----------------------------------------------------------------


def _counters(syndrome: NDArray[Any], support: NDArray[Any]) -> NDArray[Any]:
    """For every position j of one block: |h_j ∩ s|, the unsatisfied parity checks."""
    np = _np()
    s = syndrome.astype(np.int32)
    total: NDArray[Any] = np.zeros_like(s)
    for i in support:
        total += np.roll(s, -int(i))
    return total


def _decode(
    p: BikeParams, s0: NDArray[Any], supports: tuple[NDArray[Any], NDArray[Any]]
) -> tuple[NDArray[Any], NDArray[Any], bool]:
    np = _np()
    e = [np.zeros(p.r, dtype=np.uint8), np.zeros(p.r, dtype=np.uint8)]

    def syndrome() -> NDArray[Any]:
        current: NDArray[Any] = s0 ^ _mul_sparse(e[0], supports[0]) ^ _mul_sparse(e[1], supports[1])
        return current

    masked_threshold = (p.d + 1) // 2 + 1
    for iteration in range(_NB_ITER):
        s = syndrome()
        threshold = p.threshold(int(s.sum()))
        counts = [_counters(s, supports[k]) for k in (0, 1)]
        black = [c >= threshold for c in counts]
        gray = [(c >= threshold - _TAU) & ~b for c, b in zip(counts, black, strict=True)]
        for k in (0, 1):
            e[k] ^= black[k].astype(np.uint8)
        if iteration == 0:
            for mask in (black, gray):
                s = syndrome()
                for k in (0, 1):
                    flip = (_counters(s, supports[k]) >= masked_threshold) & mask[k]
                    e[k] ^= flip.astype(np.uint8)
    return e[0], e[1], not syndrome().any()


# --- the KEM ------------------------------------------------------------------------------------


class BikeKem(DerandomizedKem[BikeParams]):
    """One BIKE parameter set as a :class:`~nautilus_tls.crypto.kem.KemPrimitive`."""

    __slots__ = ()

    def keygen_derand(self, randomness: bytes) -> tuple[bytes, bytes]:
        """Key pair from 64 bytes (seed0 for h0/h1, seed1 = sigma), as the reference draws."""
        p = self.params
        if len(randomness) != 2 * _SEED_BYTES:
            raise ValueError("BIKE key generation takes 64 bytes of randomness")
        stream = hashlib.shake_256(randomness[:_SEED_BYTES]).digest(8 * p.d)
        w0 = _fisher_yates(stream[: 4 * p.d], p.d, p.r)
        w1 = _fisher_yates(stream[4 * p.d :], p.d, p.r)
        h0, h1 = _bits(w0, p.r), _bits(w1, p.r)
        pk = _to_bytes(_mul_sparse(_inverse(h0), w1))
        wlists = b"".join(i.to_bytes(4, "little") for i in (*w0, *w1))
        sk = wlists + _to_bytes(h0) + _to_bytes(h1) + pk + randomness[_SEED_BYTES:]
        return pk, sk

    def encaps_derand(self, public_key: bytes, randomness: bytes) -> tuple[bytes, bytes]:
        p = self.params
        if len(randomness) != 2 * _SEED_BYTES:
            raise ValueError("BIKE encapsulation takes 64 bytes of randomness")
        h = _from_bytes(public_key, p.r) if len(public_key) == p.public_key_len else None
        if h is None:
            raise ValueError(f"{p.name}: malformed public key")
        m = randomness[:_M_BYTES]
        e0, e1 = _error_from(p, m)
        c0 = _to_bytes(e0 ^ _mul_sparse(h, _np().flatnonzero(e1)))
        c1 = bytes(a ^ b for a, b in zip(m, _l(e0, e1), strict=True))
        return c0 + c1, _sha3_384_32(m, c0, c1)

    def decaps(self, secret_key: bytes, ciphertext: bytes) -> bytes:
        np = _np()
        p = self.params
        if len(secret_key) != p.secret_key_len or len(ciphertext) != p.ciphertext_len:
            raise ValueError(f"{p.name}: wrong secret key or ciphertext length")
        c0_bytes, c1 = ciphertext[: p.r_bytes], ciphertext[p.r_bytes :]
        words = np.frombuffer(secret_key[: 8 * p.d], dtype="<u4").astype(np.int64)
        supports = (words[: p.d], words[p.d :])
        sigma = secret_key[-_M_BYTES:]
        c0 = _from_bytes(c0_bytes, p.r)
        if c0 is None:
            # A non-canonical c0 cannot come from encapsulation: implicit rejection.
            return _sha3_384_32(sigma, c0_bytes, c1)
        e0, e1, _ = _decode(p, _mul_sparse(c0, supports[0]), supports)
        m = bytes(a ^ b for a, b in zip(c1, _l(e0, e1), strict=True))
        f0, f1 = _error_from(p, m)
        ok = hmac.compare_digest(_to_bytes(e0) + _to_bytes(e1), _to_bytes(f0) + _to_bytes(f1))
        # Implicit rejection (spec Decaps): sigma in place of m' when H(m') != e'. An
        # arithmetic mask, not a branch on which secret is used.
        mask = 0xFF * int(ok)
        chosen = bytes((a & mask) | (b & ~mask & 0xFF) for a, b in zip(m, sigma, strict=True))
        return _sha3_384_32(chosen, c0_bytes, c1)
