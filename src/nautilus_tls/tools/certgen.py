"""Certificates for local use and tests: a one-level CA, server and client leaves.

Every algorithm the library signs with is available, post-quantum first::

    mldsa44 | mldsa65 | mldsa87 | ed25519 | ecdsa-p256 | ecdsa-p384 | rsa2048
    mldsa65-ecdsa-p256 | mldsa65-ed25519     (composite ML-DSA, draft-ietf-lamps-pq-composite-sigs)

A composite algorithm makes a composite CA as well (pyca/cryptography cannot sign with a
composite key, so :mod:`nautilus_tls.crypto.composite_x509` signs those certificates); its keys
are PKCS#8 under the composite OID, which only this library loads. Serving them needs the
composite add-on provider (``with_composite``) and its schemes listed in the configs.

The certificates follow the rules that strict verifiers enforce (pyca/cryptography's
``x509.verification`` web PKI policy, OpenSSL 3.5 in Node.js 24): random positive serials,
validity starting a little in the past, Subject and Authority Key Identifiers, a CA with
``BasicConstraints(ca=True, path_length=0)`` and ``keyCertSign``, leaves with
``BasicConstraints(ca=False)``, ``digitalSignature`` and the matching extended key usage.

This is for development and tests: keys are written unencrypted.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from typing import Final, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nautilus_tls.crypto import composite, composite_x509

CertKey: TypeAlias = (
    mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
    | mldsa.MLDSA87PrivateKey
    | ed25519.Ed25519PrivateKey
    | ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | composite.CompositePrivateKey
)
"""A private key that certgen makes and that can sign certificates."""

ALGORITHMS: Final[tuple[str, ...]] = (
    "mldsa44",
    "mldsa65",
    "mldsa87",
    "ed25519",
    "ecdsa-p256",
    "ecdsa-p384",
    "rsa2048",
)
"""The algorithms every verifier we test against knows (pyca/cryptography, OpenSSL in Node)."""

COMPOSITE_ALGORITHMS: Final[tuple[str, ...]] = ("mldsa65-ecdsa-p256", "mldsa65-ed25519")
"""Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs): only this library validates them."""

CERT_ALGORITHMS: Final[tuple[str, ...]] = ALGORITHMS + COMPOSITE_ALGORITHMS
"""What ``nautilus-tls cert --alg`` offers."""

BACKDATE: Final = datetime.timedelta(minutes=5)
"""How far in the past validity starts, so that a peer with a slightly slow clock accepts it."""
CA_LIFETIME: Final = datetime.timedelta(days=3650)
LEAF_LIFETIME: Final = datetime.timedelta(days=365)

_ORGANIZATION: Final = "Nautilus TLS (development)"

_BUNDLE_CA_ALG: Final[dict[str, str]] = {"ed25519": "ecdsa-p256"}
"""CA algorithm for a bundle when it differs from the leaves' (see :func:`ca_alg_for`)."""


def generate_key(alg: str) -> CertKey:
    """A fresh private key for ``alg`` (one of :data:`ALGORITHMS`)."""
    if alg == "mldsa44":
        return mldsa.MLDSA44PrivateKey.generate()
    if alg == "mldsa65":
        return mldsa.MLDSA65PrivateKey.generate()
    if alg == "mldsa87":
        return mldsa.MLDSA87PrivateKey.generate()
    if alg == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg in _COMPOSITE:
        return composite.CompositePrivateKey.generate(_COMPOSITE[alg])
    raise ValueError(f"unknown key algorithm {alg!r}; expected one of {', '.join(CERT_ALGORITHMS)}")


_COMPOSITE: Final = {
    "mldsa65-ecdsa-p256": composite.MLDSA65_ECDSA_P256,
    "mldsa65-ed25519": composite.MLDSA65_ED25519,
}


def _builder_key(key: CertKey) -> x509.CertificateBuilder:
    """A builder holding ``key``'s public key (a composite key is put in when signing)."""
    if isinstance(key, composite.CompositePrivateKey):
        return x509.CertificateBuilder()  # composite_x509.sign_certificate sets the key
    return x509.CertificateBuilder().public_key(key.public_key())


def _ski(key: CertKey) -> x509.SubjectKeyIdentifier:
    if isinstance(key, composite.CompositePrivateKey):
        return composite_x509.subject_key_identifier(key)
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def _sign(builder: x509.CertificateBuilder, key: CertKey, issuer_key: CertKey) -> bytes:
    """The DER certificate ``issuer_key`` signs for ``key``: composite keys go together (a
    composite CA issues composite leaves), the rest through pyca/cryptography."""
    is_composite = isinstance(key, composite.CompositePrivateKey)
    if isinstance(issuer_key, composite.CompositePrivateKey) and is_composite:
        assert isinstance(key, composite.CompositePrivateKey)
        return composite_x509.sign_certificate(builder, key, issuer_key)
    if isinstance(issuer_key, composite.CompositePrivateKey) or is_composite:
        raise ValueError("a composite certificate needs a composite CA (and the reverse)")
    cert = builder.sign(issuer_key, _signature_hash(issuer_key))
    return cert.public_bytes(serialization.Encoding.DER)


def _signature_hash(
    issuer_key: CertKey,
) -> hashes.SHA256 | hashes.SHA384 | None:
    """The hash for a certificate signed by ``issuer_key`` (None: the algorithm has its own)."""
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        return hashes.SHA384() if issuer_key.curve.key_size >= 384 else hashes.SHA256()
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    return None  # Ed25519 and ML-DSA sign the message itself


