"""The crypto provider: every algorithm a connection may use, as one immutable value.

A :class:`CryptoProvider` holds the key exchange groups, cipher suites, signature schemes and
HPKE suites it implements, plus where randomness (:class:`Entropy`) and time (:data:`Clock`)
come from. It travels in the config (``ClientConfig.provider``/``ServerConfig.provider``, as
rustls's ``CryptoProvider``): policy resolution and the handshake look every algorithm up
through ``config.provider`` and nowhere else, so two configs in one process can differ, a test
builds the provider it needs without touching global state, and a chooser gets its candidate
set from it. Policies and explicit lists then pick, order and filter within the provider's set.

Providers
    :func:`default_provider` — pyca/cryptography: the eight IANA groups (ML-KEM hybrids, ML-KEM,
    x25519, P-256, P-384), the three TLS 1.3 AEAD suites, the IANA signature schemes (ML-DSA,
    ECDSA, EdDSA, RSASSA-PSS; PKCS#1 v1.5 for certificate chains only) and HPKE (ECH-ready).
    :func:`pqcrypto_provider` — the add-on over the optional ``pqcrypto`` package: HQC and
    sntrup761 (alone and with X25519), Classic McEliece (listed, never negotiable) and SLH-DSA.
    :func:`frodokem_provider` — the add-on over :mod:`~nautilus_tls.crypto.frodokem` (needs
    the optional package ``numpy``): FrodoKEM-640/976/1344 in AES and SHAKE variants, alone
    and with X25519, and FrodoKEM-640 with P-256. Not in :data:`DEFAULT_PROVIDER` — pure Python
    and not constant-time, and its shares are 10-22 kB — so it is combined explicitly:
    ``with_frodokem(DEFAULT_PROVIDER)``; ``nautilus-tls algorithms`` lists it.
    :func:`bike_provider` — the add-on over :mod:`~nautilus_tls.crypto.bike` (numpy): BIKE
    L1/L3/L5 (round 4) alone and with X25519. NIST did not select BIKE (it selected HQC);
    combined explicitly, ``with_bike(DEFAULT_PROVIDER)``.
    :func:`composite_provider` — the add-on over :mod:`~nautilus_tls.crypto.composite`
    (pyca/cryptography only): composite ML-DSA-65 with ECDSA P-256 and with Ed25519
    (draft-ietf-lamps-pq-composite-sigs) on private-use code points; combined explicitly,
    ``with_composite(DEFAULT_PROVIDER)``, while the draft is a draft.
    :data:`DEFAULT_PROVIDER` — what a config uses unless told otherwise:
    ``default_provider() | pqcrypto_provider()``. The add-on's entries are always present; without
    the package they are *unavailable* (``GroupInfo.available`` is False): never offered or
    accepted, skipped by policy presets, refused with "needs the optional package pqcrypto" when
    listed explicitly, and shown as such by ``nautilus-tls algorithms``.

Composition is by value; every method returns a new provider::

    mine = DEFAULT_PROVIDER.with_groups(group_entry(MY, name="MYKEM", level=128,
                                                    post_quantum=True))
    classical = DEFAULT_PROVIDER.without("X25519MLKEM768", "MLKEM768")
    both = default_provider() | pqcrypto_provider()          # or combine(a, b)
    fixed = DEFAULT_PROVIDER.with_entropy(fixed_entropy).with_clock(lambda: 1700000000.0)

How to add an algorithm (one class plus one entry):

Key exchange groups (KEM-shaped)
    Implement :class:`~nautilus_tls.crypto.kem.KemPrimitive` (``keygen``/``encaps``/``decaps``
    on bytes, fixed sizes) and wrap it, alone or with X25519 through the generic hybrid
    combiner::

        MY = PrimitiveKem(MyKem(), group=0xFE70)
        provider = DEFAULT_PROVIDER.with_groups(
            group_entry(MY, name="MYKEM", level=128, post_quantum=True),
            group_entry(HybridKem(X25519, MY, pq_first=True, group=0xFE71),
                        name="X25519MYKEM", level=128, post_quantum=True, hybrid=True),
        )

    (or implement :class:`~nautilus_tls.crypto.kem.Kem` directly, as ECDH and ML-KEM do).
    Non-standard groups take a private-use code point, 0xFE00-0xFEFF (RFC 8446 §4.2.7); shares
    must fit a KeyShareEntry (65,535 bytes) — a KEM that cannot is listed with
    :func:`unnegotiable_kem_entry`.
Cipher suites (AEADs)
    A :class:`~nautilus_tls.crypto.suites.SuiteParams` whose ``aead`` builds the AEAD from a
    key, wrapped by :func:`suite_entry`. The record layer fixes a 16-byte tag and a 12-byte nonce,
    and the code point must be a :class:`~nautilus_tls.wire.enums.CipherSuite` member
    (private-use cipher suites are not supported: the record layer names suites through that
    enum). Example: :data:`~nautilus_tls.crypto.suites.AES_128_CCM_SHA256`, in no provider by
    default — ``provider.with_suites(aes_128_ccm_entry())``.
Signature schemes
    Implement :class:`~nautilus_tls.crypto.signatures.SignatureProvider` (``fits_private``,
    ``certificate_public_key``, ``sign``, ``verify``) and wrap it with
    :func:`signature_scheme_entry`; private-use code points are 0xFE00-0xFFFF (RFC 8446
    §4.2.3). SLH-DSA is the built-in example (:mod:`nautilus_tls.crypto.slhdsa`).

An algorithm is negotiable only when both peers' providers have it and both list it (explicitly
or through a policy preset); a code point the provider lacks is ignored like any unknown value.

Our private-use code points (not IANA-assigned; Nautilus peers only):

======  ====================  =========================================================
0xFE30  HQC128                HQC-128 (PQClean)
0xFE31  HQC192                HQC-192
0xFE32  HQC256                HQC-256
0xFE33  X25519HQC128          HQC-128 share || X25519 share; secrets concatenated alike
0xFE34  X25519HQC192          HQC-192 || X25519
0xFE35  X25519HQC256          HQC-256 || X25519
0xFE40  SNTRUP761             sntrup761 (PQClean)
0xFE41  X25519SNTRUP761       sntrup761 || X25519
0xFE50  FrodoKEM640AES        FrodoKEM-640-AES (crypto/frodokem.py; frodokem_provider())
0xFE51  FrodoKEM640SHAKE      FrodoKEM-640-SHAKE
0xFE52  FrodoKEM976AES        FrodoKEM-976-AES
0xFE53  FrodoKEM976SHAKE      FrodoKEM-976-SHAKE
0xFE54  FrodoKEM1344AES       FrodoKEM-1344-AES
0xFE55  FrodoKEM1344SHAKE     FrodoKEM-1344-SHAKE
0xFE56  X25519FrodoKEM640AES  FrodoKEM-640-AES || X25519; secrets concatenated alike
0xFE57  X25519FrodoKEM640SHAKE  FrodoKEM-640-SHAKE || X25519
0xFE58  X25519FrodoKEM976AES  FrodoKEM-976-AES || X25519
0xFE59  X25519FrodoKEM976SHAKE  FrodoKEM-976-SHAKE || X25519
0xFE5A  X25519FrodoKEM1344AES  FrodoKEM-1344-AES || X25519
0xFE5B  X25519FrodoKEM1344SHAKE  FrodoKEM-1344-SHAKE || X25519
0xFE5C  SecP256r1FrodoKEM640AES  P-256 || FrodoKEM-640-AES (ECDH first, as SecP256r1MLKEM768)
0xFE5D  SecP256r1FrodoKEM640SHAKE  P-256 || FrodoKEM-640-SHAKE
0xFE60  BIKEL1                BIKE-L1, round 4 (crypto/bike.py; bike_provider()); not NIST-selected
0xFE61  BIKEL3                BIKE-L3
0xFE62  BIKEL5                BIKE-L5
0xFE63  X25519BIKEL1          BIKE-L1 || X25519; secrets concatenated alike
0xFE64  X25519BIKEL3          BIKE-L3 || X25519
0xFE65  X25519BIKEL5          BIKE-L5 || X25519
0xFE00  slhdsa_sha2_128s      SLH-DSA-SHA2-128s, key bound by certificate extension
0xFE01  slhdsa_sha2_128f      SLH-DSA-SHA2-128f
0xFE03  slhdsa_sha2_192f      SLH-DSA-SHA2-192f
0xFE05  slhdsa_sha2_256f      SLH-DSA-SHA2-256f
0xFE10  mldsa65_ecdsa_secp256r1_sha512  composite id-MLDSA65-ECDSA-P256-SHA512
                              (draft-ietf-lamps-pq-composite-sigs; composite_provider())
0xFE11  mldsa65_ed25519_sha512  composite id-MLDSA65-Ed25519-SHA512
======  ====================  =========================================================

The groups are in the NamedGroup space, the ``slhdsa_*`` and ``mldsa65_*`` schemes in the
SignatureScheme space. A composite scheme signs the CertificateVerify content as the draft's
message ``M`` with the empty context; its key is the certificate's composite
SubjectPublicKeyInfo, and such chains are validated by :mod:`~nautilus_tls.crypto.composite_x509`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, TypeVar

from cryptography.hazmat.primitives import hpke

from nautilus_tls.crypto import bike, composite, frodokem, pqclean, signatures, slhdsa, suites
from nautilus_tls.crypto.kem import (
    MAX_KEY_SHARE_LEN,
    PRIVATE_USE_GROUPS,
    BikeGroup,
    EcdhKem,
    FrodoGroup,
    GroupInfo,
    HybridKem,
    Kem,
    KemPrimitive,
    MlKem,
    PrimitiveKem,
    PrivateGroup,
)
from nautilus_tls.crypto.signatures import (
    PRIVATE_USE_SCHEMES,
    PrivateKey,
    PrivateSignatureScheme,
    SchemeInfo,
    SignatureProvider,
)
from nautilus_tls.crypto.suites import SuiteInfo, SuiteParams
from nautilus_tls.errors import AlertDescription, LocalProtocolError, PeerMisbehaved
from nautilus_tls.proofs import SignatureVerified
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme, display_name

__all__ = [
    "DEFAULT_PROVIDER",
    "Clock",
    "CryptoProvider",
    "Entropy",
    "GroupEntry",
    "HpkeSuite",
    "SchemeEntry",
    "SuiteEntry",
    "SystemEntropy",
    "aes_128_ccm_entry",
    "bike_provider",
    "combine",
    "composite_provider",
    "default_provider",
    "frodokem_provider",
    "group_entry",
    "pqcrypto_provider",
    "signature_scheme_entry",
    "suite_entry",
    "unnegotiable_kem_entry",
    "wall_clock",
    "with_bike",
    "with_composite",
    "with_frodokem",
    "with_pqcrypto",
]


# --- randomness and time ------------------------------------------------------------------------


class Entropy(Protocol):
    """Where randomness comes from; tests inject fixed values (RFC 8448 traces)."""

    def random_bytes(self, n: int) -> bytes: ...

    def private_key_for(self, group: int) -> bytes | None:
        """Raw private key bytes for ``group``'s next key share, or None for a fresh one."""
        ...


