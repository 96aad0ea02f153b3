"""Signature schemes for CertificateVerify (RFC 8446 §4.2.3, §4.4.3; draft-ietf-tls-mldsa).

* RSA: RSASSA-PSS only, salt length = hash length. ``rsa_pss_rsae_*`` need an rsaEncryption
  key, ``rsa_pss_pss_*`` an RSASSA-PSS (id-RSASSA-PSS) key; PKCS#1 v1.5 is never used for
  CertificateVerify (it appears only in :data:`CERTIFICATE_CHAIN_SCHEMES`).
* ECDSA: the scheme fixes both the curve and the hash (``ecdsa_secp256r1_sha256`` needs a
  P-256 key, and so on); signatures are DER ``ECDSA-Sig-Value``.
* EdDSA (Ed25519, Ed448) and ML-DSA sign the content directly; ML-DSA is pure ML-DSA with the
  empty FIPS 204 context, and the scheme must match the key's parameter set.

An RSASSA-PSS private key loads as a plain RSA key, so whether ``rsa_pss_pss_*`` can be used is
known only from the certificate: pass it to :func:`schemes_for_key`.

Verification takes the peer's public key as a DER SubjectPublicKeyInfo (:func:`verify_spki`),
not a certificate, so keys that come without one (raw public keys) verify the same way; a
successful check returns a :class:`~nautilus_tls.proofs.SignatureVerified`, the value the
handshake's traffic state requires.

Which schemes a connection can use is decided by the config's
:class:`~nautilus_tls.crypto.provider.CryptoProvider`, which signs and verifies through the
functions here (``sign_builtin``/``verify_spki`` for the pyca/cryptography schemes above) or
through a :class:`SignatureProvider` of its own: SLH-DSA (FIPS 205, via the optional
``pqcrypto`` package, in the pqcrypto add-on provider) on private-use code points
0xFE00-0xFE05, with its key bound to an X.509 certificate as described in
:mod:`nautilus_tls.crypto.slhdsa`. Every scheme is described by a :class:`SchemeInfo`
(security level, sizes, standard or private-use); :data:`BUILTIN_SCHEME_INFO` lists ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, padding, rsa
from cryptography.x509.oid import PublicKeyAlgorithmOID

from nautilus_tls.crypto import composite, der, pqclean, slhdsa
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    ConfigError,
    LocalProtocolError,
    PeerMisbehaved,
)
from nautilus_tls.proofs import SignatureVerified, signature_verified
from nautilus_tls.wire.enums import SignatureScheme, first_name

__all__ = [
    "BUILTIN_SCHEME_INFO",
    "CERTIFICATE_CHAIN_SCHEMES",
    "CERTIFICATE_VERIFY_SCHEMES",
    "PRIVATE_USE_SCHEMES",
    "PluginPrivateKey",
    "PrivateKey",
    "PrivateSignatureScheme",
    "SchemeInfo",
    "SignatureProvider",
    "builtin_schemes_for_key",
    "certificate_spki",
    "certificate_verify_content",
    "load_private_key_pem",
    "not_allowed_in_certificate_verify",
    "scheme_label",
    "sign_builtin",
    "verify_builtin",
    "verify_provided",
    "verify_spki",
]


class PluginPrivateKey(Protocol):
    """A private key of a provider's scheme (e.g. :class:`~.slhdsa.SlhDsaPrivateKey`)."""

    @property
    def public_key_bytes(self) -> bytes: ...


PrivateKey = (
    ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
    | mldsa.MLDSA87PrivateKey
    | PluginPrivateKey
)
_PRIVATE_KEY_TYPES = (
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    ec.EllipticCurvePrivateKey,
    rsa.RSAPrivateKey,
    mldsa.MLDSA44PrivateKey,
    mldsa.MLDSA65PrivateKey,
    mldsa.MLDSA87PrivateKey,
)

