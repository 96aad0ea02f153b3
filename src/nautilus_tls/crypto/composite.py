"""Composite ML-DSA signatures (draft-ietf-lamps-pq-composite-sigs): ML-DSA-65 with ECDSA P-256
and with Ed25519.

A composite signature is two signatures over one message representative, and it is valid only
if **both** verify (a broken ML-DSA or a broken elliptic curve alone does not forge it). The
component primitives are pyca/cryptography's (ML-DSA with a context string, ECDSA, Ed25519);
what is written here is the draft's protocol layer:

* the message representative ``M' = Prefix || Label || len(ctx) || ctx || PH(M)`` with the
  fixed ``Prefix`` "CompositeAlgorithmSignatures2025", the per-algorithm ``Label`` (also the
  ML-DSA context string) and ``PH`` = SHA-512 for both algorithms here;
* the encodings, plain concatenations: public key ``mldsaPK || tradPK`` (the ECDSA key an
  uncompressed X9.62 point, the Ed25519 key its 32 raw bytes), private key
  ``mldsaSeed || tradSK`` (a 32-byte FIPS 204 seed, then an RFC 5915 ECPrivateKey without its
  publicKey field, or the 32-byte Ed25519 seed), signature ``mldsaSig || tradSig`` (the
  ECDSA signature a DER Ecdsa-Sig-Value);
* the OIDs (id-MLDSA65-ECDSA-P256-SHA512 1.3.6.1.5.5.7.6.45, id-MLDSA65-Ed25519-SHA512
  1.3.6.1.5.5.7.6.48) and PKCS#8 keys with them (RFC 5958, unencrypted).

The draft's own test vectors (tests/vectors/composite_mldsa_draft_vectors.json) are verified in
tests/crypto/test_composite.py, and its keys re-sign. ML-DSA and ECDSA signing is randomised, so
a signature is reproduced by verifying it, not byte for byte.

In TLS 1.3 a composite scheme signs the CertificateVerify content (RFC 8446 §4.4.3) with the
empty application context, under a private-use SignatureScheme code point
(:class:`CompositeSignatureScheme`: 0xFE10, 0xFE11; RFC 8446 §4.2.3 reserves 0xFE00-0xFFFF);
its key is the composite SubjectPublicKeyInfo of the end-entity certificate
(:mod:`.composite_x509`). The schemes are in the add-on provider ``composite_provider()``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa

from nautilus_tls.crypto import der, derwrite
from nautilus_tls.errors import ConfigError

__all__ = [
    "ALGORITHMS",
    "MLDSA65_ECDSA_P256",
    "MLDSA65_ED25519",
    "PREFIX",
    "CompositeAlgorithm",
    "CompositePrivateKey",
    "CompositeScheme",
    "CompositeSignatureScheme",
    "algorithm_for_oid",
    "load_pem",
    "message_representative",
    "verify",
]


class CompositeSignatureScheme(IntEnum):
    """Our private-use TLS SignatureScheme code points for the composite algorithms (not
    IANA-assigned; negotiated only between peers whose providers both have them)."""

    mldsa65_ecdsa_secp256r1_sha512 = 0xFE10
    mldsa65_ed25519_sha512 = 0xFE11


PREFIX: Final = b"CompositeAlgorithmSignatures2025"
"""The fixed prefix of every message representative (draft §2.2)."""

_MLDSA65_PK = 1952
_MLDSA65_SIG = 3309
_SEED = 32
_MAX_ECDSA_P256_SIG = 72  # DER Ecdsa-Sig-Value: two INTEGERs of up to 33 octets


@dataclass(frozen=True, slots=True)
class CompositeAlgorithm:
    """One composite algorithm of the draft (ML-DSA-65 plus a traditional component)."""

    name: str  # the draft's id- name without "id-"
    oid: str
    label: bytes
    trad: Literal["ecdsa-p256", "ed25519"]
    trad_public_key_len: int
    trad_max_signature_len: int

    @property
    def public_key_len(self) -> int:
        return _MLDSA65_PK + self.trad_public_key_len

    @property
    def max_signature_len(self) -> int:
        return _MLDSA65_SIG + self.trad_max_signature_len


MLDSA65_ECDSA_P256: Final = CompositeAlgorithm(
    "MLDSA65-ECDSA-P256-SHA512",
    "1.3.6.1.5.5.7.6.45",
    b"COMPSIG-MLDSA65-ECDSA-P256-SHA512",
    "ecdsa-p256",
    65,
    _MAX_ECDSA_P256_SIG,
)
MLDSA65_ED25519: Final = CompositeAlgorithm(
    "MLDSA65-Ed25519-SHA512",
    "1.3.6.1.5.5.7.6.48",
    b"COMPSIG-MLDSA65-Ed25519-SHA512",
    "ed25519",
    32,
    64,
)
ALGORITHMS: Final[tuple[CompositeAlgorithm, ...]] = (MLDSA65_ECDSA_P256, MLDSA65_ED25519)
_BY_OID: Final = {a.oid: a for a in ALGORITHMS}


def algorithm_for_oid(dotted: str) -> CompositeAlgorithm | None:
    return _BY_OID.get(dotted)


def message_representative(algorithm: CompositeAlgorithm, message: bytes, ctx: bytes) -> bytes:
    """``M' = Prefix || Label || len(ctx) || ctx || SHA-512(M)`` (draft §2.2); ValueError for a
    context longer than 255 octets."""
    if len(ctx) > 255:
        raise ValueError("the composite context string is at most 255 octets")
    return PREFIX + algorithm.label + bytes((len(ctx),)) + ctx + hashlib.sha512(message).digest()


_TradPrivate = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _trad_private_bytes(key: _TradPrivate) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.private_bytes_raw()
    sec1 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    # RFC 5915 ECPrivateKey as the draft wants it: the optional [1] publicKey field dropped.
    return derwrite.sequence(*(e for e in der.sequence_elements(sec1) if e[0] != 0xA1))


def _load_trad_private(algorithm: CompositeAlgorithm, data: bytes) -> _TradPrivate:
    if algorithm.trad == "ed25519":
        if len(data) != 32:
            raise ValueError("an Ed25519 private key is 32 octets")
        return ed25519.Ed25519PrivateKey.from_private_bytes(data)
    key = serialization.load_der_private_key(data, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 ECPrivateKey")
    return key


def _trad_public_bytes(key: _TradPrivate) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.public_key().public_bytes_raw()
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class CompositePrivateKey:
    """A composite private key: the ML-DSA-65 seed and the traditional key. Its repr and
    errors never show key material."""

    __slots__ = ("_mldsa", "_seed", "_trad", "algorithm", "public_key_bytes")

    def __init__(self, algorithm: CompositeAlgorithm, private_key: bytes) -> None:
        """From the draft's serialisation ``mldsaSeed || tradSK``."""
        self.algorithm = algorithm
        if len(private_key) <= _SEED:
            raise ConfigError(f"{algorithm.name}: the composite private key is too short")
        try:
            self._mldsa = mldsa.MLDSA65PrivateKey.from_seed_bytes(private_key[:_SEED])
            self._trad = _load_trad_private(algorithm, private_key[_SEED:])
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ConfigError(f"{algorithm.name}: cannot load the composite private key") from None
        self._seed = private_key[:_SEED]
        self.public_key_bytes: bytes = self._mldsa.public_key().public_bytes_raw() + (
            _trad_public_bytes(self._trad)
        )

    @classmethod
    def generate(cls, algorithm: CompositeAlgorithm) -> CompositePrivateKey:
        """Fresh keys for both components (the draft forbids reusing component keys)."""
        seed = mldsa.MLDSA65PrivateKey.generate().private_bytes_raw()
        trad: _TradPrivate = (
            ed25519.Ed25519PrivateKey.generate()
            if algorithm.trad == "ed25519"
            else ec.generate_private_key(ec.SECP256R1())
        )
        return cls(algorithm, seed + _trad_private_bytes(trad))

    def __repr__(self) -> str:
        return f"<CompositePrivateKey {self.algorithm.name}>"

    def private_bytes(self) -> bytes:
        """The draft's serialisation ``mldsaSeed || tradSK`` (secret)."""
        return self._seed + _trad_private_bytes(self._trad)

    def sign(self, message: bytes, ctx: bytes = b"") -> bytes:
        """``mldsaSig || tradSig`` over the message representative (draft §3.2)."""
        representative = message_representative(self.algorithm, message, ctx)
        mldsa_sig = self._mldsa.sign(representative, self.algorithm.label)
        if isinstance(self._trad, ed25519.Ed25519PrivateKey):
            trad_sig = self._trad.sign(representative)
        else:
            trad_sig = self._trad.sign(representative, ec.ECDSA(hashes.SHA256()))
        return mldsa_sig + trad_sig

    def private_bytes_pem(self) -> bytes:
        """Unencrypted PKCS#8 (RFC 5958 OneAsymmetricKey v1) under the composite OID (draft §5)."""
        info = derwrite.sequence(
            derwrite.integer(0),
            derwrite.algorithm_identifier(self.algorithm.oid),
            derwrite.octet_string(self.private_bytes()),
        )
        body = base64.encodebytes(info).decode("ascii")
        return f"-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----\n".encode("ascii")


