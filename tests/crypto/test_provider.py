"""The crypto provider as a value: what the default providers hold, composition, two configs
with different providers side by side, a test-only group negotiated without touching global
state, and the provider's randomness and clock reaching the handshake."""

from __future__ import annotations

import dataclasses

import pytest
from pairs import client_config, handshake, server_config

from nautilus_tls import defaults
from nautilus_tls.config import ClientConfig
from nautilus_tls.connection import ClientConnection
from nautilus_tls.crypto.kem import EcdhKem, HybridKem
from nautilus_tls.crypto.provider import (
    DEFAULT_PROVIDER,
    CryptoProvider,
    GroupEntry,
    HpkeSuite,
    combine,
    default_provider,
    group_entry,
    pqcrypto_provider,
    with_pqcrypto,
)
from nautilus_tls.errors import ConfigError
from nautilus_tls.wire.enums import CipherSuite, NamedGroup

# What the process-global registries held before providers: the default provider must hold
# exactly this, in this order, so that nothing changes on the wire.
IANA_GROUPS = [
    "X25519MLKEM768",
    "SecP256r1MLKEM768",
    "SecP384r1MLKEM1024",
    "MLKEM768",
    "MLKEM1024",
    "x25519",
    "secp256r1",
    "secp384r1",
]
PQCRYPTO_GROUPS = [
    "X25519HQC128",
    "X25519HQC192",
    "X25519HQC256",
    "X25519SNTRUP761",
    "HQC128",
    "HQC192",
    "HQC256",
    "SNTRUP761",
    "ClassicMcEliece348864",
    "ClassicMcEliece460896",
    "ClassicMcEliece6688128",
    "ClassicMcEliece6960119",
    "ClassicMcEliece8192128",
]
SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
IANA_SCHEMES = [
    "mldsa65",
    "mldsa87",
    "mldsa44",
    "ecdsa_secp256r1_sha256",
    "ecdsa_secp384r1_sha384",
    "ecdsa_secp521r1_sha512",
    "ed25519",
    "ed448",
    "rsa_pss_rsae_sha256",
    "rsa_pss_rsae_sha384",
    "rsa_pss_rsae_sha512",
    "rsa_pss_pss_sha256",
    "rsa_pss_pss_sha384",
    "rsa_pss_pss_sha512",
    "rsa_pkcs1_sha256",
    "rsa_pkcs1_sha384",
    "rsa_pkcs1_sha512",
]
SLHDSA_SCHEMES = ["slhdsa_sha2_128s", "slhdsa_sha2_128f", "slhdsa_sha2_192f", "slhdsa_sha2_256f"]

TOY = 0xFEF0  # private use (RFC 8446 §4.2.7)


def names(provider: CryptoProvider) -> tuple[list[str], list[str], list[str]]:
    return (
        [g.name for g in provider.group_infos()],
        [s.name for s in provider.suite_infos()],
        [s.name for s in provider.scheme_infos()],
    )


def toy_provider(base: CryptoProvider = DEFAULT_PROVIDER) -> CryptoProvider:
    """``base`` plus a test-only group: X25519 twice over through the generic combiner."""
    x25519 = EcdhKem(NamedGroup.x25519)
    toy = HybridKem(x25519, x25519, pq_first=False, group=TOY)
    return base.with_groups(group_entry(toy, name="X25519X25519", level=128, post_quantum=False))


# --- the default providers ------------------------------------------------------------------------


def test_default_provider_holds_the_pyca_algorithms() -> None:
    assert names(default_provider()) == (IANA_GROUPS, SUITES, IANA_SCHEMES)
    assert default_provider() is default_provider()  # built once


def test_pqcrypto_provider_is_an_add_on() -> None:
    assert names(pqcrypto_provider()) == (PQCRYPTO_GROUPS, [], SLHDSA_SCHEMES)


def test_config_default_provider_holds_what_the_registries_held() -> None:
    assert names(DEFAULT_PROVIDER) == (
        IANA_GROUPS + PQCRYPTO_GROUPS,
        SUITES,
        IANA_SCHEMES + SLHDSA_SCHEMES,
    )
    assert ClientConfig().provider is DEFAULT_PROVIDER
    # One source of truth for the default lists: the hybrid preset is defaults.py's, and the
    # default provider implements every entry of it.
    assert client_config().groups == defaults.DEFAULT_GROUPS
    assert all(DEFAULT_PROVIDER.kem_for_group(g) is not None for g in defaults.DEFAULT_GROUPS)


def test_default_provider_offers_the_ech_mandatory_hpke_suite() -> None:
    from cryptography.hazmat.primitives import hpke

    mandatory = HpkeSuite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
    assert mandatory in default_provider().hpke_suites
    assert all(s.suite() is not None for s in default_provider().hpke_suites)
    assert pqcrypto_provider().hpke_suites == ()


# --- composition by value -------------------------------------------------------------------------


