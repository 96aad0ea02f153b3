"""The OPRF of RFC 9497 (mode 0x00, "OPRF"), suite ristretto255-SHA512, as OPAQUE uses it.

Client: ``blind(input)`` -> (blind, blinded element); server: ``blind_evaluate(key, blinded)``;
client: ``finalize(input, blind, evaluated)`` -> 64-byte output. The server never sees the
input, the client never learns the key. ``derive_key_pair`` is RFC 9497 §3.2.1, which OPAQUE
also uses for its Diffie-Hellman keys.
"""

from __future__ import annotations

import hashlib

from nautilus_tls.pake import _ristretto as group
from nautilus_tls.pake.errors import PakeInvalidElement

__all__ = ["OUTPUT_LEN", "blind", "blind_evaluate", "derive_key_pair", "finalize"]

OUTPUT_LEN = 64  # Nh of SHA-512
_CONTEXT = b"OPRFV1-\x00-ristretto255-SHA512"  # RFC 9497 §3.1: "OPRFV1-" || mode || "-" || id


def _i2osp2(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def derive_key_pair(seed: bytes, info: bytes) -> tuple[bytes, bytes]:
    """RFC 9497 §3.2.1 DeriveKeyPair: (secret scalar, public element) from a 32-byte seed."""
    derive_input = seed + _i2osp2(info)
    for counter in range(256):
        sk = group.hash_to_scalar(derive_input + bytes([counter]), b"DeriveKeyPair" + _CONTEXT)
        # A zero scalar has probability ~2^-252; the loop is the RFC's, not a timing channel.
        if sk != bytes(group.SCALAR_LEN):
            return sk, group.base_mul(sk)
    raise PakeInvalidElement("DeriveKeyPair: no valid scalar")  # pragma: no cover


def blind(oprf_input: bytes, blind_scalar: bytes | None = None) -> tuple[bytes, bytes]:
    """RFC 9497 §3.3.1 Blind: (blind, blinded element). ``blind_scalar`` only for vectors."""
    r = group.random_scalar() if blind_scalar is None else blind_scalar
    element = group.hash_to_group(oprf_input, b"HashToGroup-" + _CONTEXT)
    if element == bytes(group.ELEMENT_LEN):
        raise PakeInvalidElement("the OPRF input hashes to the identity")
    return r, group.scalar_mul(r, element)


def blind_evaluate(key: bytes, blinded: bytes) -> bytes:
    """RFC 9497 §3.3.1 BlindEvaluate, after checking the client's element."""
    return group.scalar_mul(key, group.check_element(blinded))


def finalize(oprf_input: bytes, blind_scalar: bytes, evaluated: bytes) -> bytes:
    """RFC 9497 §3.3.1 Finalize: unblind and hash with the input."""
    unblinded = group.scalar_mul(group.scalar_invert(blind_scalar), group.check_element(evaluated))
    return hashlib.sha512(_i2osp2(oprf_input) + _i2osp2(unblinded) + b"Finalize").digest()
