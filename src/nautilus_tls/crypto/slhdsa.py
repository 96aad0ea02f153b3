"""SLH-DSA (FIPS 205) for CertificateVerify, through PQClean (the optional ``pqcrypto`` package).

pyca/cryptography 50 has no SLH-DSA: it can neither build nor parse a certificate whose
SubjectPublicKeyInfo is an SLH-DSA key, and this project does not hand-write certificate DER.
So the SLH-DSA key travels in an ordinary X.509 certificate that cryptography builds and
verifies, as a **key binding extension**:

* extension OID ``2.25.100778639433768405689678878320534625500.<n>`` (a UUID-derived OID,
  ITU-T X.667; one ``<n>`` per parameter set, see :data:`PARAMETER_SETS`), non-critical, its
  value the DER ``OCTET STRING`` of the raw SLH-DSA public key (``PK.seed || PK.root``);
* the certificate's own SubjectPublicKeyInfo holds a *companion* key of a type cryptography
  knows (ML-DSA-44 from :func:`make_slhdsa_leaf`); the issuing CA signs both keys at once, and
  the chain is validated exactly as any other (name, validity, trust anchor);
* a CertificateVerify under one of our private-use SLH-DSA schemes (0xFE00-0xFE05) is checked
  against the *bound* SLH-DSA key; the companion key is not involved.

Peers whose providers lack these schemes never negotiate them and see a normal certificate.
What is *not* supported: certificates with a real SLH-DSA SubjectPublicKeyInfo (RFC 9909)
and chains *signed* with SLH-DSA (cryptography cannot verify them), raw public keys
(RFC 7250, which needs certificate-type negotiation in the handshake), and HashSLH-DSA.
Signatures are pure SLH-DSA with the empty context.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nautilus_tls.crypto import pqclean
from nautilus_tls.errors import ConfigError

__all__ = [
    "BINDING_OID_ARC",
    "PARAMETER_SETS",
    "SlhDsaParameterSet",
    "SlhDsaPrivateKey",
    "SlhDsaScheme",
    "bound_public_key",
    "load_pem",
    "make_slhdsa_leaf",
    "with_binding",
]

BINDING_OID_ARC: Final = "2.25.100778639433768405689678878320534625500"
"""Our UUID-derived OID arc (ITU-T X.667 §6.3); ``<arc>.<n>`` binds an SLH-DSA key."""

_PEM_LABEL = b"NAUTILUS SLH-DSA PRIVATE KEY"


@dataclass(frozen=True, slots=True)
class SlhDsaParameterSet:
    name: str  # FIPS 205 name, e.g. "SLH-DSA-SHA2-128s"
    signer: pqclean.PqcleanSigner
    level: int  # NIST category as AES key bits
    binding_oid: x509.ObjectIdentifier

    @property
    def public_key_len(self) -> int:
        return self.signer.public_key_len

    @property
    def signature_len(self) -> int:
        return self.signer.signature_len


def _set(name: str, module: str, n: int, pk: int, sig: int, level: int) -> SlhDsaParameterSet:
    signer = pqclean.PqcleanSigner(
        name, module, public_key_len=pk, secret_key_len=2 * pk, signature_len=sig
    )
    return SlhDsaParameterSet(name, signer, level, x509.ObjectIdentifier(f"{BINDING_OID_ARC}.{n}"))


# FIPS 205 Table 2. The "s" sets sign slowly (0.2-0.6 s), the "f" sets sign fast with larger
# signatures; 192s and 256s are defined for key loading but are in no provider.
PARAMETER_SETS: Final[dict[str, SlhDsaParameterSet]] = {
    p.name: p
    for p in (
        _set("SLH-DSA-SHA2-128s", "slh_dsa_sha2_128s", 1, 32, 7856, 128),
        _set("SLH-DSA-SHA2-128f", "slh_dsa_sha2_128f", 2, 32, 17088, 128),
        _set("SLH-DSA-SHA2-192s", "slh_dsa_sha2_192s", 3, 48, 16224, 192),
        _set("SLH-DSA-SHA2-192f", "slh_dsa_sha2_192f", 4, 48, 35664, 192),
        _set("SLH-DSA-SHA2-256s", "slh_dsa_sha2_256s", 5, 64, 29792, 256),
        _set("SLH-DSA-SHA2-256f", "slh_dsa_sha2_256f", 6, 64, 49856, 256),
    )
}


def _parameter_set(name: str | SlhDsaParameterSet) -> SlhDsaParameterSet:
    if isinstance(name, SlhDsaParameterSet):
        return name
    for key, value in PARAMETER_SETS.items():
        if key.lower() == name.lower():
            return value
    raise ConfigError(
        f"unknown SLH-DSA parameter set {name!r} (known: {', '.join(PARAMETER_SETS)})"
    )


class SlhDsaPrivateKey:
    """An SLH-DSA private key (FIPS 205 ``SK.seed || SK.prf || PK.seed || PK.root``)."""

    __slots__ = ("_secret", "parameter_set")

    def __init__(self, parameter_set: str | SlhDsaParameterSet, secret_key: bytes) -> None:
        self.parameter_set = _parameter_set(parameter_set)
        if len(secret_key) != self.parameter_set.signer.secret_key_len:
            raise ConfigError(f"{self.parameter_set.name}: secret key has the wrong length")
        self._secret = bytes(secret_key)

    @classmethod
    def generate(cls, parameter_set: str | SlhDsaParameterSet) -> SlhDsaPrivateKey:
        params = _parameter_set(parameter_set)
        _, secret_key = params.signer.keygen()
        return cls(params, secret_key)

    def __repr__(self) -> str:
        return f"<SlhDsaPrivateKey {self.parameter_set.name}>"

    @property
    def public_key_bytes(self) -> bytes:
        """``PK.seed || PK.root`` — the last ``2n`` bytes of the secret key (FIPS 205 §9.1)."""
        return self._secret[-self.parameter_set.public_key_len :]

    def sign(self, message: bytes) -> bytes:
        """Pure SLH-DSA, empty context (FIPS 205 §10.2.1)."""
        return self.parameter_set.signer.sign(self._secret, message)

    def private_bytes_pem(self) -> bytes:
        """Unencrypted PEM (our own label: there is no standard encoding cryptography reads)."""
        body = base64.encodebytes(self._secret).decode("ascii")
        return (
            f"-----BEGIN {_PEM_LABEL.decode()}-----\n"
            f"Parameter-Set: {self.parameter_set.name}\n\n"
            f"{body}"
            f"-----END {_PEM_LABEL.decode()}-----\n"
        ).encode("ascii")


_PEM_RE = re.compile(
    rb"-----BEGIN " + _PEM_LABEL + rb"-----\s*Parameter-Set: *([\w-]+)\s*\n\s*\n"
    rb"([A-Za-z0-9+/=\s]+)-----END " + _PEM_LABEL + rb"-----"
)


def is_pem(data: bytes) -> bool:
    return b"-----BEGIN " + _PEM_LABEL in data


def load_pem(data: bytes) -> SlhDsaPrivateKey:
    """Load what :meth:`SlhDsaPrivateKey.private_bytes_pem` wrote."""
    match = _PEM_RE.search(data)
    if match is None:
        raise ConfigError("cannot load the SLH-DSA private key (bad PEM)")
    try:
        secret = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except binascii.Error:
        raise ConfigError("cannot load the SLH-DSA private key (bad base64)") from None
    return SlhDsaPrivateKey(match.group(1).decode("ascii"), secret)


# --- the certificate binding -------------------------------------------------------------------


def _binding_value(public_key: bytes) -> bytes:
    # DER OCTET STRING of the key, encoded by cryptography (SubjectKeyIdentifier has exactly
    # that syntax), so no hand-written DER.
    return x509.SubjectKeyIdentifier(public_key).public_bytes()


def with_binding(
    builder: x509.CertificateBuilder, key: SlhDsaPrivateKey
) -> x509.CertificateBuilder:
    """Add the (non-critical) extension that binds ``key``'s public key to the certificate."""
    value = _binding_value(key.public_key_bytes)
    return builder.add_extension(
        x509.UnrecognizedExtension(key.parameter_set.binding_oid, value), critical=False
    )