class SystemEntropy:
    """The operating system's CSPRNG; fresh key shares from the KEMs' own generators."""

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)

    def private_key_for(self, group: int) -> bytes | None:
        return None


Clock = Callable[[], float]


def wall_clock() -> float:
    return time.time()


# --- entries ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One group: its table entry and its KEM (``kem`` is None for an unnegotiable KEM, listed
    and measured through ``primitive`` only)."""

    info: GroupInfo
    kem: Kem | None
    primitive: KemPrimitive | None = None


@dataclass(frozen=True, slots=True)
class SuiteEntry:
    params: SuiteParams
    info: SuiteInfo


@dataclass(frozen=True, slots=True)
class SchemeEntry:
    """One signature scheme. ``signer`` is None for the pyca/cryptography schemes (signed and
    verified by :mod:`nautilus_tls.crypto.signatures`), else the scheme's own implementation."""

    info: SchemeInfo
    signer: SignatureProvider | None = None


@dataclass(frozen=True, slots=True)
class HpkeSuite:
    """An HPKE ciphersuite (RFC 9180) the provider offers, e.g. for Encrypted Client Hello.
    Nothing in the handshake uses HPKE yet; the set is here so that ECH can take it from the
    provider like everything else."""

    kem: hpke.KEM
    kdf: hpke.KDF
    aead: hpke.AEAD

    def suite(self) -> hpke.Suite:
        """pyca/cryptography's HPKE object for this suite."""
        return hpke.Suite(self.kem, self.kdf, self.aead)


