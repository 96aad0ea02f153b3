"""Security policies: what a connection may negotiate, and why a handshake was refused.

A :class:`Policy` is a named set of lists (groups, key shares, cipher suites, CertificateVerify
schemes, certificate-chain schemes) plus the rules those lists must keep. Three presets:

``pq-only``
    Key exchange: post-quantum only — the ML-KEM hybrids, pure ML-KEM, then the plugin PQ KEMs
    (HQC, sntrup761, alone and with X25519) when ``pqcrypto`` is installed. CertificateVerify:
    ML-DSA, then SLH-DSA when available. Certificate chains: ML-DSA; classical chain
    signatures only when listed explicitly in ``certificate_schemes``. Cipher suites: the
    256-bit ones (AES-256-GCM, ChaCha20-Poly1305), which keep a 128-bit margin against Grover.
    Explicit lists may reorder or narrow these but not add a classical group or scheme.
``hybrid`` (the default)
    Exactly the library defaults (:mod:`nautilus_tls.defaults`): hybrid groups first, then pure
    ML-KEM, then classical groups, which stay acceptable; ML-DSA first, classical schemes
    accepted; one X25519MLKEM768 key share.
``compat``
    Classical first, for peers that stall on large ClientHellos: x25519, P-256, P-384, then the
    hybrids and ML-KEM; a single x25519 key share (a 32-byte share keeps the ClientHello in one
    small packet); every CertificateVerify scheme we implement, classical first.

Explicit lists in :class:`~nautilus_tls.config.ClientConfig`/``ServerConfig`` replace a preset's
lists (within its rules). ``min_security_level`` (bits: 128/192/256, the classical strength or
the NIST PQ category as AES key bits; see the algorithm table) then filters every list.

A policy names algorithms; the config's :class:`~nautilus_tls.crypto.provider.CryptoProvider`
says which exist. Every lookup here goes through the provider passed in: a preset entry the
provider lacks is skipped, an explicit one is refused as unsupported. The groups that get a key
share in the first ClientHello follow one rule, :func:`initial_key_share_groups`.

When a handshake cannot meet the policy, :func:`refusal` builds the error: which side's policy,
what the peer offered and what we accept, and the alert — ``insufficient_security`` when the peer
offered only algorithms we implement but the policy rejects (not post-quantum, below the
minimum level; RFC 8446 §6.2), ``handshake_failure`` when there is simply nothing in common.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from nautilus_tls import defaults
from nautilus_tls.crypto.kem import MAX_KEY_SHARE_LEN, PrivateGroup
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, CryptoProvider
from nautilus_tls.crypto.signatures import PrivateSignatureScheme
from nautilus_tls.errors import AlertDescription, ConfigError, PeerIncompatible
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme

__all__ = [
    "COMPAT",
    "HYBRID",
    "PQ_ONLY",
    "PRESETS",
    "Kind",
    "Policy",
    "PolicyName",
    "Preference",
    "Resolved",
    "code_for_name",
    "codes_for_names",
    "initial_key_share_groups",
    "name_of",
    "policy_named",
    "refusal",
    "resolve",
]

PolicyName = Literal["pq-only", "hybrid", "compat"]
Preference = Literal["server", "client"]
Kind = Literal["group", "cipher suite", "signature scheme", "certificate scheme"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A named policy. Unavailable entries (a plugin whose package is missing) are skipped when
    a preset list is used, and refused when listed explicitly."""

    name: str
    description: str
    groups: tuple[int, ...]
    key_share_groups: tuple[int, ...]
    cipher_suites: tuple[int, ...]
    signature_schemes: tuple[int, ...]
    certificate_schemes: tuple[int, ...]
    post_quantum_key_exchange: bool = False  # every group must be post-quantum (or hybrid)
    post_quantum_signatures: bool = False  # every CertificateVerify scheme must be post-quantum
    min_security_level: int = 0

    def __repr__(self) -> str:
        return f"Policy({self.name!r})"


_G, _PG = NamedGroup, PrivateGroup
_S, _PS = SignatureScheme, PrivateSignatureScheme
_C = CipherSuite

