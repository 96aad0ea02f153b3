"""X.509 certificates with composite ML-DSA keys and signatures: making them, and validating
chains of them (draft-ietf-lamps-pq-composite-sigs §5, RFC 5280 §6).

pyca/cryptography parses such a certificate (lazily) but knows neither the composite key nor
the composite signature algorithm, so its builder cannot sign one and its verifier refuses the
chain. Two things are therefore ours:

Making (:func:`sign_certificate`)
    pyca's CertificateBuilder lays out the whole TBSCertificate — names, validity, serial,
    every extension — around a throwaway placeholder key; then its ``signature`` algorithm and
    ``subjectPublicKeyInfo`` fields are replaced by the composite ones, and the result is
    signed with the issuer's composite key (ctx empty) and wrapped as a Certificate
    (:mod:`.derwrite`). The placeholder never appears in the output.

Validating (:func:`verify_chain`), used by :mod:`.x509` whenever a chain involves a composite
key or signature; the same alerts as the pyca path (RFC 8446 §6.2):
    * each certificate within its validity period at ``now`` (else ``certificate_expired``);
    * a path from the end-entity certificate through the chain to a trust anchor, each link by
      issuer name *and* a signature the issuer's key verifies — a composite signature is valid
      only if both components verify, and the inner and outer signature algorithms must be
      the issuer's composite algorithm (no path: ``unknown_ca``; an issuer whose signature
      does not verify: ``bad_certificate``);
    * issuers are CAs (basicConstraints cA, pathLenConstraint honoured; keyUsage keyCertSign,
      required under the ``webpki`` profile, checked when present under ``private``);
    * the end-entity certificate is not a CA; its keyUsage, when present, asserts
      digitalSignature; its extendedKeyUsage, when present, allows serverAuth (clientAuth for
      a client); a server's subjectAltName covers the server name (DNS, one leftmost wildcard
      label; IP addresses exactly);
    * an unknown critical extension anywhere refuses the chain (RFC 5280 §4.2).
Links signed by a pyca-known key (an ML-DSA CA issuing a composite end-entity certificate)
are checked with pyca's ``verify_directly_issued_by``. Not supported: name constraints,
policies and revocation (a chain carrying them critically is refused).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from nautilus_tls.crypto import composite, der, derwrite
from nautilus_tls.errors import AlertDescription, BadCertificate

__all__ = [
    "MAX_DEPTH",
    "composite_spki",
    "involves_composite",
    "sign_certificate",
    "signed_by",
    "subject_key_identifier",
    "verify_chain",
]

MAX_DEPTH = 8
"""The most CA certificates a path may go through (bounds the work a peer can cause)."""

_HANDLED = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    }
)


# --- making ---------------------------------------------------------------------------------


def composite_spki(key: composite.CompositePrivateKey) -> bytes:
    """The DER SubjectPublicKeyInfo of ``key``'s public key (draft §5: the serialised key as
    the BIT STRING, the composite OID with absent parameters)."""
    return derwrite.sequence(
        derwrite.algorithm_identifier(key.algorithm.oid), derwrite.bit_string(key.public_key_bytes)
    )


def subject_key_identifier(key: composite.CompositePrivateKey) -> x509.SubjectKeyIdentifier:
    """RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value."""
    return x509.SubjectKeyIdentifier(hashlib.sha1(key.public_key_bytes).digest())


def sign_certificate(
    builder: x509.CertificateBuilder,
    subject_key: composite.CompositePrivateKey,
    issuer_key: composite.CompositePrivateKey,
) -> bytes:
    """A DER certificate: ``builder``'s fields (it holds no public key yet) with
    ``subject_key``'s composite key, signed by ``issuer_key``."""
    placeholder = ed25519.Ed25519PrivateKey.generate()
    template = builder.public_key(placeholder.public_key()).sign(placeholder, None)
    fields = der.sequence_elements(template.tbs_certificate_bytes)
    algorithm = derwrite.algorithm_identifier(issuer_key.algorithm.oid)
    # RFC 5280 §4.1: version, serialNumber, signature, issuer, validity, subject, SPKI, ...
    fields[2] = algorithm
    fields[6] = composite_spki(subject_key)
    tbs = derwrite.sequence(*fields)
    return derwrite.sequence(tbs, algorithm, derwrite.bit_string(issuer_key.sign(tbs)))


# --- validating -----------------------------------------------------------------------------


def _spki_oid(cert: x509.Certificate) -> str:
    return der.spki_algorithm_oid(der.spki_from_tbs(cert.tbs_certificate_bytes))


def involves_composite(certificates: Sequence[x509.Certificate]) -> bool:
    """Whether any certificate has a composite key or a composite signature."""
    try:
        return any(
            composite.algorithm_for_oid(_spki_oid(c)) is not None
            or composite.algorithm_for_oid(c.signature_algorithm_oid.dotted_string) is not None
            for c in certificates
        )
    except ValueError:
        return False  # does not parse: the pyca path refuses it with bad_certificate


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key verifies ``cert``'s signature (composite or pyca-known)."""
    try:
        spki = der.spki_from_tbs(issuer.tbs_certificate_bytes)
        oid, public_key = der.spki_parts(spki)
    except ValueError:
        return False
    algorithm = composite.algorithm_for_oid(oid)
    if algorithm is None:
        try:
            cert.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
            return False
        return True
    try:
        inner = der.algorithm_oid(der.sequence_elements(cert.tbs_certificate_bytes)[2])
    except (ValueError, IndexError):
        return False
    # The signed-over algorithm must be the issuer's composite algorithm (draft §5, RFC 5280
    # §4.1.1.2: signatureAlgorithm equals the TBS signature field).
    if inner != algorithm.oid or cert.signature_algorithm_oid.dotted_string != algorithm.oid:
        return False
    return composite.verify(algorithm, public_key, cert.signature, cert.tbs_certificate_bytes)