def _check_group_code(code: int, standard: bool, name: str) -> None:
    if not 0 < code <= 0xFFFF:
        raise ValueError(f"{name}: group code point {code:#x} is not a uint16")
    private = code in PRIVATE_USE_GROUPS
    if standard and private:
        raise ValueError(f"{name}: {code:#06x} is a private-use code point, not a standard one")
    if not standard and not private:
        raise ValueError(
            f"{name}: a non-standard group needs a private-use code point (0xFE00-0xFEFF), "
            f"not {code:#06x}"
        )


def group_entry(
    kem: Kem,
    *,
    name: str,
    level: int,
    post_quantum: bool,
    hybrid: bool = False,
    standard: bool = False,
    requires: str | None = None,
    reference: str = "",
) -> GroupEntry:
    """``kem`` as a negotiable group under its code point ``kem.group``.

    Non-standard groups must use a private-use code point (0xFE00-0xFEFF); both shares must fit
    a KeyShareEntry (at most 65,535 bytes) — otherwise use :func:`unnegotiable_kem_entry`.
    ``requires`` names an optional package without which the group is listed but unavailable.
    """
    code = int(kem.group)
    _check_group_code(code, standard, name)
    largest = max(kem.client_share_len, kem.server_share_len)
    if largest > MAX_KEY_SHARE_LEN:
        raise ValueError(
            f"{name}: a {largest}-byte share cannot travel in a KeyShareEntry "
            f"(at most {MAX_KEY_SHARE_LEN} bytes); list it with unnegotiable_kem_entry"
        )
    info = GroupInfo(
        name=name,
        code=code,
        level=level,
        post_quantum=post_quantum,
        hybrid=hybrid,
        standard=standard,
        client_share_len=kem.client_share_len,
        server_share_len=kem.server_share_len,
        shared_secret_len=kem.shared_secret_len,
        requires=requires,
        reference=reference,
    )
    return GroupEntry(info, kem)


def unnegotiable_kem_entry(
    primitive: KemPrimitive,
    *,
    level: int,
    limitation: str,
    requires: str | None = None,
    reference: str = "",
) -> GroupEntry:
    """A KEM that TLS 1.3 cannot carry (no code point, never offered or accepted)."""
    info = GroupInfo(
        name=primitive.name,
        code=None,
        level=level,
        post_quantum=True,
        hybrid=False,
        standard=False,
        client_share_len=primitive.public_key_len,
        server_share_len=primitive.ciphertext_len,
        shared_secret_len=primitive.shared_secret_len,
        requires=requires,
        limitation=limitation,
        reference=reference,
    )
    return GroupEntry(info, None, primitive)


def suite_entry(
    params: SuiteParams, *, level: int, standard: bool = True, reference: str = ""
) -> SuiteEntry:
    """A cipher suite, checked against the record layer: a 12-byte nonce, a 16-byte tag and a
    positive ``params.confidentiality_limit`` (records per key before a KeyUpdate, §5.5)."""
    suite = params.suite
    if params.iv_len != 12:
        raise ValueError(f"{suite.name}: the record layer builds 12-byte nonces")
    probe = params.new_aead(bytes(params.key_len)).encrypt(bytes(params.iv_len), b"", b"")
    if len(probe) != suites.TAG_LEN:
        raise ValueError(f"{suite.name}: the record layer needs a {suites.TAG_LEN}-byte AEAD tag")
    if params.confidentiality_limit < 1:
        raise ValueError(f"{suite.name}: confidentiality_limit must be positive")
    info = SuiteInfo(
        name=suite.name,
        code=int(suite),
        level=level,
        key_len=params.key_len,
        hash_name=params.hash_name,
        standard=standard,
        reference=reference,
    )
    return SuiteEntry(params, info)


def aes_128_ccm_entry() -> SuiteEntry:
    """TLS_AES_128_CCM_SHA256 (a standard suite, in no provider by default: few peers want it
    outside constrained devices)."""
    return suite_entry(suites.AES_128_CCM_SHA256, level=128, reference="RFC 8446")


