"""RFC 7250 raw public keys: a Credential that presents a bare SubjectPublicKeyInfo, and a
PeerVerifier that pins the peer's key by its SHA-256.

With the raw public key certificate type negotiated (``server_certificate_type`` /
``client_certificate_type``), the Certificate message holds exactly one entry whose
``cert_data`` is the DER SubjectPublicKeyInfo (RFC 7250 §3; RFC 8446 §4.4.2:
"ASN1_subjectPublicKeyInfo"), and CertificateVerify is checked against that key.

:func:`peer_spki` reads the key a peer presented in either form (a raw key, or the
end-entity certificate of an X.509 chain), so pinning and DID verification judge both: a
peer that answers with X.509 where a raw key was also acceptable is judged by its key, as
RFC 7250 §5 suggests for pinning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from nautilus_tls.auth.api import CertificateType
from nautilus_tls.auth.spki import KeyVerifier
from nautilus_tls.auth.x509 import trust_fingerprint
from nautilus_tls.crypto.signatures import PrivateKey
from nautilus_tls.crypto.x509 import spki_of
from nautilus_tls.errors import AlertDescription, BadCertificate, ConfigError
from nautilus_tls.proofs import PeerVerified, peer_verified
from nautilus_tls.wire.messages import CertificateEntry

if TYPE_CHECKING:
    from nautilus_tls.crypto.provider import CryptoProvider

__all__ = ["RawPublicKey", "SpkiPinVerifier", "is_raw_public_key", "peer_spki", "spki_pin"]


def _spki_of_key(key: PrivateKey) -> bytes:
    public_key = getattr(key, "public_key", None)  # a plug-in key may have none
    if public_key is None:
        raise ConfigError("this private key has no SubjectPublicKeyInfo")
    spki: bytes = public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return spki


def _first_inner_tag(der: bytes) -> int | None:
    """The tag of the first element inside the first element of a DER SEQUENCE: an OID
    (0x06, the AlgorithmIdentifier) in a SubjectPublicKeyInfo, the version ([0], 0xa0) or
    serial (0x02) of a certificate's TBSCertificate."""
    pos = 0
    for _ in range(2):
        if pos + 2 > len(der) or der[pos] != 0x30:
            return None
        first = der[pos + 1]
        pos += 2 + (first & 0x7F if first & 0x80 else 0)
    return der[pos] if pos < len(der) else None


def is_raw_public_key(cert_data: bytes) -> bool:
    """Whether ``cert_data`` is a DER SubjectPublicKeyInfo (not a certificate). A certificate
    is told apart by its first bytes, without a parse (every handshake asks)."""
    if _first_inner_tag(cert_data) != 0x06:
        return False
    try:
        serialization.load_der_public_key(cert_data)
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def peer_spki(cert_data: bytes) -> bytes:
    """The key a peer presented: ``cert_data`` itself when it is a SubjectPublicKeyInfo
    (RFC 7250), else the SPKI of the certificate. BadCertificate when it is neither."""
    if is_raw_public_key(cert_data):
        return cert_data
    try:
        x509.load_der_x509_certificate(cert_data)
    except ValueError:
        raise BadCertificate(
            "the peer's key is neither a SubjectPublicKeyInfo nor a certificate",
            alert=AlertDescription.bad_certificate,
        ) from None
    return spki_of(cert_data)


def spki_pin(spki: bytes) -> str:
    """The pin of a key: the lowercase hex SHA-256 of its DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki).hexdigest()


@dataclass(frozen=True, slots=True)
class RawPublicKey:
    """A private key presented as a raw public key (RFC 7250): the Credential for
    ``ServerConfig.raw_public_key`` or ``ClientConfig.client_certificate``."""

    private_key: PrivateKey = field(repr=False)
    spki: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spki", _spki_of_key(self.private_key))

    @classmethod
    def from_pem(cls, key_pem: bytes, *, password: bytes | None = None) -> RawPublicKey:
        try:
            key = serialization.load_pem_private_key(key_pem, password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ConfigError(f"cannot load the raw public key's private key: {exc}") from None
        return cls(key)  # type: ignore[arg-type]

    @classmethod
    def from_file(cls, path: str | Path, *, password: bytes | None = None) -> RawPublicKey:
        return cls.from_pem(Path(path).read_bytes(), password=password)

    @property
    def certificate_type(self) -> CertificateType:
        return CertificateType.RawPublicKey

    def certificate_entries(self) -> tuple[CertificateEntry, ...]:
        return (CertificateEntry(cert_data=self.spki),)

    def signature_schemes(self, provider: CryptoProvider) -> tuple[int, ...]:
        return tuple(provider.schemes_for_key(self.private_key))

    def sign(self, provider: CryptoProvider, scheme: int, message: bytes) -> bytes:
        return provider.sign(self.private_key, scheme, message)


@dataclass(frozen=True, slots=True)
class SpkiPinVerifier(KeyVerifier):
    """Accept a peer whose key (raw, or in its end-entity certificate) has one of ``pins``
    (hex SHA-256 of the DER SubjectPublicKeyInfo); refuse others with bad_certificate."""

    pins: tuple[str, ...]

    def __post_init__(self) -> None:
        pins = tuple(p.lower().replace(":", "") for p in self.pins)
        if not pins or any(
            len(p) != 64 or not all(c in "0123456789abcdef" for c in p) for p in pins
        ):
            raise ConfigError("an SPKI pin is the 64-digit hex SHA-256 of a SubjectPublicKeyInfo")
        object.__setattr__(self, "pins", pins)

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        spki = peer_spki(certificates[0])
        pin = spki_pin(spki)
        if pin not in self.pins:
            raise BadCertificate(
                f"the peer's key has SPKI SHA-256 {pin}, expected {' or '.join(self.pins)}",
                alert=AlertDescription.bad_certificate,
            )
        return peer_verified(spki=spki, identity=f"spki sha256:{pin}", certificates=certificates)

    def fingerprint(self) -> bytes | None:
        return trust_fingerprint(b"spki pins v1", *(p.encode() for p in sorted(self.pins)))
