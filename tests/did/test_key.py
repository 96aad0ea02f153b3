"""did:key (src/nautilus_tls/did/key.py) against the W3C CCG did:key test vectors
(tests/vectors/did_key/, vendored from w3c-ccg/did-method-key ``test-vectors/``), plus the
ML-DSA key types and the refusals."""

from __future__ import annotations

import base64

import base58
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from vectors import load_vector

from nautilus_tls.did.errors import InvalidDid
from nautilus_tls.did.key import (
    canonical_spki,
    did_key_from_spki,
    multikey_from_spki,
    parse_did_key,
    spki_from_multikey,
)
from nautilus_tls.did.multiformats import encode_base58btc, encode_varint

ED25519 = load_vector("did_key/ed25519-x25519.json")
NIST = load_vector("did_key/nist-curves.json")
CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


def _spki(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64url(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_vector_files_hold_the_expected_cases() -> None:
    assert len(ED25519) == 5
    assert {parse_did_key(did).key_type.name for did in NIST} == {"p256", "p384", "p521"}


@pytest.mark.parametrize("did", sorted(ED25519))
def test_ed25519_vector_seed_gives_the_did(did: str) -> None:
    case = ED25519[did]
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(case["seed"]))
    assert did_key_from_spki(_spki(private.public_key())) == did


@pytest.mark.parametrize("did", sorted(ED25519))
def test_ed25519_vector_did_decodes_to_its_public_key(did: str) -> None:
    parsed = parse_did_key(did)
    pair = ED25519[did]["verificationKeyPair"]
    if "publicKeyJwk" in pair:  # JsonWebKey2020 (OKP)
        x = pair["publicKeyJwk"]["x"]
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    else:  # Ed25519VerificationKey2018
        raw = base58.b58decode(pair["publicKeyBase58"])
    expected = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    assert parsed.key_type.name == "ed25519" and parsed.did == did
    assert parsed.spki == _spki(expected)


def _nist_public(case: dict[str, dict[str, object]]) -> ec.EllipticCurvePublicKey:
    """The vector's public key: a JWK (JsonWebKey2020) or a base58 compressed P-256 point
    (P256Key2021)."""
    method = case["verificationMethod"]
    if "publicKeyJwk" in method:
        jwk = method["publicKeyJwk"]
        assert isinstance(jwk, dict)
        curve = CURVES[jwk["crv"]]
        return ec.EllipticCurvePublicNumbers(
            _b64url(jwk["x"]), _b64url(jwk["y"]), curve
        ).public_key()
    point = base58.b58decode(str(method["publicKeyBase58"]))
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def _nist_private(case: dict[str, dict[str, object]]) -> ec.EllipticCurvePrivateKey:
    method = case["verificationMethod"]
    if "privateKeyJwk" in method:
        jwk = method["privateKeyJwk"]
        assert isinstance(jwk, dict)
        return ec.derive_private_key(_b64url(jwk["d"]), CURVES[jwk["crv"]])
    scalar = base58.b58decode(str(method["privateKeyBase58"]))
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


@pytest.mark.parametrize("did", sorted(NIST))
def test_nist_curve_vector_public_key_gives_the_did_and_back(did: str) -> None:
    spki = _spki(_nist_public(NIST[did]))
    assert did_key_from_spki(spki) == did
    assert parse_did_key(did).spki == spki


@pytest.mark.parametrize("did", sorted(NIST))
def test_nist_curve_vector_private_key_matches_its_did(did: str) -> None:
    assert did_key_from_spki(_spki(_nist_private(NIST[did]).public_key())) == did


def test_p256_did_key_starts_with_the_spec_prefix() -> None:
    # did:key spec: P-256 keys (multicodec 0x1200, compressed) all begin "zDn".
    did = did_key_from_spki(_spki(ec.generate_private_key(ec.SECP256R1()).public_key()))
    assert did.startswith("did:key:zDn")


@pytest.mark.parametrize(
    ("cls", "code", "size"),
    [
        (mldsa.MLDSA44PrivateKey, 0x1210, 1312),
        (mldsa.MLDSA65PrivateKey, 0x1211, 1952),
        (mldsa.MLDSA87PrivateKey, 0x1212, 2592),
    ],
)
def test_round_trips_ml_dsa_keys_with_the_multicodec_table_codes(
    cls: type[mldsa.MLDSA65PrivateKey], code: int, size: int
) -> None:
    public = cls.generate().public_key()
    did = did_key_from_spki(_spki(public))
    payload = base58.b58decode(did[len("did:key:z") :])
    assert payload[: len(encode_varint(code))] == encode_varint(code)
    assert len(payload) == len(encode_varint(code)) + size
    assert parse_did_key(did).spki == _spki(public)


def test_accepts_a_fragment_that_repeats_the_key() -> None:
    did = sorted(ED25519)[0]
    assert parse_did_key(did + "#" + did[len("did:key:") :]).did == did


@pytest.mark.parametrize(
    "text",
    [
        "did:web:example.com",
        "did:key:",
        "did:key:f00ed",  # base16, not base58btc
        "did:key:z0OIl",  # not in the base58 alphabet
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#zOther",
    ],
)
def test_rejects_malformed_did_keys(text: str) -> None:
    with pytest.raises(InvalidDid):
        parse_did_key(text)


def test_rejects_an_unknown_multicodec() -> None:
    with pytest.raises(InvalidDid, match="0xe7"):  # secp256k1-pub: not a TLS key
        parse_did_key("did:key:" + encode_base58btc(encode_varint(0xE7) + b"\x02" * 33))


def test_rejects_a_non_minimal_varint() -> None:
    padded = bytes([0xED | 0x80, 0x81, 0x00]) + bytes(32)  # 0xed in 3 bytes instead of 2
    with pytest.raises(InvalidDid, match="minimal"):
        spki_from_multikey(encode_base58btc(padded))


def test_rejects_a_wrong_length_ed25519_key() -> None:
    with pytest.raises(InvalidDid, match="ed25519"):
        spki_from_multikey(encode_base58btc(encode_varint(0xED) + bytes(31)))


def test_rejects_an_uncompressed_p256_point() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    with pytest.raises(InvalidDid, match="compressed"):
        spki_from_multikey(encode_base58btc(encode_varint(0x1200) + point))


def test_rejects_a_p256_point_off_the_curve() -> None:
    with pytest.raises(InvalidDid):
        spki_from_multikey(encode_base58btc(encode_varint(0x1200) + b"\x02" + b"\xff" * 32))


def test_rejects_a_key_did_key_cannot_carry() -> None:
    rsa_spki = bytes.fromhex("300d06092a864886f70d0101010500") + b"\x03\x01\x00"
    with pytest.raises(InvalidDid):
        did_key_from_spki(rsa_spki)


def test_canonical_spki_and_multikey_agree() -> None:
    spki = _spki(ed25519.Ed25519PrivateKey.generate().public_key())
    assert canonical_spki(spki) == spki
    assert "did:key:" + multikey_from_spki(spki) == did_key_from_spki(spki)