def signature_scheme_entry(
    signer: SignatureProvider,
    *,
    code: int,
    name: str,
    level: int,
    post_quantum: bool,
    public_key_len: int,
    signature_len: int,
    standard: bool = False,
    requires: str | None = None,
    reference: str = "",
    note: str = "",
) -> SchemeEntry:
    """``signer`` as a CertificateVerify scheme under ``code``. Non-standard schemes need a
    private-use code point (0xFE00-0xFFFF)."""
    private = code in PRIVATE_USE_SCHEMES
    if not 0 < code <= 0xFFFF or standard == private:
        raise ValueError(
            f"{name}: {code:#06x} is not a {'standard' if standard else 'private-use'} code point"
        )
    if signature_len > 0xFFFF:
        raise ValueError(f"{name}: CertificateVerify.signature is at most 65,535 bytes")
    info = SchemeInfo(
        name=name,
        code=code,
        level=level,
        post_quantum=post_quantum,
        standard=standard,
        public_key_len=public_key_len,
        signature_len=signature_len,
        requires=requires,
        reference=reference,
        note=note,
    )
    return SchemeEntry(info, signer)


# --- the provider -------------------------------------------------------------------------------

_E = TypeVar("_E", GroupEntry, SuiteEntry, SchemeEntry)


def _merged(old: tuple[_E, ...], new: Iterable[_E], key: Callable[[_E], object]) -> tuple[_E, ...]:
    """``old`` with each of ``new`` replacing the entry of the same key in place, or appended."""
    out = list(old)
    for entry in new:
        at = next((i for i, e in enumerate(out) if key(e) == key(entry)), None)
        if at is None:
            out.append(entry)
        else:
            out[at] = entry
    return tuple(out)


def _group_key(e: GroupEntry) -> object:
    return e.info.code if e.info.code is not None else e.info.name.lower()


def _unique(kind: str, keys: Iterable[object]) -> None:
    seen: set[object] = set()
    for k in keys:
        if k in seen:
            raise ValueError(f"a provider lists {kind} {k!r} twice")
        seen.add(k)


