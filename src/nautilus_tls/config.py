"""Client and server configuration: frozen, keyword-only, validated, safe by default.

Dangerous options carry the word ``insecure`` in their name. Keys never appear in ``repr``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nautilus_tls import defaults
from nautilus_tls.crypto.certnames import names_of
from nautilus_tls.crypto.kem import kem_for_group
from nautilus_tls.crypto.signatures import PrivateKey, load_private_key_pem, schemes_for_key
from nautilus_tls.crypto.suites import suite_params
from nautilus_tls.crypto.x509 import TrustStore, load_certificate_chain_pem
from nautilus_tls.errors import ConfigError
from nautilus_tls.session.anti_replay import AntiReplay, MemoryAntiReplay
from nautilus_tls.session.client_store import ClientSessionStore, MemorySessionStore
from nautilus_tls.session.ticket_keys import StatefulTickets, StatelessTickets, TicketKeyManager
from nautilus_tls.wire.enums import (
    CipherSuite,
    NamedGroup,
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

    def __post_init__(self) -> None:
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
        return names_of(self.chain[0])


def _check_groups(groups: Sequence[int], what: str) -> None:
    if not groups:
        raise ConfigError(f"{what} must not be empty")
    for g in groups:
        if kem_for_group(g) is None:
            raise ConfigError(f"{what}: unsupported group {display_name(NamedGroup, g)}")
    if len(set(groups)) != len(groups):
        raise ConfigError(f"{what} lists a group twice")


def _check_suites(suites: Sequence[int]) -> None:
    if not suites:
        raise ConfigError("cipher_suites must not be empty")
    for s in suites:
        if suite_params(s) is None:
            raise ConfigError(f"unsupported cipher suite {display_name(CipherSuite, s)}")


def _check_alpn(protocols: Sequence[bytes]) -> None:
    for p in protocols:
        if not isinstance(p, bytes) or not 1 <= len(p) <= 255:
            raise ConfigError("each ALPN protocol must be 1..255 bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommonConfig:
    groups: tuple[int, ...] = defaults.DEFAULT_GROUPS
    cipher_suites: tuple[int, ...] = defaults.DEFAULT_CIPHER_SUITES
    signature_schemes: tuple[int, ...] = defaults.DEFAULT_SIGNATURE_SCHEMES
    alpn_protocols: tuple[bytes, ...] = ()
    # NSS key log (SSLKEYLOGFILE format): a file path, or a callback that gets each line.
    keylog_file: str | None = field(default_factory=_env_keylog)
    keylog_callback: KeyLogCallback | None = field(default=None, repr=False)
    handshake_timeout: float = defaults.HANDSHAKE_TIMEOUT_SECONDS
    max_handshake_message_size: int = defaults.MAX_HANDSHAKE_MESSAGE_SIZE

    def _validate_common(self) -> None:
        _check_groups(self.groups, "groups")
        _check_suites(self.cipher_suites)
        _check_alpn(self.alpn_protocols)
        if not self.signature_schemes:
            raise ConfigError("signature_schemes must not be empty")
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
        if self.handshake_timeout <= 0:
            raise ConfigError("handshake_timeout must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig(_CommonConfig):
    """How a client connects. Verification is on unless ``insecure_skip_verify`` is set."""

    key_share_groups: tuple[int, ...] = defaults.DEFAULT_KEY_SHARE_GROUPS
    certificate_schemes: tuple[int, ...] = defaults.DEFAULT_CERTIFICATE_SCHEMES
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
        self._validate_common()
        _check_groups(self.key_share_groups, "key_share_groups")
        if not self.psk_modes or any(m not in (0, 1) for m in self.psk_modes):
            raise ConfigError("psk_modes must list psk_ke (0) and/or psk_dhe_ke (1)")
        for g in self.key_share_groups:
            if g not in self.groups:
                raise ConfigError(f"key share group {display_name(NamedGroup, g)} is not in groups")

    def effective_trust_store(self) -> TrustStore:
        return self.trust_store if self.trust_store is not None else TrustStore.system()


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig(_CommonConfig):
    """How a server answers. ``certificates`` are chosen by SNI; the first is the default."""

    certificates: tuple[CertifiedKey, ...]
    client_auth: ClientAuth = "none"
    client_trust_store: TrustStore | None = None
    send_certificate_authorities: bool = False
    # Ask for the best group even when the client sent a share for a weaker one.
    prefer_post_quantum: bool = True
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
        if self.client_auth not in ("none", "request", "require"):
            raise ConfigError("client_auth must be 'none', 'request' or 'require'")
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

    def certificate_for(self, server_name: str | None) -> CertifiedKey:
        """The certificate whose names cover ``server_name``; the first one otherwise."""
        if server_name:
            wanted = server_name.lower().rstrip(".")
            for ck in self.certificates:
                for name in ck.names:
                    if _name_matches(name.lower(), wanted):
                        return ck
        return self.certificates[0]


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
