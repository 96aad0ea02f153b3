"""Apply a risk level's floor to a server's configuration, never below the configured policy.

The risk engine (:mod:`nautilus_tls.risk`) says at which level a handshake runs; this module
turns its :class:`~nautilus_tls.risk.levels.Floor` into the :class:`ServerConfig` the
handshake uses: the groups narrowed to post-quantum and hybrid ones (a classical-only client
then gets insufficient_security from the policy's own rule, RFC 8446 §6.2), the strongest
groups and suites first, 0-RTT off, tickets shorter-lived, KeyUpdate more often, client
certificates required. Every knob takes the stricter of the configured value and the
floor's, so a level can only tighten. The derived config is built once per level and
configured config (the engine remembers it), so a burst of handshakes does not pay for
re-validation.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, cast

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.crypto.kem import GroupInfo
from nautilus_tls.crypto.provider import CryptoProvider
from nautilus_tls.crypto.suites import SuiteInfo
from nautilus_tls.errors import PeerIncompatible, TLSError
from nautilus_tls.risk.engine import Assessment, RiskEngine, Signal, signal_for_failure
from nautilus_tls.risk.levels import Floor, Level
from nautilus_tls.session_info import SessionInfo

__all__ = ["client_config_for", "config_for", "report_completion", "report_failure"]

risk_logger = logging.getLogger("nautilus_tls.risk")


def config_for(config: ServerConfig, assessment: Assessment) -> ServerConfig:
    """``config`` raised to ``assessment``'s floor (``config`` itself at the baseline)."""
    engine = config.risk
    if engine is None or assessment.level == Level.BASELINE:
        return config
    derived = engine.derived(config, assessment.level, lambda: _raise(config, assessment.floor))
    return cast(ServerConfig, derived)


def client_config_for(config: ClientConfig, assessment: Assessment) -> ClientConfig:
    """The client's floor for one server (issue 21 item 3): the same rules on the groups,
    suites and KeyUpdate, and the key shares kept within the narrowed groups. (0-RTT is the
    connection's to withhold: it decides whether early data is sent.)"""
    engine = config.risk
    if engine is None or assessment.level == Level.BASELINE:
        return config
    derived = engine.derived(
        config, assessment.level, lambda: _raise_client(config, assessment.floor)
    )
    return cast(ClientConfig, derived)


def _level(info: GroupInfo | SuiteInfo | None) -> int:
    return info.level if info is not None else 0


def _stricter(configured: float | None, floor: float | None) -> float | None:
    if floor is None:
        return configured
    return floor if configured is None else min(configured, floor)


def _common(config: ClientConfig | ServerConfig, floor: Floor) -> dict[str, Any]:
    """The changes both sides make: groups, suites, policy rule, KeyUpdate frequency."""
    provider = config.provider
    policy = config.security_policy
    changes: dict[str, Any] = {}
    groups = list(config.groups)
    if floor.post_quantum_key_exchange:
        pq = [g for g in groups if (i := provider.group_info(g)) is not None and i.post_quantum]
        # With no post-quantum group configured there is nothing stricter to hold the peer
        # to: the configured groups stay (refusing everyone would be a denial of service).
        if pq:
            groups = pq
    suites = list(config.cipher_suites)
    if floor.prefer_strongest:
        # Stable sorts: among equals the configured order stays.
        groups.sort(key=lambda g: -_level(provider.group_info(g)))
        suites.sort(key=lambda c: -_level(provider.suite_info(c)))
    changes["groups"] = tuple(groups)
    changes["cipher_suites"] = tuple(suites)
    all_post_quantum = bool(groups) and all(
        (i := provider.group_info(g)) is not None and i.post_quantum for g in groups
    )
    changes["policy"] = dataclasses.replace(
        policy,
        name=f"{policy.name}+risk:{floor.level.label}",
        post_quantum_key_exchange=policy.post_quantum_key_exchange
        or (floor.post_quantum_key_exchange and all_post_quantum),
    )
    changes["rekey_seconds"] = _stricter(config.rekey_seconds, floor.max_rekey_seconds)
    rekey_bytes = _stricter(config.rekey_bytes, floor.max_rekey_bytes)
    changes["rekey_bytes"] = None if rekey_bytes is None else int(rekey_bytes)
    return changes


def _raise(config: ServerConfig, floor: Floor) -> ServerConfig:
    changes = _common(config, floor)
    if changes["policy"].post_quantum_key_exchange:
        changes["prefer_post_quantum"] = True
    if not floor.early_data:
        changes["max_early_data"] = 0
    if floor.max_ticket_lifetime is not None:
        changes["ticket_lifetime"] = min(config.ticket_lifetime, floor.max_ticket_lifetime)
    engine = config.risk
    if (
        floor.require_client_certificate
        and engine is not None
        and engine.settings.require_client_certificates
        and config.client_peer_verifier() is not None
    ):
        changes["client_auth"] = "require"
    return dataclasses.replace(config, **changes)


def _raise_client(config: ClientConfig, floor: Floor) -> ClientConfig:
    changes = _common(config, floor)
    groups = changes["groups"]
    # Shares only for groups still offered (none left: the policy's rule picks again); the
    # strongest group gets the share when it is preferred, so a server that follows the
    # client's order needs no HelloRetryRequest for it.
    shares = tuple(g for g in config.key_share_groups if g in groups)
    changes["key_share_groups"] = groups[:1] if floor.prefer_strongest else shares
    return dataclasses.replace(config, **changes)


# --- what a handshake's outcome tells the engine (TCP connections and QUIC alike) ----------


def report_failure(
    engine: RiskEngine | None,
    assessment: Assessment | None,
    peer: str | None,
    error: TLSError,
) -> None:
    """A handshake with ``peer`` ended with ``error``: tell ``engine`` what it says of the
    peer. A refusal caused by a raised floor is logged with its reason instead (the floor
    caused it, not the peer) and the error's message names the level."""
    if engine is None or assessment is None:
        return
    if assessment.level != Level.BASELINE and isinstance(error, PeerIncompatible):
        error.args = (f"{error.args[0] if error.args else error} [{_risk_note(assessment)}]",)
        risk_logger.warning(
            "refused %s at risk level %s (%s): %s",
            peer,
            assessment.level.label,
            assessment.reason,
            error.args[0],
        )
        return
    signal = signal_for_failure(error)
    if signal is not None:
        engine.record(peer, signal)


def report_completion(
    engine: RiskEngine | None,
    assessment: Assessment | None,
    peer: str | None,
    info: SessionInfo,
    *,
    provider: CryptoProvider,
    is_client: bool,
) -> SessionInfo:
    """A handshake with ``peer`` finished: tell ``engine`` (a classical group where a
    post-quantum one was seen before is a downgrade; a server's refused 0-RTT is a signal)
    and return ``info`` saying at which level it ran."""
    if engine is None or assessment is None:
        return info
    group = provider.group_by_name(info.group) if info.group else None
    # A resumption without a key exchange (psk_ke) says nothing about downgrades.
    if group is not None:
        engine.handshake_completed(peer, post_quantum=group.post_quantum)
    if not is_client and info.early_data == "rejected":
        engine.record(peer, Signal.EARLY_DATA_REFUSED)
    return dataclasses.replace(
        info, risk_level=assessment.level.label, risk_reason=assessment.reason
    )


def _risk_note(assessment: Assessment) -> str:
    return f"risk level {assessment.level.label}: {assessment.reason}"
