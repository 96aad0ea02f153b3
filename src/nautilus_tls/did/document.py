"""DID documents (W3C DID Core 1.0 §5): which keys may authenticate as the DID.

A peer proves control of a DID in TLS by signing the handshake (CertificateVerify) with a
key the DID's document lists under ``authentication`` (DID Core §5.3.1). This module reads
that list: each entry is a reference (an absolute DID URL or a relative ``#fragment``) to a
``verificationMethod`` of the same document, or a method embedded in place. A method's key
is read from one of:

* ``publicKeyMultibase``: a Multikey (multicodec + base58btc, as in did:key; types
  ``Multikey``, ``Ed25519VerificationKey2020``);
* ``publicKeyJwk``: RFC 8037 ``OKP``/``Ed25519``, RFC 7518 ``EC`` P-256/P-384/P-521, or
  ``AKP`` with ``alg`` ML-DSA-44/65/87 (draft-ietf-cose-dilithium: ``pub``);
* ``publicKeyBase58``: ``Ed25519VerificationKey2018`` (raw key), ``P256Key2021``
  (compressed point).

Only methods whose id is under the document's own DID count (a document cannot vouch for
another DID's keys), and the document's ``id`` must be the DID that was resolved (did:web
spec §"Read": the id must match). Methods of an unsupported kind are skipped; a document
that leaves no usable key under ``authentication`` is refused with :class:`DidDocumentError`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nautilus_tls.did.errors import DidDocumentError, InvalidDid
from nautilus_tls.did.key import KEY_TYPES, multikey_from_spki, spki_from_multikey
from nautilus_tls.did.multiformats import decode_base58btc, encode_base58btc, encode_varint

__all__ = ["VerificationMethod", "authentication_keys", "did_document"]

MAX_METHODS = 64
"""At most this many verificationMethod and authentication entries are read."""

_KEY_TYPE = {t.name: t for t in KEY_TYPES}
_JWK_EC_CURVES = {"P-256": "p256", "P-384": "p384", "P-521": "p521"}
_JWK_AKP_ALGS = {"ML-DSA-44": "mldsa44", "ML-DSA-65": "mldsa65", "ML-DSA-87": "mldsa87"}
_EC_COORDINATE_BYTES = {"p256": 32, "p384": 48, "p521": 66}
_BASE58_TYPES = {"Ed25519VerificationKey2018": "ed25519", "P256Key2021": "p256"}


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    """A key the document authorizes for authentication: its DID URL, type and key (DER
    SubjectPublicKeyInfo)."""

    id: str
    type: str
    spki: bytes = field(repr=False)


def _b64url(value: object, what: str) -> bytes:
    if not isinstance(value, str) or len(value) > 8192:
        raise InvalidDid(f"JWK member {what} is not a base64url string")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InvalidDid(f"JWK member {what} is not base64url") from None


def _multikey(kind: str, raw: bytes) -> str:
    return encode_base58btc(encode_varint(_KEY_TYPE[kind].multicodec) + raw)


def _spki_from_jwk(jwk: object) -> bytes:
    if not isinstance(jwk, Mapping):
        raise InvalidDid("publicKeyJwk is not an object")
    if "d" in jwk:
        raise InvalidDid("publicKeyJwk holds a private key")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return spki_from_multikey(_multikey("ed25519", _b64url(jwk.get("x"), "x")))[1]
    if kty == "EC" and isinstance(crv, str) and crv in _JWK_EC_CURVES:
        kind = _JWK_EC_CURVES[crv]
        x, y = _b64url(jwk.get("x"), "x"), _b64url(jwk.get("y"), "y")
        size = _EC_COORDINATE_BYTES[kind]
        if len(x) != size or len(y) != size:
            raise InvalidDid(f"{crv} JWK coordinates must be {size} bytes")
        # The compressed point: the parity of y picks the prefix (SEC 1 §2.3.3).
        return spki_from_multikey(_multikey(kind, bytes([2 | (y[-1] & 1)]) + x))[1]
    alg = jwk.get("alg")
    if kty == "AKP" and isinstance(alg, str) and alg in _JWK_AKP_ALGS:
        return spki_from_multikey(_multikey(_JWK_AKP_ALGS[alg], _b64url(jwk.get("pub"), "pub")))[1]
    raise InvalidDid(f"unsupported JWK (kty {kty!r}, crv {crv!r})")


def _spki_of_method(method: Mapping[str, Any]) -> bytes:
    if "publicKeyMultibase" in method:
        value = method["publicKeyMultibase"]
        if not isinstance(value, str):
            raise InvalidDid("publicKeyMultibase is not a string")
        return spki_from_multikey(value)[1]
    if "publicKeyJwk" in method:
        return _spki_from_jwk(method["publicKeyJwk"])
    if "publicKeyBase58" in method:
        kind = _BASE58_TYPES.get(str(method.get("type")))
        value = method["publicKeyBase58"]
        if kind is None or not isinstance(value, str):
            raise InvalidDid(f"publicKeyBase58 of an unsupported type {method.get('type')!r}")
        return spki_from_multikey(_multikey(kind, decode_base58btc("z" + value)))[1]
    raise InvalidDid("verification method holds no supported key format")


def _absolute(did: str, ref: str) -> str:
    return did + ref if ref.startswith("#") else ref


def authentication_keys(document: object, did: str) -> tuple[VerificationMethod, ...]:
    """The keys ``document`` (parsed JSON) authorizes to authenticate as ``did``.

    DidDocumentError when the document is not an object, names another DID, has no
    ``authentication`` entry, or none of its entries is a usable key of this DID.
    """
    if not isinstance(document, Mapping):
        raise DidDocumentError(f"the DID document of {did} is not a JSON object")
    if document.get("id") != did:
        raise DidDocumentError(
            f"the DID document names {str(document.get('id'))[:200]!r}, not {did}"
        )
    methods: dict[str, Mapping[str, Any]] = {}
    listed = document.get("verificationMethod", [])
    if not isinstance(listed, list):
        raise DidDocumentError(f"verificationMethod of {did} is not a list")
    for method in listed[:MAX_METHODS]:
        if isinstance(method, Mapping) and isinstance(method.get("id"), str):
            methods[_absolute(did, method["id"])] = method
    entries = document.get("authentication")
    if not isinstance(entries, list) or not entries:
        raise DidDocumentError(f"the DID document of {did} lists no authentication key")
    found: list[VerificationMethod] = []
    problems: list[str] = []
    for entry in entries[:MAX_METHODS]:
        if isinstance(entry, str):
            method_id, method = _absolute(did, entry), methods.get(_absolute(did, entry))
        elif isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
            method_id, method = _absolute(did, entry["id"]), entry
        else:
            problems.append("an authentication entry is neither a reference nor a method")
            continue
        if method is None:
            problems.append(f"{method_id[:200]} is not a verificationMethod of the document")
            continue
        if not method_id.startswith(did + "#"):
            problems.append(f"{method_id[:200]} is not a key of {did}")
            continue
        try:
            spki = _spki_of_method(method)
        except InvalidDid as exc:
            problems.append(f"{method_id[:200]}: {exc}")
            continue
        found.append(VerificationMethod(id=method_id, type=str(method.get("type")), spki=spki))
    if not found:
        detail = "; ".join(problems[:4]) or "no entries"
        raise DidDocumentError(
            f"the DID document of {did} has no usable authentication key ({detail})"
        )
    return tuple(found)


def did_document(did: str, spki: bytes, *, fragment: str = "key-1") -> dict[str, object]:
    """A minimal DID document for ``did`` with one Multikey, listed under ``authentication``
    and ``assertionMethod`` (what ``nautilus-tls did create --method web`` publishes)."""
    method_id = f"{did}#{fragment}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey_from_spki(spki),
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
    }
