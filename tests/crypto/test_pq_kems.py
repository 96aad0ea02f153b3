"""Plugin KEMs (HQC, sntrup761 via pqcrypto), the generic hybrid combiner, the rules a
provider's group entries keep, and Classic McEliece as a listed-but-unnegotiable KEM."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from nautilus_tls.crypto import kem, pqclean
from nautilus_tls.crypto.kem import MAX_KEY_SHARE_LEN, HybridKem, PrimitiveKem, PrivateGroup
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, CryptoProvider, group_entry
from nautilus_tls.errors import AlertDescription, LocalProtocolError, PeerMisbehaved
from nautilus_tls.wire.enums import NamedGroup

pqcrypto = pytest.importorskip("pqcrypto", reason="the pq extra (pqcrypto) is not installed")

PLUGIN_GROUPS = list(PrivateGroup)
PRIMITIVES = {
    "HQC-128": "hqc_128",
    "HQC-192": "hqc_192",
    "HQC-256": "hqc_256",
    "sntrup761": "sntrup_761",
}


@pytest.fixture
def without_pqcrypto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``import pqcrypto`` fail, as on a machine without the pq extra."""
    for name in [m for m in sys.modules if m == "pqcrypto" or m.startswith("pqcrypto.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pqcrypto", None)
    pqclean.module_available.cache_clear()
    yield
    pqclean.module_available.cache_clear()


def _kem(group: int) -> kem.Kem:
    k = DEFAULT_PROVIDER.kem_for_group(group)
    assert k is not None
    return k


@pytest.mark.parametrize("group", PLUGIN_GROUPS, ids=lambda g: g.name)
def test_round_trips_every_plugin_group(group: PrivateGroup) -> None:
    k = _kem(group)
    client = k.generate()
    assert len(client.share) == k.client_share_len
    server_share, secret = k.encapsulate(client.share)
    assert len(server_share) == k.server_share_len
    assert len(secret) == k.shared_secret_len
    assert client.decapsulate(server_share) == secret


@pytest.mark.parametrize("group", PLUGIN_GROUPS, ids=lambda g: g.name)
def test_plugin_shares_fit_a_key_share_entry(group: PrivateGroup) -> None:
    info = DEFAULT_PROVIDER.group_info(group)
    assert info is not None and info.negotiable and not info.standard
    assert max(info.client_share_len, info.server_share_len) <= MAX_KEY_SHARE_LEN
    assert 0xFE00 <= group <= 0xFEFF
    assert info.name == group.name and DEFAULT_PROVIDER.group_name(group) == group.name


@pytest.mark.parametrize(("name", "module"), PRIMITIVES.items())
def test_declared_sizes_match_pqcrypto(name: str, module: str) -> None:
    backend = pqclean.backend("kem", module)
    info = DEFAULT_PROVIDER.group_by_name(name.replace("-", "").upper())
    assert info is not None
    assert info.client_share_len == backend.PUBLIC_KEY_SIZE
    assert info.server_share_len == backend.CIPHERTEXT_SIZE
    assert info.shared_secret_len == backend.SHARED_SECRET_SIZE


def test_hybrids_put_the_pq_share_first_and_concatenate_secrets() -> None:
    k = _kem(PrivateGroup.X25519HQC128)
    assert isinstance(k, HybridKem) and k.pq_first
    client = k.generate()
    server_share, secret = k.encapsulate(client.share)
    assert len(client.share) == 2241 + 32  # HQC-128 public key || X25519
    assert len(server_share) == 4433 + 32  # HQC-128 ciphertext || X25519
    assert len(secret) == 32 + 32


def test_rejects_plugin_shares_of_the_wrong_length() -> None:
    k = _kem(PrivateGroup.HQC128)
    client = k.generate()
    with pytest.raises(PeerMisbehaved) as err:
        k.encapsulate(client.share[:-1])
    assert err.value.alert == AlertDescription.illegal_parameter
    assert "HQC128" in str(err.value)
    with pytest.raises(PeerMisbehaved):
        client.decapsulate(b"\x00" * 10)
    hybrid = _kem(PrivateGroup.X25519SNTRUP761)
    with pytest.raises(PeerMisbehaved):
        hybrid.encapsulate(b"\x01" * (hybrid.client_share_len + 1))


def test_tampered_hqc_ciphertext_gives_another_secret() -> None:
    # Implicit rejection: the handshake then fails at Finished (decrypt_error), never here.
    k = _kem(PrivateGroup.HQC128)
    client = k.generate()
    server_share, secret = k.encapsulate(client.share)
    tampered = bytes([server_share[0] ^ 1]) + server_share[1:]
    assert client.decapsulate(tampered) != secret


def test_plugin_keygen_cannot_be_made_deterministic() -> None:
    k = _kem(PrivateGroup.SNTRUP761)
    assert k.private_len == 0
    with pytest.raises(LocalProtocolError, match="deterministic"):
        k.generate(private_bytes=b"")
    with pytest.raises(LocalProtocolError, match="deterministic"):
        k.encapsulate(k.generate().share, private_bytes=b"\x01" * 32)


def test_classic_mceliece_is_listed_but_not_negotiable() -> None:
    mceliece = [g for g in DEFAULT_PROVIDER.group_infos() if g.name.startswith("ClassicMcEliece")]
    assert len(mceliece) == 5
    for info in mceliece:
        assert info.code is None and not info.negotiable
        assert info.client_share_len > MAX_KEY_SHARE_LEN
        assert info.limitation is not None and "KeyShareEntry" in info.limitation
    smallest = pqclean.backend("kem", "mceliece_348864")
    assert mceliece[0].client_share_len == smallest.PUBLIC_KEY_SIZE == 261_120


def test_group_entry_refuses_a_share_larger_than_a_key_share_entry() -> None:
    big = pqclean.PqcleanKemPrimitive(
        "McEliece", "mceliece_348864", public_key_len=261_120, ciphertext_len=96
    )
    with pytest.raises(ValueError, match="cannot travel in a KeyShareEntry"):
        group_entry(PrimitiveKem(big, group=0xFE99), name="McE", level=128, post_quantum=True)
    assert DEFAULT_PROVIDER.kem_for_group(0xFE99) is None


def test_group_entries_check_code_points_and_duplicates() -> None:
    x = kem.EcdhKem(NamedGroup.x25519)
    with pytest.raises(ValueError, match="private-use"):
        group_entry(x, name="x25519-again", level=128, post_quantum=False)  # 0x001D, not standard
    again = group_entry(x, name="x25519", level=128, post_quantum=False, standard=True)
    with pytest.raises(ValueError, match="twice"):
        CryptoProvider(groups=(again, again))
    private = HybridKem(x, _kem(NamedGroup.MLKEM768), pq_first=True, group=0xFE10)
    with pytest.raises(ValueError, match="not a standard one"):
        group_entry(private, name="T", level=192, post_quantum=True, standard=True)
    entry = group_entry(private, name="TestHybrid", level=192, post_quantum=True, hybrid=True)
    extended = DEFAULT_PROVIDER.with_groups(entry)
    assert extended.kem_for_group(0xFE10) is private and entry.info.negotiable
    assert extended.group_by_name("testhybrid") == entry.info
    # The provider it was built from is a value: untouched.
    assert DEFAULT_PROVIDER.kem_for_group(0xFE10) is None
    assert DEFAULT_PROVIDER.group_by_name("TestHybrid") is None


@pytest.mark.usefixtures("without_pqcrypto")
def test_without_pqcrypto_plugin_groups_are_listed_but_unavailable() -> None:
    assert not pqclean.available()
    for group in PLUGIN_GROUPS:
        info = DEFAULT_PROVIDER.group_info(group)
        assert info is not None and not info.available
        assert DEFAULT_PROVIDER.kem_for_group(group) is None
    assert DEFAULT_PROVIDER.kem_for_group(NamedGroup.X25519MLKEM768) is not None
    with pytest.raises(Exception, match=r"nautilus-tls\[pq\]"):
        pqclean.backend("kem", "hqc_128")
