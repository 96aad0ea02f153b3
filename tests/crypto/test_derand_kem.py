"""The KemPrimitive shell of the KEMs written here (crypto/derand_kem.py): sizes from the
parameter set, fresh randomness of the right length for keygen and encaps."""

from __future__ import annotations

import pytest

from nautilus_tls.crypto.bike import PARAMETER_SETS as BIKE
from nautilus_tls.crypto.bike import BikeKem
from nautilus_tls.crypto.derand_kem import DerandomizedKem
from nautilus_tls.crypto.frodokem import PARAMETER_SETS as FRODO
from nautilus_tls.crypto.frodokem import FrodoKem


@pytest.mark.parametrize(
    "kem",
    [BikeKem(BIKE["BIKE-L1"]), FrodoKem(FRODO["FrodoKEM-640-SHAKE"])],
    ids=lambda k: k.name,
)
def test_sizes_and_fresh_randomness_come_from_the_parameter_set(kem: DerandomizedKem) -> None:  # type: ignore[type-arg]
    seen: list[int] = []

    class Recording(type(kem)):  # type: ignore[misc]
        __slots__ = ()

        def keygen_derand(self, randomness: bytes) -> tuple[bytes, bytes]:
            seen.append(len(randomness))
            return super().keygen_derand(randomness)

        def encaps_derand(self, public_key: bytes, randomness: bytes) -> tuple[bytes, bytes]:
            seen.append(len(randomness))
            return super().encaps_derand(public_key, randomness)

    recording = Recording(kem.params)
    pk, sk = recording.keygen()
    ct, ss = recording.encaps(pk)
    assert seen == [kem.params.keygen_randomness_len, kem.params.encaps_randomness_len]
    assert (len(pk), len(sk), len(ct), len(ss)) == (
        kem.public_key_len, kem.secret_key_len, kem.ciphertext_len, kem.shared_secret_len,
    )  # fmt: skip
    assert recording.decaps(sk, ct) == ss
    assert repr(kem) == f"{type(kem).__name__}({kem.name})"