def test_providers_are_immutable_values() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_PROVIDER.groups = ()  # type: ignore[misc]
    smaller = DEFAULT_PROVIDER.without("x25519", "TLS_AES_128_GCM_SHA256", "ed448")
    assert smaller.group_info(NamedGroup.x25519) is None
    assert smaller.suite_params(CipherSuite.TLS_AES_128_GCM_SHA256) is None
    assert smaller.scheme_info(0x0808) is None
    assert DEFAULT_PROVIDER.group_info(NamedGroup.x25519) is not None  # untouched
    with pytest.raises(ValueError, match="no algorithm named x448"):
        DEFAULT_PROVIDER.without("x448")


def test_combining_providers_adds_and_the_right_side_wins() -> None:
    assert names(default_provider() | pqcrypto_provider()) == names(DEFAULT_PROVIDER)
    assert names(combine(default_provider(), pqcrypto_provider())) == names(DEFAULT_PROVIDER)
    assert names(with_pqcrypto(default_provider())) == names(DEFAULT_PROVIDER)
    renamed_info = dataclasses.replace(default_provider().groups[5].info, name="X25519-again")
    renamed = GroupEntry(renamed_info, default_provider().groups[5].kem)
    combined = default_provider() | CryptoProvider(groups=(renamed,))
    assert combined.group_name(NamedGroup.x25519) == "X25519-again"
    assert [g.code for g in combined.group_infos()] == [
        g.code for g in default_provider().group_infos()
    ]  # replaced in place, order kept


def test_rejects_a_config_without_a_provider_value() -> None:
    with pytest.raises(ConfigError, match="provider must be a CryptoProvider"):
        ClientConfig(provider="default")  # type: ignore[arg-type]


# --- providers per config -----------------------------------------------------------------------


def test_two_configs_with_different_providers_negotiate_differently_side_by_side() -> None:
    classical = DEFAULT_PROVIDER.without(
        "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768", "MLKEM1024"
    )
    pq_client, pq_server = client_config(), server_config()
    classical_client = client_config(provider=classical)
    classical_server = server_config(provider=classical)
    assert classical_client.groups == (
        NamedGroup.x25519,
        NamedGroup.secp256r1,
        NamedGroup.secp384r1,
    )
    assert pq_client.groups == defaults.DEFAULT_GROUPS
    # Interleaved in one process: neither pair sees the other's algorithm set.
    pq_pair = handshake(pq_client, pq_server)
    classical_pair = handshake(classical_client, classical_server)
    mixed_pair = handshake(pq_client, classical_server)
    groups = [pair[0].info.group if pair[0].info else None for pair in (pq_pair, classical_pair)]
    assert groups == ["X25519MLKEM768", "x25519"]
    mixed = mixed_pair[0].info
    assert mixed is not None and mixed.group == "x25519" and mixed.hello_retry
    assert pq_client.groups == defaults.DEFAULT_GROUPS  # unchanged by the other configs


def test_a_toy_group_handshakes_between_peers_that_both_have_it() -> None:
    toy = toy_provider()
    client, server = handshake(
        client_config(provider=toy, groups=(TOY, NamedGroup.x25519)),
        server_config(provider=toy, groups=(TOY, NamedGroup.x25519)),
    )
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == "X25519X25519"
    assert not client.info.hello_retry
    # No global state was touched: the default provider does not know the toy group.
    assert DEFAULT_PROVIDER.group_info(TOY) is None
    with pytest.raises(ConfigError, match="unsupported group 0xfef0"):
        client_config(groups=(TOY,))


def test_a_toy_group_is_ignored_by_a_peer_without_it() -> None:
    toy = toy_provider()
    client, server = handshake(
        client_config(provider=toy, groups=(TOY, NamedGroup.x25519), key_share_groups=(TOY,)),
        server_config(),  # the default provider: 0xFEF0 is an unknown code point
    )
    assert client.info is not None and server.info is not None
    assert client.info.group == server.info.group == "x25519" and client.info.hello_retry


# --- randomness and time --------------------------------------------------------------------------


class FixedEntropy:
    def __init__(self, byte: int) -> None:
        self.byte = byte

    def random_bytes(self, n: int) -> bytes:
        return bytes([self.byte]) * n

    def private_key_for(self, group: int) -> bytes | None:
        return None


def client_random(connection: ClientConnection) -> bytes:
    connection.start()
    record = connection.data_to_send()
    # record header (5) + handshake header (4) + legacy_version (2), then Random (32)
    return record[11:43]


def test_connections_take_randomness_from_the_provider_unless_overridden() -> None:
    fixed = client_config(provider=DEFAULT_PROVIDER.with_entropy(FixedEntropy(0x5A)))
    assert client_random(ClientConnection(fixed, "localhost")) == b"\x5a" * 32
    override = ClientConnection(fixed, "localhost", entropy=FixedEntropy(0x33))
    assert client_random(override) == b"\x33" * 32
    assert client_random(ClientConnection(client_config(), "localhost")) != b"\x5a" * 32


def test_the_provider_clock_reaches_certificate_validation() -> None:
    # A clock in 1990: the server's certificate is not yet valid, so the client refuses it.
    from nautilus_tls.errors import ProtocolError

    past = client_config(provider=DEFAULT_PROVIDER.with_clock(lambda: 631152000.0))
    with pytest.raises(ProtocolError, match=r"(?i)valid|expired|not yet"):
        handshake(past, server_config())
    client, _ = handshake(client_config(), server_config())
    assert client.info is not None