# What we accept in CertificateVerify, in our order of preference (post-quantum first).
CERTIFICATE_VERIFY_SCHEMES: tuple[SignatureScheme, ...] = (
    SignatureScheme.mldsa65,
    SignatureScheme.mldsa87,
    SignatureScheme.mldsa44,
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.ecdsa_secp384r1_sha384,
    SignatureScheme.ecdsa_secp521r1_sha512,
    SignatureScheme.ed25519,
    SignatureScheme.ed448,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
    SignatureScheme.rsa_pss_pss_sha256,
    SignatureScheme.rsa_pss_pss_sha384,
    SignatureScheme.rsa_pss_pss_sha512,
)

# signature_algorithms_cert: certificates may still be signed with PKCS#1 v1.5 (RFC 8446
# §4.2.3); SHA-1 is not accepted anywhere.
CERTIFICATE_CHAIN_SCHEMES: tuple[SignatureScheme, ...] = (
    *CERTIFICATE_VERIFY_SCHEMES,
    SignatureScheme.rsa_pkcs1_sha256,
    SignatureScheme.rsa_pkcs1_sha384,
    SignatureScheme.rsa_pkcs1_sha512,
)

_SERVER_CONTEXT = b"TLS 1.3, server CertificateVerify"
_CLIENT_CONTEXT = b"TLS 1.3, client CertificateVerify"


def certificate_verify_content(is_server: bool, transcript_hash: bytes) -> bytes:
    """The signed content of CertificateVerify (RFC 8446 §4.4.3): 64 spaces, the context
    string, a zero byte, then Transcript-Hash(Handshake Context, Certificate)."""
    context = _SERVER_CONTEXT if is_server else _CLIENT_CONTEXT
    return b" " * 64 + context + b"\x00" + transcript_hash


# --- one entry per scheme --------------------------------------------------------------------

_Verifier = Callable[[object, bytes, bytes], None]


@dataclass(frozen=True, slots=True)
class _Scheme:
    """How one SignatureScheme signs and verifies, and which keys it fits."""

    private_type: type
    public_type: type
    spki_oid: x509.ObjectIdentifier
    sign: Callable[[object, bytes], bytes]
    verify: _Verifier
    curve: type[ec.EllipticCurve] | None = None

    def fits_private(self, key: object) -> bool:
        if not isinstance(key, self.private_type):
            return False
        if self.curve is not None:
            return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, self.curve)
        return True

    def fits_public(self, key: object, spki_oid: x509.ObjectIdentifier) -> bool:
        if not isinstance(key, self.public_type) or spki_oid != self.spki_oid:
            return False
        if self.curve is not None:
            return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, self.curve)
        return True


def _pss(
    hash_cls: type[hashes.HashAlgorithm],
) -> tuple[Callable[[object, bytes], bytes], _Verifier]:
    algorithm = hash_cls()
    pad = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=algorithm.digest_size)

    def _sign(key: object, message: bytes) -> bytes:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError
        return key.sign(message, pad, algorithm)

    def _verify(key: object, signature: bytes, message: bytes) -> None:
        if not isinstance(key, rsa.RSAPublicKey):
            raise TypeError
        key.verify(signature, message, pad, algorithm)

    return _sign, _verify


def _ecdsa(
    hash_cls: type[hashes.HashAlgorithm],
) -> tuple[Callable[[object, bytes], bytes], _Verifier]:
    def _sign(key: object, message: bytes) -> bytes:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError
        return key.sign(message, ec.ECDSA(hash_cls()))

    def _verify(key: object, signature: bytes, message: bytes) -> None:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise TypeError
        key.verify(signature, message, ec.ECDSA(hash_cls()))

    return _sign, _verify


def _direct_sign(key: object, message: bytes) -> bytes:
    """EdDSA and pure ML-DSA (empty context) sign the content itself."""
    signer: Callable[[bytes], bytes] = key.sign  # type: ignore[attr-defined]
    return signer(message)


