"""DID documents (src/nautilus_tls/did/document.py): which keys a document authorizes under
``authentication``, including the W3C CCG did:key vectors' own documents."""

from __future__ import annotations

import base64
import copy

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from vectors import load_vector

from nautilus_tls.did.document import authentication_keys, did_document
from nautilus_tls.did.errors import DidDocumentError
from nautilus_tls.did.key import parse_did_key

DID = "did:web:example.com"


def _spki(private: object) -> bytes:
    return private.public_key().public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("name", ["did_key/ed25519-x25519.json", "did_key/nist-curves.json"])
def test_reads_the_authentication_key_of_every_vector_document(name: str) -> None:
    cases = load_vector(name)
    assert cases
    for did, case in cases.items():
        document = case["didDocument"]
        keys = authentication_keys(document, did)
        assert [k.spki for k in keys] == [parse_did_key(did).spki]


def test_round_trips_the_document_did_create_publishes() -> None:
    spki = _spki(mldsa.MLDSA65PrivateKey.generate())
    (key,) = authentication_keys(did_document(DID, spki), DID)
    assert key.spki == spki and key.id == DID + "#key-1" and key.type == "Multikey"


def test_accepts_relative_references_and_embedded_methods() -> None:
    a, b = _spki(ed25519.Ed25519PrivateKey.generate()), _spki(ed25519.Ed25519PrivateKey.generate())
    document = did_document(DID, a)
    document["verificationMethod"][0]["id"] = "#key-1"  # type: ignore[index]
    document["authentication"] = [
        "#key-1",
        did_document(DID, b, fragment="key-2")["verificationMethod"][0],  # type: ignore[index]
    ]
    assert [k.spki for k in authentication_keys(document, DID)] == [a, b]


def test_reads_ec_and_okp_jwks() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    numbers = p256.public_key().public_numbers()
    ed = ed25519.Ed25519PrivateKey.generate()
    raw = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwks = [
        {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x.to_bytes(32, "big")),
         "y": _b64(numbers.y.to_bytes(32, "big"))},
        {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)},
    ]  # fmt: skip
    document = {
        "id": DID,
        "verificationMethod": [
            {"id": f"{DID}#k{i}", "type": "JsonWebKey2020", "publicKeyJwk": jwk}
            for i, jwk in enumerate(jwks)
        ],
        "authentication": [f"{DID}#k0", f"{DID}#k1"],
    }
    assert [k.spki for k in authentication_keys(document, DID)] == [_spki(p256), _spki(ed)]


def test_rejects_a_document_without_an_authentication_entry() -> None:
    document = did_document(DID, _spki(ed25519.Ed25519PrivateKey.generate()))
    del document["authentication"]
    with pytest.raises(DidDocumentError, match="no authentication key"):
        authentication_keys(document, DID)


def test_rejects_a_key_listed_only_under_assertion_method() -> None:
    document = did_document(DID, _spki(ed25519.Ed25519PrivateKey.generate()))
    document["authentication"] = ["#other"]
    with pytest.raises(DidDocumentError, match="not a verificationMethod"):
        authentication_keys(document, DID)


def test_rejects_a_document_that_names_another_did() -> None:
    document = did_document("did:web:evil.example", _spki(ed25519.Ed25519PrivateKey.generate()))
    with pytest.raises(DidDocumentError, match=r"evil\.example"):
        authentication_keys(document, DID)


def test_rejects_a_method_of_another_did() -> None:
    document = did_document(DID, _spki(ed25519.Ed25519PrivateKey.generate()))
    foreign = copy.deepcopy(document["verificationMethod"][0])  # type: ignore[index]
    foreign["id"] = "did:web:evil.example#key-1"
    document["verificationMethod"] = [foreign]
    document["authentication"] = ["did:web:evil.example#key-1"]
    with pytest.raises(DidDocumentError, match="is not a key of"):
        authentication_keys(document, DID)


@pytest.mark.parametrize(
    "method",
    [
        {"publicKeyJwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
        {"publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"}},
        {"publicKeyJwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}},
        {"publicKeyMultibase": "zNotBase58OIl0"},
        {"publicKeyBase58": "abc", "type": "RsaVerificationKey2018"},
        {"type": "Multikey"},
    ],
)
def test_rejects_documents_whose_only_key_is_unusable(method: dict[str, object]) -> None:
    document = {"id": DID, "verificationMethod": [{"id": f"{DID}#k", **method}],
                "authentication": [f"{DID}#k"]}  # fmt: skip
    with pytest.raises(DidDocumentError, match="no usable authentication key"):
        authentication_keys(document, DID)


@pytest.mark.parametrize("document", [[], "x", {"id": DID, "authentication": "#k"}, None])
def test_rejects_documents_of_the_wrong_shape(document: object) -> None:
    with pytest.raises(DidDocumentError):
        authentication_keys(document, DID)
