"""What a finished handshake negotiated: a plain value an application can inspect and log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable


# --- Certificate transparency (issue 16): what a stapled log proof showed. ---
@dataclass(frozen=True, slots=True)
class TransparencyReport:
    """The log proof the peer's certificate was accepted with: the log (its id, hex), the
    entry's index, the size of the signed tree head it is included in, whether the proof and
    the head's signature verified, and whether the head was checked against an earlier one of
    the same log (a consistency proof, RFC 9162 §2.1.4), or ``None`` when there was none;
    ``anchored`` when the client required the head to be anchored on a chain (else ``None``)."""

    log_id: str
    index: int
    tree_size: int
    verified: bool
    consistent: bool | None = None
    anchored: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "log_id": self.log_id,
            "index": self.index,
            "tree_size": self.tree_size,
            "verified": self.verified,
            "consistent": self.consistent,
            "anchored": self.anchored,
        }


@runtime_checkable
class TransparencyEvidence(Protocol):
    """What a transparency plug-in keeps in ``peer_extensions``: it reports on the chain."""

    def report_for(self, chain: tuple[bytes, ...]) -> TransparencyReport | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionInfo:
    """What the handshake negotiated (names as ``nautilus-tls algorithms`` prints them), the
    peer's certificates and names, and whether the session was resumed, retried (HRR) or
    carried 0-RTT data. Holds no secret."""

    version: str = "TLSv1.3"
    cipher_suite: str
    group: str | None
    signature_scheme: str | None
    alpn: str | None
    server_name: str | None
    peer_certificates: tuple[bytes, ...] = field(default=(), repr=False)
    # Server side: the end-entity X.509 certificate (DER) we presented in this handshake
    # (chosen by SNI and signature algorithms); None when we sent none (resumption, PAKE
    # alone, a raw public key) and on the client.
    local_certificate: bytes | None = field(default=None, repr=False)
    peer_certificate_subject: str | None = None  # RFC 4514 subject DN of the peer's leaf
    # DNS names and IP addresses in the leaf's subjectAltName (empty when it has none: a
    # client certificate may identify its holder by subject DN alone).
    peer_certificate_names: tuple[str, ...] = ()
    # What the peer's Certificate held (RFC 7250): "x509", "raw_public_key", or None when it
    # sent none; and the DID its key was verified for (did.verifier.DidPeerVerifier), if any.
    certificate_type: str | None = None
    peer_did: str | None = None
    client_certificate_scheme: str | None = None
    resumed: bool = False
    hello_retry: bool = False
    early_data: str = "none"  # "none" | "accepted" | "rejected" (0-RTT)
    # Client: how many bytes of the requested early data went out as 0-RTT (at most the
    # ticket's max_early_data). With "accepted" the server took them and the rest followed as
    # ordinary data right after the handshake; with "rejected" none arrived: send it all again.
    early_data_sent: int = 0
    # What the extension plug-ins (config.extension_hooks) received from the peer, by code
    # point: a read-only view that a NewSessionTicket's plug-ins may still add to.
    peer_extensions: Mapping[int, object] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    # What adaptive negotiation decided for this handshake and why (nautilus_tls.adaptive);
    # None when it was off.
    negotiation: Negotiation | None = None
    # KeyUpdates (RFC 8446 §4.6.3) so far: sent (by policy, on request, answering the peer or
    # before the AEAD limit) and received. Connection.info keeps them current.
    key_updates_sent: int = 0
    key_updates_received: int = 0
    # With a risk engine (config.risk): the level this handshake ran at ("baseline",
    # "elevated", "high") and why; None without an engine.
    risk_level: str | None = None
    risk_reason: str | None = None

    @property
    def transparency(self) -> TransparencyReport | None:
        """The log proof the peer's chain was accepted with (a transparency plug-in's
        evidence, nautilus_tls.ledger), or ``None``."""
        for value in self.peer_extensions.values():
            if isinstance(value, TransparencyEvidence):
                return value.report_for(self.peer_certificates)
        return None

    @property
    def auth(self) -> str | None:
        """The password login (PAKE) that authenticated this session: ``"opaque"`` or
        ``"spake2plus"`` (the ``pake`` plug-in's result in :attr:`peer_extensions` names it
        as ``pake_method``), else None (certificates, or a resumption)."""
        for value in self.peer_extensions.values():
            method = getattr(value, "pake_method", None)
            if isinstance(method, str):
                return method
        return None

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "cipher_suite": self.cipher_suite,
            "group": self.group,
            "signature_scheme": self.signature_scheme,
            "alpn": self.alpn,
            "server_name": self.server_name,
            "peer_certificate_subject": self.peer_certificate_subject,
            "peer_certificate_names": list(self.peer_certificate_names),
            "certificate_type": self.certificate_type,
            "peer_did": self.peer_did,
            "resumed": self.resumed,
            "hello_retry": self.hello_retry,
            "early_data": self.early_data,
            "early_data_sent": self.early_data_sent,
            "negotiation": self.negotiation.as_dict() if self.negotiation is not None else None,
            "key_updates": {"sent": self.key_updates_sent, "received": self.key_updates_received},
            "risk_level": self.risk_level,
            "risk_reason": self.risk_reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Negotiation:
    """An adaptive decision, explained: ``decision`` names what was chosen (the key shares
    sent, or a server's pick), ``reason`` says why in a sentence, ``warnings`` report what
    looked wrong (a server that negotiated post-quantum before and now did not)."""

    decision: str
    reason: str
    key_shares: tuple[str, ...] = ()
    predicted_hello_retry: float | None = None
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "key_shares": list(self.key_shares),
            "predicted_hello_retry": self.predicted_hello_retry,
            "warnings": list(self.warnings),
        }