@dataclass(frozen=True, slots=True, eq=False)
class CryptoProvider:
    """The algorithms one configuration can use, and its randomness and clock. Immutable:
    build variants with the ``with_*``/``without`` methods, ``|`` or :func:`combine`."""

    groups: tuple[GroupEntry, ...] = ()
    cipher_suites: tuple[SuiteEntry, ...] = ()
    signature_schemes: tuple[SchemeEntry, ...] = ()
    hpke_suites: tuple[HpkeSuite, ...] = ()
    entropy: Entropy = field(default_factory=SystemEntropy)
    clock: Clock = wall_clock
    _group_by_code: Mapping[int, GroupEntry] = field(init=False, repr=False)
    _group_by_name: Mapping[str, GroupEntry] = field(init=False, repr=False)
    _suite_by_code: Mapping[int, SuiteEntry] = field(init=False, repr=False)
    _scheme_by_code: Mapping[int, SchemeEntry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _unique("group", (_group_key(g) for g in self.groups))
        _unique("group name", (g.info.name.lower() for g in self.groups))
        _unique("cipher suite", (s.info.code for s in self.cipher_suites))
        _unique("signature scheme", (s.info.code for s in self.signature_schemes))
        _unique("signature scheme name", (s.info.name.lower() for s in self.signature_schemes))
        by_code = {g.info.code: g for g in self.groups if g.info.code is not None}
        object.__setattr__(self, "_group_by_code", MappingProxyType(by_code))
        by_name = {g.info.name.lower(): g for g in self.groups}
        object.__setattr__(self, "_group_by_name", MappingProxyType(by_name))
        suite_map = {s.info.code: s for s in self.cipher_suites}
        object.__setattr__(self, "_suite_by_code", MappingProxyType(suite_map))
        scheme_map = {s.info.code: s for s in self.signature_schemes}
        object.__setattr__(self, "_scheme_by_code", MappingProxyType(scheme_map))

    def __repr__(self) -> str:
        return (
            f"CryptoProvider({len(self.groups)} groups, {len(self.cipher_suites)} cipher suites, "
            f"{len(self.signature_schemes)} signature schemes, {len(self.hpke_suites)} HPKE suites)"
        )

    # --- composition ----------------------------------------------------------------------

    def with_groups(self, *entries: GroupEntry) -> CryptoProvider:
        """Add groups (one with a code point already present replaces it, in place)."""
        return dataclasses.replace(self, groups=_merged(self.groups, entries, _group_key))

    def with_suites(self, *entries: SuiteEntry) -> CryptoProvider:
        merged = _merged(self.cipher_suites, entries, lambda e: e.info.code)
        return dataclasses.replace(self, cipher_suites=merged)

    def with_signature_schemes(self, *entries: SchemeEntry) -> CryptoProvider:
        merged = _merged(self.signature_schemes, entries, lambda e: e.info.code)
        return dataclasses.replace(self, signature_schemes=merged)

    def with_hpke_suites(self, *entries: HpkeSuite) -> CryptoProvider:
        added = tuple(s for s in entries if s not in self.hpke_suites)
        return dataclasses.replace(self, hpke_suites=self.hpke_suites + added)

    def with_entropy(self, entropy: Entropy) -> CryptoProvider:
        return dataclasses.replace(self, entropy=entropy)

    def with_clock(self, clock: Clock) -> CryptoProvider:
        return dataclasses.replace(self, clock=clock)

    def without(self, *names: str) -> CryptoProvider:
        """Drop algorithms by name (case-insensitive; groups, suites and schemes alike).
        ValueError for a name the provider does not have."""
        wanted = {n.lower() for n in names}
        known = {
            *(g.info.name.lower() for g in self.groups),
            *(s.info.name.lower() for s in self.cipher_suites),
            *(s.info.name.lower() for s in self.signature_schemes),
        }
        missing = sorted(wanted - known)
        if missing:
            raise ValueError(f"the provider has no algorithm named {', '.join(missing)}")
        return dataclasses.replace(
            self,
            groups=tuple(g for g in self.groups if g.info.name.lower() not in wanted),
            cipher_suites=tuple(s for s in self.cipher_suites if s.info.name.lower() not in wanted),
            signature_schemes=tuple(
                s for s in self.signature_schemes if s.info.name.lower() not in wanted
            ),
        )

    def __or__(self, other: CryptoProvider) -> CryptoProvider:
        return combine(self, other)

    # --- groups ---------------------------------------------------------------------------

    def kem_for_group(self, group: int) -> Kem | None:
        """The KEM for a group we can negotiate now, or ``None`` (not in this provider, GREASE,
        x448, a group whose optional package is missing, ...)."""
        entry = self._group_by_code.get(group)
        if entry is None or not entry.info.available:
            return None
        return entry.kem

    def group_info(self, group: int) -> GroupInfo | None:
        """The table entry for a code point in this provider (available or not)."""
        entry = self._group_by_code.get(group)
        return entry.info if entry is not None else None

    def group_name(self, group: int) -> str:
        """The provider's name for a group, else its IANA name, else its hex value."""
        entry = self._group_by_code.get(group)
        return entry.info.name if entry is not None else display_name(NamedGroup, group)

    def group_by_name(self, name: str) -> GroupInfo | None:
        """A group by name (case-insensitive), negotiable or not."""
        entry = self._group_by_name.get(name.lower())
        return entry.info if entry is not None else None

    def group_infos(self) -> tuple[GroupInfo, ...]:
        """Every group in the provider's order (unnegotiable KEMs included)."""
        return tuple(g.info for g in self.groups)

    def unnegotiable_primitive(self, name: str) -> KemPrimitive | None:
        """The primitive behind an unnegotiable KEM's table entry (to measure it)."""
        entry = self._group_by_name.get(name.lower())
        return entry.primitive if entry is not None else None

    # --- cipher suites --------------------------------------------------------------------

    def suite_params(self, suite: int) -> SuiteParams | None:
        """The parameters of a suite in this provider, or ``None`` (unknown, GREASE, SCSV)."""
        entry = self._suite_by_code.get(suite)
        return entry.params if entry is not None else None

    def suite_info(self, suite: int) -> SuiteInfo | None:
        entry = self._suite_by_code.get(suite)
        return entry.info if entry is not None else None

    def suite_name(self, suite: int) -> str:
        entry = self._suite_by_code.get(suite)
        return entry.info.name if entry is not None else display_name(CipherSuite, suite)

    def suite_infos(self) -> tuple[SuiteInfo, ...]:
        return tuple(s.info for s in self.cipher_suites)

    # --- signature schemes ----------------------------------------------------------------

    def scheme_info(self, code: int) -> SchemeInfo | None:
        entry = self._scheme_by_code.get(code)
        return entry.info if entry is not None else None

    def scheme_name(self, code: int) -> str:
        entry = self._scheme_by_code.get(code)
        return entry.info.name if entry is not None else display_name(SignatureScheme, code)

    def scheme_by_name(self, name: str) -> SchemeInfo | None:
        wanted = name.lower()
        return next((s.info for s in self.signature_schemes if s.info.name.lower() == wanted), None)

    def scheme_infos(self) -> tuple[SchemeInfo, ...]:
        """Every scheme in the provider's order."""
        return tuple(s.info for s in self.signature_schemes)

    def signer_for(self, code: int) -> SignatureProvider | None:
        """The implementation behind a scheme of our own (None for a pyca scheme or unknown)."""
        entry = self._scheme_by_code.get(code)
        return entry.signer if entry is not None else None

    def _usable_signer(self, code: int) -> SignatureProvider | None:
        entry = self._scheme_by_code.get(code)
        if entry is None or entry.signer is None or not entry.info.available:
            return None
        return entry.signer

    def _has_builtin(self, code: int) -> bool:
        entry = self._scheme_by_code.get(code)
        return entry is not None and entry.signer is None

    def schemes_for_key(
        self, key: PrivateKey, *, certificate: bytes | None = None
    ) -> tuple[SignatureScheme | int, ...]:
        """The CertificateVerify schemes of this provider ``key`` can sign with, in preference
        order. A scheme with its own signer (SLH-DSA) fits when ``certificate`` binds its public
        key; for RSA keys ``certificate`` decides between ``rsa_pss_rsae_*`` and ``rsa_pss_pss_*``.
        """
        own = tuple(
            e.info.code
            for e in self.signature_schemes
            if e.signer is not None and e.info.available and e.signer.fits_private(key, certificate)
        )
        if own:
            return own
        builtin = signatures.builtin_schemes_for_key(key, certificate=certificate)
        return tuple(s for s in builtin if self._has_builtin(s))

    def sign(self, key: PrivateKey, scheme: int, message: bytes) -> bytes:
        """Sign ``message`` (the CertificateVerify content) with ``key`` under ``scheme``."""
        signer = self._usable_signer(scheme)
        if signer is not None:
            if not signer.fits_private(key, None):
                raise LocalProtocolError(
                    f"{self.scheme_name(scheme)} does not fit a {type(key).__name__}"
                )
            return signer.sign(key, message)
        if not self._has_builtin(scheme):
            raise LocalProtocolError(
                f"cannot sign CertificateVerify with {self.scheme_name(scheme)}"
            )
        return signatures.sign_builtin(key, scheme, message)

    def verify_spki(
        self, spki: bytes, scheme: int, signature: bytes, message: bytes
    ) -> SignatureVerified:
        """Check a CertificateVerify signature against the peer's public key, a DER
        SubjectPublicKeyInfo: ``PeerMisbehaved(illegal_parameter)`` for a scheme this provider
        does not accept in CertificateVerify or that does not fit the key,
        ``PeerMisbehaved(decrypt_error)`` for a bad signature (RFC 8446 §4.4.3),
        ``BadCertificate`` for an unparsable key. A scheme whose key only a certificate can
        carry (our SLH-DSA, see :mod:`.slhdsa`) needs :meth:`verify`."""
        name = self.scheme_name(scheme)
        if self._usable_signer(scheme) is not None:
            # RFC 8446 §4.4.3: the key we were given cannot verify this scheme.
            raise PeerMisbehaved(
                f"{name} needs the key its certificate binds, not a SubjectPublicKeyInfo",
                alert=AlertDescription.illegal_parameter,
            )
        if not self._has_builtin(scheme):
            raise signatures.not_allowed_in_certificate_verify(name)
        return signatures.verify_spki(spki, scheme, signature, message, name=name)

    def verify(
        self, certificate: bytes, scheme: int, signature: bytes, message: bytes
    ) -> SignatureVerified:
        """:meth:`verify_spki` against the key of the peer's end-entity certificate (DER), or,
        for a scheme with its own signer (SLH-DSA), the key the certificate binds in an
        extension. Same alerts; ``BadCertificate`` for an unparsable certificate."""
        name = self.scheme_name(scheme)
        signer = self._usable_signer(scheme)
        if signer is not None:
            return signatures.verify_provided(
                signer, scheme, certificate, signature, message, name=name
            )
        if not self._has_builtin(scheme):
            raise signatures.not_allowed_in_certificate_verify(name)
        return signatures.verify_builtin(certificate, scheme, signature, message, name=name)


def combine(first: CryptoProvider, second: CryptoProvider) -> CryptoProvider:
    """``first`` with ``second``'s algorithms added (``second``'s entry wins where both have a
    code point, as in ``dict | dict``); randomness and clock stay ``first``'s."""
    return (
        first.with_groups(*second.groups)
        .with_suites(*second.cipher_suites)
        .with_signature_schemes(*second.signature_schemes)
        .with_hpke_suites(*second.hpke_suites)
    )


# --- pyca/cryptography: the default provider ----------------------------------------------------

_ECDHE_MLKEM = "draft-ietf-tls-ecdhe-mlkem"
_MLKEM = "draft-ietf-tls-mlkem"
_X25519 = EcdhKem(NamedGroup.x25519)
_P256 = EcdhKem(NamedGroup.secp256r1)
_P384 = EcdhKem(NamedGroup.secp384r1)
_MLKEM768 = MlKem(768)
_MLKEM1024 = MlKem(1024)


def _pyca_groups() -> tuple[GroupEntry, ...]:
    g = NamedGroup
    # fmt: off
    return (
        group_entry(HybridKem(_X25519, _MLKEM768, pq_first=True, group=g.X25519MLKEM768), name="X25519MLKEM768", level=192, post_quantum=True, hybrid=True, standard=True, reference=_ECDHE_MLKEM),
        group_entry(HybridKem(_P256, _MLKEM768, pq_first=False, group=g.SecP256r1MLKEM768), name="SecP256r1MLKEM768", level=192, post_quantum=True, hybrid=True, standard=True, reference=_ECDHE_MLKEM),
        group_entry(HybridKem(_P384, _MLKEM1024, pq_first=False, group=g.SecP384r1MLKEM1024), name="SecP384r1MLKEM1024", level=256, post_quantum=True, hybrid=True, standard=True, reference=_ECDHE_MLKEM),
        group_entry(_MLKEM768, name="MLKEM768", level=192, post_quantum=True, standard=True, reference=_MLKEM),
        group_entry(_MLKEM1024, name="MLKEM1024", level=256, post_quantum=True, standard=True, reference=_MLKEM),
        group_entry(_X25519, name="x25519", level=128, post_quantum=False, standard=True, reference="RFC 8446, RFC 7748"),
        group_entry(_P256, name="secp256r1", level=128, post_quantum=False, standard=True, reference="RFC 8446"),
        group_entry(_P384, name="secp384r1", level=192, post_quantum=False, standard=True, reference="RFC 8446"),
    )
    # fmt: on


def _pyca_suites() -> tuple[SuiteEntry, ...]:
    return tuple(
        suite_entry(params, level=level, reference="RFC 8446")
        for params, level in (
            (suites.AES_128_GCM_SHA256, 128),
            (suites.AES_256_GCM_SHA384, 256),
            (suites.CHACHA20_POLY1305_SHA256, 256),
        )
    )


# DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM is ECH's mandatory-to-implement suite.
_PYCA_HPKE = (
    HpkeSuite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM),
    HpkeSuite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305),
    HpkeSuite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM),
)


