"""The NIST PQC known-answer-test generator (AES-256 CTR_DRBG without derivation function, as
in the submission packages' ``rng.c``): the randomness behind every ``PQCkemKAT_*.rsp`` file
and liboqs's KAT hashes, rebuilt over pyca/cryptography's AES so that KATs replay here."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _aes256(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


class NistKatDrbg:
    """``randombytes`` of the NIST KAT harness, seeded with 48 bytes of entropy."""

    def __init__(self, entropy: bytes) -> None:
        if len(entropy) != 48:
            raise ValueError("the KAT DRBG takes 48 bytes of entropy")
        self._key = bytes(32)
        self._v = 0
        self._update(entropy)

    def _next_block(self) -> bytes:
        self._v = (self._v + 1) % (1 << 128)
        return _aes256(self._key, self._v.to_bytes(16, "big"))

    def _update(self, provided: bytes) -> None:
        temp = b"".join(self._next_block() for _ in range(3))
        temp = bytes(a ^ b for a, b in zip(temp, provided, strict=True))
        self._key = temp[:32]
        self._v = int.from_bytes(temp[32:], "big")

    def random_bytes(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += self._next_block()
        self._update(bytes(48))
        return out[:n]
