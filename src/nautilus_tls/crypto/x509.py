"""Certificate chains: trust stores and path validation (RFC 5280 via cryptography's
``cryptography.x509.verification``).

Two verification profiles (``x509_profile`` on the configs, ``--x509-profile`` in the CLI):

* ``"webpki"`` (default): cryptography's CA/Browser Forum WebPKI profile, for public servers;
* ``"private"``: for private PKIs made with OpenSSL's default commands. A CA certificate
  without keyUsage is accepted (basicConstraints CA:TRUE is still required). Built from
  cryptography's extension policies, not a validator of our own.

Under both, a leaf without extendedKeyUsage is accepted, an X.509 v1 certificate is refused,
and a client certificate needs no subjectAltName (its subject DN may be its only identity).
A refusal names the certificate, the rule that failed and the option that relaxes it.

Failures become :class:`BadCertificate` with the alert RFC 8446 §6.2 asks for:

* ``certificate_expired`` — a certificate on the path is not valid at ``now`` (expired or not
  yet valid);
* ``unknown_ca`` — no path from the end-entity certificate to a trust anchor;
* ``unsupported_certificate`` — a key or signature algorithm the verifier does not accept
  (its WebPKI profile forbids certificates signed by Ed25519/Ed448 CA keys, for instance;
  an Ed25519 end-entity key under an ECDSA, RSA or ML-DSA CA is fine);
* ``bad_certificate`` — everything else: name mismatch, wrong key usage / EKU, basic
  constraints, and malformed DER (we pick ``bad_certificate`` over ``decode_error`` for a
  certificate that does not parse: the Certificate message itself parsed fine).

ML-DSA (44/65/87) keys and signatures are accepted by cryptography 50's verifier. A chain with
a composite ML-DSA key or signature (draft-ietf-lamps-pq-composite-sigs), which that verifier
does not know, is validated by :mod:`.composite_x509` instead, with the same alerts.

A server certificate is always checked against a name: ``server_name`` is required. Callers
that run with ``insecure_*`` verification switched off skip this module altogether.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification

from nautilus_tls.crypto import composite_x509
from nautilus_tls.crypto import der as _der
from nautilus_tls.crypto.certnames import names_of
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    ConfigError,
    LocalProtocolError,
)

__all__ = [
    "X509_PROFILES",
    "TrustStore",
    "X509Profile",
    "ca_distinguished_names",
    "chain_valid_at",
    "load_certificate_chain_pem",
    "spki_of",
    "subject_of",
    "verify_client_chain",
    "verify_server_chain",
]

_PEM_MARKER = b"-----BEGIN CERTIFICATE-----"
_CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})


def _load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    with warnings.catch_warnings():
        # Some long-lived roots have non-positive serial numbers; still usable as anchors.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_pem_x509_certificates(data)


def _load_der_certificate(data: bytes) -> x509.Certificate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_der_x509_certificate(data)


def _load_any(data: bytes, origin: str) -> list[x509.Certificate]:
    try:
        if _PEM_MARKER in data:
            return _load_pem_certificates(data)
        return [_load_der_certificate(data)]
    except ValueError:
        raise ConfigError(f"cannot load certificates from {origin}") from None


class TrustStore:
    """Trust anchors (root certificates) for path validation."""

    __slots__ = ("_certificates", "_fingerprint", "_store")

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self._certificates: tuple[x509.Certificate, ...] = tuple(certificates)
        if not self._certificates:
            raise ConfigError("a trust store needs at least one certificate")
        self._store = verification.Store(list(self._certificates))
        self._fingerprint: bytes | None = None

    def __repr__(self) -> str:
        return f"<TrustStore {len(self._certificates)} certificates>"

    def __len__(self) -> int:
        return len(self._certificates)

    @property
    def store(self) -> verification.Store:
        """The underlying ``cryptography.x509.verification.Store``."""
        return self._store

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return self._certificates

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 over the sorted, length-prefixed DER of the roots: the same set of roots
        gives the same 32 bytes in every process, whatever their order (public data only)."""
        if self._fingerprint is None:
            ders = sorted(c.public_bytes(serialization.Encoding.DER) for c in self._certificates)
            digest = hashlib.sha256(b"nautilus-tls trust store v1\x00")
            for der in ders:
                digest.update(len(der).to_bytes(4, "big"))
                digest.update(der)
            self._fingerprint = digest.digest()
        return self._fingerprint

    @classmethod
    def system(cls) -> TrustStore:
        """The Mozilla root program, as packaged by ``certifi``."""
        import certifi

        return cls.from_file(certifi.where())

    @classmethod
    def from_pem(cls, data: bytes) -> TrustStore:
        try:
            return cls(_load_pem_certificates(data))
        except ValueError:
            raise ConfigError("cannot load PEM certificates") from None

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> TrustStore:
        """A PEM bundle, or a single DER certificate."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read trust store {path}: {exc.strerror}") from exc
        return cls(_load_any(data, str(path)))

    @classmethod
    def from_directory(cls, path: str | PathLike[str]) -> TrustStore:
        """Every ``.pem``/``.crt``/``.cer``/``.der`` file in ``path`` (not recursive)."""
        directory = Path(path)
        if not directory.is_dir():
            raise ConfigError(f"trust store directory {path} does not exist")
        certificates: list[x509.Certificate] = []
        for file in sorted(directory.iterdir()):
            if file.is_file() and file.suffix.lower() in _CERT_SUFFIXES:
                certificates.extend(_load_any(file.read_bytes(), str(file)))
        return cls(certificates)

    @classmethod
    def from_certificates(cls, ders: Iterable[bytes]) -> TrustStore:
        try:
            return cls(_load_der_certificate(der) for der in ders)
        except ValueError:
            raise ConfigError("cannot load DER certificates for the trust store") from None


def load_certificate_chain_pem(data: bytes) -> tuple[bytes, ...]:
    """DER certificates from a PEM chain (end-entity first, as in the Certificate message)."""
    try:
        certificates = _load_pem_certificates(data)
    except ValueError:
        raise ConfigError("cannot load the PEM certificate chain") from None
    return tuple(c.public_bytes(serialization.Encoding.DER) for c in certificates)


# Peers present the same few certificates over and over: parsing one (and building its
# RFC 4514 subject) is pure, so the results are kept in small LRU caches keyed by the DER.
# Only certificates up to _CACHED_DER_MAX bytes are cached, which bounds the memory a peer
# sending large certificates can pin. Failures are never cached (lru_cache does not keep
# exceptions), so a bad certificate fails the same way every time.
_CACHED_DER_MAX = 8192
_CACHE_SIZE = 128


def _parse_peer_uncached(der: bytes) -> x509.Certificate:
    try:
        return _load_der_certificate(der)
    except (ValueError, x509.InvalidVersion):  # InvalidVersion is not a ValueError
        raise BadCertificate(
            "peer certificate does not parse", alert=AlertDescription.bad_certificate
        ) from None


_parse_peer_cached = lru_cache(maxsize=_CACHE_SIZE)(_parse_peer_uncached)


def _parse_peer(der: bytes) -> x509.Certificate:
    if type(der) is bytes and len(der) <= _CACHED_DER_MAX:
        return _parse_peer_cached(der)
    return _parse_peer_uncached(der)


@lru_cache(maxsize=_CACHE_SIZE)
def _subject_cached(der: bytes) -> str:
    return _name_text(_parse_peer(der), "subject")


def subject_of(cert_der: bytes) -> str:
    """The subject of a DER certificate as an RFC 4514 string (a placeholder for a name that
    does not parse: it is only ever shown)."""
    if type(cert_der) is bytes and len(cert_der) <= _CACHED_DER_MAX:
        return _subject_cached(cert_der)
    return _name_text(_parse_peer(cert_der), "subject")


@lru_cache(maxsize=_CACHE_SIZE)
def _spki_cached(der_bytes: bytes) -> bytes:
    return _spki_uncached(der_bytes)


def _spki_uncached(cert_der: bytes) -> bytes:
    try:
        return _der.spki_from_tbs(_parse_peer(cert_der).tbs_certificate_bytes)
    except ValueError:
        raise BadCertificate(
            "peer certificate does not parse", alert=AlertDescription.bad_certificate
        ) from None


def spki_of(cert_der: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of a DER certificate, byte for byte as it holds it (the
    algorithm OID included); ``BadCertificate`` when it does not parse."""
    if type(cert_der) is bytes and len(cert_der) <= _CACHED_DER_MAX:
        return _spki_cached(cert_der)
    return _spki_uncached(cert_der)


