"""The provider registry: everything pluggable, in one import.

Three kinds of algorithm can be added without touching the handshake, each as one class plus
one registration line:

Key exchange groups (KEM-shaped)
    Implement :class:`KemPrimitive` (``keygen``/``encaps``/``decaps`` on bytes, fixed sizes) and
    register it, alone or with X25519 through the generic hybrid combiner::

        MY = PrimitiveKem(MyKem(), group=0xFE70)
        register_group(MY, name="MYKEM", level=128, post_quantum=True)
        register_group(HybridKem(X25519, MY, pq_first=True, group=0xFE71),
                       name="X25519MYKEM", level=128, post_quantum=True, hybrid=True)

    (or implement :class:`Kem` directly, as ECDH and ML-KEM do). Non-standard groups take a
    private-use code point, 0xFE00-0xFEFF (RFC 8446 §4.2.7); shares must fit a KeyShareEntry
    (65,535 bytes) — a KEM that cannot is listed with :func:`register_unnegotiable_kem`.
Cipher suites (AEADs)
    A :class:`SuiteParams` whose ``aead`` builds the AEAD from a key, registered with
    :func:`register_cipher_suite`. The record layer fixes a 16-byte tag and a 12-byte nonce, and
    the code point must be a :class:`~nautilus_tls.wire.enums.CipherSuite` member (private-use
    cipher suites are not supported: the record layer names suites through that enum).
    Example: :data:`AES_128_CCM_SHA256` — ``register_cipher_suite(AES_128_CCM_SHA256, ...)``
    (see :func:`register_aes_128_ccm`); not registered by default.
Signature schemes
    Implement :class:`SignatureProvider` (``fits_private``, ``certificate_public_key``,
    ``sign``, ``verify``) and register it with :func:`register_signature_scheme`; private-use
    code points are 0xFE00-0xFFFF (RFC 8446 §4.2.3). SLH-DSA is the built-in example
    (:mod:`nautilus_tls.crypto.slhdsa`).

A registered algorithm is negotiable only when both peers register it and list it (explicitly
or through a policy preset); an unregistered code point is ignored like any unknown value.

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
0xFE00  slhdsa_sha2_128s      SLH-DSA-SHA2-128s, key bound by certificate extension
0xFE01  slhdsa_sha2_128f      SLH-DSA-SHA2-128f
0xFE03  slhdsa_sha2_192f      SLH-DSA-SHA2-192f
0xFE05  slhdsa_sha2_256f      SLH-DSA-SHA2-256f
======  ====================  =========================================================

The groups are in the NamedGroup space, the ``slhdsa_*`` schemes in the SignatureScheme space.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from nautilus_tls.crypto.kem import (
    MAX_KEY_SHARE_LEN,
    PRIVATE_USE_GROUPS,
    GroupInfo,
    HybridKem,
    Kem,
    KemPrimitive,
    KeyExchange,
    PrimitiveKem,
    PrivateGroup,
    group_by_name,
    group_info,
    group_name,
    kem_for_group,
    register_group,
    register_unnegotiable_kem,
    registered_groups,
    unregister_group,
)
from nautilus_tls.crypto.signatures import (
    PRIVATE_USE_SCHEMES,
    PluginPrivateKey,
    PrivateSignatureScheme,
    SchemeInfo,
    SignatureProvider,
    register_signature_scheme,
    registered_schemes,
    scheme_by_name,
    scheme_info,
    scheme_name,
    unregister_signature_scheme,
)
from nautilus_tls.crypto.suites import (
    SuiteInfo,
    SuiteParams,
    register_cipher_suite,
    registered_suites,
    suite_info,
    suite_name,
    unregister_cipher_suite,
)
from nautilus_tls.wire.enums import CipherSuite

__all__ = [
    "AES_128_CCM_SHA256",
    "MAX_KEY_SHARE_LEN",
    "PRIVATE_USE_GROUPS",
    "PRIVATE_USE_SCHEMES",
    "GroupInfo",
    "HybridKem",
    "Kem",
    "KemPrimitive",
    "KeyExchange",
    "PluginPrivateKey",
    "PrimitiveKem",
    "PrivateGroup",
    "PrivateSignatureScheme",
    "SchemeInfo",
    "SignatureProvider",
    "SuiteInfo",
    "SuiteParams",
    "group_by_name",
    "group_info",
    "group_name",
    "kem_for_group",
    "register_aes_128_ccm",
    "register_cipher_suite",
    "register_group",
    "register_signature_scheme",
    "register_unnegotiable_kem",
    "registered_groups",
    "registered_schemes",
    "registered_suites",
    "scheme_by_name",
    "scheme_info",
    "scheme_name",
    "suite_info",
    "suite_name",
    "unregister_cipher_suite",
    "unregister_group",
    "unregister_signature_scheme",
]

AES_128_CCM_SHA256 = SuiteParams(
    CipherSuite.TLS_AES_128_CCM_SHA256, "sha256", 32, 16, 12, aead=AESCCM
)
"""TLS_AES_128_CCM_SHA256 (RFC 8446 §B.4) with pyca/cryptography's AES-CCM (16-byte tag)."""


def register_aes_128_ccm() -> SuiteInfo:
    """Make TLS_AES_128_CCM_SHA256 negotiable (a standard suite, off by default: few peers
    want it outside constrained devices). ``unregister_cipher_suite`` undoes it."""
    # RFC 8446 §5.5 points to the AES-GCM analysis; CCM's bound is of the same order.
    return register_cipher_suite(
        AES_128_CCM_SHA256, level=128, confidentiality_limit=2**24, reference="RFC 8446"
    )