@functools.cache
def default_provider() -> CryptoProvider:
    """pyca/cryptography's algorithms: the eight IANA groups, the three TLS 1.3 suites, the
    IANA signature schemes and three HPKE suites; the operating system's randomness and clock."""
    return CryptoProvider(
        groups=_pyca_groups(),
        cipher_suites=_pyca_suites(),
        signature_schemes=tuple(SchemeEntry(info) for info in signatures.BUILTIN_SCHEME_INFO),
        hpke_suites=_PYCA_HPKE,
    )


# --- the pqcrypto add-on: PQClean through the optional package, private-use code points --------

_PQ = pqclean.PACKAGE
_HQC = "HQC (PQClean; NIST-selected, FIPS 207 draft)"
_SNTRUP = "Streamlined NTRU Prime (PQClean; as in OpenSSH sntrup761x25519)"
_SLH = "FIPS 205 via PQClean; key bound by certificate extension (crypto/slhdsa.py)"
# Classic McEliece: the public key alone is 261,120 bytes or more — four times what a
# KeyShareEntry can hold (65,535). Listed and measured, never negotiable in TLS 1.3.
_MCELIECE_LIMIT = "{:,}-byte public key > 65,535-byte KeyShareEntry limit (RFC 8446 §4.2.8)"
_MCELIECE = (
    ("ClassicMcEliece348864", "mceliece_348864", 261_120, 96, 128),
    ("ClassicMcEliece460896", "mceliece_460896", 524_160, 156, 192),
    ("ClassicMcEliece6688128", "mceliece_6688128", 1_044_992, 208, 256),
    ("ClassicMcEliece6960119", "mceliece_6960119", 1_047_319, 194, 256),
    ("ClassicMcEliece8192128", "mceliece_8192128", 1_357_824, 208, 256),
)


