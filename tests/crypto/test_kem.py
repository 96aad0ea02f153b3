"""Key exchange as KEMs: ECDH (RFC 8446 §4.2.8.2, §7.4), ML-KEM (FIPS 203, draft-ietf-tls-mlkem)
and the hybrids (draft-ietf-tls-ecdhe-mlkem).

Not testable with pyca/cryptography, and why: ML-KEM encapsulation takes no caller randomness,
so the ACVP encapsulation outputs (c, K) cannot be reproduced; ACVP decapsulation cases give
only the expanded dk, which the backend cannot load (it takes the 64-byte seed d||z only), so
those cases cannot be run either. The keyGen cases (seed → ek) and the ek pass-through are
tested; hybrid composition is tested with a stub ML-KEM replaying the ACVP values.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nautilus_tls.crypto.kem import EcdhKem, HybridKem, KeyExchange, MlKem
from nautilus_tls.crypto.keyschedule import KeySchedule, derive_secret, empty_hash, hkdf_extract
from nautilus_tls.crypto.provider import default_provider
from nautilus_tls.errors import AlertDescription, LocalProtocolError, PeerMisbehaved
from nautilus_tls.wire.enums import NamedGroup

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

FACTS = "pq_tls_hybrid_mlkem_mldsa_facts.json"
DERIVED = "pq_hybrid_share_layout_examples_DERIVED.json"
ACVP = "fips203_mlkem_acvp_samples.json"
SECTION3 = "rfc8448/section3_simple_1rtt_handshake.json"
SECTION5 = "rfc8448/section5_hello_retry_request.json"


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def _kem(group: NamedGroup) -> Any:
    kem = default_provider().kem_for_group(group)
    assert kem is not None
    return kem


def _illegal(exc: pytest.ExceptionInfo[PeerMisbehaved]) -> None:
    assert exc.value.alert is AlertDescription.illegal_parameter


# --- every group -----------------------------------------------------------------------------


SUPPORTED_GROUPS = tuple(g.code for g in default_provider().group_infos())


@pytest.mark.parametrize("group", SUPPORTED_GROUPS)
def test_round_trips_every_group(group: NamedGroup) -> None:
    kem = _kem(group)
    assert kem.group == group
    client = kem.generate()
    assert client.group == group
    assert len(client.share) == kem.client_share_len
    server_share, server_secret = kem.encapsulate(client.share)
    assert len(server_share) == kem.server_share_len
    assert len(server_secret) == kem.shared_secret_len
    assert client.decapsulate(server_share) == server_secret


def test_default_provider_groups_order_and_absences() -> None:
    assert SUPPORTED_GROUPS[0] == NamedGroup.X25519MLKEM768
    assert len(set(SUPPORTED_GROUPS)) == 8
    for value in (NamedGroup.MLKEM512, NamedGroup.x448, NamedGroup.secp521r1, 0x0A0A, 0x6399):
        assert default_provider().kem_for_group(value) is None


def test_sizes_match_draft_facts() -> None:
    facts = load_vector(FACTS)
    for item in facts["supported_groups_hybrid"]:
        kem = _kem(NamedGroup[item["name"]])
        assert kem.client_share_len == item["client_key_exchange"]["size"]
        assert kem.server_share_len == item["server_key_exchange"]["size"]
        assert kem.shared_secret_len == item["shared_secret"]["size"]
        assert kem.pq_first == item["client_key_exchange"]["order"][0].startswith("ML-KEM")
    for item in facts["supported_groups_pure_mlkem"]:
        kem = default_provider().kem_for_group(NamedGroup[item["name"]])
        if item["name"] == "MLKEM512":
            assert kem is None  # not offered: not in pyca/cryptography
            continue
        assert kem is not None
        assert kem.client_share_len == item["ek"]
        assert kem.server_share_len == item["ciphertext"]
        assert kem.shared_secret_len == item["shared_secret"]


def test_repr_hides_private_keys() -> None:
    kx = _kem(NamedGroup.x25519).generate(private_bytes=bytes(range(1, 33)))
    assert bytes(range(1, 33)).hex() not in repr(kx)
    assert "x25519" in repr(kx)
    assert "X25519MLKEM768" in repr(_kem(NamedGroup.X25519MLKEM768))


# --- ECDH ------------------------------------------------------------------------------------


def test_x25519_reproduces_rfc8448() -> None:
    s = load_vector(SECTION3)["summary"]
    kem = _kem(NamedGroup.x25519)
    client = kem.generate(private_bytes=h(s["client_x25519_private_key"]))
    assert client.share.hex() == s["client_x25519_public_key"]
    share, secret = kem.encapsulate(client.share, private_bytes=h(s["server_x25519_private_key"]))
    assert share.hex() == s["server_x25519_public_key"]
    assert secret.hex() == s["ecdhe_shared_secret"]
    assert client.decapsulate(share).hex() == s["ecdhe_shared_secret"]


def test_p256_reproduces_rfc8448_hello_retry() -> None:
    s = load_vector(SECTION5)["summary"]
    kem = _kem(NamedGroup.secp256r1)
    client = kem.generate(private_bytes=h(s["client_p256_private_key"]))
    assert client.share.hex() == s["client_p256_public_key"]
    share, secret = kem.encapsulate(client.share, private_bytes=h(s["server_p256_private_key"]))
    assert share.hex() == s["server_p256_public_key"]
    # The ECDH secret for NIST curves is the x-coordinate (RFC 8446 §7.4.2).
    assert secret.hex() == s["ecdhe_shared_secret"]
    assert client.decapsulate(share) == secret


def test_p384_reproduces_rfc5903() -> None:
    p = next(e for e in load_vector(DERIVED)["examples"] if e["group"] == "SecP384r1MLKEM1024")[
        "p384_values"
    ]
    kem = _kem(NamedGroup.secp384r1)
    client = kem.generate(private_bytes=h(p["client_private_i"]))
    assert client.share.hex() == p["client_public"]
    share, secret = kem.encapsulate(client.share, private_bytes=h(p["server_private_r"]))
    assert share.hex() == p["server_public"]
    assert secret.hex() == p["ecdh_x"]


@pytest.mark.parametrize("group", [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1])
def test_rejects_ecdh_share_of_wrong_length(group: NamedGroup) -> None:
    kem = _kem(group)
    client = kem.generate()
    for bad in (b"", client.share[:-1], client.share + b"\x00"):
        with pytest.raises(PeerMisbehaved) as exc:
            kem.encapsulate(bad)
        _illegal(exc)
        with pytest.raises(PeerMisbehaved) as exc:
            client.decapsulate(bad)
        _illegal(exc)


@pytest.mark.parametrize(
    "low_order",
    [
        bytes(32),
        (1).to_bytes(32, "little"),
        # a point of order 8 (RFC 7748 §5 low-order list, curve25519)
        h("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    ],
)
def test_rejects_x25519_all_zero_shared_secret(low_order: bytes) -> None:
    kem = _kem(NamedGroup.x25519)
    with pytest.raises(PeerMisbehaved) as exc:
        kem.encapsulate(low_order)
    _illegal(exc)
    with pytest.raises(PeerMisbehaved) as exc:
        kem.generate().decapsulate(low_order)
    _illegal(exc)


@pytest.mark.parametrize(
    ("group", "curve"),
    [(NamedGroup.secp256r1, ec.SECP256R1()), (NamedGroup.secp384r1, ec.SECP384R1())],
)
def test_rejects_compressed_point(group: NamedGroup, curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve).public_key()
    compressed = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    # Same length as an uncompressed point, but the compressed prefix.
    padded = compressed + bytes(_kem(group).client_share_len - len(compressed))
    for bad in (compressed, padded):
        with pytest.raises(PeerMisbehaved) as exc:
            _kem(group).encapsulate(bad)
        _illegal(exc)


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.secp384r1])
def test_rejects_point_not_on_curve(group: NamedGroup) -> None:
    kem = _kem(group)
    share = bytearray(kem.generate().share)
    share[-1] ^= 1
    with pytest.raises(PeerMisbehaved) as exc:
        kem.encapsulate(bytes(share))
    _illegal(exc)
    with pytest.raises(PeerMisbehaved) as exc:
        kem.generate().decapsulate(bytes(share))
    _illegal(exc)
    zero = b"\x04" + bytes(kem.client_share_len - 1)
    with pytest.raises(PeerMisbehaved):
        kem.encapsulate(zero)


def test_rejects_wrong_private_bytes_length() -> None:
    with pytest.raises(LocalProtocolError):
        _kem(NamedGroup.x25519).generate(private_bytes=bytes(31))
    with pytest.raises(LocalProtocolError):
        _kem(NamedGroup.MLKEM768).generate(private_bytes=bytes(32))
    with pytest.raises(LocalProtocolError):
        EcdhKem(NamedGroup.x448)


# --- ML-KEM ----------------------------------------------------------------------------------


def test_mlkem_keygen_from_seed_matches_acvp() -> None:
    """FIPS 203 ACVP keyGen: the seed is d || z (64 bytes) and gives the published ek."""
    checked = 0
    for case in load_vector(ACVP)["keyGen"]:
        kem = default_provider().kem_for_group(NamedGroup[case["parameterSet"].replace("-", "")])
        if kem is None:
            continue  # ML-KEM-512: not supported
        client = kem.generate(private_bytes=h(case["d"] + case["z"]))
        assert client.share.hex().upper() == case["ek"], case["tcId"]
        checked += 1
    assert checked == 7


def test_mlkem_accepts_acvp_encapsulation_keys() -> None:
    checked = 0
    for case in load_vector(ACVP)["encapsulation"]:
        kem = default_provider().kem_for_group(NamedGroup[case["parameterSet"].replace("-", "")])
        if kem is None:
            continue
        ct, secret = kem.encapsulate(h(case["ek"]))
        assert (len(ct), len(secret)) == (kem.server_share_len, 32)
        checked += 1
    assert checked == 7


@pytest.mark.parametrize("group", [NamedGroup.MLKEM768, NamedGroup.MLKEM1024])
def test_rejects_mlkem_key_failing_fips203_check(group: NamedGroup) -> None:
    """FIPS 203 §7.2 modulus check: a coefficient equal to q = 3329 must be refused."""
    kem = _kem(group)
    ek = bytearray(kem.generate().share)
    ek[0] = 0x01
    ek[1] = (ek[1] & 0xF0) | 0x0D  # first 12-bit coefficient = 0xD01 = 3329
    with pytest.raises(PeerMisbehaved) as exc:
        kem.encapsulate(bytes(ek))
    _illegal(exc)
    ek[0] = 0x00  # 3328 is fine
    kem.encapsulate(bytes(ek))


@pytest.mark.parametrize("group", [NamedGroup.MLKEM768, NamedGroup.MLKEM1024])
def test_rejects_mlkem_wrong_lengths(group: NamedGroup) -> None:
    kem = _kem(group)
    client = kem.generate()
    with pytest.raises(PeerMisbehaved) as exc:
        kem.encapsulate(client.share[:-1])
    _illegal(exc)
    ct, _ = kem.encapsulate(client.share)
    for bad in (ct[:-1], ct + b"\x00", b""):
        with pytest.raises(PeerMisbehaved) as exc:
            client.decapsulate(bad)
        _illegal(exc)


def test_mlkem_implicit_rejection_gives_other_secret() -> None:
    kem = _kem(NamedGroup.MLKEM768)
    client = kem.generate()
    ct, secret = kem.encapsulate(client.share)
    tampered = bytearray(ct)
    tampered[0] ^= 1
    other = client.decapsulate(bytes(tampered))
    assert len(other) == 32
    assert other != secret


def test_mlkem_encapsulation_is_not_deterministic() -> None:
    kem = _kem(NamedGroup.MLKEM768)
    with pytest.raises(LocalProtocolError):
        kem.encapsulate(kem.generate().share, private_bytes=bytes(32))


# --- hybrids ---------------------------------------------------------------------------------


class _ReplayMlKem:
    """A stand-in ML-KEM that replays one ACVP encapsulation case (ek, c, K)."""

    def __init__(self, real: MlKem, ek: bytes, ct: bytes, key: bytes) -> None:
        self.group = real.group
        self.client_share_len = real.client_share_len
        self.server_share_len = real.server_share_len
        self.shared_secret_len = 32
        self.private_len = 0
        self.ek, self.ct, self.key = ek, ct, key

    def generate(self, *, private_bytes: bytes | None = None) -> KeyExchange:
        replay = self

        class _Kx:
            group = replay.group
            share = replay.ek

            def decapsulate(self, server_share: bytes) -> bytes:
                assert server_share == replay.ct
                return replay.key

        return _Kx()

    def encapsulate(
        self, client_share: bytes, *, private_bytes: bytes | None = None
    ) -> tuple[bytes, bytes]:
        assert client_share == self.ek
        return self.ct, self.key


def _hybrid_case(name: str) -> tuple[dict[str, Any], HybridKem, bytes, bytes]:
    example = next(e for e in load_vector(DERIVED)["examples"] if e["group"] == name)
    real = _kem(NamedGroup[name])
    pq_real = real.pq
    tc = {"X25519MLKEM768": 26, "SecP256r1MLKEM768": 26, "SecP384r1MLKEM1024": 51}[name]
    case = next(c for c in load_vector(ACVP)["encapsulation"] if c["tcId"] == tc)
    replay = _ReplayMlKem(pq_real, h(case["ek"]), h(case["c"]), h(case["k"]))
    hybrid = HybridKem(real.classical, replay, real.pq_first, group=real.group)
    if name == "X25519MLKEM768":
        s = load_vector(SECTION3)["summary"]
        client_priv, server_priv = s["client_x25519_private_key"], s["server_x25519_private_key"]
    elif name == "SecP256r1MLKEM768":
        s = load_vector(SECTION5)["summary"]
        client_priv, server_priv = s["client_p256_private_key"], s["server_p256_private_key"]
    else:
        p = example["p384_values"]
        client_priv, server_priv = p["client_private_i"], p["server_private_r"]
    return example, hybrid, h(client_priv), h(server_priv)


@pytest.mark.parametrize("name", ["X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"])
def test_hybrid_layout_matches_derived_examples(name: str) -> None:
    example, hybrid, client_priv, server_priv = _hybrid_case(name)
    client = hybrid.generate(private_bytes=client_priv)
    assert client.share.hex() == example["client_key_exchange"]
    assert len(client.share) == example["client_key_exchange_len"]
    server_share, secret = hybrid.encapsulate(client.share, private_bytes=server_priv)
    assert server_share.hex() == example["server_key_exchange"]
    assert secret.hex() == example["shared_secret"]
    assert client.decapsulate(server_share).hex() == example["shared_secret"]
    if "handshake_secret_if_no_psk_sha256" in example:
        early = KeySchedule("sha256").early_secret
        derived = derive_secret("sha256", early, b"derived", empty_hash("sha256"))
        handshake_secret = hkdf_extract("sha256", derived, secret)
        assert handshake_secret.hex() == example["handshake_secret_if_no_psk_sha256"]


@pytest.mark.parametrize(
    "group",
    [NamedGroup.X25519MLKEM768, NamedGroup.SecP256r1MLKEM768, NamedGroup.SecP384r1MLKEM1024],
)
def test_rejects_hybrid_shares_of_wrong_length(group: NamedGroup) -> None:
    kem = _kem(group)
    client = kem.generate()
    for bad in (client.share[:-1], client.share + b"\x00", b""):
        with pytest.raises(PeerMisbehaved) as exc:
            kem.encapsulate(bad)
        _illegal(exc)
    server_share, _ = kem.encapsulate(client.share)
    for bad in (server_share[:-1], server_share + b"\x00"):
        with pytest.raises(PeerMisbehaved) as exc:
            client.decapsulate(bad)
        _illegal(exc)


def test_rejects_hybrid_with_bad_classical_part() -> None:
    kem = _kem(NamedGroup.X25519MLKEM768)
    client = kem.generate()
    # ML-KEM first, X25519 last: zero the X25519 public key.
    bad = client.share[:-32] + bytes(32)
    with pytest.raises(PeerMisbehaved) as exc:
        kem.encapsulate(bad)
    _illegal(exc)
    kem = _kem(NamedGroup.SecP256r1MLKEM768)
    client = kem.generate()
    bad = b"\x02" + client.share[1:]  # ECDH first: break the point prefix
    with pytest.raises(PeerMisbehaved):
        kem.encapsulate(bad)


def test_rejects_hybrid_with_bad_mlkem_key() -> None:
    kem = _kem(NamedGroup.SecP384r1MLKEM1024)
    share = bytearray(kem.generate().share)
    share[97] = 0xFF
    share[98] |= 0x0F  # first ML-KEM coefficient = 0xFFF >= q
    with pytest.raises(PeerMisbehaved) as exc:
        kem.encapsulate(bytes(share))
    _illegal(exc)


def test_hybrid_secret_is_concatenation_in_share_order() -> None:
    kem = _kem(NamedGroup.X25519MLKEM768)
    x = _kem(NamedGroup.x25519)
    m = _kem(NamedGroup.MLKEM768)
    client_x = x.generate()
    client_m = m.generate()
    server_share, secret = kem.encapsulate(client_m.share + client_x.share)
    assert secret[:32] == client_m.decapsulate(server_share[:1088])
    assert secret[32:] == client_x.decapsulate(server_share[1088:])
