"""config_for: a risk level's floor applied on top of a ServerConfig, never below it."""

from __future__ import annotations

from certificates import pki
from pairs import client_config, server_config

from nautilus_tls.handshake.risk_floor import client_config_for, config_for
from nautilus_tls.risk import Level, RiskEngine, RiskSettings
from nautilus_tls.risk.engine import Assessment
from nautilus_tls.risk.levels import FLOORS
from nautilus_tls.wire.enums import CipherSuite, NamedGroup

G = NamedGroup


def at(level: Level) -> Assessment:
    return Assessment(level=level, reason="test", floor=FLOORS[level])


def test_baseline_and_no_engine_leave_the_config_itself() -> None:
    cfg = server_config(risk=RiskEngine())
    assert config_for(cfg, at(Level.BASELINE)) is cfg
    plain = server_config()
    assert config_for(plain, at(Level.HIGH)) is plain


def test_elevated_keeps_only_post_quantum_groups_and_turns_off_0rtt() -> None:
    cfg = server_config(risk=RiskEngine(), max_early_data=4096, ticket_lifetime=86400)
    raised = config_for(cfg, at(Level.ELEVATED))
    assert raised.groups and G.x25519 not in raised.groups
    assert all(cfg.provider.group_info(g).post_quantum for g in raised.groups)  # type: ignore[union-attr]
    assert raised.security_policy.post_quantum_key_exchange
    assert raised.security_policy.name == "hybrid+risk:elevated"
    assert raised.max_early_data == 0
    assert raised.ticket_lifetime == 3600
    assert raised.rekey_seconds == 600.0
    # The configured order among the remaining groups is kept at this level.
    assert list(raised.groups) == [g for g in cfg.groups if g in raised.groups]


def test_high_prefers_ml_kem_1024_and_256_bit_suites() -> None:
    cfg = server_config(risk=RiskEngine())
    raised = config_for(cfg, at(Level.HIGH))
    assert raised.groups[0] in (G.SecP384r1MLKEM1024, G.MLKEM1024)
    assert raised.cipher_suites[0] in (
        CipherSuite.TLS_AES_256_GCM_SHA384,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    )
    assert set(raised.cipher_suites) == set(cfg.cipher_suites)  # reordered, none added
    assert raised.rekey_bytes == 16 << 20 and raised.rekey_seconds == 60.0


def test_a_stricter_configured_value_is_never_loosened() -> None:
    cfg = server_config(
        risk=RiskEngine(), policy="pq-only", ticket_lifetime=60, rekey_seconds=5, rekey_bytes=1000
    )
    raised = config_for(cfg, at(Level.HIGH))
    assert raised.ticket_lifetime == 60
    assert raised.rekey_seconds == 5 and raised.rekey_bytes == 1000
    assert raised.security_policy.post_quantum_key_exchange
    assert set(raised.groups) == set(cfg.groups)


def test_without_any_post_quantum_group_the_groups_stay() -> None:
    cfg = server_config(risk=RiskEngine(), groups=(G.x25519, G.secp256r1))
    raised = config_for(cfg, at(Level.HIGH))
    assert set(raised.groups) == {G.x25519, G.secp256r1}
    assert not raised.security_policy.post_quantum_key_exchange


def test_client_certificates_are_required_only_when_asked_and_verifiable() -> None:
    cfg = server_config(risk=RiskEngine())
    assert config_for(cfg, at(Level.HIGH)).client_auth == "none"  # nothing to verify with
    asking = RiskEngine(RiskSettings(require_client_certificates=True))
    store = pki().store
    cfg = server_config(risk=asking, client_auth="request", client_trust_store=store)
    assert config_for(cfg, at(Level.ELEVATED)).client_auth == "request"
    assert config_for(cfg, at(Level.HIGH)).client_auth == "require"


def test_the_derived_config_is_built_once_per_level() -> None:
    cfg = server_config(risk=RiskEngine())
    assert config_for(cfg, at(Level.HIGH)) is config_for(cfg, at(Level.HIGH))
    assert config_for(cfg, at(Level.HIGH)) is not config_for(cfg, at(Level.ELEVATED))


def test_the_client_floor_narrows_groups_and_key_shares_to_post_quantum() -> None:
    cfg = client_config(risk=RiskEngine(), key_share_groups=(G.X25519MLKEM768, G.x25519))
    raised = client_config_for(cfg, at(Level.ELEVATED))
    assert G.x25519 not in raised.groups
    assert raised.key_share_groups == (G.X25519MLKEM768,)
    high = client_config_for(cfg, at(Level.HIGH))
    assert high.key_share_groups == high.groups[:1]
    assert high.groups[0] in (G.SecP384r1MLKEM1024, G.MLKEM1024)
    assert client_config_for(cfg, at(Level.BASELINE)) is cfg
