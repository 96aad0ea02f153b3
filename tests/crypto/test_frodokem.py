"""FrodoKEM (crypto/frodokem.py): the liboqs known-answer hashes for all six parameter sets,
round trips, implicit rejection of forged ciphertexts and refusal of wrong-sized inputs."""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("numpy", reason="the frodokem extra (numpy) is not installed")

from nist_kat_drbg import NistKatDrbg
from vectors import load_vector

from nautilus_tls.crypto.frodokem import PARAMETER_SETS, FrodoKem

KATS = load_vector("frodokem_liboqs_kat_hashes.json")
NAMES = sorted(PARAMETER_SETS, key=lambda n: (PARAMETER_SETS[n].n, n))

# Sizes as liboqs publishes them (public key, secret key, ciphertext, shared secret).
LIBOQS_SIZES = {
    "FrodoKEM-640-AES": (9616, 19888, 9752, 16),
    "FrodoKEM-640-SHAKE": (9616, 19888, 9752, 16),
    "FrodoKEM-976-AES": (15632, 31296, 15792, 24),
    "FrodoKEM-976-SHAKE": (15632, 31296, 15792, 24),
    "FrodoKEM-1344-AES": (21520, 43088, 21696, 32),
    "FrodoKEM-1344-SHAKE": (21520, 43088, 21696, 32),
}


def _kat_text(kem: FrodoKem, seed: bytes) -> tuple[str, bytes]:
    """liboqs tests/kat_kem.c's single entry for ``kem``, and the decapsulated secret."""
    drbg = NistKatDrbg(seed)
    pk, sk = kem.keygen_derand(drbg.random_bytes(kem.params.keygen_randomness_len))
    ct, ss = kem.encaps_derand(pk, drbg.random_bytes(kem.params.encaps_randomness_len))
    lines = [("count", "0"), ("seed", seed.hex().upper())]
    lines += [(k, v.hex().upper()) for k, v in (("pk", pk), ("sk", sk), ("ct", ct), ("ss", ss))]
    return "".join(f"{k} = {v}\n" for k, v in lines), kem.decaps(sk, ct) + ss


def test_kat_seed_is_the_nist_generators_first_output() -> None:
    assert NistKatDrbg(bytes(range(48))).random_bytes(48).hex() == KATS["first_seed"]


@pytest.mark.parametrize("name", NAMES)
def test_matches_the_liboqs_known_answer_hash(name: str) -> None:
    kem = FrodoKem(PARAMETER_SETS[name])
    text, secrets = _kat_text(kem, bytes.fromhex(KATS["first_seed"]))
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == KATS["single"][name]
    half = len(secrets) // 2
    assert secrets[:half] == secrets[half:]


@pytest.mark.parametrize("name", NAMES)
def test_sizes_are_the_published_ones(name: str) -> None:
    kem = FrodoKem(PARAMETER_SETS[name])
    sizes = (kem.public_key_len, kem.secret_key_len, kem.ciphertext_len, kem.shared_secret_len)
    assert sizes == LIBOQS_SIZES[name]


@pytest.mark.parametrize("name", NAMES)
def test_round_trips_with_fresh_randomness(name: str) -> None:
    kem = FrodoKem(PARAMETER_SETS[name])
    pk, sk = kem.keygen()
    ct, ss = kem.encaps(pk)
    assert (len(pk), len(ct), len(ss)) == (kem.public_key_len, kem.ciphertext_len, len(ss))
    assert kem.decaps(sk, ct) == ss


@pytest.mark.parametrize("name", ["FrodoKEM-640-AES", "FrodoKEM-976-SHAKE"])
@pytest.mark.parametrize("where", ["c1", "c2", "salt"])
def test_rejects_a_forged_ciphertext_implicitly(name: str, where: str) -> None:
    # FO transform: a modified ciphertext decapsulates to an unrelated secret, without error.
    kem = FrodoKem(PARAMETER_SETS[name])
    p = kem.params
    pk, sk = kem.keygen()
    ct, ss = kem.encaps(pk)
    at = {"c1": 0, "c2": p.c1_len, "salt": p.ciphertext_len - 1}[where]
    forged = ct[:at] + bytes([ct[at] ^ 0x01]) + ct[at + 1 :]
    other = kem.decaps(sk, forged)
    assert len(other) == len(ss) and other != ss
    assert kem.decaps(sk, forged) == other  # deterministic: derived from s, not random


def test_rejects_wrong_sized_inputs() -> None:
    kem = FrodoKem(PARAMETER_SETS["FrodoKEM-640-SHAKE"])
    pk, sk = kem.keygen()
    ct, _ = kem.encaps(pk)
    with pytest.raises(ValueError, match="public key"):
        kem.encaps(pk[:-1])
    with pytest.raises(ValueError, match="ciphertext"):
        kem.decaps(sk, ct + b"\x00")
    with pytest.raises(ValueError, match="secret key"):
        kem.decaps(sk[:-1], ct)
    with pytest.raises(ValueError, match="takes"):
        kem.keygen_derand(b"\x00")


def test_repr_names_the_parameter_set_only() -> None:
    assert repr(FrodoKem(PARAMETER_SETS["FrodoKEM-1344-AES"])) == "FrodoKem(FrodoKEM-1344-AES)"