def _bad(text: str, alert: AlertDescription = AlertDescription.bad_certificate) -> BadCertificate:
    return BadCertificate(f"certificate chain rejected: {text}", alert=alert)


def _subject(cert: x509.Certificate) -> str:
    try:
        return repr(cert.subject.rfc4514_string())
    except ValueError:
        return "(a subject that does not parse)"


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> object | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_common(cert: x509.Certificate, now: datetime.datetime) -> None:
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise _bad(
            f"certificate {_subject(cert)} is not valid at {now:%Y-%m-%d %H:%M:%S} UTC",
            AlertDescription.certificate_expired,
        )
    for ext in cert.extensions:
        if ext.critical and ext.oid not in _HANDLED:
            raise _bad(f"certificate {_subject(cert)} has an unsupported critical extension")


def _check_ca(cert: x509.Certificate, below: int, profile: str) -> None:
    """``cert`` may issue, with ``below`` CA certificates under it on the path."""
    constraints = _extension(cert, x509.BasicConstraints)
    if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
        raise _bad(f"issuer {_subject(cert)} is not a CA (basicConstraints, RFC 5280 §4.2.1.9)")
    if constraints.path_length is not None and below > constraints.path_length:
        raise _bad(f"issuer {_subject(cert)}: path length constraint exceeded")
    usage = _extension(cert, x509.KeyUsage)
    if usage is None and profile == "webpki":
        raise _bad(f"issuer {_subject(cert)} has no keyUsage (x509_profile webpki)")
    if isinstance(usage, x509.KeyUsage) and not usage.key_cert_sign:
        raise _bad(f"issuer {_subject(cert)}: keyUsage does not assert keyCertSign")


def _dns_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:] and "." in rest
    return pattern == name


def _check_leaf(
    cert: x509.Certificate, subject: x509.DNSName | x509.IPAddress | None, client: bool
) -> None:
    constraints = _extension(cert, x509.BasicConstraints)
    if isinstance(constraints, x509.BasicConstraints) and constraints.ca:
        raise _bad(f"end-entity certificate {_subject(cert)} is a CA certificate")
    usage = _extension(cert, x509.KeyUsage)
    if isinstance(usage, x509.KeyUsage) and not usage.digital_signature:
        raise _bad(f"certificate {_subject(cert)}: keyUsage does not assert digitalSignature")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    wanted = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    if isinstance(eku, x509.ExtendedKeyUsage) and not (
        wanted in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
    ):
        raise _bad(f"certificate {_subject(cert)}: extendedKeyUsage does not allow this use")
    if subject is None:
        return
    sans = _extension(cert, x509.SubjectAlternativeName)
    if not isinstance(sans, x509.SubjectAlternativeName):
        raise _bad(f"certificate {_subject(cert)} has no subjectAltName")
    if isinstance(subject, x509.IPAddress):
        covered = subject.value in sans.get_values_for_type(x509.IPAddress)
    else:
        covered = any(
            _dns_matches(p, subject.value) for p in sans.get_values_for_type(x509.DNSName)
        )
    if not covered:
        raise _bad(f"certificate {_subject(cert)}: the subjectAltName does not cover the name")


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def verify_chain(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: datetime.datetime,
    *,
    subject: x509.DNSName | x509.IPAddress | None,
    client: bool,
    profile: str,
) -> None:
    """Validate ``chain`` (end-entity first) to one of ``anchors`` at ``now`` (UTC); a server
    chain for ``subject``. Raises :class:`BadCertificate` with the RFC 8446 alert."""
    try:
        leaf = chain[0]
        _check_common(leaf, now)
        _check_leaf(leaf, subject, client)
        anchor_ders = {_der(a) for a in anchors}
        current, used = leaf, [leaf]
        bad_signature = False
        for depth in range(MAX_DEPTH + 1):
            if _der(current) in anchor_ders:
                return  # the end-entity certificate is itself trusted
            candidates = [c for c in (*chain[1:], *anchors) if c not in used]
            issuer = None
            for candidate in candidates:
                if candidate.subject == current.issuer:
                    if signed_by(current, candidate):
                        issuer = candidate
                        break
                    bad_signature = True
            if issuer is None:
                break
            _check_common(issuer, now)
            _check_ca(issuer, depth, profile)
            if _der(issuer) in anchor_ders:
                return
            current = issuer
            used.append(issuer)
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        # Parsed lazily: a malformed field can surface only here.
        raise BadCertificate(
            "peer certificate does not parse", alert=AlertDescription.bad_certificate
        ) from None
    if bad_signature:
        raise _bad(f"the signature on {_subject(current)} does not verify with its issuer's key")
    raise _bad(
        f"certificate {_subject(current)}: its issuer is not a trusted CA",
        AlertDescription.unknown_ca,
    )
