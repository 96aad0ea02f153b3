"""The server's adaptive rules: ChaCha20 for clients that list it first, the cheaper
post-quantum group under CPU load, off by default, within the policy, explained."""

from __future__ import annotations

import pytest
from pairs import client_config, handshake, server_config

from nautilus_tls.adaptive.server import AdaptiveServer, server_cost
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.errors import ConfigError
from nautilus_tls.wire.enums import CipherSuite as C
from nautilus_tls.wire.enums import NamedGroup as G

CHACHA_FIRST = (C.TLS_CHACHA20_POLY1305_SHA256, C.TLS_AES_256_GCM_SHA384)


def test_off_by_default() -> None:
    assert server_config().adaptive is None
    _, server = handshake(client_config(cipher_suites=CHACHA_FIRST), server_config())
    assert server.info is not None and server.info.negotiation is None
    assert server.info.cipher_suite == "TLS_AES_256_GCM_SHA384"  # our order decides


def test_takes_chacha20_when_the_client_lists_it_first() -> None:
    adaptive = AdaptiveServer(cpu_load=lambda: 0.0)
    client, server = handshake(
        client_config(cipher_suites=CHACHA_FIRST), server_config(adaptive=adaptive)
    )
    assert client.info is not None and server.info is not None
    assert client.info.cipher_suite == "TLS_CHACHA20_POLY1305_SHA256"
    assert server.info.negotiation is not None
    assert "ChaCha20" in server.info.negotiation.reason
    assert server.info.negotiation.decision.startswith("TLS_CHACHA20_POLY1305_SHA256")


def test_keeps_our_order_when_chacha_is_not_the_clients_first() -> None:
    suites = (C.TLS_AES_256_GCM_SHA384, C.TLS_CHACHA20_POLY1305_SHA256)
    _, server = handshake(
        client_config(cipher_suites=suites), server_config(adaptive=AdaptiveServer())
    )
    assert server.info is not None
    assert server.info.cipher_suite == "TLS_AES_256_GCM_SHA384"


def test_never_picks_chacha_outside_the_policy() -> None:
    server_suites = (C.TLS_AES_128_GCM_SHA256, C.TLS_AES_256_GCM_SHA384)
    _, server = handshake(
        client_config(cipher_suites=CHACHA_FIRST),
        server_config(adaptive=AdaptiveServer(), cipher_suites=server_suites),
    )
    assert server.info is not None and server.info.cipher_suite == "TLS_AES_256_GCM_SHA384"


def test_under_load_asks_for_the_cheapest_post_quantum_group() -> None:
    # The client's only share is classical, so the server asks (HRR) for a PQ group: the
    # cheapest one when busy, never the classical share it already has.
    allowed = (G.SecP384r1MLKEM1024, G.X25519MLKEM768, G.MLKEM768, G.x25519)
    busy = AdaptiveServer(cpu_load=lambda: 4.0)
    client, server = handshake(
        client_config(groups=allowed, key_share_groups=(G.x25519,)),
        server_config(groups=allowed, adaptive=busy),
    )
    assert client.info is not None and server.info is not None
    cheapest = min(allowed[:3], key=lambda g: server_cost(DEFAULT_PROVIDER, g))
    assert client.info.hello_retry
    assert client.info.group == DEFAULT_PROVIDER.group_name(cheapest)
    assert server.info.negotiation is not None
    if cheapest != allowed[0]:
        assert "CPU load" in server.info.negotiation.reason


def test_idle_server_keeps_the_policys_group_order() -> None:
    allowed = (G.SecP384r1MLKEM1024, G.X25519MLKEM768, G.x25519)
    client, server = handshake(
        client_config(groups=allowed, key_share_groups=(G.x25519,)),
        server_config(groups=allowed, adaptive=AdaptiveServer(cpu_load=lambda: 0.1)),
    )
    assert client.info is not None and client.info.group == "SecP384r1MLKEM1024"
    assert server.info is not None and server.info.negotiation is not None
    assert "policy's order" in server.info.negotiation.reason


def test_the_measured_costs_rank_hybrids_above_pure_mlkem() -> None:
    # What the load rule relies on: a hybrid costs its ML-KEM part plus an ECDH.
    assert server_cost(DEFAULT_PROVIDER, G.MLKEM768) < server_cost(
        DEFAULT_PROVIDER, G.SecP384r1MLKEM1024
    )


def test_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="AdaptiveServer"):
        server_config(adaptive=object())
    with pytest.raises(ValueError, match="load_threshold"):
        AdaptiveServer(load_threshold=0)