def _validity(
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
    lifetime: datetime.timedelta,
) -> tuple[datetime.datetime, datetime.datetime]:
    start = not_before or datetime.datetime.now(datetime.UTC) - BACKDATE
    end = not_after or start + BACKDATE + lifetime
    if end <= start:
        raise ValueError("not_after must be later than not_before")
    return start, end


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _general_name(name: str) -> x509.GeneralName:
    """An IP address SAN when ``name`` parses as one, else a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: CertKey,
    start: datetime.datetime,
    end: datetime.datetime,
) -> x509.CertificateBuilder:
    """What every certificate here starts from: names, key, a random serial, validity."""
    return (
        _builder_key(key)
        .subject_name(subject)
        .issuer_name(issuer)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def make_ca(
    alg: str,
    common_name: str,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[bytes, CertKey]:
    """A self-signed root CA that may issue leaves only (path length 0): ``(cert_der, key)``."""
    key = generate_key(alg)
    start, end = _validity(not_before, not_after, CA_LIFETIME)
    ski = _ski(key)
    name = _name(common_name)
    builder = (
        _builder(name, name, key, start, end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    return _sign(builder, key, key), key


def make_leaf(
    ca_cert_der: bytes,
    ca_key: CertKey,
    alg: str,
    names: list[str],
    client: bool = False,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[bytes, CertKey]:
    """An end-entity certificate issued by the CA: ``(cert_der, key)``.

    ``names`` become the subjectAltName entries (DNS names, or IP addresses such as
    ``127.0.0.1`` and ``::1``); the first one is also the subject's common name. A server leaf
    carries the serverAuth extended key usage, a client leaf (``client=True``) clientAuth.
    """
    if not names:
        raise ValueError("a leaf certificate needs at least one name")
    ca_cert = x509.load_der_x509_certificate(ca_cert_der)
    key = generate_key(alg)
    start, end = _validity(not_before, not_after, LEAF_LIFETIME)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        _builder(_name(names[0]), ca_cert.subject, key, start, end)
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
        .add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False
        )
        .add_extension(_ski(key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    return _sign(builder, key, ca_key), key


def make_self_issued(
    key: CertKey,
    uri: str,
    names: list[str] | None = None,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> bytes:
    """A DER certificate signed by ``key`` itself, naming ``uri`` (a subjectAltName URI, such
    as a DID) and ``names``: what a DID holder presents until raw public keys exist
    (:mod:`nautilus_tls.did.certificate`). No CA vouches for it; its key is its identity."""
    start, end = _validity(not_before, not_after, LEAF_LIFETIME)
    name = _name("DID holder")
    builder = (
        _builder(name, name, key, start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(uri), *(_general_name(n) for n in names or [])]
            ),
            critical=False,
        )
    )
    return _sign(builder, key, key)


def cert_to_pem(cert_der: bytes) -> bytes:
    """PEM ("BEGIN CERTIFICATE") for a DER certificate."""
    return x509.load_der_x509_certificate(cert_der).public_bytes(serialization.Encoding.PEM)


def key_to_pem(key: CertKey) -> bytes:
    """Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY") for a private key."""
    if isinstance(key, composite.CompositePrivateKey):
        return key.private_bytes_pem()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


CLIENT_NAME: Final = "client.nautilus.test"
"""The name in the client certificate that :func:`write_pem_bundle` makes."""


def ca_alg_for(alg: str) -> str:
    """The CA algorithm that :func:`write_pem_bundle` pairs with leaves of ``alg``.

    The same algorithm, except for Ed25519: pyca/cryptography's web-PKI verifier refuses
    certificates *signed* with Ed25519 ("Forbidden public key algorithm"), though it accepts an
    Ed25519 leaf key. An Ed25519 leaf therefore gets an ECDSA P-256 CA; the key that signs the
    TLS CertificateVerify is still Ed25519.
    """
    if alg not in CERT_ALGORITHMS:
        raise ValueError(
            f"unknown key algorithm {alg!r}; expected one of {', '.join(CERT_ALGORITHMS)}"
        )
    return _BUNDLE_CA_ALG.get(alg, alg)


def write_pem_bundle(
    out_dir: str | os.PathLike[str],
    alg: str,
    names: list[str],
    *,
    ca_alg: str | None = None,
) -> dict[str, Path]:
    """Write a CA, a server leaf for ``names`` and a client leaf as PEM files.

    The leaves' keys are ``alg``; the CA's is ``ca_alg``, by default :func:`ca_alg_for` ``alg``.
    Files: ``ca.pem``/``ca.key``, ``server.pem``/``server.key``, ``client.pem``/``client.key``
    (keys readable by the owner only). Returns the paths keyed by file name without the
    dot: ``ca_pem, ca_key, server_pem, server_key, client_pem, client_key``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ca_alg = ca_alg or ca_alg_for(alg)
    ca_der, ca_key = make_ca(ca_alg, f"Nautilus TLS development CA ({ca_alg})")
    server_der, server_key = make_leaf(ca_der, ca_key, alg, names)
    client_der, client_key = make_leaf(ca_der, ca_key, alg, [CLIENT_NAME], client=True)
    paths: dict[str, Path] = {}
    for stem, der, key in (
        ("ca", ca_der, ca_key),
        ("server", server_der, server_key),
        ("client", client_der, client_key),
    ):
        paths[f"{stem}_pem"] = _write(out / f"{stem}.pem", cert_to_pem(der), 0o644)
        paths[f"{stem}_key"] = _write(out / f"{stem}.key", key_to_pem(key), 0o600)
    return paths


def _write(path: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new file created with ``mode`` (a key is never world-readable)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path