def _pqclean_groups() -> tuple[GroupEntry, ...]:
    kem = pqclean.PqcleanKemPrimitive
    hqc128 = kem("HQC-128", "hqc_128", public_key_len=2241, ciphertext_len=4433)
    hqc192 = kem("HQC-192", "hqc_192", public_key_len=4514, ciphertext_len=8978)
    hqc256 = kem("HQC-256", "hqc_256", public_key_len=7237, ciphertext_len=14421)
    sntrup = kem("sntrup761", "sntrup_761", public_key_len=1158, ciphertext_len=1039)
    pg = PrivateGroup

    def hybrid(pq: KemPrimitive, pq_group: int, group: int) -> HybridKem:
        return HybridKem(_X25519, PrimitiveKem(pq, group=pq_group), pq_first=True, group=group)

    # fmt: off
    return (
        group_entry(hybrid(hqc128, pg.HQC128, pg.X25519HQC128), name="X25519HQC128", level=128, post_quantum=True, hybrid=True, requires=_PQ, reference=_HQC),
        group_entry(hybrid(hqc192, pg.HQC192, pg.X25519HQC192), name="X25519HQC192", level=192, post_quantum=True, hybrid=True, requires=_PQ, reference=_HQC),
        group_entry(hybrid(hqc256, pg.HQC256, pg.X25519HQC256), name="X25519HQC256", level=256, post_quantum=True, hybrid=True, requires=_PQ, reference=_HQC),
        group_entry(hybrid(sntrup, pg.SNTRUP761, pg.X25519SNTRUP761), name="X25519SNTRUP761", level=128, post_quantum=True, hybrid=True, requires=_PQ, reference=_SNTRUP),
        group_entry(PrimitiveKem(hqc128, group=pg.HQC128), name="HQC128", level=128, post_quantum=True, requires=_PQ, reference=_HQC),
        group_entry(PrimitiveKem(hqc192, group=pg.HQC192), name="HQC192", level=192, post_quantum=True, requires=_PQ, reference=_HQC),
        group_entry(PrimitiveKem(hqc256, group=pg.HQC256), name="HQC256", level=256, post_quantum=True, requires=_PQ, reference=_HQC),
        group_entry(PrimitiveKem(sntrup, group=pg.SNTRUP761), name="SNTRUP761", level=128, post_quantum=True, requires=_PQ, reference=_SNTRUP),
        *(
            unnegotiable_kem_entry(
                kem(name, module, public_key_len=pk, ciphertext_len=ct),
                level=level,
                limitation=_MCELIECE_LIMIT.format(pk),
                requires=_PQ,
                reference="Classic McEliece (PQClean; ISO draft)",
            )
            for name, module, pk, ct, level in _MCELIECE
        ),
    )
    # fmt: on


def _slhdsa_schemes() -> tuple[SchemeEntry, ...]:
    """SLH-DSA, one entry per parameter set; 192s/256s are left out (0.4-0.6 s per signature)."""
    ps = PrivateSignatureScheme
    entries = []
    for code, parameter_set in (
        (ps.slhdsa_sha2_128s, "SLH-DSA-SHA2-128s"),
        (ps.slhdsa_sha2_128f, "SLH-DSA-SHA2-128f"),
        (ps.slhdsa_sha2_192f, "SLH-DSA-SHA2-192f"),
        (ps.slhdsa_sha2_256f, "SLH-DSA-SHA2-256f"),
    ):
        params = slhdsa.PARAMETER_SETS[parameter_set]
        entries.append(
            signature_scheme_entry(
                slhdsa.SlhDsaScheme(params, scheme=code),
                code=code,
                name=code.name,
                level=params.level,
                post_quantum=True,
                public_key_len=params.public_key_len,
                signature_len=params.signature_len,
                requires=_PQ,
                reference=_SLH,
            )
        )
    return tuple(entries)


@functools.cache
def pqcrypto_provider() -> CryptoProvider:
    """The add-on over the optional ``pqcrypto`` package: HQC and sntrup761 (alone and with
    X25519, private-use code points), Classic McEliece (listed, never negotiable) and SLH-DSA.
    Without the package its entries are present but unavailable (see the module docstring).
    Meant to be combined with a base: :func:`with_pqcrypto`."""
    return CryptoProvider(groups=_pqclean_groups(), signature_schemes=_slhdsa_schemes())


def with_pqcrypto(base: CryptoProvider) -> CryptoProvider:
    """``base`` plus the pqcrypto add-on (its randomness and clock kept)."""
    return combine(base, pqcrypto_provider())


