"""The FrodoKEM provider add-on (crypto/provider.py frodokem_provider/with_frodokem): its
groups, code points and sizes, availability without numpy, round trips through every group
and the alerts for shares and ciphertexts of the wrong length."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto import pqclean
from nautilus_tls.crypto.kem import (
    MAX_KEY_SHARE_LEN,
    PRIVATE_USE_GROUPS,
    FrodoGroup,
    HybridKem,
    Kem,
    group_label,
)
from nautilus_tls.crypto.provider import (
    DEFAULT_PROVIDER,
    default_provider,
    frodokem_provider,
    with_frodokem,
)
from nautilus_tls.errors import AlertDescription, ConfigError, PeerMisbehaved

pytest.importorskip("numpy", reason="the frodokem extra (numpy) is not installed")

PROVIDER = with_frodokem(DEFAULT_PROVIDER)
GROUPS = list(FrodoGroup)


def _kem(group: int) -> Kem:
    k = PROVIDER.kem_for_group(group)
    assert k is not None
    return k


@pytest.fixture
def without_numpy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``import numpy`` fail, as on a machine without the frodokem extra."""
    monkeypatch.setitem(sys.modules, "numpy", None)
    pqclean.module_available.cache_clear()
    yield
    pqclean.module_available.cache_clear()


def test_the_default_provider_leaves_frodokem_out() -> None:
    assert all(DEFAULT_PROVIDER.group_info(g) is None for g in GROUPS)
    assert all(default_provider().group_info(g) is None for g in GROUPS)


def test_the_add_on_has_every_parameter_set_alone_and_hybrid() -> None:
    names = {g.name for g in frodokem_provider().group_infos()}
    assert names == {g.name for g in GROUPS}
    assert len(names) == 14  # 6 alone, 6 with X25519, 2 with P-256


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_groups_use_private_code_points_and_fit_a_key_share_entry(group: FrodoGroup) -> None:
    info = PROVIDER.group_info(group)
    assert info is not None
    assert info.code in PRIVATE_USE_GROUPS and not info.standard
    assert info.negotiable and info.available and info.post_quantum
    assert info.hybrid == (not group.name.startswith("FrodoKEM"))
    assert max(info.client_share_len, info.server_share_len) <= MAX_KEY_SHARE_LEN
    assert group_label(group) == info.name == group.name


def test_the_largest_share_is_frodokem_1344_with_x25519() -> None:
    info = PROVIDER.group_info(FrodoGroup.X25519FrodoKEM1344SHAKE)
    assert info is not None
    assert (info.client_share_len, info.server_share_len) == (21_520 + 32, 21_696 + 32)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_round_trips_every_group(group: FrodoGroup) -> None:
    k = _kem(group)
    client = k.generate()
    server_share, secret = k.encapsulate(client.share)
    assert (len(client.share), len(server_share)) == (k.client_share_len, k.server_share_len)
    assert len(secret) == k.shared_secret_len
    assert client.decapsulate(server_share) == secret


def test_hybrid_order_follows_the_ml_kem_hybrids() -> None:
    # FrodoKEM || X25519 (as X25519MLKEM768); P-256 || FrodoKEM (as SecP256r1MLKEM768).
    x = _kem(FrodoGroup.X25519FrodoKEM640SHAKE)
    p = _kem(FrodoGroup.SecP256r1FrodoKEM640SHAKE)
    assert isinstance(x, HybridKem) and isinstance(p, HybridKem)
    assert x.pq_first and not p.pq_first
    client = p.generate()
    ct, _ = p.encapsulate(client.share)
    assert client.share[:1] == ct[:1] == b"\x04" and len(ct) == 65 + 9752


@pytest.mark.parametrize(
    "group", [FrodoGroup.FrodoKEM640AES, FrodoGroup.X25519FrodoKEM976SHAKE], ids=lambda g: g.name
)
@pytest.mark.parametrize("delta", [-1, 1])
def test_rejects_shares_and_ciphertexts_of_the_wrong_length(group: FrodoGroup, delta: int) -> None:
    k = _kem(group)
    client = k.generate()
    bad_share = client.share[:delta] if delta < 0 else client.share + b"\x00"
    with pytest.raises(PeerMisbehaved) as err:
        k.encapsulate(bad_share)
    assert err.value.alert == AlertDescription.illegal_parameter
    ct, _ = k.encapsulate(client.share)
    bad_ct = ct[:delta] if delta < 0 else ct + b"\x00"
    with pytest.raises(PeerMisbehaved) as err:
        client.decapsulate(bad_ct)
    assert err.value.alert == AlertDescription.illegal_parameter


def test_a_tampered_ciphertext_gives_a_different_secret_not_an_error() -> None:
    k = _kem(FrodoGroup.FrodoKEM640SHAKE)
    client = k.generate()
    ct, secret = k.encapsulate(client.share)
    assert client.decapsulate(bytes([ct[0] ^ 0x80]) + ct[1:]) != secret


def test_is_unavailable_without_numpy(without_numpy: None) -> None:
    info = PROVIDER.group_info(FrodoGroup.X25519FrodoKEM640AES)
    assert info is not None and not info.available and info.requires == "numpy"
    assert PROVIDER.kem_for_group(FrodoGroup.X25519FrodoKEM640AES) is None


def test_refuses_an_explicit_frodokem_group_without_numpy(without_numpy: None) -> None:
    with pytest.raises(ConfigError, match="needs the optional package numpy"):
        ClientConfig(provider=PROVIDER, groups=(FrodoGroup.X25519FrodoKEM640AES,))
