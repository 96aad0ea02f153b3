"""Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs): the draft's test vectors verify, its
keys load and re-sign, and a signature is valid only when both components are."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from vectors import load_vector

from nautilus_tls.crypto import composite
from nautilus_tls.crypto.composite import (
    MLDSA65_ECDSA_P256,
    MLDSA65_ED25519,
    CompositeAlgorithm,
    CompositePrivateKey,
    CompositeScheme,
)
from nautilus_tls.errors import ConfigError

VECTORS = load_vector("composite_mldsa_draft_vectors.json")
M = base64.b64decode(VECTORS["m"])
CTX = base64.b64decode(VECTORS["ctx"])
ALGS = {
    "id-MLDSA65-ECDSA-P256-SHA512": MLDSA65_ECDSA_P256,
    "id-MLDSA65-Ed25519-SHA512": MLDSA65_ED25519,
}
CASES = [(ALGS[t["tcId"]], t) for t in VECTORS["tests"]]
IDS = [t["tcId"] for t in VECTORS["tests"]]


def b64(case: dict[str, Any], key: str) -> bytes:
    return base64.b64decode(case[key])


def test_both_ml_dsa_65_test_cases_are_vendored() -> None:
    assert sorted(IDS) == sorted(ALGS)


@pytest.mark.parametrize(("alg", "case"), CASES, ids=IDS)
def test_the_drafts_signatures_verify_with_and_without_context(
    alg: CompositeAlgorithm, case: dict[str, Any]
) -> None:
    pk = b64(case, "pk")
    assert composite.verify(alg, pk, b64(case, "s"), M)
    assert composite.verify(alg, pk, b64(case, "sWithContext"), M, CTX)
    # The context is bound: each signature fails under the other context.
    assert not composite.verify(alg, pk, b64(case, "s"), M, CTX)
    assert not composite.verify(alg, pk, b64(case, "sWithContext"), M)
    assert not composite.verify(alg, pk, b64(case, "s"), M + b"!")


@pytest.mark.parametrize(("alg", "case"), CASES, ids=IDS)
def test_the_drafts_private_key_gives_its_public_key_and_re_signs(
    alg: CompositeAlgorithm, case: dict[str, Any]
) -> None:
    key = CompositePrivateKey(alg, b64(case, "sk"))
    assert key.public_key_bytes == b64(case, "pk")
    assert key.private_bytes() == b64(case, "sk")
    for ctx in (b"", CTX):
        assert composite.verify(alg, b64(case, "pk"), key.sign(M, ctx), M, ctx)


@pytest.mark.parametrize(("alg", "case"), CASES, ids=IDS)
def test_pkcs8_pem_round_trips_the_drafts_encoding_byte_for_byte(
    alg: CompositeAlgorithm, case: dict[str, Any]
) -> None:
    body = base64.encodebytes(b64(case, "sk_pkcs8"))
    pem = b"-----BEGIN PRIVATE KEY-----\n" + body + b"-----END PRIVATE KEY-----\n"
    key = composite.load_pem(pem)
    assert key is not None and key.algorithm is alg
    assert key.private_bytes_pem() == pem


@pytest.mark.parametrize(("alg", "case"), CASES, ids=IDS)
def test_the_scheme_reads_the_key_from_the_drafts_certificate(
    alg: CompositeAlgorithm, case: dict[str, Any]
) -> None:
    scheme = CompositeScheme(alg, scheme=0xFE10)
    assert scheme.certificate_public_key(b64(case, "x5c")) == b64(case, "pk")
    other = MLDSA65_ED25519 if alg is MLDSA65_ECDSA_P256 else MLDSA65_ECDSA_P256
    assert CompositeScheme(other, scheme=0xFE11).certificate_public_key(b64(case, "x5c")) is None


@pytest.mark.parametrize(("alg", "case"), CASES, ids=IDS)
def test_a_signature_is_valid_only_if_both_components_are(
    alg: CompositeAlgorithm, case: dict[str, Any]
) -> None:
    pk, sig = b64(case, "pk"), b64(case, "s")
    mldsa_part, trad_part = sig[:3309], sig[3309:]
    # Each half of a valid signature, paired with a broken other half, is refused.
    broken_mldsa = bytes([mldsa_part[0] ^ 1]) + mldsa_part[1:]
    broken_trad = trad_part[:-1] + bytes([trad_part[-1] ^ 1])
    assert not composite.verify(alg, pk, broken_mldsa + trad_part, M)
    assert not composite.verify(alg, pk, mldsa_part + broken_trad, M)
    # The other composite algorithm's label and key layout do not verify it either.
    other = MLDSA65_ED25519 if alg is MLDSA65_ECDSA_P256 else MLDSA65_ECDSA_P256
    assert not composite.verify(other, pk, sig, M)


@pytest.mark.parametrize("alg", [MLDSA65_ECDSA_P256, MLDSA65_ED25519], ids=lambda a: a.name)
def test_a_component_signature_alone_is_not_a_composite_signature(alg: CompositeAlgorithm) -> None:
    key = CompositePrivateKey.generate(alg)
    sig = key.sign(b"message")
    assert composite.verify(alg, key.public_key_bytes, sig, b"message")
    assert not composite.verify(alg, key.public_key_bytes, sig[:3309], b"message")
    assert not composite.verify(alg, key.public_key_bytes, sig[3309:], b"message")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda pk, sig: (pk, b""),
        lambda pk, sig: (pk, sig + b"\x00" * 80),
        lambda pk, sig: (pk[:-1], sig),
        lambda pk, sig: (pk + b"\x00", sig),
        lambda pk, sig: (pk[:1952] + b"\x05" * (len(pk) - 1952), sig),
        lambda pk, sig: (pk, sig[:3309] + b"\x30\x02\x02\x00"),
    ],
    ids=["empty", "too-long", "short-key", "long-key", "bad-point", "bad-ecdsa-der"],
)
@pytest.mark.parametrize("alg", [MLDSA65_ECDSA_P256, MLDSA65_ED25519], ids=lambda a: a.name)
def test_malformed_keys_and_signatures_are_refused_without_raising(
    alg: CompositeAlgorithm, mangle: Any
) -> None:
    key = CompositePrivateKey.generate(alg)
    pk, sig = mangle(key.public_key_bytes, key.sign(b"m"))
    assert composite.verify(alg, pk, sig, b"m") is False


def test_message_representative_layout() -> None:
    rep = composite.message_representative(MLDSA65_ED25519, b"abc", b"ctx")
    assert rep.startswith(b"CompositeAlgorithmSignatures2025COMPSIG-MLDSA65-Ed25519-SHA512\x03ctx")
    assert len(rep) == 32 + 30 + 1 + 3 + 64
    with pytest.raises(ValueError, match="255"):
        composite.message_representative(MLDSA65_ED25519, b"abc", b"x" * 256)


def test_key_material_never_shows_and_bad_keys_are_config_errors() -> None:
    key = CompositePrivateKey.generate(MLDSA65_ECDSA_P256)
    assert key.private_bytes().hex() not in repr(key)
    with pytest.raises(ConfigError, match="cannot load"):
        CompositePrivateKey(MLDSA65_ECDSA_P256, b"\x00" * 32 + b"\x30\x00")
    with pytest.raises(ConfigError, match="too short"):
        CompositePrivateKey(MLDSA65_ED25519, b"\x00" * 32)
    assert composite.load_pem(b"not a key") is None
