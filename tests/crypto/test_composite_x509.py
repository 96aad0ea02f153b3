"""Composite ML-DSA certificates: the draft's self-signed certificates validate, ours are made
with the composite key and signature, and chains of them are validated (names, validity, CA
rules, both signature components) with the alerts of the pyca path."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import random
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import mldsa
from cryptography.x509.oid import NameOID
from vectors import load_vector

from nautilus_tls.crypto import composite, composite_x509, der, derwrite
from nautilus_tls.crypto.composite import CompositePrivateKey, CompositeSignatureScheme
from nautilus_tls.crypto.x509 import (
    TrustStore,
    check_chain_signatures,
    verify_client_chain,
    verify_server_chain,
)
from nautilus_tls.errors import AlertDescription, BadCertificate
from nautilus_tls.tools import certgen

A = AlertDescription


def now() -> datetime.datetime:
    # At the check, not at import: the suite may reach these tests minutes after collection,
    # later than a fresh certificate's 5-minute backdating.
    return datetime.datetime.now(datetime.UTC)


VECTORS = load_vector("composite_mldsa_draft_vectors.json")


@dataclasses.dataclass(frozen=True)
class Chain:
    ca: bytes
    ca_key: CompositePrivateKey
    server: bytes
    server_key: CompositePrivateKey
    client: bytes

    @property
    def store(self) -> TrustStore:
        return TrustStore.from_certificates([self.ca])


@cache
def chain(alg: str = "mldsa65-ecdsa-p256", ca_name: str = "Composite CA") -> Chain:
    ca, ca_key = certgen.make_ca(alg, ca_name)
    server, server_key = certgen.make_leaf(ca, ca_key, alg, ["localhost", "*.svc.test", "10.1.2.3"])
    client, _ = certgen.make_leaf(ca, ca_key, alg, ["client.test"], client=True)
    assert isinstance(ca_key, CompositePrivateKey) and isinstance(server_key, CompositePrivateKey)
    return Chain(ca, ca_key, server, server_key, client)


def alert_of(call: object, *args: object, **kw: object) -> AlertDescription:
    with pytest.raises(BadCertificate) as exc:
        call(*args, **kw)  # type: ignore[operator]
    return exc.value.alert


def cert(der_bytes: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der_bytes)


@pytest.mark.parametrize("case", VECTORS["tests"], ids=lambda c: c["tcId"])
def test_the_drafts_self_signed_certificates_verify(case: dict[str, str]) -> None:
    x5c = cert(base64.b64decode(case["x5c"]))
    assert composite_x509.signed_by(x5c, x5c)
    assert composite_x509.involves_composite([x5c])


@pytest.mark.parametrize("alg", certgen.COMPOSITE_ALGORITHMS)
def test_our_certificates_carry_the_composite_key_and_signature(alg: str) -> None:
    c = chain(alg)
    algorithm = composite.MLDSA65_ECDSA_P256 if "ecdsa" in alg else composite.MLDSA65_ED25519
    leaf = cert(c.server)
    oid, key = der.spki_parts(der.spki_from_tbs(leaf.tbs_certificate_bytes))
    assert oid == algorithm.oid and len(key) == algorithm.public_key_len
    assert leaf.signature_algorithm_oid.dotted_string == algorithm.oid
    assert composite.verify(
        algorithm, c.ca_key.public_key_bytes, leaf.signature, leaf.tbs_certificate_bytes
    )
    ski = leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski.digest == hashlib.sha1(key).digest()  # RFC 5280 §4.2.1.2 method 1


@pytest.mark.parametrize("alg", certgen.COMPOSITE_ALGORITHMS)
@pytest.mark.parametrize("name", ["localhost", "10.1.2.3", "api.svc.test", "LOCALHOST."])
def test_a_composite_server_chain_validates_for_its_names(alg: str, name: str) -> None:
    c = chain(alg)
    verify_server_chain([c.server], name, c.store, now())


@pytest.mark.parametrize("name", ["example.com", "a.b.svc.test", "svc.test", "10.1.2.4"])
def test_a_name_outside_the_subject_alt_names_is_bad_certificate(name: str) -> None:
    c = chain()
    assert alert_of(verify_server_chain, [c.server], name, c.store, now()) is A.bad_certificate


def test_a_composite_client_chain_validates_and_cannot_serve() -> None:
    c = chain()
    verify_client_chain([c.client], c.store, now())
    assert alert_of(verify_server_chain, [c.client], "client.test", c.store, now()) is (
        A.bad_certificate
    )
    assert alert_of(verify_client_chain, [c.server], c.store, now()) is A.bad_certificate


@pytest.mark.parametrize("days", [-1, 400])
def test_outside_the_validity_period_is_certificate_expired(days: int) -> None:
    c = chain()
    when = now() + datetime.timedelta(days=days)
    assert alert_of(verify_server_chain, [c.server], "localhost", c.store, when) is (
        A.certificate_expired
    )


def test_another_ca_is_unknown_ca() -> None:
    other = chain("mldsa65-ecdsa-p256", "Another composite CA")
    mldsa_store = TrustStore.from_certificates([certgen.make_ca("mldsa65", "ML-DSA CA")[0]])
    for store in (other.store, mldsa_store):
        assert alert_of(verify_server_chain, [chain().server], "localhost", store, now()) is (
            A.unknown_ca
        )


def test_a_ca_of_the_same_name_with_another_key_is_bad_certificate() -> None:
    # Same issuer name, another key: the signature does not verify (RFC 8446 §6.2).
    impostor = chain("mldsa65-ecdsa-p256", "Composite CA").ca
    twin, _ = certgen.make_ca("mldsa65-ecdsa-p256", "Composite CA")
    store = TrustStore.from_certificates([twin])
    assert cert(twin).subject == cert(impostor).subject
    assert alert_of(verify_server_chain, [chain().server], "localhost", store, now()) is (
        A.bad_certificate
    )


def _builder(
    subject: str,
    issuer: str,
    key: CompositePrivateKey,
    *,
    ca: bool,
    path: int | None,
    issuer_key: CompositePrivateKey,
    critical_extra: bool = False,
) -> bytes:
    start = now() - datetime.timedelta(minutes=5)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=30))
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path if ca else None), critical=True
        )
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    if critical_extra:
        b = b.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"),
            critical=True,
        )
    return composite_x509.sign_certificate(b, key, issuer_key)


def _three_level(
    root_path: int | None, *, critical_extra: bool = False
) -> tuple[bytes, list[bytes]]:
    alg = composite.MLDSA65_ED25519
    root_key, mid_key, leaf_key = (CompositePrivateKey.generate(alg) for _ in range(3))
    root = _builder("Root", "Root", root_key, ca=True, path=root_path, issuer_key=root_key)
    mid = _builder("Mid", "Root", mid_key, ca=True, path=0, issuer_key=root_key)
    leaf = _builder(
        "leaf",
        "Mid",
        leaf_key,
        ca=False,
        path=None,
        issuer_key=mid_key,
        critical_extra=critical_extra,
    )
    return root, [leaf, mid]


def test_a_path_through_an_intermediate_validates() -> None:
    root, path = _three_level(None)
    verify_server_chain(path, "localhost", TrustStore.from_certificates([root]), now())
    # Without the intermediate there is no path.
    assert (
        alert_of(
            verify_server_chain, path[:1], "localhost", TrustStore.from_certificates([root]), now()
        )
        is A.unknown_ca
    )


def test_a_path_length_constraint_is_honoured() -> None:
    root, path = _three_level(0)
    store = TrustStore.from_certificates([root])
    assert alert_of(verify_server_chain, path, "localhost", store, now()) is A.bad_certificate


def test_an_unknown_critical_extension_refuses_the_chain() -> None:
    root, path = _three_level(None, critical_extra=True)
    store = TrustStore.from_certificates([root])
    assert alert_of(verify_server_chain, path, "localhost", store, now()) is A.bad_certificate


def test_a_leaf_cannot_issue() -> None:
    c = chain()
    server = cert(c.server)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(server.subject)
        .serial_number(1)
        .not_valid_before(now() - datetime.timedelta(minutes=1))
        .not_valid_after(now() + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    )
    subject_key = CompositePrivateKey.generate(composite.MLDSA65_ECDSA_P256)
    issued = composite_x509.sign_certificate(b, subject_key, c.server_key)
    assert composite_x509.signed_by(cert(issued), server)  # a good signature...
    # ...by a key whose certificate is not a CA (basicConstraints cA false).
    assert alert_of(verify_server_chain, [issued, c.server], "localhost", c.store, now()) is (
        A.bad_certificate
    )


def test_the_signature_algorithm_must_be_the_issuers_composite_algorithm() -> None:
    c = chain()
    fields = der.sequence_elements(c.server)
    other = derwrite.algorithm_identifier(composite.MLDSA65_ED25519.oid)
    relabelled = derwrite.sequence(fields[0], other, fields[2])
    assert not composite_x509.signed_by(cert(relabelled), cert(c.ca))
    assert composite_x509.signed_by(cert(c.server), cert(c.ca))


def test_signature_algorithms_cert_lists_the_composite_code_points() -> None:
    c = chain()
    check_chain_signatures([c.server], [CompositeSignatureScheme.mldsa65_ecdsa_secp256r1_sha512])
    with pytest.raises(BadCertificate) as exc:
        check_chain_signatures(
            [c.server], [CompositeSignatureScheme.mldsa65_ed25519_sha512, 0x0905]
        )
    assert exc.value.alert is A.unsupported_certificate
    # The self-signed composite root's own signature does not count (RFC 8446 §4.2.3).
    check_chain_signatures([c.ca], [0x0905])


def test_pyca_chains_do_not_take_the_composite_path() -> None:
    ca, key = certgen.make_ca("mldsa65", "ML-DSA CA")
    leaf, _ = certgen.make_leaf(ca, key, "mldsa65", ["localhost"])
    assert not composite_x509.involves_composite([cert(leaf), cert(ca)])
    assert composite_x509.involves_composite([cert(chain().server)])


def test_mixing_composite_and_pyca_keys_in_certgen_is_refused() -> None:
    ca, key = certgen.make_ca("mldsa65", "ML-DSA CA")
    with pytest.raises(ValueError, match="composite CA"):
        certgen.make_leaf(ca, key, "mldsa65-ed25519", ["localhost"])


def test_mutated_composite_certificates_are_refused_with_an_alert_never_a_crash() -> None:
    # A one-bit change anywhere in the DER (structure, names, extensions, key, signature) is
    # refused with BadCertificate: never accepted, never another exception.
    c = chain()
    rng = random.Random(17)
    refused = 0
    for _ in range(150):
        der_bytes = bytearray(c.server)
        at = rng.randrange(len(der_bytes))
        der_bytes[at] ^= 1 << rng.randrange(8)
        try:
            verify_server_chain([bytes(der_bytes)], "localhost", c.store, now())
        except BadCertificate:
            refused += 1
    assert refused == 150


def test_a_composite_leaf_under_an_ml_dsa_ca_validates_through_pyca_for_that_link() -> None:
    # The issuer's key is ML-DSA-65 (pyca verifies that link), the leaf's key composite.
    ca_der, ca_key = certgen.make_ca("mldsa65", "ML-DSA CA for a composite leaf")
    leaf_key = CompositePrivateKey.generate(composite.MLDSA65_ED25519)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(cert(ca_der).subject)
        .serial_number(7)
        .not_valid_before(now() - datetime.timedelta(minutes=1))
        .not_valid_after(now() + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    )
    template = cert(composite_x509.sign_certificate(b, leaf_key, leaf_key))
    fields = der.sequence_elements(template.tbs_certificate_bytes)
    mldsa65 = derwrite.algorithm_identifier("2.16.840.1.101.3.4.3.18")
    fields[2] = mldsa65
    tbs = derwrite.sequence(*fields)
    assert isinstance(ca_key, mldsa.MLDSA65PrivateKey)
    signature = ca_key.sign(tbs)
    leaf = derwrite.sequence(tbs, mldsa65, derwrite.bit_string(signature))
    store = TrustStore.from_certificates([ca_der])
    verify_server_chain([leaf], "localhost", store, now())
    broken = leaf[:-1] + bytes([leaf[-1] ^ 1])
    assert alert_of(verify_server_chain, [broken], "localhost", store, now()) is A.bad_certificate
