"""Signed tree heads: the documented byte encoding, Ed25519 and ML-DSA-65 log keys, and
forged, foreign or malformed tree heads refused."""

from __future__ import annotations

import dataclasses

import pytest

from nautilus_tls.ledger.errors import LedgerError, SignatureError
from nautilus_tls.ledger.merkle import EMPTY_ROOT
from nautilus_tls.ledger.sth import LogKey, LogPublicKey, SignedTreeHead, TreeHead, verify_tree_head


def test_tree_head_bytes_follow_rfc9162_tree_head_data_v2() -> None:
    head = TreeHead(tree_size=5, timestamp_ms=0x0102, root_hash=EMPTY_ROOT)
    assert head.encode() == (
        (0x0102).to_bytes(8, "big") + (5).to_bytes(8, "big") + b"\x20" + EMPTY_ROOT + b"\x00\x00"
    )


@pytest.mark.parametrize("algorithm", ["ed25519", "mldsa65"])
def test_round_trips_and_verifies_a_signed_tree_head(algorithm: str) -> None:
    key = LogKey.generate(algorithm)
    sth = key.sign(TreeHead(7, 1_700_000_000_000, EMPTY_ROOT))
    back = SignedTreeHead.decode(sth.encode())
    assert back == sth
    public = LogPublicKey.from_pem(key.public.to_pem())
    assert verify_tree_head(back, [public]) == public
    assert LogKey.from_pem(key.to_pem()).public.log_id == key.public.log_id


def test_rejects_a_tree_head_whose_size_or_root_was_changed() -> None:
    key = LogKey.generate()
    sth = key.sign(TreeHead(7, 1, EMPTY_ROOT))
    for head in (
        TreeHead(8, 1, EMPTY_ROOT),
        TreeHead(7, 1, b"\x01" * 32),
        TreeHead(7, 2, EMPTY_ROOT),
    ):
        with pytest.raises(SignatureError):
            verify_tree_head(dataclasses.replace(sth, tree_head=head), [key.public])


def test_rejects_a_tree_head_from_an_untrusted_log() -> None:
    sth = LogKey.generate().sign(TreeHead(1, 1, EMPTY_ROOT))
    with pytest.raises(SignatureError, match="not trusted"):
        verify_tree_head(sth, [LogKey.generate().public])


def test_rejects_a_tree_head_signed_by_another_key_under_the_trusted_log_id() -> None:
    trusted, attacker = LogKey.generate(), LogKey.generate()
    forged = dataclasses.replace(
        attacker.sign(TreeHead(1, 1, EMPTY_ROOT)), log_id=trusted.public.log_id
    )
    with pytest.raises(SignatureError):
        verify_tree_head(forged, [trusted.public])


def test_rejects_malformed_signed_tree_head_bytes() -> None:
    good = LogKey.generate().sign(TreeHead(3, 3, EMPTY_ROOT)).encode()
    bad_inputs = [
        b"",
        good[:40],
        good[:-1],
        good + b"\x00",
        good[:48] + b"\x21" + good[49:],  # root length byte
        good[:81] + b"\x00\x01" + good[83:],  # extensions
        good[:83] + b"\x00\x00",  # empty signature
    ]
    for data in bad_inputs:
        with pytest.raises(LedgerError):
            SignedTreeHead.decode(data)


def test_rejects_keys_of_other_algorithms_and_bad_pem() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(LedgerError):
        LogKey.from_pem(ec_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(LedgerError):
        LogPublicKey.from_pem(
            ec_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        )
    with pytest.raises(LedgerError):
        LogPublicKey.from_pem(b"not pem")
    with pytest.raises(LedgerError):
        LogKey.generate("rsa")


def test_log_key_repr_shows_no_key_material() -> None:
    key = LogKey.generate()
    assert "PRIVATE" not in repr(key) and key.to_pem().decode() not in repr(key)
