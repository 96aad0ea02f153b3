"""Client and server configuration: frozen, keyword-only, validated, safe by default.

Dangerous options carry the word ``insecure`` in their name. Keys never appear in ``repr``.

What may be negotiated comes from a security policy (:mod:`nautilus_tls.policy`): ``policy``
names a preset (``"hybrid"`` by default, ``"pq-only"``, ``"compat"``) or is a
:class:`~nautilus_tls.policy.Policy`. The list fields (``groups``, ``cipher_suites``,
``signature_schemes``, ``key_share_groups``, ``certificate_schemes``) left empty take the
policy's lists; given explicitly they replace them, within the policy's rules.
``min_security_level`` filters all of them. After construction the list fields hold the
effective lists.

Which algorithms exist at all is the ``provider``'s business (a
:class:`~nautilus_tls.crypto.provider.CryptoProvider`: groups, suites, signature schemes,
HPKE suites, randomness, clock); the default is pyca/cryptography plus the pqcrypto add-on.
Two configs in one process may carry different providers.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from nautilus_tls import defaults
from nautilus_tls.adaptive.client import AdaptiveNegotiation
from nautilus_tls.adaptive.server import AdaptiveServer
from nautilus_tls.auth.api import CertificateType, Credential, PeerVerifier
from nautilus_tls.auth.x509 import (
    InsecureSkipVerifier,
    X509ClientVerifier,
    X509ServerVerifier,
    judgement_fingerprint,
    trust_fingerprint,
)
from nautilus_tls.crypto.certnames import names_of
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, CryptoProvider, with_composite
from nautilus_tls.crypto.signatures import PrivateKey, load_private_key_pem
from nautilus_tls.crypto.x509 import (
    X509_PROFILES,
    TrustStore,
    X509Profile,
    load_certificate_chain_pem,
    subject_of,
)
from nautilus_tls.errors import ConfigError, TLSError
from nautilus_tls.policy import (
    Kind,
    Policy,
    PolicyName,
    Preference,
    codes_for_names,
    policy_named,
    resolve,
)
from nautilus_tls.risk.engine import RiskEngine
from nautilus_tls.session.anti_replay import AntiReplay, MemoryAntiReplay
from nautilus_tls.session.client_store import ClientSessionStore, MemorySessionStore
from nautilus_tls.session.ticket_keys import StatefulTickets, StatelessTickets, TicketKeyManager
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import (
    ExtensionType,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
    display_name,
)
from nautilus_tls.wire.extension_hook import ExtensionHook, plugin_problem
from nautilus_tls.wire.messages import CertificateEntry, Extension

if TYPE_CHECKING:
    from nautilus_tls.ledger.transparency import RequireTransparency
    from nautilus_tls.pake.server import PakeServer
    from nautilus_tls.pake.store import PakeStore
    from nautilus_tls.pake.tls import PakeClient

ClientAuth = Literal["none", "request", "require"]
RaggedEof = Literal["error", "allow"]
KeyLogCallback = Callable[[str], None]
HandshakeTrace = Callable[[str, bytes], None]
"""``(direction, data)``: "sent" or "received" and the handshake bytes (whole messages when
sent, record fragments when received), before encryption / after decryption."""


def _env_keylog() -> str | None:
    return os.environ.get("SSLKEYLOGFILE") or None


# Every signature scheme the library has, add-ons included (composite ML-DSA), for the key check
# of a CertifiedKey, which exists before any config (and provider) it goes into.
_EVERY_SCHEME = with_composite(DEFAULT_PROVIDER)


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
        # Checked against every algorithm the library has; a config checks its own provider.
        if not _EVERY_SCHEME.schemes_for_key(self.private_key, certificate=self.chain[0]):
            raise ConfigError("this private key type cannot sign a TLS 1.3 CertificateVerify")
        if not _key_fits_certificate(self.private_key, self.chain[0]):
            raise ConfigError(
                "the private key does not match the certificate: the end-entity certificate "
                f"({_subject_or_unknown(self.chain[0])}) holds another key's public half"
            )

    def __repr__(self) -> str:
        # Short: the DER chain is kilobytes (ML-DSA) and the key is never shown.
        count = len(self.chain)
        names = ", ".join(self._names[:4]) + (", ..." if len(self._names) > 4 else "")
        return (
            f"CertifiedKey(subject={_subject_or_unknown(self.chain[0])!r}, names=[{names}], "
            f"chain={count} certificate{'s' if count != 1 else ''})"
        )

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
        cls,
        certificate: str | Path,
        key: str | Path,
        *,
        password: bytes | None = None,
        labels: tuple[str, str] = ("certificate file", "key file"),
    ) -> CertifiedKey:
        """Load a PEM chain and its key. A ConfigError names the file at fault, after its
        label (a command line passes its option names: ``("--cert", "--key")``)."""
        cert_label, key_label = labels
        chain_pem = _read_file(cert_label, certificate)
        key_pem = _read_file(key_label, key)
        try:
            chain = load_certificate_chain_pem(chain_pem)
        except ConfigError as exc:
            raise ConfigError(f"{cert_label} {certificate}: {exc}") from None
        try:
            private_key = load_private_key_pem(key_pem, password)
        except ConfigError as exc:
            raise ConfigError(f"{key_label} {key}: {exc}") from None
        try:
            return cls(chain=chain, private_key=private_key)
        except ConfigError as exc:
            raise ConfigError(f"{key_label} {key} with {cert_label} {certificate}: {exc}") from None

    @property
    def names(self) -> tuple[str, ...]:
        """DNS names and IP addresses the end-entity certificate is valid for."""
        return self._names

    # --- the Credential protocol (nautilus_tls.auth.api): the X.509 credential ---

    @property
    def certificate_type(self) -> CertificateType:
        return CertificateType.X509

    def certificate_entries(self) -> tuple[CertificateEntry, ...]:
        return tuple(CertificateEntry(cert_data=der) for der in self.chain)

    def signature_schemes(self, provider: CryptoProvider) -> tuple[int, ...]:
        return tuple(provider.schemes_for_key(self.private_key, certificate=self.chain[0]))

    def sign(self, provider: CryptoProvider, scheme: int, message: bytes) -> bytes:
        return provider.sign(self.private_key, scheme, message)


# Lists of code points a config also accepts as names (the names `nautilus-tls algorithms`
# prints): ClientConfig(groups=("X25519MLKEM768", "x25519")).
_CODE_LISTS: tuple[tuple[str, Kind], ...] = (
    ("groups", "group"),
    ("cipher_suites", "cipher suite"),
    ("signature_schemes", "signature scheme"),
)
_EXAMPLES: dict[str, str] = {
    "group": '("X25519MLKEM768", "x25519")',
    "cipher suite": '("TLS_AES_256_GCM_SHA384",)',
    "signature scheme": '("mldsa65", "ecdsa_secp256r1_sha256")',
    "certificate scheme": '("mldsa65",)',
}
_NUMBERS = (
    "handshake_timeout",
    "min_security_level",
    "max_handshake_message_size",
    "max_handshake_bytes",
    "max_certificate_chain_length",
    "max_certificate_chain_size",
    "max_buffered_plaintext",
)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _codes(field_name: str, kind: Kind, value: object, provider: CryptoProvider) -> tuple[int, ...]:
    """``value`` as code points: each item an int or a name (or comma-separated names)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError(
            f"{field_name} must be a sequence of names or code points, e.g. "
            f"{_EXAMPLES[kind]}, not {type(value).__name__} {_shown(value)}"
        )
    codes: list[int] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            codes.append(item)
        elif isinstance(item, str):
            try:
                codes.extend(codes_for_names(kind, item, provider))
            except ValueError as exc:
                raise ConfigError(f"{field_name}: {exc}") from None
        else:
            raise ConfigError(
                f"{field_name}: {_shown(item)} is neither a {kind} name nor a code point"
            )
    return tuple(codes)


