"""Client and server configuration: frozen, keyword-only, validated, safe by default.

Dangerous options carry the word ``insecure`` in their name. Keys never appear in ``repr``.

What may be negotiated comes from a security policy (:mod:`nautilus_tls.policy`): ``policy``
names a preset (``"hybrid"`` by default, ``"pq-only"``, ``"compat"``) or is a
:class:`~nautilus_tls.policy.Policy`. The list fields (``groups``, ``cipher_suites``,
``signature_schemes``, ``key_share_groups``, ``certificate_schemes``) left empty take the
policy's lists; given explicitly they replace them, within the policy's rules.
``min_security_level`` filters all of them. After construction the list fields hold the
effective lists.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nautilus_tls import defaults
from nautilus_tls.crypto.certnames import names_of
from nautilus_tls.crypto.signatures import PrivateKey, load_private_key_pem, schemes_for_key
from nautilus_tls.crypto.x509 import TrustStore, load_certificate_chain_pem
from nautilus_tls.errors import ConfigError
from nautilus_tls.policy import Policy, PolicyName, Preference, name_of, policy_named, resolve
from nautilus_tls.session.anti_replay import AntiReplay, MemoryAntiReplay
from nautilus_tls.session.client_store import ClientSessionStore, MemorySessionStore
from nautilus_tls.session.ticket_keys import StatefulTickets, StatelessTickets, TicketKeyManager
from nautilus_tls.wire.enums import (
    PskKeyExchangeMode,
    SignatureScheme,
    display_name,
)

ClientAuth = Literal["none", "request", "require"]
KeyLogCallback = Callable[[str], None]


def _env_keylog() -> str | None:
    return os.environ.get("SSLKEYLOGFILE") or None


@dataclass(frozen=True, slots=True)
class CertifiedKey:
    """A certificate chain (end-entity first, DER) and its private key."""

    chain: tuple[bytes, ...]
    private_key: PrivateKey = field(repr=False)
    # Parsed once: the server looks at them on every handshake to pick a certificate by SNI.
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", names_of(self.chain[0]) if self.chain else ())
        if not self.chain:
            raise ConfigError("a certificate chain needs at least the end-entity certificate")
        if not schemes_for_key(self.private_key, certificate=self.chain[0]):
            raise ConfigError("this private key type cannot sign a TLS 1.3 CertificateVerify")

    @classmethod
    def from_pem(
        cls, certificate_pem: bytes, key_pem: bytes, *, password: bytes | None = None
    ) -> CertifiedKey:
        return cls(
            chain=load_certificate_chain_pem(certificate_pem),
            private_key=load_private_key_pem(key_pem, password),
        )

    @classmethod
    def from_files(
        cls, certificate: str | Path, key: str | Path, *, password: bytes | None = None
    ) -> CertifiedKey:
        return cls.from_pem(
            Path(certificate).read_bytes(), Path(key).read_bytes(), password=password
        )

    @property
    def names(self) -> tuple[str, ...]:
        """DNS names and IP addresses the end-entity certificate is valid for."""
        return self._names


def _check_limits(cfg: _CommonConfig) -> None:
    for name in (
        "max_handshake_bytes",
        "max_certificate_chain_length",
        "max_certificate_chain_size",
        "max_buffered_plaintext",
    ):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be positive")


def _check_alpn(protocols: Sequence[bytes]) -> None:
    for p in protocols:
        if not isinstance(p, bytes) or not 1 <= len(p) <= 255:
            raise ConfigError("each ALPN protocol must be 1..255 bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommonConfig:
    # The security policy: a preset name or a Policy. Empty lists below come from it.
    policy: Policy | PolicyName = defaults.DEFAULT_POLICY
    # Drop every algorithm below this many bits of security (0: no minimum; 128/192/256).
    min_security_level: int = defaults.DEFAULT_MIN_SECURITY_LEVEL
    groups: tuple[int, ...] = ()
    cipher_suites: tuple[int, ...] = ()
    signature_schemes: tuple[int, ...] = ()
    alpn_protocols: tuple[bytes, ...] = ()
    # NSS key log (SSLKEYLOGFILE format): a file path, or a callback that gets each line.
    keylog_file: str | None = field(default_factory=_env_keylog)
    keylog_callback: KeyLogCallback | None = field(default=None, repr=False)
    handshake_timeout: float = defaults.HANDSHAKE_TIMEOUT_SECONDS
    max_handshake_message_size: int = defaults.MAX_HANDSHAKE_MESSAGE_SIZE
    # Resource limits (see defaults.py): handshake bytes from the peer in all, the peer's
    # certificate chain, and decrypted data an adapter holds for a reader that does not read.
    max_handshake_bytes: int = defaults.MAX_HANDSHAKE_BYTES
    max_certificate_chain_length: int = defaults.MAX_CERTIFICATE_CHAIN_LENGTH
    max_certificate_chain_size: int = defaults.MAX_CERTIFICATE_CHAIN_SIZE
    max_buffered_plaintext: int = defaults.MAX_BUFFERED_PLAINTEXT

    @property
    def security_policy(self) -> Policy:
        """The policy in force (``policy`` as a :class:`Policy`)."""
        return self.policy if isinstance(self.policy, Policy) else policy_named(self.policy)

    def _validate_common(
        self, *, key_share_groups: Sequence[int] = (), certificate_schemes: Sequence[int] = ()
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Resolve the policy into the list fields; returns (key shares, certificate schemes)
        for the client to store."""
        if not isinstance(self.policy, Policy):
            object.__setattr__(self, "policy", policy_named(self.policy))
        for s in self.signature_schemes:
            if s in (
                SignatureScheme.rsa_pkcs1_sha256,
                SignatureScheme.rsa_pkcs1_sha384,
                SignatureScheme.rsa_pkcs1_sha512,
                SignatureScheme.rsa_pkcs1_sha1,
                SignatureScheme.ecdsa_sha1,
            ):
                raise ConfigError(
                    f"{display_name(SignatureScheme, s)} is not allowed in TLS 1.3 CertificateVerify"
                )
        resolved = resolve(
            self.security_policy,
            min_security_level=self.min_security_level,
            groups=self.groups,
            cipher_suites=self.cipher_suites,
            signature_schemes=self.signature_schemes,
            key_share_groups=key_share_groups,
            certificate_schemes=certificate_schemes,
        )
        object.__setattr__(self, "groups", resolved.groups)
        object.__setattr__(self, "cipher_suites", resolved.cipher_suites)
        object.__setattr__(self, "signature_schemes", resolved.signature_schemes)
        object.__setattr__(self, "min_security_level", resolved.min_security_level)
        _check_alpn(self.alpn_protocols)
        if self.handshake_timeout <= 0:
            raise ConfigError("handshake_timeout must be positive")
        _check_limits(self)
        if self.max_handshake_message_size < defaults.MIN_HANDSHAKE_MESSAGE_SIZE:
            raise ConfigError(
                f"max_handshake_message_size must be at least {defaults.MIN_HANDSHAKE_MESSAGE_SIZE}"
            )
        return resolved.key_share_groups, resolved.certificate_schemes


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig(_CommonConfig):
    """How a client connects. Verification is on unless ``insecure_skip_verify`` is set."""

    # Groups the first ClientHello carries a key share for (several allowed, e.g.
    # X25519MLKEM768 + x25519 for fast fallback); empty: the policy's. A miss costs an HRR.
    key_share_groups: tuple[int, ...] = ()
    # signature_algorithms_cert; empty: the policy's.
    certificate_schemes: tuple[int, ...] = ()
    trust_store: TrustStore | None = None  # None: the system roots (certifi)
    insecure_skip_verify: bool = False
    client_certificate: CertifiedKey | None = None
    middlebox_compatibility: bool = defaults.MIDDLEBOX_COMPATIBILITY
    # Resumption: tickets from earlier connections are kept here and offered automatically.
    # None turns resumption off. Each ticket is used once (RFC 8446 Appendix C.4).
    session_store: ClientSessionStore | None = field(default_factory=MemorySessionStore)
    # Resumption modes offered, in preference order. psk_ke has no fresh key exchange (no
    # forward secrecy against a later ticket-key leak), so only psk_dhe_ke by default.
    psk_modes: tuple[int, ...] = (PskKeyExchangeMode.psk_dhe_ke,)

    def __post_init__(self) -> None:
        shares, chain_schemes = self._validate_common(
            key_share_groups=self.key_share_groups, certificate_schemes=self.certificate_schemes
        )
        object.__setattr__(self, "key_share_groups", shares)
        object.__setattr__(self, "certificate_schemes", chain_schemes)
        if not self.psk_modes or any(m not in (0, 1) for m in self.psk_modes):
            raise ConfigError("psk_modes must list psk_ke (0) and/or psk_dhe_ke (1)")

    def effective_trust_store(self) -> TrustStore:
        return self.trust_store if self.trust_store is not None else TrustStore.system()

    def server_trust_fingerprint(self) -> bytes | None:
        """How this config judges servers, as 32 stable bytes: the trust store's roots and
        the policy knob that affects chain verification (signature_algorithms_cert). A
        ticket records it, and a verifying config resumes only tickets made under the same
        trust. ``None`` when verification is off."""
        if self.insecure_skip_verify:
            return None
        return _fingerprint(
            b"server verification v1",
            self.effective_trust_store().fingerprint,
            *(s.to_bytes(2, "big") for s in sorted(self.certificate_schemes)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig(_CommonConfig):
    """How a server answers. ``certificates`` are chosen by SNI; the first is the default."""

    certificates: tuple[CertifiedKey, ...]
    client_auth: ClientAuth = "none"
    client_trust_store: TrustStore | None = None
    send_certificate_authorities: bool = False
    # Ask for the best group even when the client sent a share for a weaker one.
    prefer_post_quantum: bool = True
    # Whose order decides among mutual cipher suites and groups: ours or the client's.
    preference: Preference = defaults.DEFAULT_PREFERENCE
    # Handshakes the asyncio server runs at once; more wait (then are refused).
    max_concurrent_handshakes: int = defaults.MAX_CONCURRENT_HANDSHAKES
    # Resumption: NewSessionTickets sent after each full handshake, and how tickets are made.
    session_tickets: int = defaults.SESSION_TICKETS
    ticket_lifetime: int = defaults.MAX_TICKET_LIFETIME
    tickets: StatelessTickets | StatefulTickets | None = field(
        default_factory=lambda: StatelessTickets(TicketKeyManager())
    )
    allow_psk_ke: bool = False
    # 0-RTT: off by default. When on, early data is accepted at most once per ticket window
    # (anti_replay) and only within ticket_age_tolerance of the age the client claims.
    max_early_data: int = 0
    anti_replay: AntiReplay = field(default_factory=MemoryAntiReplay)
    ticket_age_tolerance: float = defaults.TICKET_AGE_TOLERANCE_SECONDS

    def __post_init__(self) -> None:
        self._validate_common()
        if not self.certificates:
            raise ConfigError("a server needs at least one certificate")
        if self.preference not in ("server", "client"):
            raise ConfigError("preference must be 'server' or 'client'")
        for i, ck in enumerate(self.certificates):
            usable = schemes_for_key(ck.private_key, certificate=ck.chain[0])
            if not any(s in self.signature_schemes for s in usable):
                label = self.security_policy.name
                if self.min_security_level:
                    label += f", min level {self.min_security_level}"
                raise ConfigError(
                    f"certificate {i} signs only with "
                    f"{', '.join(name_of('signature scheme', s) for s in usable)}; "
                    f"signature_schemes (policy {label}) allows only "
                    f"{', '.join(name_of('signature scheme', s) for s in self.signature_schemes)}"
                )
        if self.client_auth not in ("none", "request", "require"):
            raise ConfigError("client_auth must be 'none', 'request' or 'require'")
        if self.max_concurrent_handshakes < 1:
            raise ConfigError("max_concurrent_handshakes must be positive")
        if not 0 <= self.session_tickets <= defaults.MAX_SESSION_TICKETS:
            raise ConfigError(f"session_tickets must be 0..{defaults.MAX_SESSION_TICKETS}")
        if not 0 < self.ticket_lifetime <= defaults.MAX_TICKET_LIFETIME:
            raise ConfigError("ticket_lifetime must be 1..604800 seconds (RFC 8446 §4.6.1)")
        if self.tickets is not None and self.ticket_lifetime > self.tickets.max_lifetime:
            raise ConfigError(
                f"ticket_lifetime {self.ticket_lifetime} s exceeds what the ticket scheme keeps "
                f"keys or entries for ({self.tickets.max_lifetime:g} s)"
            )
        if not 0 <= self.max_early_data <= 0xFFFFFFFF:
            raise ConfigError("max_early_data must fit in 32 bits")
        if self.client_auth != "none" and self.client_trust_store is None:
            raise ConfigError(
                "client_auth needs client_trust_store (the CAs that issue client certificates)"
            )

    def client_auth_binding(self) -> bytes:
        """How this config authenticates clients, as 32 stable bytes (the client_auth mode
        and the client trust store's roots). Tickets carry it: a ticket made under another
        client-auth setting does not resume (RFC 8446 §4.2.11: the server picks a
        compatible PSK)."""
        store = self.client_trust_store
        return _fingerprint(
            b"client authentication v1",
            self.client_auth.encode("ascii"),
            store.fingerprint if store is not None else b"",
        )

    def certificate_for(self, server_name: str | None) -> CertifiedKey:
        """The certificate whose names cover ``server_name``; the first one otherwise."""
        if server_name:
            wanted = server_name.lower().rstrip(".")
            for ck in self.certificates:
                for name in ck.names:
                    if _name_matches(name.lower(), wanted):
                        return ck
        return self.certificates[0]


def _fingerprint(label: bytes, *parts: bytes) -> bytes:
    """SHA-256 over a label and length-prefixed parts (public inputs only)."""
    digest = hashlib.sha256(b"nautilus-tls " + label + b"\x00")
    for part in parts:
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


def _name_matches(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:]
    return False


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