def ca_distinguished_names(store: TrustStore) -> tuple[bytes, ...]:
    """DER subjects of the trust anchors (for the certificate_authorities extension)."""
    return tuple(c.subject.public_bytes() for c in store.certificates)


@lru_cache(maxsize=_CACHE_SIZE)
def _subject_for(server_name: str) -> verification.Subject:
    """The name to verify a server certificate against (cached: pure, and a client
    connects to the same few names again and again; errors are not cached)."""
    name = server_name.rstrip(".")
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise LocalProtocolError(
                f"server name {server_name!r} is not a valid host name"
            ) from None
    return x509.DNSName(name.lower())


def _utc(now: datetime.datetime) -> datetime.datetime:
    if now.tzinfo is None:
        return now.replace(tzinfo=datetime.UTC)
    return now.astimezone(datetime.UTC)


def _not_valid_at(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


# --- Verification profiles ---------------------------------------------------------------
#
# "webpki" is cryptography's CA/Browser Forum profile unchanged (for servers on the public
# internet). "private" is for private PKIs made with OpenSSL's default commands: a CA without
# keyUsage is accepted (basicConstraints CA:TRUE is still required, and a keyUsage that is
# present must still assert keyCertSign). Both accept a leaf without extendedKeyUsage (RFC 5280
# §4.2.1.12: absent means any purpose) and both refuse X.509 v1 certificates.
# A client certificate needs no subjectAltName under either profile: mutual TLS identifies a
# client by its subject DN at least as often as by a name, and OpenSSL, Go and Node accept it.

X509Profile = Literal["webpki", "private"]
X509_PROFILES: tuple[X509Profile, ...] = ("webpki", "private")
_RELAX_PROFILE = 'x509_profile="private" (CLI --x509-profile private) accepts it'


def _key_cert_sign_if_present(
    _policy: verification.Policy, _cert: x509.Certificate, usage: x509.KeyUsage | None
) -> None:
    # RFC 5280 §4.2.1.3: a CA key that signs certificates asserts keyCertSign when the
    # extension is there; only its absence is forgiven by the private profile.
    if usage is not None and not usage.key_cert_sign:
        raise ValueError("keyUsage.keyCertSign must be asserted in a CA certificate")


@lru_cache(maxsize=len(X509_PROFILES) * 2)
def _extension_policies(
    profile: X509Profile, client: bool
) -> tuple[verification.ExtensionPolicy, verification.ExtensionPolicy]:
    """The (CA, end-entity) extension policies for ``profile``; ``client`` for a client leaf."""
    ExtensionPolicy, Criticality = verification.ExtensionPolicy, verification.Criticality
    ca_policy = ExtensionPolicy.webpki_defaults_ca()
    if profile == "private":
        ca_policy = ca_policy.may_be_present(
            x509.KeyUsage, Criticality.AGNOSTIC, _key_cert_sign_if_present
        )
    ee_policy = ExtensionPolicy.webpki_defaults_ee()
    if client:
        ee_policy = ee_policy.may_be_present(
            x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
        )
    return ca_policy, ee_policy


def _policy_builder(
    store: TrustStore, when: datetime.datetime, profile: X509Profile, *, client: bool
) -> verification.PolicyBuilder:
    if profile not in X509_PROFILES:
        raise ConfigError(f"x509_profile must be one of {', '.join(X509_PROFILES)}")
    ca_policy, ee_policy = _extension_policies(profile, client)
    return (
        verification.PolicyBuilder()
        .store(store.store)
        .time(when)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
    )


# --- Explaining a refusal ---------------------------------------------------------------
#
# The verifier says what failed but, for an issuer that failed, not which certificate. Every
# refusal names the certificate, the rule and, where one exists, the option that relaxes it.


@dataclass(frozen=True, slots=True)
class _Rule:
    markers: tuple[str, ...]  # substrings of the verifier's message
    text: str  # the rule, as a user reads it
    # For a rule an issuer broke (the verifier does not say which): does this CA break it?
    breaks: Callable[[x509.Certificate], bool] | None = None
    relaxed_by_private: bool = False


def _no_key_usage(cert: x509.Certificate) -> bool:
    return _extension(cert, x509.KeyUsage) is None


def _no_key_cert_sign(cert: x509.Certificate) -> bool:
    usage = _extension(cert, x509.KeyUsage)
    return isinstance(usage, x509.KeyUsage) and not usage.key_cert_sign


def _not_a_ca(cert: x509.Certificate) -> bool:
    constraints = _extension(cert, x509.BasicConstraints)
    return not (isinstance(constraints, x509.BasicConstraints) and constraints.ca)


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> object | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None


_RULES: tuple[_Rule, ...] = (
    _Rule(
        ("2.5.29.15: Certificate is missing required extension",),
        "a CA certificate needs a keyUsage extension with keyCertSign "
        "(CA/Browser Forum Baseline Requirements §7.1.2)",
        relaxed_by_private=True,
        breaks=_no_key_usage,
    ),
    _Rule(
        ("keyCertSign must be asserted",),
        "a CA certificate's keyUsage must assert keyCertSign (RFC 5280 §4.2.1.3)",
        breaks=_no_key_cert_sign,
    ),
    _Rule(
        ("2.5.29.19", "basicConstraints.cA must be asserted"),
        "a CA certificate needs basicConstraints with CA:TRUE (RFC 5280 §4.2.1.9)",
        breaks=_not_a_ca,
    ),
    _Rule(
        ("must be an X509v3 certificate",),
        "only X.509 v3 certificates are accepted (RFC 5280 §4.1.2.1); "
        "reissue it with extensions (openssl x509 -req ... -extfile FILE)",
    ),
    _Rule(
        ("has no subjectAltName", "2.5.29.17: Certificate is missing required extension"),
        "a server certificate must name the server in subjectAltName "
        "(RFC 9525 §6.3: the subject CN is not used)",
    ),
    _Rule(
        ("no matching subjectAltName",),
        "the subjectAltName does not cover the server name",
    ),
    _Rule(
        ("required EKU not found",),
        "its extendedKeyUsage does not allow this use (serverAuth for a server, "
        "clientAuth for a client; RFC 5280 §4.2.1.12)",
    ),
)

_ENCOUNTERED = " (encountered processing <Certificate(subject=<Name("
_ENCOUNTERED_END = ")>, ...)>)"


def _named_subject(message: str) -> str | None:
    """The subject the verifier names in its message, when it names one."""
    start = message.find(_ENCOUNTERED)
    if start < 0 or not message.endswith(_ENCOUNTERED_END):
        return None
    return message[start + len(_ENCOUNTERED) : -len(_ENCOUNTERED_END)]


def _name_text(cert: x509.Certificate, which: Literal["subject", "issuer"]) -> str:
    """A certificate's subject or issuer for a message; a peer's name may not parse (the
    certificate is parsed lazily), and explaining a refusal must not fail in turn."""
    try:
        name = cert.subject if which == "subject" else cert.issuer
        return name.rfc4514_string()
    except (ValueError, TypeError):  # pyca raises either for a malformed attribute
        return f"(a {which} that does not parse)"


def _issuers_on_path(
    chain: Sequence[x509.Certificate], store: TrustStore
) -> list[x509.Certificate]:
    """The CA certificates the path from the leaf could go through, nearest first (by
    issuer name only: this names a culprit; the verifier already decided)."""
    candidates = [*chain[1:], *store.certificates]
    found: list[x509.Certificate] = []
    current = chain[0]
    try:
        while len(found) < len(candidates):
            issuer = next(
                (c for c in candidates if c.subject == current.issuer and c not in found), None
            )
            if issuer is None:
                break
            found.append(issuer)
            if issuer.subject == issuer.issuer:
                break
            current = issuer
    except (ValueError, TypeError):  # a name that does not parse ends the walk
        pass
    return found


def _culprit(
    message: str, rule: _Rule | None, chain: Sequence[x509.Certificate], store: TrustStore
) -> str:
    named = _named_subject(message)
    if named is not None:
        return f"certificate {named!r}"
    if rule is not None and rule.breaks is not None:
        for issuer in _issuers_on_path(chain, store):
            if rule.breaks(issuer):
                return f"CA certificate {_name_text(issuer, 'subject')!r}"
    return f"an issuer of {_name_text(chain[0], 'subject')!r}"


def _validity_text(chain: Sequence[x509.Certificate], now: datetime.datetime) -> str:
    """When the first certificate out of its validity period is valid, and when now is."""
    late = next((c for c in chain if _not_valid_at(c, now)), chain[0])
    stamp = "%Y-%m-%d %H:%M:%S UTC"
    return (
        f"; {_name_text(late, 'subject')!r} is valid from "
        f"{late.not_valid_before_utc.strftime(stamp)} to {late.not_valid_after_utc.strftime(stamp)}"
        f", and it is now {now.strftime(stamp)}"
    )


def _names_text(chain: Sequence[x509.Certificate], expected: str) -> str:
    """Which name was expected and which names the end-entity certificate has."""
    names = names_of(chain[0].public_bytes(serialization.Encoding.DER))
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"; expected {expected!r}, the certificate is for: {shown or 'no DNS name or IP'}"


def _classify(
    error: verification.VerificationError,
    chain: Sequence[x509.Certificate],
    store: TrustStore,
    now: datetime.datetime,
    profile: X509Profile,
    expected_name: str | None = None,
) -> BadCertificate:
    """Turn a verifier failure into the alert RFC 8446 §6.2 names, with a message that names
    the certificate, the rule and the option that relaxes it (if any): for a server's
    certificate (``expected_name`` given), also the name expected and the names it has, and
    where to add a missing CA; for an expired one, its validity dates."""
    message = str(error)
    reason = message.split(" (encountered processing", 1)[0].removeprefix("validation failed: ")
    if "not valid at validation time" in message or _not_valid_at(chain[0], now):
        alert = AlertDescription.certificate_expired
    elif "Forbidden public key algorithm" in message or "Forbidden signature algorithm" in message:
        alert = AlertDescription.unsupported_certificate
    elif "candidates exhausted with no interior errors" in message:
        alert = AlertDescription.unknown_ca
    else:
        alert = AlertDescription.bad_certificate
    rule = next((r for r in _RULES if any(m in message for m in r.markers)), None)
    text = rule.text if rule is not None else reason
    culprit = _culprit(message, rule, chain, store)
    if alert is AlertDescription.unknown_ca:
        culprit = f"certificate {_name_text(chain[-1], 'subject')!r}"
        text = f"its issuer {_name_text(chain[-1], 'issuer')!r} is not a trusted CA"
    detail = f"certificate chain rejected: {culprit}: {text} (x509_profile {profile}"
    detail += f"; verifier: {reason})" if rule is not None else ")"
    if rule is not None and rule.relaxed_by_private and profile == "webpki":
        detail += f"; {_RELAX_PROFILE}"
    if alert is AlertDescription.certificate_expired:
        detail += _validity_text(chain, now)
    elif expected_name is not None and "subjectAltName" in message:
        detail += _names_text(chain, expected_name)
    elif alert is AlertDescription.unknown_ca:
        detail += (
            "; trust the CA that issued it with --cafile FILE (connect) or "
            "ClientConfig(trust_store=TrustStore.from_file(FILE))"
            if expected_name is not None
            else "; trust the CA that issued it with --client-ca FILE (serve) or "
            "ServerConfig(client_trust_store=TrustStore.from_file(FILE))"
        )
    return BadCertificate(detail, alert=alert)


def _split_chain(chain: Sequence[bytes]) -> list[x509.Certificate]:
    if not chain:
        raise BadCertificate("empty certificate chain", alert=AlertDescription.bad_certificate)
    return [_parse_peer(der) for der in chain]


def _run_verifier(
    verifier: verification.ServerVerifier | verification.ClientVerifier,
    certificates: list[x509.Certificate],
    store: TrustStore,
    when: datetime.datetime,
    profile: X509Profile,
    expected_name: str | None = None,
) -> None:
    try:
        verifier.verify(certificates[0], certificates[1:])
    except verification.VerificationError as exc:
        raise _classify(exc, certificates, store, when, profile, expected_name) from None
    except ValueError:  # parsed lazily: a malformed field can surface only here
        raise BadCertificate(
            "peer certificate does not parse", alert=AlertDescription.bad_certificate
        ) from None


def verify_server_chain(
    chain: Sequence[bytes],
    server_name: str | None,
    store: TrustStore,
    now: datetime.datetime,
    *,
    profile: X509Profile = "webpki",
) -> None:
    """Validate a server's chain (end-entity first) for ``server_name`` at ``now``.

    ``server_name`` is a DNS name or an IP address literal and is required: without it the
    certificate cannot be tied to the peer (raises ``LocalProtocolError``).
    """
    if not server_name:
        raise LocalProtocolError(
            "cannot verify a server certificate without a server name; "
            "set server_name or switch verification off explicitly"
        )
    subject = _subject_for(server_name)
    certificates = _split_chain(chain)
    when = _utc(now)
    if composite_x509.involves_composite(certificates):
        composite_x509.verify_chain(
            certificates, store.certificates, when, subject=subject, client=False, profile=profile
        )
        return
    verifier = _policy_builder(store, when, profile, client=False).build_server_verifier(subject)
    _run_verifier(verifier, certificates, store, when, profile, server_name)


def chain_valid_at(chain: Sequence[bytes], now: datetime.datetime) -> bool:
    """Whether every certificate of ``chain`` parses and is within its validity period at
    ``now`` (a stored chain re-checked on resumption, as Go does)."""
    when = _utc(now)
    try:
        return bool(chain) and not any(_not_valid_at(_parse_peer(der), when) for der in chain)
    except BadCertificate:
        return False


def verify_client_chain(
    chain: Sequence[bytes],
    store: TrustStore,
    now: datetime.datetime,
    *,
    profile: X509Profile = "webpki",
) -> None:
    """Validate a client's chain (end-entity first) at ``now`` (mutual TLS). The client
    certificate needs no subjectAltName: the subject DN may be its only identity."""
    certificates = _split_chain(chain)
    when = _utc(now)
    if composite_x509.involves_composite(certificates):
        composite_x509.verify_chain(
            certificates, store.certificates, when, subject=None, client=True, profile=profile
        )
        return
    verifier = _policy_builder(store, when, profile, client=True).build_client_verifier()
    _run_verifier(verifier, certificates, store, when, profile)


# The TLS SignatureScheme that names how a certificate is signed (RFC 8446 §4.2.3), for the
# check against signature_algorithms_cert. RSASSA-PSS signatures map to the rsae and pss
# code points alike (the issuer's key type decides which; either is accepted).
_SIG = x509.oid.SignatureAlgorithmOID
_SIGNATURE_SCHEMES: dict[x509.ObjectIdentifier, tuple[int, ...]] = {
    _SIG.ECDSA_WITH_SHA256: (0x0403,),
    _SIG.ECDSA_WITH_SHA384: (0x0503,),
    _SIG.ECDSA_WITH_SHA512: (0x0603,),
    _SIG.RSA_WITH_SHA256: (0x0401,),
    _SIG.RSA_WITH_SHA384: (0x0501,),
    _SIG.RSA_WITH_SHA512: (0x0601,),
    _SIG.RSA_WITH_SHA1: (0x0201,),
    _SIG.ECDSA_WITH_SHA1: (0x0203,),
    _SIG.ED25519: (0x0807,),
    _SIG.ED448: (0x0808,),
    _SIG.ML_DSA_44: (0x0904,),
    _SIG.ML_DSA_65: (0x0905,),
    _SIG.ML_DSA_87: (0x0906,),
    # Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs): our private-use code points.
    x509.ObjectIdentifier("1.3.6.1.5.5.7.6.45"): (0xFE10,),
    x509.ObjectIdentifier("1.3.6.1.5.5.7.6.48"): (0xFE11,),
}
_PSS_SCHEMES = {"sha256": (0x0804, 0x0809), "sha384": (0x0805, 0x080A), "sha512": (0x0806, 0x080B)}


def certificate_signature_schemes(cert_der: bytes) -> tuple[int, ...]:
    """The SignatureScheme code points that describe how ``cert_der`` was signed (empty
    when no TLS code point names its algorithm)."""
    cert = _parse_peer(cert_der)
    oid = cert.signature_algorithm_oid
    if oid == _SIG.RSASSA_PSS:
        hash_algorithm = cert.signature_hash_algorithm
        return _PSS_SCHEMES.get(hash_algorithm.name, ()) if hash_algorithm is not None else ()
    return _SIGNATURE_SCHEMES.get(oid, ())


def _is_self_signed(cert: x509.Certificate) -> bool:
    """Issuer equal to subject *and* a signature its own key verifies: a name alone can be
    copied onto a certificate that another key signed (with any algorithm)."""
    try:
        if cert.issuer != cert.subject:
            return False
    except (ValueError, TypeError):  # a name that does not parse: not a root we skip
        return False
    if composite_x509.involves_composite([cert]):
        return composite_x509.signed_by(cert, cert)
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def check_chain_signatures(chain: Sequence[bytes], allowed: Sequence[int]) -> None:
    """Every certificate the peer sent must be signed with a scheme we listed in
    signature_algorithms_cert (RFC 8446 §4.2.3, §4.4.2.2); a self-signed root's own
    signature does not count. Otherwise unsupported_certificate (§4.4.2.4)."""
    accepted = set(allowed)
    for der in chain:
        cert = _parse_peer(der)
        if _is_self_signed(cert):
            continue
        schemes = certificate_signature_schemes(der)
        if not accepted.intersection(schemes):
            raise BadCertificate(
                f"certificate {_name_text(cert, 'subject')!r} is signed with "
                f"{cert.signature_algorithm_oid.dotted_string}, which is not in our "
                "signature_algorithms_cert",
                alert=AlertDescription.unsupported_certificate,
            )