def bound_public_key(certificate: x509.Certificate, params: SlhDsaParameterSet) -> bytes | None:
    """The SLH-DSA public key ``certificate`` binds for ``params``, or None."""
    try:
        ext = certificate.extensions.get_extension_for_oid(params.binding_oid)
    except (x509.ExtensionNotFound, ValueError):
        return None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        return None
    public_key = value.value[-params.public_key_len :]
    if len(public_key) != params.public_key_len or value.value != _binding_value(public_key):
        return None
    return public_key


class SlhDsaScheme:
    """A signature provider: one SLH-DSA parameter set under one (private-use) code point."""

    __slots__ = ("params", "scheme")

    def __init__(self, params: SlhDsaParameterSet, *, scheme: int) -> None:
        self.params = params
        self.scheme = scheme

    def __repr__(self) -> str:
        return f"SlhDsaScheme({self.params.name})"

    def fits_private(self, key: object, certificate: bytes | None) -> bool:
        if not isinstance(key, SlhDsaPrivateKey) or key.parameter_set is not self.params:
            return False
        if certificate is None:
            return True
        return self.certificate_public_key(certificate) == key.public_key_bytes

    def certificate_public_key(self, certificate: bytes) -> bytes | None:
        """Raises ValueError when ``certificate`` does not parse."""
        try:
            parsed = x509.load_der_x509_certificate(certificate)
        except x509.InvalidVersion as exc:
            raise ValueError("unsupported X.509 version") from exc
        return bound_public_key(parsed, self.params)

    def sign(self, key: object, message: bytes) -> bytes:
        if not isinstance(key, SlhDsaPrivateKey):
            raise TypeError(f"{self.params.name} signs with an SlhDsaPrivateKey")
        return key.sign(message)

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        if len(signature) != self.params.signature_len:
            return False
        return self.params.signer.verify(public_key, message, signature)


