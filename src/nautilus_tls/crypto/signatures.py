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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, padding, rsa
from cryptography.x509.oid import PublicKeyAlgorithmOID

from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    ConfigError,
    LocalProtocolError,
    PeerMisbehaved,
)
from nautilus_tls.wire.enums import SignatureScheme, display_name

__all__ = [
    "CERTIFICATE_CHAIN_SCHEMES",
    "CERTIFICATE_VERIFY_SCHEMES",
    "PrivateKey",
    "certificate_verify_content",
    "load_private_key_pem",
    "schemes_for_key",
    "sign",
    "verify",
]

PrivateKey = (
    ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
    | mldsa.MLDSA87PrivateKey
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


def schemes_for_key(
    key: PrivateKey, *, certificate: bytes | None = None
) -> tuple[SignatureScheme, ...]:
    """The CertificateVerify schemes ``key`` can sign with, in preference order.

    For RSA keys ``certificate`` (the end-entity DER) decides between ``rsa_pss_rsae_*``
    (rsaEncryption SPKI, the default) and ``rsa_pss_pss_*`` (RSASSA-PSS SPKI).
    """
    oid = _spki_oid(certificate) if certificate is not None else None
    result = []
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


def sign(key: PrivateKey, scheme: int, message: bytes) -> bytes:
    """Sign ``message`` (the CertificateVerify content) with ``key`` under ``scheme``."""
    entry = _SCHEMES.get(scheme)
    if entry is None or scheme not in CERTIFICATE_VERIFY_SCHEMES:
        raise LocalProtocolError(
            f"cannot sign CertificateVerify with {display_name(SignatureScheme, scheme)}"
        )
    if not entry.fits_private(key):
        raise LocalProtocolError(
            f"{display_name(SignatureScheme, scheme)} does not fit a {type(key).__name__}"
        )
    return entry.sign(key, message)


def verify(certificate: bytes, scheme: int, signature: bytes, message: bytes) -> None:
    """Check a CertificateVerify signature against the peer's end-entity certificate (DER).

    Raises ``PeerMisbehaved(illegal_parameter)`` when the scheme is not one we accept for
    CertificateVerify or does not fit the certificate's key, ``PeerMisbehaved(decrypt_error)``
    when the signature does not verify (RFC 8446 §4.4.3), and ``BadCertificate`` when the
    certificate cannot be parsed.
    """
    name = display_name(SignatureScheme, scheme)
    entry = _SCHEMES.get(scheme)
    if entry is None or scheme not in CERTIFICATE_VERIFY_SCHEMES:
        raise PeerMisbehaved(
            f"{name} is not allowed in CertificateVerify",
            alert=AlertDescription.illegal_parameter,
        )
    try:
        cert = x509.load_der_x509_certificate(certificate)
        public_key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise BadCertificate(
            "cannot parse the end-entity certificate", alert=AlertDescription.bad_certificate
        ) from None
    if not entry.fits_public(public_key, cert.public_key_algorithm_oid):
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


def load_private_key_pem(data: bytes, password: bytes | None = None) -> PrivateKey:
    """Load a PEM private key of a type we can sign CertificateVerify with."""
    try:
        key = serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # No detail from the backend: it could echo key material or the password state.
        raise ConfigError("cannot load the private key (bad PEM, password or format)") from None
    if not isinstance(key, _PRIVATE_KEY_TYPES):
        raise ConfigError(f"unsupported private key type {type(key).__name__}")
    if isinstance(key, ec.EllipticCurvePrivateKey) and not schemes_for_key(key):
        raise ConfigError(f"unsupported elliptic curve {key.curve.name}")
    return key