def verify(
    algorithm: CompositeAlgorithm,
    public_key: bytes,
    signature: bytes,
    message: bytes,
    ctx: bytes = b"",
) -> bool:
    """Whether ``signature`` is a valid composite signature: True only if both components
    verify. Malformed keys and signatures (wrong lengths, bad points, bad DER) are False."""
    if len(public_key) != algorithm.public_key_len or len(ctx) > 255:
        return False
    if not _MLDSA65_SIG < len(signature) <= algorithm.max_signature_len:
        return False
    representative = message_representative(algorithm, message, ctx)
    mldsa_sig, trad_sig = signature[:_MLDSA65_SIG], signature[_MLDSA65_SIG:]
    try:
        mldsa.MLDSA65PublicKey.from_public_bytes(public_key[:_MLDSA65_PK]).verify(
            mldsa_sig, representative, algorithm.label
        )
        trad_pk = public_key[_MLDSA65_PK:]
        if algorithm.trad == "ed25519":
            ed25519.Ed25519PublicKey.from_public_bytes(trad_pk).verify(trad_sig, representative)
        else:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), trad_pk)
            point.verify(trad_sig, representative, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        return False
    return True


_PEM_RE = re.compile(rb"-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----")


def load_pem(data: bytes) -> CompositePrivateKey | None:
    """A composite key from PKCS#8 PEM, or None when ``data`` is not a composite PKCS#8 key
    (another kind of key: the caller loads it as usual)."""
    match = _PEM_RE.search(data)
    if match is None:
        return None
    try:
        info = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        fields = der.sequence_elements(info)
        algorithm = algorithm_for_oid(der.algorithm_oid(fields[1])) if len(fields) >= 3 else None
    except (binascii.Error, ValueError):
        return None
    if algorithm is None:
        return None
    try:
        private_key = der.content_of(fields[2], 0x04)
    except ValueError:
        raise ConfigError(f"{algorithm.name}: bad PKCS#8 private key") from None
    return CompositePrivateKey(algorithm, private_key)


class CompositeScheme:
    """A signature provider: one composite algorithm under one (private-use) code point. Its
    key is the composite SubjectPublicKeyInfo of the end-entity certificate."""

    __slots__ = ("algorithm", "scheme")

    def __init__(self, algorithm: CompositeAlgorithm, *, scheme: int) -> None:
        self.algorithm = algorithm
        self.scheme = scheme

    def __repr__(self) -> str:
        return f"CompositeScheme({self.algorithm.name})"

    def fits_private(self, key: object, certificate: bytes | None) -> bool:
        if not isinstance(key, CompositePrivateKey) or key.algorithm is not self.algorithm:
            return False
        if certificate is None:
            return True
        try:
            return self.certificate_public_key(certificate) == key.public_key_bytes
        except ValueError:
            return False

    def certificate_public_key(self, certificate: bytes) -> bytes | None:
        """Raises ValueError when ``certificate`` does not parse."""
        try:
            parsed = x509.load_der_x509_certificate(certificate)
        except x509.InvalidVersion as exc:
            raise ValueError("unsupported X.509 version") from exc
        oid, key = der.spki_parts(der.spki_from_tbs(parsed.tbs_certificate_bytes))
        return key if oid == self.algorithm.oid else None

    def sign(self, key: object, message: bytes) -> bytes:
        if not isinstance(key, CompositePrivateKey):
            raise TypeError(f"{self.algorithm.name} signs with a CompositePrivateKey")
        return key.sign(message)

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        return verify(self.algorithm, public_key, signature, message)