def _alpn(value: object) -> tuple[bytes, ...]:
    """ALPN protocols as bytes; ``str`` items are encoded (ASCII: RFC 7301 names are)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError(
            'alpn_protocols must be a sequence of protocols, e.g. ("h2", "http/1.1"), not '
            f"{type(value).__name__} {_shown(value)}"
        )
    protocols: list[bytes] = []
    for item in value:
        if isinstance(item, str):
            try:
                item = item.encode("ascii")
            except UnicodeEncodeError:
                raise ConfigError(f"alpn_protocols: {item!r} is not ASCII; give bytes") from None
        if not isinstance(item, bytes | bytearray):
            raise ConfigError(f"alpn_protocols: {_shown(item)} is neither str nor bytes")
        protocols.append(bytes(item))
    return tuple(protocols)


def _check_numbers(cfg: _CommonConfig) -> None:
    for name in _NUMBERS:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"{name} must be a number, not {type(value).__name__} {_shown(value)}"
            )


def _read_file(label: str, path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{label} {path}: {exc.strerror or exc}") from None


def _key_fits_certificate(key: PrivateKey, certificate: bytes) -> bool:
    """Whether ``certificate`` (DER) holds the public half of ``key``. A provider's own key
    kinds (SLH-DSA) have no ``public_key()``: their signer already checked the binding in
    ``schemes_for_key``; a certificate that does not parse fails later, with its own error."""
    public_key = getattr(key, "public_key", None)
    if public_key is None:
        return True
    try:
        theirs = x509.load_der_x509_certificate(certificate).public_key()
    except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion):
        return True
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ours: bytes = public_key().public_bytes(*spki)
    return ours == theirs.public_bytes(*spki)


def _subject_or_unknown(certificate: bytes) -> str:
    try:
        return subject_of(certificate) or "no subject"
    except (ValueError, TLSError):
        return "unparsable"


def _check_limits(cfg: _CommonConfig) -> None:
    for name in (
        "max_handshake_bytes",
        "max_certificate_chain_length",
        "max_certificate_chain_size",
        "max_buffered_plaintext",
    ):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be positive")


def _check_rekey(cfg: _CommonConfig) -> None:
    for name in ("rekey_bytes", "rekey_records", "rekey_seconds"):
        value = getattr(cfg, name)
        if value is not None and (isinstance(value, bool) or not value > 0):
            raise ConfigError(f"{name} must be positive (or None for no policy)")


def _check_alpn(protocols: Sequence[bytes]) -> None:
    for p in protocols:
        if not isinstance(p, bytes) or not 1 <= len(p) <= 255:
            raise ConfigError("each ALPN protocol must be 1..255 bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommonConfig:
    # The algorithms that exist for this config, and its randomness and clock.
    provider: CryptoProvider = DEFAULT_PROVIDER
    # The security policy: a preset name or a Policy. Empty lists below come from it.
    policy: Policy | PolicyName = defaults.DEFAULT_POLICY
    # Drop every algorithm below this many bits of security (0: no minimum; 128/192/256).
    min_security_level: int = defaults.DEFAULT_MIN_SECURITY_LEVEL
    groups: tuple[int, ...] = ()
    cipher_suites: tuple[int, ...] = ()
    signature_schemes: tuple[int, ...] = ()
    alpn_protocols: tuple[bytes, ...] = ()
    # NSS key log (SSLKEYLOGFILE format): a file path, or a callback that gets each line.
    # Clients take $SSLKEYLOGFILE by default; servers only when keylog_from_environment is set.
    keylog_file: str | None = None
    keylog_callback: KeyLogCallback | None = field(default=None, repr=False)
    handshake_timeout: float = defaults.HANDSHAKE_TIMEOUT_SECONDS
    max_handshake_message_size: int = defaults.MAX_HANDSHAKE_MESSAGE_SIZE
    # Resource limits (see defaults.py): handshake bytes from the peer in all, the peer's
    # certificate chain, and decrypted data an adapter holds for a reader that does not read.
    max_handshake_bytes: int = defaults.MAX_HANDSHAKE_BYTES
    max_certificate_chain_length: int = defaults.MAX_CERTIFICATE_CHAIN_LENGTH
    max_certificate_chain_size: int = defaults.MAX_CERTIFICATE_CHAIN_SIZE
    max_buffered_plaintext: int = defaults.MAX_BUFFERED_PLAINTEXT
    # How the peer's certificate chain is checked: "webpki" (CA/Browser Forum rules) or
    # "private" (also accepts a CA without keyUsage, as `openssl req -x509` makes them).
    x509_profile: X509Profile = "webpki"
    # A peer that closes TCP without close_notify: "error" (default; RFC 8446 §6.1, it may be
    # a truncation attack) or "allow" (a clean end after whole records, like ssl's
    # suppress_ragged_eofs; for servers whose browsers drop keep-alive sockets that way).
    ragged_eof: RaggedEof = "error"
    # Extension plug-ins (nautilus_tls.handshake.hooks): extensions the handshake does not
    # build in, offered, parsed and checked by themselves; what they receive from the peer is
    # SessionInfo.peer_extensions.
    extension_hooks: tuple[ExtensionHook, ...] = ()
    # Handshake tracing (`connect --trace`, nautilus_tls.tools.trace): called with every
    # handshake byte sent and received. Handshake messages only: no secret, no application data.
    handshake_trace: HandshakeTrace | None = field(default=None, repr=False, compare=False)
    # Key rotation by policy (RFC 8446 §4.6.3): send a KeyUpdate once this many plaintext
    # bytes or records went out under one key, or the key has been in use this many seconds
    # (checked when there is data to send), whichever comes first. None: only before the AEAD
    # limit and on request, as without them. rekey_request_peer asks the peer to update too.
    rekey_bytes: int | None = None
    rekey_records: int | None = None
    rekey_seconds: float | None = None
    rekey_request_peer: bool = False
    # Risk-adaptive security (nautilus_tls.risk): the engine that raises the floor per peer
    # (a server: per client address; a client: per server), never below this config;
    # connections report their handshakes to it. None: a static policy.
    risk: RiskEngine | None = field(default=None, compare=False)

    @property
    def security_policy(self) -> Policy:
        """The policy in force (``policy`` as a :class:`Policy`)."""
        return self.policy if isinstance(self.policy, Policy) else policy_named(self.policy)

    def _validate_common(
        self, *, key_share_groups: Sequence[int] = (), certificate_schemes: Sequence[int] = ()
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Resolve the policy into the list fields; returns (key shares, certificate schemes)
        for the client to store."""
        if not isinstance(self.provider, CryptoProvider):
            raise ConfigError("provider must be a CryptoProvider")
        _check_numbers(self)
        for name, kind in _CODE_LISTS:
            object.__setattr__(self, name, _codes(name, kind, getattr(self, name), self.provider))
        key_share_groups = _codes("key_share_groups", "group", key_share_groups, self.provider)
        object.__setattr__(self, "alpn_protocols", _alpn(self.alpn_protocols))
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
            provider=self.provider,
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
        if self.ragged_eof not in ("error", "allow"):
            raise ConfigError("ragged_eof must be 'error' or 'allow'")
        if self.x509_profile not in X509_PROFILES:
            raise ConfigError(f"x509_profile must be one of: {', '.join(X509_PROFILES)}")
        object.__setattr__(self, "extension_hooks", tuple(self.extension_hooks))
        problem = plugin_problem(self.extension_hooks)
        if problem is not None:
            raise ConfigError(problem)
        if self.handshake_timeout <= 0:
            raise ConfigError("handshake_timeout must be positive")
        _check_limits(self)
        _check_rekey(self)
        if self.risk is not None and not isinstance(self.risk, RiskEngine):
            raise ConfigError("risk must be a nautilus_tls.risk.RiskEngine")
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
    # How the server is judged; None: X.509 against trust_store (or nothing under
    # insecure_skip_verify). A plug-in (nautilus_tls.auth.api.PeerVerifier) replaces both.
    verifier: PeerVerifier | None = None
    # What we present when the server asks for a certificate (a CertifiedKey, or any
    # nautilus_tls.auth.api.Credential).
    client_certificate: Credential | None = None
    # RFC 7250: the certificate types accepted from the server, preferred first: (0,) X.509
    # only (the default), (2,) raw public keys only, (2, 0) either. Raw keys need a verifier
    # that judges keys (auth.raw_key.SpkiPinVerifier, did.verifier.DidPeerVerifier).
    server_certificate_types: tuple[int, ...] = (CertificateType.X509,)
    middlebox_compatibility: bool = defaults.MIDDLEBOX_COMPATIBILITY
    # Resumption: tickets from earlier connections are kept here and offered automatically.
    # None turns resumption off. Each ticket is used once (RFC 8446 Appendix C.4).
    session_store: ClientSessionStore | None = field(default_factory=MemorySessionStore)
    # Resumption modes offered, in preference order. psk_ke has no fresh key exchange (no
    # forward secrecy against a later ticket-key leak), so only psk_dhe_ke by default.
    psk_modes: tuple[int, ...] = (PskKeyExchangeMode.psk_dhe_ke,)
    # Adaptive negotiation (nautilus_tls.adaptive): learn per server which key shares avoid a
    # HelloRetryRequest, within the policy (never outside groups, never below its PQ floor),
    # and remember downgrades. None (default): the policy's key shares, always.
    adaptive: AdaptiveNegotiation | None = None

    # Certificate transparency (issue 16): accept the server's chain only with a stapled
    # proof that it is in one of these logs (nautilus_tls.ledger.transparency). It adds its
    # extension plug-in to extension_hooks and wraps the verifier.
    require_transparency: RequireTransparency | None = None

    # A password login (issue 14, docs/pake.md): nautilus_tls.pake.tls.PakeClient(user,
    # password, method="opaque"|"spake2plus"). Each connection logs in with its own plug-in
    # (connection_hooks); a server the login verified may send no certificate.
    pake: PakeClient | None = None

    # Not a setting: hello_extensions(), encoded on first use (a replace() starts afresh).
    _hello_extensions: tuple[tuple[Extension, ...], tuple[Extension, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.adaptive is not None and not isinstance(self.adaptive, AdaptiveNegotiation):
            raise ConfigError("adaptive must be an AdaptiveNegotiation or None")
        # The requirement's plug-in, and no other's (a dataclasses.replace keeps the old one).
        hooks = _user_hooks(self.extension_hooks)
        if self.require_transparency is not None:
            hooks.append(self.require_transparency.hook)
        object.__setattr__(self, "extension_hooks", tuple(hooks))
        if self.keylog_file is None:
            # Clients honour SSLKEYLOGFILE (the convention of browsers and curl): debugging
            # one's own connections.
            object.__setattr__(self, "keylog_file", _env_keylog())
        shares, chain_schemes = self._validate_common(
            key_share_groups=self.key_share_groups, certificate_schemes=self.certificate_schemes
        )
        object.__setattr__(self, "key_share_groups", shares)
        object.__setattr__(self, "certificate_schemes", chain_schemes)
        if not self.psk_modes or any(m not in (0, 1) for m in self.psk_modes):
            raise ConfigError("psk_modes must list psk_ke (0) and/or psk_dhe_ke (1)")
        if self.verifier is not None and self.insecure_skip_verify:
            raise ConfigError("give either a verifier or insecure_skip_verify, not both")
        _check_certificate_types(self.server_certificate_types, "server_certificate_types")
        if CertificateType.RawPublicKey in self.server_certificate_types and self.verifier is None:
            raise ConfigError("raw public keys from the server need a verifier that judges keys")
        if self.pake is not None:
            from nautilus_tls.pake.tls import PakeClient

            if not isinstance(self.pake, PakeClient):
                raise ConfigError("pake must be a nautilus_tls.pake.tls.PakeClient")
            problem = plugin_problem((*self.extension_hooks, self.pake.login_hook()))
            if problem is not None:
                raise ConfigError(f"pake: {problem}")

    @property
    def requires_server_certificate(self) -> bool:
        """Whether the server must present a certificate even when a password login (PAKE)
        authenticated it: an explicit ``verifier`` (a DID or key pin) or a transparency
        requirement asks for evidence only a certificate carries, and a PakeClient may ask
        for it (``require_certificate``)."""
        return (
            self.verifier is not None
            or self.require_transparency is not None
            or (self.pake is not None and self.pake.require_certificate)
        )

    def connection_hooks(self) -> tuple[ExtensionHook, ...]:
        """Plug-ins made afresh for each connection (a login's state is per connection)."""
        return (self.pake.login_hook(),) if self.pake is not None else ()

    def effective_trust_store(self) -> TrustStore:
        return self.trust_store if self.trust_store is not None else TrustStore.system()

    def hello_extensions(self) -> tuple[tuple[Extension, ...], tuple[Extension, ...]]:
        """The ClientHello extensions this config alone decides, in wire order on either
        side of the key_share: ``(supported_versions, supported_groups)`` and
        ``(signature_algorithms, signature_algorithms_cert, psk_key_exchange_modes[, ALPN])``.

        Every connection of a config sends the same bytes there: encoded once per config.
        """
        cached = self._hello_extensions
        if cached is None:
            before = (
                Extension(
                    ExtensionType.supported_versions,
                    ext.encode_supported_versions_ch((ProtocolVersion.TLS1_3,)),
                ),
                Extension(ExtensionType.supported_groups, ext.encode_supported_groups(self.groups)),
            )
            after = [
                Extension(
                    ExtensionType.signature_algorithms,
                    ext.encode_signature_algorithms(self.signature_schemes),
                ),
                Extension(
                    ExtensionType.signature_algorithms_cert,
                    ext.encode_signature_algorithms(self.certificate_schemes),
                ),
                Extension(
                    ExtensionType.psk_key_exchange_modes,
                    ext.encode_psk_key_exchange_modes(self.psk_modes),
                ),
            ]
            if self.alpn_protocols:
                after.append(
                    Extension(
                        ExtensionType.application_layer_protocol_negotiation,
                        ext.encode_alpn(self.alpn_protocols),
                    )
                )
            cached = (before, tuple(after))
            object.__setattr__(self, "_hello_extensions", cached)
        return cached

    def peer_verifier(self) -> PeerVerifier:
        """The verifier the handshake judges the server with: ``verifier``, else X.509 from
        ``trust_store``, ``x509_profile`` and ``certificate_schemes`` (built per call, so a
        ``dataclasses.replace`` of those fields takes effect)."""
        base: PeerVerifier
        if self.verifier is not None:
            base = self.verifier
        elif self.insecure_skip_verify:
            base = InsecureSkipVerifier()
        else:
            base = X509ServerVerifier(
                self.effective_trust_store(), self.x509_profile, self.certificate_schemes
            )
        if self.require_transparency is not None:
            return self.require_transparency.verifier(base)
        return base

    def server_trust_fingerprint(self) -> bytes | None:
        """How this config judges servers, as 32 stable bytes: the trust store's roots and
        the knobs that affect chain verification (X.509 profile, signature_algorithms_cert). A
        ticket records it, and a verifying config resumes only tickets made under the same
        trust. ``None`` when verification is off."""
        return self.peer_verifier().fingerprint()


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig(_CommonConfig):
    """How a server answers. ``certificates`` are chosen by SNI; the first is the default."""

    certificates: tuple[CertifiedKey, ...] = ()
    # RFC 7250: a raw public key (auth.raw_key.RawPublicKey) for clients that accept one in
    # server_certificate_type (then ``certificates`` may be empty), and the certificate types
    # accepted from clients, preferred first (client_certificate_type; raw keys need a
    # client_verifier that judges keys).
    raw_public_key: Credential | None = None
    client_certificate_types: tuple[int, ...] = (CertificateType.X509,)
    client_auth: ClientAuth = "none"
    client_trust_store: TrustStore | None = None
    # How client certificates are judged; None: X.509 against client_trust_store. A plug-in
    # (nautilus_tls.auth.api.PeerVerifier) replaces it.
    client_verifier: PeerVerifier | None = None
    # Schemes accepted on client certificate chains (signature_algorithms_cert in the
    # CertificateRequest, enforced on the chain); empty: the policy's certificate schemes.
    client_certificate_schemes: tuple[int, ...] = ()
    send_certificate_authorities: bool = False
    # Ask for the best group even when the client sent a share for a weaker one.
    prefer_post_quantum: bool = True
    # Whose order decides among mutual cipher suites and groups: ours or the client's.
    preference: Preference = defaults.DEFAULT_PREFERENCE
    # Handshakes the asyncio server runs at once; more wait (then are refused).
    max_concurrent_handshakes: int = defaults.MAX_CONCURRENT_HANDSHAKES
    # The asyncio server closes a connection that sends nothing for this long, and refuses
    # connections from an address that has this many handshakes unfinished.
    first_byte_timeout: float = defaults.FIRST_BYTE_TIMEOUT_SECONDS
    max_handshakes_per_address: int = defaults.MAX_HANDSHAKES_PER_ADDRESS
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
    # Take keylog_file from $SSLKEYLOGFILE. Off by default: a variable left set in a server's
    # environment would otherwise write every client's traffic secrets to disk.
    keylog_from_environment: bool = False
    # Adaptive choice (nautilus_tls.adaptive.server): ChaCha20-Poly1305 for clients that list
    # it first, the cheaper post-quantum group under CPU load; within the policy. Off (None)
    # by default.
    adaptive: AdaptiveServer | None = None
    # Password logins (issue 14, docs/pake.md): the registered users (a PakeStore such as
    # nautilus_tls.pake.store_sqlite.SQLiteRecordStore, or a PakeServer with its own limits).
    # Clients then log in with OPAQUE or SPAKE2+; ``certificates`` may be empty (PAKE alone)
    # unless pake_optional also lets clients in without a login (they need a certificate).
    pake_store: PakeStore | PakeServer | None = field(default=None, compare=False)
    pake_optional: bool = False

    def __post_init__(self) -> None:
        if self.adaptive is not None and not isinstance(self.adaptive, AdaptiveServer):
            raise ConfigError("adaptive must be an AdaptiveServer or None")
        _add_pake_server_hook(self)
        if self.keylog_file is None and self.keylog_from_environment:
            object.__setattr__(self, "keylog_file", _env_keylog())
        _, chain_schemes = self._validate_common(
            certificate_schemes=self.client_certificate_schemes
        )
        object.__setattr__(self, "client_certificate_schemes", chain_schemes)
        if (
            not self.certificates
            and self.raw_public_key is None
            and not any(
                getattr(h, "replaces_server_certificate", False) for h in self.extension_hooks
            )
        ):
            raise ConfigError(
                "a server needs at least one certificate, a raw_public_key, or a required "
                "password login (pake_store without pake_optional)"
            )
        if self.raw_public_key is not None and (
            self.raw_public_key.certificate_type != CertificateType.RawPublicKey
        ):
            raise ConfigError("raw_public_key must be a raw public key credential")
        if self.raw_public_key is not None and not any(
            s in self.signature_schemes
            for s in self.raw_public_key.signature_schemes(self.provider)
        ):
            raise ConfigError("raw_public_key signs with no scheme signature_schemes allows")
        _check_certificate_types(self.client_certificate_types, "client_certificate_types")
        if (
            CertificateType.RawPublicKey in self.client_certificate_types
            and self.client_verifier is None
        ):
            raise ConfigError("raw public keys from clients need a client_verifier")
        if self.preference not in ("server", "client"):
            raise ConfigError("preference must be 'server' or 'client'")
        for i, ck in enumerate(self.certificates):
            usable = self.provider.schemes_for_key(ck.private_key, certificate=ck.chain[0])
            if not any(s in self.signature_schemes for s in usable):
                label = self.security_policy.name
                if self.min_security_level:
                    label += f", min level {self.min_security_level}"
                raise ConfigError(
                    f"certificate {i} signs only with "
                    f"{', '.join(self.provider.scheme_name(s) for s in usable)}; "
                    f"signature_schemes (policy {label}) allows only "
                    f"{', '.join(self.provider.scheme_name(s) for s in self.signature_schemes)}"
                )
        if self.client_auth not in ("none", "request", "require"):
            raise ConfigError("client_auth must be 'none', 'request' or 'require'")
        if self.max_concurrent_handshakes < 1:
            raise ConfigError("max_concurrent_handshakes must be positive")
        if self.max_handshakes_per_address < 1:
            raise ConfigError("max_handshakes_per_address must be positive")
        if self.first_byte_timeout <= 0:
            raise ConfigError("first_byte_timeout must be positive")
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
        if (
            self.client_auth != "none"
            and self.client_trust_store is None
            and self.client_verifier is None
        ):
            raise ConfigError(
                "client_auth needs client_trust_store (the CAs that issue client certificates)"
                " or a client_verifier"
            )

    def client_peer_verifier(self) -> PeerVerifier | None:
        """The verifier client certificates are judged with: ``client_verifier``, else X.509
        from ``client_trust_store``; None without either (no client authentication)."""
        if self.client_verifier is not None:
            return self.client_verifier
        if self.client_trust_store is None:
            return None
        return X509ClientVerifier(
            self.client_trust_store, self.x509_profile, self.client_certificate_schemes
        )

    def client_auth_binding(self) -> bytes:
        """How this config authenticates clients, as 32 stable bytes (the client_auth mode,
        the client trust store's roots, the X.509 profile and the schemes accepted on client
        chains). Tickets carry it: a ticket made under another
        client-auth setting does not resume (RFC 8446 §4.2.11: the server picks a
        compatible PSK)."""
        if self.client_verifier is not None:
            return _fingerprint(
                b"client authentication plug-in v1",
                self.client_auth.encode("ascii"),
                self.client_verifier.fingerprint() or b"",
            )
        store = self.client_trust_store
        return judgement_fingerprint(
            b"client authentication v1",
            (
                self.client_auth.encode("ascii"),
                store.fingerprint if store is not None else b"",
                self.x509_profile.encode("ascii"),
            ),
            self.client_certificate_schemes,
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


_fingerprint = trust_fingerprint


def _user_hooks(hooks: tuple[ExtensionHook, ...]) -> list[ExtensionHook]:
    """``hooks`` without the plug-ins a config field made (``made_by_config``: a transparency
    requirement's, a pake_store's): a ``dataclasses.replace`` makes them again from its
    fields, so the old ones must not stay beside the new."""
    return [h for h in hooks if not getattr(h, "made_by_config", False)]


def _add_pake_server_hook(config: ServerConfig) -> None:
    """``pake_store`` as the PAKE plug-in in ``extension_hooks`` (replacing the one an earlier
    ``dataclasses.replace`` of this config carried)."""
    hooks = _user_hooks(config.extension_hooks)
    if config.pake_store is not None:
        from nautilus_tls.pake.server import PakeServer
        from nautilus_tls.pake.store import PakeStore
        from nautilus_tls.pake.tls import PakeServerHook

        store = config.pake_store
        if isinstance(store, PakeServer):
            server = store
        elif isinstance(store, PakeStore):
            server = PakeServer(store)
        else:
            raise ConfigError("pake_store must be a PakeStore or a PakeServer")
        hook = PakeServerHook(server, required=not config.pake_optional)
        hook.made_by_config = True
        hooks.append(hook)
    elif config.pake_optional:
        raise ConfigError("pake_optional needs a pake_store")
    object.__setattr__(config, "extension_hooks", tuple(hooks))


def _check_certificate_types(types: tuple[int, ...], name: str) -> None:
    known = {CertificateType.X509, CertificateType.RawPublicKey}
    if not types or len(set(types)) != len(types) or not set(types) <= known:
        raise ConfigError(f"{name} must list X509 (0) and/or RawPublicKey (2), once each")


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