# --- making certificates (development and tests) ----------------------------------------------


def make_slhdsa_leaf(
    ca_cert_der: bytes,
    ca_key: mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
    | mldsa.MLDSA87PrivateKey
    | ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey,
    parameter_set: str | SlhDsaParameterSet,
    names: list[str],
    *,
    client: bool = False,
    lifetime: datetime.timedelta = datetime.timedelta(days=365),
) -> tuple[bytes, SlhDsaPrivateKey, mldsa.MLDSA44PrivateKey]:
    """An end-entity certificate binding a fresh SLH-DSA key: ``(cert_der, slh_key,
    companion_key)``. The companion ML-DSA-44 key is the certificate's SubjectPublicKeyInfo;
    keep it to serve ``mldsa44`` to peers without SLH-DSA (a second CertifiedKey with the same
    chain), or drop it."""
    if not names:
        raise ValueError("a leaf certificate needs at least one name")
    key = SlhDsaPrivateKey.generate(parameter_set)
    companion = mldsa.MLDSA44PrivateKey.generate()
    ca_cert = x509.load_der_x509_certificate(ca_cert_der)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(companion.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(companion.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    hash_alg: hashes.SHA256 | hashes.SHA384 | None = None  # ML-DSA signs the message itself
    if isinstance(ca_key, ec.EllipticCurvePrivateKey):
        hash_alg = hashes.SHA384() if ca_key.curve.key_size >= 384 else hashes.SHA256()
    elif isinstance(ca_key, rsa.RSAPrivateKey):
        hash_alg = hashes.SHA256()
    cert = with_binding(builder, key).sign(ca_key, hash_alg)
    return cert.public_bytes(serialization.Encoding.DER), key, companion