def _direct_verify(key: object, signature: bytes, message: bytes) -> None:
    verifier: Callable[[bytes, bytes], None] = key.verify  # type: ignore[attr-defined]
    verifier(signature, message)


def _rsa_entries() -> dict[int, _Scheme]:
    entries: dict[int, _Scheme] = {}
    for hash_cls, rsae, pss in (
        (hashes.SHA256, SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pss_pss_sha256),
        (hashes.SHA384, SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pss_pss_sha384),
        (hashes.SHA512, SignatureScheme.rsa_pss_rsae_sha512, SignatureScheme.rsa_pss_pss_sha512),
    ):
        s, v = _pss(hash_cls)
        entries[rsae] = _Scheme(
            rsa.RSAPrivateKey, rsa.RSAPublicKey, PublicKeyAlgorithmOID.RSAES_PKCS1_v1_5, s, v
        )
        entries[pss] = _Scheme(
            rsa.RSAPrivateKey, rsa.RSAPublicKey, PublicKeyAlgorithmOID.RSASSA_PSS, s, v
        )
    return entries


def _ecdsa_entries() -> dict[int, _Scheme]:
    entries: dict[int, _Scheme] = {}
    for scheme, curve, hash_cls in (
        (SignatureScheme.ecdsa_secp256r1_sha256, ec.SECP256R1, hashes.SHA256),
        (SignatureScheme.ecdsa_secp384r1_sha384, ec.SECP384R1, hashes.SHA384),
        (SignatureScheme.ecdsa_secp521r1_sha512, ec.SECP521R1, hashes.SHA512),
    ):
        s, v = _ecdsa(hash_cls)
        entries[scheme] = _Scheme(
            ec.EllipticCurvePrivateKey,
            ec.EllipticCurvePublicKey,
            PublicKeyAlgorithmOID.EC_PUBLIC_KEY,
            s,
            v,
            curve,
        )
    return entries


_DIRECT: tuple[tuple[SignatureScheme, type, type, x509.ObjectIdentifier], ...] = (
    (
        SignatureScheme.ed25519,
        ed25519.Ed25519PrivateKey,
        ed25519.Ed25519PublicKey,
        PublicKeyAlgorithmOID.ED25519,
    ),
    (
        SignatureScheme.ed448,
        ed448.Ed448PrivateKey,
        ed448.Ed448PublicKey,
        PublicKeyAlgorithmOID.ED448,
    ),
    (
        SignatureScheme.mldsa44,
        mldsa.MLDSA44PrivateKey,
        mldsa.MLDSA44PublicKey,
        PublicKeyAlgorithmOID.ML_DSA_44,
    ),
    (
        SignatureScheme.mldsa65,
        mldsa.MLDSA65PrivateKey,
        mldsa.MLDSA65PublicKey,
        PublicKeyAlgorithmOID.ML_DSA_65,
    ),
    (
        SignatureScheme.mldsa87,
        mldsa.MLDSA87PrivateKey,
        mldsa.MLDSA87PublicKey,
        PublicKeyAlgorithmOID.ML_DSA_87,
    ),
)

_SCHEMES: dict[int, _Scheme] = {
    **_rsa_entries(),
    **_ecdsa_entries(),
    **{
        scheme: _Scheme(priv, pub, oid, _direct_sign, _direct_verify)
        for scheme, priv, pub, oid in _DIRECT
    },
}


def _spki_oid(certificate: bytes) -> x509.ObjectIdentifier | None:
    try:
        return x509.load_der_x509_certificate(certificate).public_key_algorithm_oid
    except ValueError:
        return None