DEFAULT_PROVIDER = with_pqcrypto(default_provider())
"""What a config uses unless given a ``provider``: pyca/cryptography plus the pqcrypto add-on —
the algorithm set the library has always had."""


# --- the FrodoKEM add-on: our numpy implementation, private-use code points --------------------

_FRODO = "FrodoKEM (2023 ISO proposal, salted; crypto/frodokem.py, numpy; not constant-time)"


def _frodokem_entry(kem: Kem, name: str, level: int, *, hybrid: bool = False) -> GroupEntry:
    return group_entry(
        kem,
        name=name,
        level=level,
        post_quantum=True,
        hybrid=hybrid,
        requires=frodokem.PACKAGE,
        reference=_FRODO,
    )


def _frodokem_groups() -> tuple[GroupEntry, ...]:
    alone: list[GroupEntry] = []
    hybrids: list[GroupEntry] = []
    for params in frodokem.PARAMETER_SETS.values():
        suffix = f"FrodoKEM{params.n}{params.matrix.upper()}"
        pq = PrimitiveKem(frodokem.FrodoKem(params), group=FrodoGroup[suffix])
        alone.append(_frodokem_entry(pq, suffix, params.level))
        pairs = [(f"X25519{suffix}", _X25519, True)]
        if params.n == 640:
            pairs.append((f"SecP256r1{suffix}", _P256, False))
        for name, classical, pq_first in pairs:
            kem = HybridKem(classical, pq, pq_first=pq_first, group=FrodoGroup[name])
            hybrids.append(_frodokem_entry(kem, name, params.level, hybrid=True))
    return (*hybrids, *alone)


@functools.cache
def frodokem_provider() -> CryptoProvider:
    """The FrodoKEM add-on: six parameter sets alone, with X25519, and FrodoKEM-640 with P-256
    (private-use code points, see the module docstring). Without ``numpy`` its entries are
    present but unavailable. Meant to be combined with a base: :func:`with_frodokem`."""
    return CryptoProvider(groups=_frodokem_groups())


def with_frodokem(base: CryptoProvider) -> CryptoProvider:
    """``base`` plus the FrodoKEM add-on (its randomness and clock kept)."""
    return combine(base, frodokem_provider())


# --- the composite ML-DSA add-on: draft-ietf-lamps-pq-composite-sigs, private-use code points ---

_COMPOSITE = "draft-ietf-lamps-pq-composite-sigs (crypto/composite.py; valid only if both verify)"


def _composite_schemes() -> tuple[SchemeEntry, ...]:
    ps = composite.CompositeSignatureScheme
    return tuple(
        signature_scheme_entry(
            composite.CompositeScheme(algorithm, scheme=code),
            code=code,
            name=code.name,
            level=192,  # ML-DSA-65's category 3; the classical half adds no level, only a hedge
            post_quantum=True,
            public_key_len=algorithm.public_key_len,
            signature_len=algorithm.max_signature_len,
            reference=_COMPOSITE,
            note=f"ML-DSA-65 + {'ECDSA P-256' if algorithm.trad == 'ecdsa-p256' else 'Ed25519'}",
        )
        for code, algorithm in (
            (ps.mldsa65_ecdsa_secp256r1_sha512, composite.MLDSA65_ECDSA_P256),
            (ps.mldsa65_ed25519_sha512, composite.MLDSA65_ED25519),
        )
    )


@functools.cache
def composite_provider() -> CryptoProvider:
    """The composite ML-DSA add-on: ML-DSA-65 with ECDSA P-256 (0xFE10) and with Ed25519
    (0xFE11) for CertificateVerify. Meant to be combined with a base: :func:`with_composite`."""
    return CryptoProvider(signature_schemes=_composite_schemes())


def with_composite(base: CryptoProvider) -> CryptoProvider:
    """``base`` plus the composite ML-DSA add-on (its randomness and clock kept)."""
    return combine(base, composite_provider())


# --- the BIKE add-on: our numpy implementation, private-use code points ------------------------

_BIKE = (
    "BIKE round 4 (crypto/bike.py, numpy; not constant-time). Not selected by NIST (HQC was); "
    "decoding failure ~2^-128/2^-192/2^-256 (L1/L3/L5) per decapsulation: a failed handshake"
)


def _bike_groups() -> tuple[GroupEntry, ...]:
    alone: list[GroupEntry] = []
    hybrids: list[GroupEntry] = []
    for params in bike.PARAMETER_SETS.values():
        suffix = params.name.replace("-", "")
        pq = PrimitiveKem(bike.BikeKem(params), group=BikeGroup[suffix])
        hybrid = HybridKem(_X25519, pq, pq_first=True, group=BikeGroup[f"X25519{suffix}"])
        for kem, name, is_hybrid, out in (
            (pq, suffix, False, alone),
            (hybrid, f"X25519{suffix}", True, hybrids),
        ):
            out.append(
                group_entry(
                    kem,
                    name=name,
                    level=params.level,
                    post_quantum=True,
                    hybrid=is_hybrid,
                    requires=bike.PACKAGE,
                    reference=_BIKE,
                )
            )
    return (*hybrids, *alone)


@functools.cache
def bike_provider() -> CryptoProvider:
    """The BIKE add-on: L1/L3/L5 alone and with X25519 (private-use code points 0xFE60-0xFE65).
    Without ``numpy`` its entries are present but unavailable. NIST did not select BIKE; meant to
    be combined explicitly: :func:`with_bike`."""
    return CryptoProvider(groups=_bike_groups())


def with_bike(base: CryptoProvider) -> CryptoProvider:
    """``base`` plus the BIKE add-on (its randomness and clock kept)."""
    return combine(base, bike_provider())
