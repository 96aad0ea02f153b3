"""BIKE (crypto/bike.py): the reference KATs (first entries, L1 and L3) and liboqs's known-answer
hashes for all three levels, round trips, implicit rejection of forged ciphertexts and refusal
of wrong-sized inputs."""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("numpy", reason="the bike extra (numpy) is not installed")

from nist_kat_drbg import NistKatDrbg
from vectors import load_vector

from nautilus_tls.crypto import bike
from nautilus_tls.crypto.bike import PARAMETER_SETS, BikeKem

KATS = load_vector("bike_kat_hashes.json")
NAMES = list(PARAMETER_SETS)

# Sizes as liboqs publishes them (public key, secret key, ciphertext, shared secret).
LIBOQS_SIZES = {
    "BIKE-L1": (1541, 5223, 1573, 32),
    "BIKE-L3": (3083, 10105, 3115, 32),
    "BIKE-L5": (5122, 16494, 5154, 32),
}


def _kat(kem: BikeKem, seed: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    drbg = NistKatDrbg(seed)
    pk, sk = kem.keygen_derand(drbg.random_bytes(64))
    ct, ss = kem.encaps_derand(pk, drbg.random_bytes(64))
    return pk, sk, ct, ss


@pytest.mark.parametrize("name", NAMES)
def test_matches_the_liboqs_known_answer_hash(name: str) -> None:
    kem = BikeKem(PARAMETER_SETS[name])
    seed = bytes.fromhex(KATS["first_seed"])
    pk, sk, ct, ss = _kat(kem, seed)
    lines = [("count", "0"), ("seed", seed.hex().upper())]
    lines += [(k, v.hex().upper()) for k, v in (("pk", pk), ("sk", sk), ("ct", ct), ("ss", ss))]
    text = "".join(f"{k} = {v}\n" for k, v in lines)
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == KATS["single"][name]
    assert kem.decaps(sk, ct) == ss


@pytest.mark.parametrize("name", sorted(KATS["reference_first_entry"]))
def test_matches_the_reference_kat_first_entry(name: str) -> None:
    entry = KATS["reference_first_entry"][name]
    pk, sk, ct, ss = _kat(BikeKem(PARAMETER_SETS[name]), bytes.fromhex(entry["seed"]))
    for label, value in (("pk", pk), ("sk", sk), ("ct", ct)):
        assert len(value) == entry[f"{label}_len"]
        assert hashlib.sha256(value).hexdigest() == entry[f"{label}_sha256"], label
    assert ss.hex() == entry["ss"]


@pytest.mark.parametrize("name", NAMES)
def test_sizes_are_the_published_ones(name: str) -> None:
    kem = BikeKem(PARAMETER_SETS[name])
    sizes = (kem.public_key_len, kem.secret_key_len, kem.ciphertext_len, kem.shared_secret_len)
    assert sizes == LIBOQS_SIZES[name]


@pytest.mark.parametrize("name", NAMES)
def test_round_trips_with_fresh_randomness(name: str) -> None:
    kem = BikeKem(PARAMETER_SETS[name])
    pk, sk = kem.keygen()
    for _ in range(3):
        ct, ss = kem.encaps(pk)
        assert kem.decaps(sk, ct) == ss


@pytest.mark.parametrize("where", ["c0", "c1", "c0-high-bit"])
def test_rejects_a_forged_ciphertext_implicitly(where: str) -> None:
    # FO transform: a modified ciphertext decapsulates to an unrelated secret, without error,
    # and always to the same one (K(sigma, c)).
    kem = BikeKem(PARAMETER_SETS["BIKE-L1"])
    p = kem.params
    pk, sk = kem.keygen()
    ct, ss = kem.encaps(pk)
    if where == "c0-high-bit":  # a bit above r in c0's last byte: never canonical
        at, bit = p.r_bytes - 1, 0x80
    else:
        at, bit = (5 if where == "c0" else p.r_bytes + 3), 0x01
    forged = ct[:at] + bytes([ct[at] ^ bit]) + ct[at + 1 :]
    other = kem.decaps(sk, forged)
    assert other != ss and len(other) == 32
    assert kem.decaps(sk, forged) == other
    sigma = sk[-32:]
    assert other == hashlib.sha3_384(sigma + forged).digest()[:32]


def test_refuses_wrong_sizes_and_non_canonical_public_keys() -> None:
    kem = BikeKem(PARAMETER_SETS["BIKE-L1"])
    pk, sk = kem.keygen()
    ct, _ = kem.encaps(pk)
    with pytest.raises(ValueError, match="malformed public key"):
        kem.encaps(pk[:-1])
    with pytest.raises(ValueError, match="malformed public key"):
        kem.encaps(pk[:-1] + bytes([pk[-1] | 0x80]))  # bit 12327 >= r set
    with pytest.raises(ValueError, match="wrong secret key or ciphertext length"):
        kem.decaps(sk, ct + b"\x00")
    with pytest.raises(ValueError, match="64 bytes"):
        kem.keygen_derand(b"\x00" * 32)


def test_the_decoder_recovers_the_error_and_says_when_it_cannot() -> None:
    np = pytest.importorskip("numpy")
    p = PARAMETER_SETS["BIKE-L1"]
    kem = BikeKem(p)
    _, sk = kem.keygen()
    words = np.frombuffer(sk[: 8 * p.d], dtype="<u4").astype(np.int64)
    supports = (words[: p.d], words[p.d :])
    e0, e1 = bike._error_from(p, b"\x07" * 32)
    syndrome = bike._mul_sparse(e0, supports[0]) ^ bike._mul_sparse(e1, supports[1])
    d0, d1, ok = bike._decode(p, syndrome, supports)
    assert ok and (d0 == e0).all() and (d1 == e1).all()
    # Far too many errors (4t) is beyond the decoder: it reports failure.
    many = bike._bits(list(range(0, 8 * p.t, 2)), p.r)
    _, _, ok = bike._decode(p, bike._mul_sparse(many, supports[0]), supports)
    assert not ok


def test_inversion_gives_the_inverse() -> None:
    np = pytest.importorskip("numpy")
    p = PARAMETER_SETS["BIKE-L1"]
    a = bike._bits([0, 5, 77, 1000, 12322], p.r)  # odd weight: a unit
    product = bike._mul_dense(a, bike._inverse(a))
    one = np.zeros(p.r, dtype=np.uint8)
    one[0] = 1
    assert (product == one).all()