PQ_ONLY = Policy(
    name="pq-only",
    description="post-quantum key exchange and CertificateVerify only",
    groups=(
        _G.X25519MLKEM768,
        _G.SecP256r1MLKEM768,
        _G.SecP384r1MLKEM1024,
        _G.MLKEM768,
        _G.MLKEM1024,
        _PG.X25519HQC128,
        _PG.X25519HQC192,
        _PG.X25519HQC256,
        _PG.X25519SNTRUP761,
        _PG.HQC128,
        _PG.HQC192,
        _PG.HQC256,
        _PG.SNTRUP761,
    ),
    key_share_groups=(_G.X25519MLKEM768,),
    cipher_suites=(_C.TLS_AES_256_GCM_SHA384, _C.TLS_CHACHA20_POLY1305_SHA256),
    signature_schemes=(
        _S.mldsa65,
        _S.mldsa87,
        _S.mldsa44,
        _PS.slhdsa_sha2_128f,
        _PS.slhdsa_sha2_128s,
        _PS.slhdsa_sha2_192f,
        _PS.slhdsa_sha2_256f,
    ),
    certificate_schemes=(_S.mldsa65, _S.mldsa87, _S.mldsa44),
    post_quantum_key_exchange=True,
    post_quantum_signatures=True,
)

HYBRID = Policy(
    name="hybrid",
    description="hybrid post-quantum first, classical accepted (the default)",
    groups=defaults.DEFAULT_GROUPS,
    key_share_groups=defaults.DEFAULT_KEY_SHARE_GROUPS,
    cipher_suites=defaults.DEFAULT_CIPHER_SUITES,
    signature_schemes=defaults.DEFAULT_SIGNATURE_SCHEMES,
    certificate_schemes=defaults.DEFAULT_CERTIFICATE_SCHEMES,
)

_CLASSICAL_SCHEMES = (
    _S.ecdsa_secp256r1_sha256,
    _S.ecdsa_secp384r1_sha384,
    _S.ecdsa_secp521r1_sha512,
    _S.ed25519,
    _S.ed448,
    _S.rsa_pss_rsae_sha256,
    _S.rsa_pss_rsae_sha384,
    _S.rsa_pss_rsae_sha512,
    _S.rsa_pss_pss_sha256,
    _S.rsa_pss_pss_sha384,
    _S.rsa_pss_pss_sha512,
)

COMPAT = Policy(
    name="compat",
    description="classical first, for peers that stall on large ClientHellos",
    groups=(
        _G.x25519,
        _G.secp256r1,
        _G.secp384r1,
        _G.X25519MLKEM768,
        _G.SecP256r1MLKEM768,
        _G.SecP384r1MLKEM1024,
        _G.MLKEM768,
        _G.MLKEM1024,
    ),
    key_share_groups=(_G.x25519,),
    cipher_suites=(
        _C.TLS_AES_128_GCM_SHA256,
        _C.TLS_AES_256_GCM_SHA384,
        _C.TLS_CHACHA20_POLY1305_SHA256,
    ),
    signature_schemes=(*_CLASSICAL_SCHEMES, _S.mldsa65, _S.mldsa87, _S.mldsa44),
    certificate_schemes=(
        *_CLASSICAL_SCHEMES,
        _S.mldsa65,
        _S.mldsa87,
        _S.mldsa44,
        _S.rsa_pkcs1_sha256,
        _S.rsa_pkcs1_sha384,
        _S.rsa_pkcs1_sha512,
    ),
)

PRESETS: dict[str, Policy] = {p.name: p for p in (PQ_ONLY, HYBRID, COMPAT)}


def policy_named(name: str) -> Policy:
    """A preset by name (``pq-only``, ``hybrid``, ``compat``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown policy {name!r} (known: {', '.join(PRESETS)})") from None


# --- what the provider says about one code point -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Facts:
    name: str
    level: int
    post_quantum: bool
    usable: bool  # implemented, available and negotiable here
    why_not: str  # when not usable


def _facts(provider: CryptoProvider, kind: Kind, code: int) -> _Facts | None:
    if kind == "group":
        g = provider.group_info(code)
        if g is None:
            return None
        why = "" if g.available else f"needs the optional package {g.requires}"
        return _Facts(g.name, g.level, g.post_quantum, g.available and g.negotiable, why)
    if kind == "cipher suite":
        s = provider.suite_info(code)
        if s is None:
            return None
        return _Facts(s.name, s.level, False, True, "")
    sc = provider.scheme_info(code)
    if sc is None:
        return None
    usable = sc.available and (kind == "certificate scheme" or sc.certificate_verify)
    why = (
        f"needs the optional package {sc.requires}"
        if not sc.available
        else "is allowed only in certificate chains"
    )
    return _Facts(sc.name, sc.level, sc.post_quantum, usable, "" if usable else why)


def name_of(kind: Kind, code: int, provider: CryptoProvider = DEFAULT_PROVIDER) -> str:
    """The provider's name for a code point (IANA name or hex when it has none)."""
    if kind == "group":
        return provider.group_name(code)
    if kind == "cipher suite":
        return provider.suite_name(code)
    return provider.scheme_name(code)


def _names(provider: CryptoProvider, kind: Kind, codes: Sequence[int]) -> str:
    return ", ".join(name_of(kind, c, provider) for c in codes) or "(none)"


