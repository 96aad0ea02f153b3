"""``did:key``: a DID that is its public key (W3C CCG "The did:key Method", v0.7).

``did:key:<multibase base58btc of (multicodec varint || raw public key)>``. The key types
and their multicodec codes (multiformats/multicodec ``table.csv``):

=========  ========  ======================================  =====================
key type   code      raw public key                          table status
=========  ========  ======================================  =====================
ed25519    0xed      32 bytes (RFC 8032)                     permanent
p256       0x1200    33 bytes, SEC1 compressed point         draft
p384       0x1201    49 bytes, SEC1 compressed point         draft
p521       0x1202    67 bytes, SEC1 compressed point         draft
mldsa44    0x1210    1,312 bytes (FIPS 204 pk encoding)      draft (``mldsa-44-pub``)
mldsa65    0x1211    1,952 bytes                             draft (``mldsa-65-pub``)
mldsa87    0x1212    2,592 bytes                             draft (``mldsa-87-pub``)
=========  ========  ======================================  =====================

The ML-DSA codes are the table's own ``mldsa-44/65/87-pub`` entries (registered, status
draft), so no private-use code is needed. The did:key spec requires compressed points for
the NIST curves; an uncompressed point is refused, so a key has exactly one DID.

Keys travel inside TLS as DER SubjectPublicKeyInfo; :func:`did_key_from_spki` and
:func:`parse_did_key` convert between the two through pyca/cryptography, which also checks
that the key is valid (a point on the curve, a well-formed ML-DSA key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from nautilus_tls.did.errors import InvalidDid
from nautilus_tls.did.multiformats import (
    decode_base58btc,
    decode_varint,
    encode_base58btc,
    encode_varint,
)

__all__ = [
    "KEY_TYPES",
    "DidKey",
    "KeyType",
    "canonical_spki",
    "did_key_from_spki",
    "key_type_of",
    "multikey_from_spki",
    "parse_did_key",
    "spki_from_multikey",
]

DID_KEY_PREFIX = "did:key:"
MAX_DID_LENGTH = 8192


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _ec_loader(curve: ec.EllipticCurve, size: int) -> Callable[[bytes], PublicKeyTypes]:
    def load(raw: bytes) -> PublicKeyTypes:
        if len(raw) != size or raw[0] not in (2, 3):
            raise InvalidDid(f"a {curve.name} did:key holds a {size}-byte compressed point")
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)

    return load


def _ec_raw(key: PublicKeyTypes) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidDid("not an elliptic-curve key")
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def _raw(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class KeyType:
    """One did:key key type: its name, multicodec code, and the raw-key conversions."""

    name: str
    multicodec: int
    load: Callable[[bytes], PublicKeyTypes] = field(repr=False)
    raw: Callable[[PublicKeyTypes], bytes] = field(repr=False)


KEY_TYPES: tuple[KeyType, ...] = (
    KeyType("ed25519", 0xED, ed25519.Ed25519PublicKey.from_public_bytes, _raw),
    KeyType("p256", 0x1200, _ec_loader(ec.SECP256R1(), 33), _ec_raw),
    KeyType("p384", 0x1201, _ec_loader(ec.SECP384R1(), 49), _ec_raw),
    KeyType("p521", 0x1202, _ec_loader(ec.SECP521R1(), 67), _ec_raw),
    KeyType("mldsa44", 0x1210, mldsa.MLDSA44PublicKey.from_public_bytes, _raw),
    KeyType("mldsa65", 0x1211, mldsa.MLDSA65PublicKey.from_public_bytes, _raw),
    KeyType("mldsa87", 0x1212, mldsa.MLDSA87PublicKey.from_public_bytes, _raw),
)
_BY_CODE = {t.multicodec: t for t in KEY_TYPES}
_BY_NAME = {t.name: t for t in KEY_TYPES}
_CURVES = {"secp256r1": "p256", "secp384r1": "p384", "secp521r1": "p521"}


def key_type_of(key: PublicKeyTypes) -> KeyType:
    """The did:key type of a pyca public key; InvalidDid for a key did:key cannot carry."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _BY_NAME["ed25519"]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _CURVES:
        return _BY_NAME[_CURVES[key.curve.name]]
    for name, cls in (
        ("mldsa44", mldsa.MLDSA44PublicKey),
        ("mldsa65", mldsa.MLDSA65PublicKey),
        ("mldsa87", mldsa.MLDSA87PublicKey),
    ):
        if isinstance(key, cls):
            return _BY_NAME[name]
    raise InvalidDid(f"no did:key type for a {type(key).__name__} key")


def _load_spki(spki: bytes) -> PublicKeyTypes:
    try:
        return serialization.load_der_public_key(spki)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidDid("not a SubjectPublicKeyInfo of a supported key") from None


def canonical_spki(spki: bytes) -> bytes:
    """``spki`` re-encoded by pyca (so two encodings of one key compare equal)."""
    return _spki(_load_spki(spki))


def multikey_from_spki(spki: bytes) -> str:
    """The multibase "Multikey" value of a key: ``z`` + base58btc(varint(code) || raw)."""
    key = _load_spki(spki)
    kind = key_type_of(key)
    return encode_base58btc(encode_varint(kind.multicodec) + kind.raw(key))


def spki_from_multikey(value: str) -> tuple[KeyType, bytes]:
    """The key type and DER SubjectPublicKeyInfo of a Multikey value (also the method-specific
    part of a did:key); InvalidDid for an unknown code, a wrong length or an invalid key."""
    data = decode_base58btc(value)
    code, used = decode_varint(data)
    kind = _BY_CODE.get(code)
    if kind is None:
        raise InvalidDid(f"unsupported multicodec key type 0x{code:x}")
    try:
        key = kind.load(data[used:])
    except InvalidDid:
        raise
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidDid(f"not a valid {kind.name} public key") from None
    return kind, _spki(key)


def did_key_from_spki(spki: bytes) -> str:
    """The did:key of a DER SubjectPublicKeyInfo."""
    return DID_KEY_PREFIX + multikey_from_spki(spki)


@dataclass(frozen=True, slots=True)
class DidKey:
    """A parsed did:key: the DID (without fragment), its key type and SubjectPublicKeyInfo."""

    did: str
    key_type: KeyType
    spki: bytes = field(repr=False)


def parse_did_key(did: str) -> DidKey:
    """Parse ``did:key:z...`` (a DID URL's ``#fragment`` is ignored if it names the same key).

    InvalidDid for another method, a bad encoding, an unsupported key type or an invalid key.
    """
    if len(did) > MAX_DID_LENGTH:
        raise InvalidDid("DID is too long")
    base, _, fragment = did.partition("#")
    if not base.startswith(DID_KEY_PREFIX):
        raise InvalidDid(f"not a did:key: {base[:80]!r}")
    value = base[len(DID_KEY_PREFIX) :]
    if fragment and fragment != value:
        raise InvalidDid("a did:key fragment must repeat the key")
    kind, spki = spki_from_multikey(value)
    return DidKey(did=base, key_type=kind, spki=spki)