def builtin_schemes_for_key(
    key: PrivateKey, *, certificate: bytes | None = None
) -> tuple[SignatureScheme, ...]:
    """The pyca/cryptography CertificateVerify schemes ``key`` can sign with, in preference
    order (a provider keeps those it offers: ``CryptoProvider.schemes_for_key``).

    For RSA keys ``certificate`` (the end-entity DER) decides between ``rsa_pss_rsae_*``
    (rsaEncryption SPKI, the default) and ``rsa_pss_pss_*`` (RSASSA-PSS SPKI).
    """
    oid = _spki_oid(certificate) if certificate is not None else None
    result: list[SignatureScheme] = []
    for scheme in CERTIFICATE_VERIFY_SCHEMES:
        entry = _SCHEMES[scheme]
        if not entry.fits_private(key):
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            wanted = oid if oid is not None else PublicKeyAlgorithmOID.RSAES_PKCS1_v1_5
            if entry.spki_oid != wanted:
                continue
        result.append(scheme)
    return tuple(result)


def sign_builtin(key: PrivateKey, scheme: int, message: bytes) -> bytes:
    """Sign ``message`` (the CertificateVerify content) with ``key`` under a pyca scheme."""
    entry = _SCHEMES.get(scheme)
    if entry is None or scheme not in CERTIFICATE_VERIFY_SCHEMES:
        raise LocalProtocolError(f"cannot sign CertificateVerify with {scheme_label(scheme)}")
    if not entry.fits_private(key):
        raise LocalProtocolError(f"{scheme_label(scheme)} does not fit a {type(key).__name__}")
    return entry.sign(key, message)


def not_allowed_in_certificate_verify(name: str) -> PeerMisbehaved:
    # RFC 8446 §4.4.3: a scheme we did not offer, or not one for CertificateVerify.
    return PeerMisbehaved(
        f"{name} is not allowed in CertificateVerify", alert=AlertDescription.illegal_parameter
    )