def _first_names(
    provider: CryptoProvider,
    kind: Kind,
    codes: Sequence[int],
    limit: int = defaults.MAX_NAMES_IN_ERRORS,
) -> str:
    """At most ``limit`` names and a count of the rest: a peer's list can hold thousands of
    code points, and naming each would make a refusal cost more than a handshake."""
    shown = _names(provider, kind, codes[:limit])
    rest = len(codes) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


# --- resolving a configuration's lists ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolved:
    """A configuration's algorithm lists after its policy and minimum level were applied."""

    policy: Policy
    min_security_level: int
    groups: tuple[int, ...]
    key_share_groups: tuple[int, ...]
    cipher_suites: tuple[int, ...]
    signature_schemes: tuple[int, ...]
    certificate_schemes: tuple[int, ...]


_FIELD: dict[Kind, str] = {
    "group": "groups",
    "cipher suite": "cipher_suites",
    "signature scheme": "signature_schemes",
    "certificate scheme": "certificate_schemes",
}


def _requires_pq(policy: Policy, kind: Kind) -> bool:
    if kind == "group":
        return policy.post_quantum_key_exchange
    if kind == "signature scheme":
        return policy.post_quantum_signatures
    return False


def _resolve_list(
    provider: CryptoProvider,
    policy: Policy,
    kind: Kind,
    explicit: Sequence[int],
    preset: Sequence[int],
    level: int,
) -> tuple[int, ...]:
    field = _FIELD[kind]

    def facts(code: int) -> _Facts | None:
        return _facts(provider, kind, code)

    if explicit:
        if len(set(explicit)) != len(explicit):
            raise ConfigError(f"{field} lists a {kind} twice")
        for code in explicit:
            found = facts(code)
            if found is None:
                raise ConfigError(f"{field}: unsupported {kind} {name_of(kind, code, provider)}")
            if not found.usable:
                raise ConfigError(f"{field}: {found.name} {found.why_not}")
            if _requires_pq(policy, kind) and not found.post_quantum:
                raise ConfigError(
                    f"{field}: policy {policy.name} does not allow {found.name} (not post-quantum)"
                )
        candidates = tuple(explicit)
    else:
        candidates = tuple(c for c in preset if (f := facts(c)) is not None and f.usable)
    kept = tuple(c for c in candidates if (f := facts(c)) is not None and f.level >= level)
    if not kept:
        dropped = ", ".join(f"{f.name} ({f.level})" for c in candidates if (f := facts(c)))
        raise ConfigError(
            f"min_security_level {level} leaves no {kind} in {field} (had: {dropped or 'none'})"
        )
    return kept


def initial_key_share_groups(
    groups: Sequence[int], policy_shares: Sequence[int], explicit: Sequence[int] = ()
) -> tuple[int, ...]:
    """The groups the first ClientHello carries a key share for — the one rule, for the library
    and the CLI alike: the explicit list when there is one; else the policy's share groups that
    are in ``groups``; else the first of ``groups`` (a share for the first preference only: a
    miss costs a HelloRetryRequest, a share per group would cost kilobytes)."""
    if explicit:
        return tuple(explicit)
    shares = tuple(g for g in policy_shares if g in groups)
    return shares or tuple(groups[:1])


def resolve(
    policy: Policy,
    *,
    provider: CryptoProvider,
    min_security_level: int,
    groups: Sequence[int],
    cipher_suites: Sequence[int],
    signature_schemes: Sequence[int],
    key_share_groups: Sequence[int] = (),
    certificate_schemes: Sequence[int] = (),
) -> Resolved:
    """The effective lists: explicit ones (non-empty) checked against the policy's rules and
    the ``provider``'s algorithms, empty ones taken from the policy (within the provider); all
    filtered by the minimum security level (the higher of the policy's and
    ``min_security_level``). Raises ConfigError naming the problem."""
    if min_security_level < 0:
        raise ConfigError("min_security_level must not be negative")
    level = max(policy.min_security_level, min_security_level)

    def one_list(kind: Kind, explicit: Sequence[int], preset: Sequence[int]) -> tuple[int, ...]:
        return _resolve_list(provider, policy, kind, explicit, preset, level)

    resolved_groups = one_list("group", groups, policy.groups)
    if len(set(key_share_groups)) != len(key_share_groups):
        raise ConfigError("key_share_groups lists a group twice")
    for g in key_share_groups:
        if g not in resolved_groups:
            raise ConfigError(
                f"key share group {name_of('group', g, provider)} is not in groups "
                f"({_names(provider, 'group', resolved_groups)})"
            )
    shares = initial_key_share_groups(resolved_groups, policy.key_share_groups, key_share_groups)
    share_bytes = sum(4 + _share_len(provider, g) for g in shares)
    if share_bytes + 2 > MAX_KEY_SHARE_LEN:
        raise ConfigError(
            f"key shares for {_names(provider, 'group', shares)} take {share_bytes} bytes; the "
            f"key_share extension holds at most {MAX_KEY_SHARE_LEN - 2}"
        )
    return Resolved(
        policy=policy,
        min_security_level=level,
        groups=resolved_groups,
        key_share_groups=shares,
        cipher_suites=one_list("cipher suite", cipher_suites, policy.cipher_suites),
        signature_schemes=one_list("signature scheme", signature_schemes, policy.signature_schemes),
        certificate_schemes=one_list(
            "certificate scheme", certificate_schemes, policy.certificate_schemes
        ),
    )


def _share_len(provider: CryptoProvider, group: int) -> int:
    info = provider.group_info(group)
    return info.client_share_len if info is not None else 0


# --- refusing a handshake ---------------------------------------------------------------------

_NOUN: dict[Kind, str] = {
    "group": "key exchange group",
    "cipher suite": "cipher suite",
    "signature scheme": "signature scheme",
    "certificate scheme": "certificate signature scheme",
}


def refusal(
    *,
    side: str,
    policy: Policy,
    provider: CryptoProvider,
    min_security_level: int,
    kind: Kind,
    offered: Sequence[int],
    accepted: Sequence[int],
    peer: str = "client",
    accepted_label: str = "we accept",
    acceptable: Callable[[int], bool] | None = None,
) -> PeerIncompatible:
    """The error for "nothing the peer offered is acceptable".

    ``insufficient_security`` when every offer we implement (in ``provider``) fails the
    policy's post-quantum rule or the minimum level (RFC 8446 §6.2: we require more than the
    peer supports); else ``handshake_failure``. ``acceptable`` narrows what counts as
    implemented (e.g. schemes our certificates can sign with).
    """
    noun = _NOUN[kind]
    label = policy.name
    if min_security_level:
        label += f" (min level {min_security_level})"
    known = [
        f
        for c in dict.fromkeys(offered)
        if (f := _facts(provider, kind, c)) is not None
        and f.usable
        and (acceptable is None or acceptable(c))
    ]
    offered_names = _first_names(provider, kind, offered)
    if known and _requires_pq(policy, kind) and not any(f.post_quantum for f in known):
        return PeerIncompatible(
            f"{side} policy {label}: {peer} offered no post-quantum {noun}; "
            f"offered: {offered_names}",
            alert=AlertDescription.insufficient_security,
        )
    if known and min_security_level and all(f.level < min_security_level for f in known):
        return PeerIncompatible(
            f"{side} policy {label}: {peer} offered no {noun} at security level "
            f"{min_security_level} or above; offered: {offered_names}",
            alert=AlertDescription.insufficient_security,
        )
    return PeerIncompatible(
        f"{side} policy {label}: no {noun} in common; {peer} offered: {offered_names}; "
        f"{accepted_label}: {_names(provider, kind, accepted)}",
        alert=AlertDescription.handshake_failure,
    )


# --- names -----------------------------------------------------------------------------------


def code_for_name(kind: Kind, name: str, provider: CryptoProvider = DEFAULT_PROVIDER) -> int:
    """The code point of one of ``provider``'s algorithms by name (case-insensitive; ``0xFE30``
    works too). ValueError naming the known names otherwise."""
    text = name.strip()
    if text.lower().startswith("0x"):
        try:
            return int(text, 16)
        except ValueError:
            pass
    if kind == "group":
        g = provider.group_by_name(text)
        if g is not None and g.code is not None:
            return g.code
        if g is not None:
            raise ValueError(f"{g.name} cannot be negotiated: {g.limitation}")
        known = [i.name for i in provider.group_infos() if i.code is not None]
    elif kind == "cipher suite":
        wanted = text.lower()
        for s in provider.suite_infos():
            if s.name.lower() == wanted:
                return s.code
        known = [s.name for s in provider.suite_infos()]
    else:
        sc = provider.scheme_by_name(text)
        if sc is not None:
            return sc.code
        known = [i.name for i in provider.scheme_infos()]
    raise ValueError(f"unknown {kind} {name!r} (known: {', '.join(known)})")


def codes_for_names(
    kind: Kind, text: str, provider: CryptoProvider = DEFAULT_PROVIDER
) -> tuple[int, ...]:
    """A comma-separated list of names (see :func:`code_for_name`), order kept."""
    codes = tuple(code_for_name(kind, part, provider) for part in text.split(",") if part.strip())
    if not codes:
        raise ValueError(f"empty {kind} list")
    return codes