def certificate_spki(certificate: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of a certificate (DER), exactly as the certificate holds
    it (the algorithm OID included: it tells RSASSA-PSS keys from rsaEncryption ones).
    ``BadCertificate`` when the certificate does not parse (RFC 8446 §4.4.2.4)."""
    try:
        return der.spki_from_tbs(x509.load_der_x509_certificate(certificate).tbs_certificate_bytes)
    except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion):
        raise BadCertificate(
            "cannot parse the end-entity certificate", alert=AlertDescription.bad_certificate
        ) from None


def verify_spki(
    spki: bytes, scheme: int, signature: bytes, message: bytes, *, name: str
) -> SignatureVerified:
    """Check a CertificateVerify signature under a pyca scheme against the peer's public key,
    a DER SubjectPublicKeyInfo; ``name`` is the scheme's name for errors.

    Raises ``PeerMisbehaved(illegal_parameter)`` when the scheme is not one we accept for
    CertificateVerify or does not fit the key, ``PeerMisbehaved(decrypt_error)`` when the
    signature does not verify (RFC 8446 §4.4.3), and ``BadCertificate`` when the key cannot
    be parsed.
    """
    entry = _SCHEMES.get(scheme)
    if entry is None or scheme not in CERTIFICATE_VERIFY_SCHEMES:
        raise not_allowed_in_certificate_verify(name)
    try:
        oid = x509.ObjectIdentifier(der.spki_algorithm_oid(spki))
        public_key = serialization.load_der_public_key(spki)
    except (ValueError, UnsupportedAlgorithm):
        # RFC 8446 §4.4.2.4: a key we cannot read is bad_certificate.
        raise BadCertificate(
            "cannot parse the peer's public key", alert=AlertDescription.bad_certificate
        ) from None
    # RFC 8446 §4.4.3: the scheme must fit the key (and rsa_pss_pss_* an RSASSA-PSS key).
    if not entry.fits_public(public_key, oid):
        raise PeerMisbehaved(
            f"{name} does not fit the certificate's key", alert=AlertDescription.illegal_parameter
        )
    try:
        entry.verify(public_key, signature, message)
    except InvalidSignature:
        raise PeerMisbehaved(
            f"CertificateVerify signature ({name}) does not verify",
            alert=AlertDescription.decrypt_error,
        ) from None
    return signature_verified(scheme)


def verify_builtin(
    certificate: bytes, scheme: int, signature: bytes, message: bytes, *, name: str
) -> SignatureVerified:
    """:func:`verify_spki` against the key of the peer's end-entity certificate (DER);
    ``BadCertificate`` when the certificate cannot be parsed."""
    if scheme not in _SCHEMES or scheme not in CERTIFICATE_VERIFY_SCHEMES:
        raise not_allowed_in_certificate_verify(name)
    return verify_spki(certificate_spki(certificate), scheme, signature, message, name=name)


def verify_provided(
    provider: SignatureProvider,
    scheme: int,
    certificate: bytes,
    signature: bytes,
    message: bytes,
    *,
    name: str,
) -> SignatureVerified:
    """:func:`verify_builtin` for a :class:`SignatureProvider`'s scheme (same alerts): its key
    is the one ``certificate`` binds (SLH-DSA: an extension, not the SPKI)."""
    try:
        public_key = provider.certificate_public_key(certificate)
    except ValueError:
        raise BadCertificate(
            "cannot parse the end-entity certificate", alert=AlertDescription.bad_certificate
        ) from None
    if public_key is None:
        raise PeerMisbehaved(
            f"{name} does not fit the certificate's key", alert=AlertDescription.illegal_parameter
        )
    if not provider.verify(public_key, signature, message):
        raise PeerMisbehaved(
            f"CertificateVerify signature ({name}) does not verify",
            alert=AlertDescription.decrypt_error,
        )
    return signature_verified(scheme)


def load_private_key_pem(data: bytes, password: bytes | None = None) -> PrivateKey:
    """Load a PEM private key of a type we can sign CertificateVerify with (including our
    own SLH-DSA PEM, see :mod:`nautilus_tls.crypto.slhdsa`, and composite ML-DSA PKCS#8,
    see :mod:`nautilus_tls.crypto.composite`)."""
    if slhdsa.is_pem(data):
        if password is not None:
            raise ConfigError("SLH-DSA private key files are not encrypted; drop the password")
        return slhdsa.load_pem(data)
    composite_key = composite.load_pem(data)
    if composite_key is not None:
        if password is not None:
            raise ConfigError("composite private key files are not encrypted; drop the password")
        return composite_key
    try:
        key = serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # No detail from the backend: it could echo key material or the password state.
        raise ConfigError("cannot load the private key (bad PEM, password or format)") from None
    if not isinstance(key, _PRIVATE_KEY_TYPES):
        raise ConfigError(f"unsupported private key type {type(key).__name__}")
    if isinstance(key, ec.EllipticCurvePrivateKey) and not builtin_schemes_for_key(key):
        raise ConfigError(f"unsupported elliptic curve {key.curve.name}")
    return key


# --- the scheme table and providers ----------------------------------------------------------

PRIVATE_USE_SCHEMES = range(0xFE00, 0x10000)
"""SignatureScheme code points reserved for private use (RFC 8446 §4.2.3)."""


class PrivateSignatureScheme(IntEnum):
    """Our private-use signature scheme code points: SLH-DSA (FIPS 205) with the key bound to
    the certificate by an extension (see :mod:`nautilus_tls.crypto.slhdsa`). Not IANA-assigned;
    negotiated only between peers whose providers both have them. (Composite ML-DSA's are
    :class:`~nautilus_tls.crypto.composite.CompositeSignatureScheme`.)"""

    slhdsa_sha2_128s = 0xFE00
    slhdsa_sha2_128f = 0xFE01
    slhdsa_sha2_192f = 0xFE03
    slhdsa_sha2_256f = 0xFE05


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    """What the algorithm table says about a signature scheme.

    ``level``: classical strength for ECDSA/EdDSA (P-256 and Ed25519 128, P-384 and Ed448 192,
    P-521 256), 112 for RSA (NIST SP 800-57 for the usual 2048-bit keys: the scheme does not
    fix the modulus), the NIST category as AES key bits for ML-DSA and SLH-DSA.
    ``certificate_verify`` is False for schemes allowed only in certificate chains.
    """

    name: str
    code: int
    level: int
    post_quantum: bool
    standard: bool
    public_key_len: int
    signature_len: int  # the largest signature (ECDSA's DER length varies)
    certificate_verify: bool = True
    requires: str | None = None
    reference: str = ""
    note: str = ""

    @property
    def available(self) -> bool:
        return self.requires is None or pqclean.module_available(self.requires)


class SignatureProvider(Protocol):
    """A signature scheme implemented outside this module (one class per scheme family)."""

    def fits_private(self, key: object, certificate: bytes | None) -> bool:
        """``key`` is this scheme's kind of key, and ``certificate`` (when given, DER) carries
        its public key."""
        ...

    def certificate_public_key(self, certificate: bytes) -> bytes | None:
        """The public key ``certificate`` (DER) holds for this scheme, or None; ValueError when
        it does not parse."""
        ...

    def sign(self, key: object, message: bytes) -> bytes: ...

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool: ...


def scheme_label(code: int) -> str:
    """A scheme's name for messages, without a provider: our private-use name, else the IANA
    name, else its hex value (a provider's own name is ``CryptoProvider.scheme_name``)."""
    return first_name(
        code, PrivateSignatureScheme, composite.CompositeSignatureScheme, SignatureScheme
    )


_RSA_NOTE = "2048-bit key; the level follows the modulus"
_S = SignatureScheme
_FIPS204 = "FIPS 204, draft-ietf-tls-mldsa"
_CHAIN_ONLY = "RFC 8446 (certificates only)"
# fmt: off
BUILTIN_SCHEME_INFO: tuple[SchemeInfo, ...] = tuple(
    SchemeInfo(code.name, int(code), level, pq, True, pk, sig, code in CERTIFICATE_VERIFY_SCHEMES, None, ref, note)
    for code, level, pq, pk, sig, ref, note in (
        (_S.mldsa65, 192, True, 1952, 3309, _FIPS204, ""),
        (_S.mldsa87, 256, True, 2592, 4627, _FIPS204, ""),
        (_S.mldsa44, 128, True, 1312, 2420, _FIPS204, ""),
        (_S.ecdsa_secp256r1_sha256, 128, False, 65, 72, "RFC 8446", ""),
        (_S.ecdsa_secp384r1_sha384, 192, False, 97, 104, "RFC 8446", ""),
        (_S.ecdsa_secp521r1_sha512, 256, False, 133, 139, "RFC 8446", ""),
        (_S.ed25519, 128, False, 32, 64, "RFC 8446, RFC 8032", ""),
        (_S.ed448, 192, False, 57, 114, "RFC 8446, RFC 8032", ""),
        (_S.rsa_pss_rsae_sha256, 112, False, 256, 256, "RFC 8446", _RSA_NOTE),
        (_S.rsa_pss_rsae_sha384, 112, False, 256, 256, "RFC 8446", _RSA_NOTE),
        (_S.rsa_pss_rsae_sha512, 112, False, 256, 256, "RFC 8446", _RSA_NOTE),
        (_S.rsa_pss_pss_sha256, 112, False, 256, 256, "RFC 8446", _RSA_NOTE),
        (_S.rsa_pss_pss_sha384, 112, False, 256, 256, "RFC 8446", _RSA_NOTE),
        (_S.rsa_pss_pss_sha512, 112, False, 256, 256, "RFC 8446", _RSA_NOTE),
        (_S.rsa_pkcs1_sha256, 112, False, 256, 256, _CHAIN_ONLY, _RSA_NOTE),
        (_S.rsa_pkcs1_sha384, 112, False, 256, 256, _CHAIN_ONLY, _RSA_NOTE),
        (_S.rsa_pkcs1_sha512, 112, False, 256, 256, _CHAIN_ONLY, _RSA_NOTE),
    )
)
# fmt: on
"""The pyca/cryptography schemes: CertificateVerify schemes in our preference order, then the
chain-only ones (PKCS#1 v1.5)."""
