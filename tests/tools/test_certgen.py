"""certgen makes chains that pyca/cryptography's web-PKI verifier accepts, for every algorithm."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from nautilus_tls.tools import certgen

NAMES = ["localhost", "127.0.0.1", "::1"]


@pytest.fixture(scope="module", params=certgen.ALGORITHMS)
def bundle(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    alg: str = request.param
    return certgen.write_pem_bundle(tmp_path_factory.mktemp(alg), alg, NAMES)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _store(bundle: dict[str, Path]) -> Store:
    return Store([_cert(bundle["ca_pem"])])


@pytest.mark.parametrize(
    "subject",
    [
        x509.DNSName("localhost"),
        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")),
    ],
    ids=str,
)
def test_accepts_server_chain_for_every_algorithm(
    bundle: dict[str, Path], subject: x509.verification.Subject
) -> None:
    verifier = PolicyBuilder().store(_store(bundle)).build_server_verifier(subject)
    chain = verifier.verify(_cert(bundle["server_pem"]), [])
    assert [c.subject for c in chain] == [
        _cert(bundle["server_pem"]).subject,
        _cert(bundle["ca_pem"]).subject,
    ]


def test_accepts_client_chain_for_every_algorithm(bundle: dict[str, Path]) -> None:
    verifier = PolicyBuilder().store(_store(bundle)).build_client_verifier()
    verified = verifier.verify(_cert(bundle["client_pem"]), [])
    assert verified.subjects == [x509.DNSName(certgen.CLIENT_NAME)]


def test_rejects_server_chain_for_other_name(bundle: dict[str, Path]) -> None:
    verifier = (
        PolicyBuilder().store(_store(bundle)).build_server_verifier(x509.DNSName("example.com"))
    )
    with pytest.raises(VerificationError):
        verifier.verify(_cert(bundle["server_pem"]), [])


def test_rejects_client_certificate_as_server(bundle: dict[str, Path]) -> None:
    verifier = (
        PolicyBuilder()
        .store(_store(bundle))
        .build_server_verifier(x509.DNSName(certgen.CLIENT_NAME))
    )
    with pytest.raises(VerificationError):
        verifier.verify(_cert(bundle["client_pem"]), [])


def test_private_keys_round_trip_and_match(bundle: dict[str, Path]) -> None:
    for stem in ("ca", "server", "client"):
        key = load_pem_private_key(bundle[f"{stem}_key"].read_bytes(), password=None)
        assert key.public_key() == _cert(bundle[f"{stem}_pem"]).public_key()
        assert stat.S_IMODE(bundle[f"{stem}_key"].stat().st_mode) == 0o600


@pytest.mark.parametrize("alg", ["mldsa65", "ecdsa-p256"])
def test_ca_and_leaf_extensions(alg: str) -> None:
    ca_der, ca_key = certgen.make_ca(alg, "Test CA")
    leaf_der, _ = certgen.make_leaf(ca_der, ca_key, alg, NAMES)
    ca = x509.load_der_x509_certificate(ca_der)
    leaf = x509.load_der_x509_certificate(leaf_der)

    ca_bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca_bc.critical and ca_bc.value.ca and ca_bc.value.path_length == 0
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign

    leaf_bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert leaf_bc.critical and not leaf_bc.value.ca
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(ip) for ip in NAMES[1:]]
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert leaf.issuer == ca.subject


def test_client_leaf_has_client_auth_usage() -> None:
    ca_der, ca_key = certgen.make_ca("ecdsa-p256", "Test CA")
    leaf_der, _ = certgen.make_leaf(ca_der, ca_key, "ecdsa-p256", ["client.test"], client=True)
    eku = x509.load_der_x509_certificate(leaf_der).extensions.get_extension_for_class(
        x509.ExtendedKeyUsage
    )
    assert list(eku.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_serials_are_random_and_validity_starts_in_the_past() -> None:
    now = datetime.datetime.now(datetime.UTC)
    certs = [
        x509.load_der_x509_certificate(certgen.make_ca("ecdsa-p256", "CA")[0]) for _ in range(3)
    ]
    assert len({c.serial_number for c in certs}) == 3
    assert all(c.serial_number > 0 for c in certs)
    assert all(c.not_valid_before_utc < now < c.not_valid_after_utc for c in certs)


def test_rejects_expired_leaf() -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_der, ca_key = certgen.make_ca("ecdsa-p256", "CA")
    leaf_der, _ = certgen.make_leaf(
        ca_der,
        ca_key,
        "ecdsa-p256",
        ["localhost"],
        not_before=now - datetime.timedelta(days=10),
        not_after=now - datetime.timedelta(days=1),
    )
    verifier = (
        PolicyBuilder()
        .store(Store([x509.load_der_x509_certificate(ca_der)]))
        .build_server_verifier(x509.DNSName("localhost"))
    )
    with pytest.raises(VerificationError):
        verifier.verify(x509.load_der_x509_certificate(leaf_der), [])


def test_ed25519_bundle_has_ed25519_leaves_under_ecdsa_ca(tmp_path: Path) -> None:
    paths = certgen.write_pem_bundle(tmp_path, "ed25519", ["localhost"])
    assert certgen.ca_alg_for("ed25519") == "ecdsa-p256"
    assert isinstance(_cert(paths["server_pem"]).public_key(), ed25519.Ed25519PublicKey)
    assert isinstance(_cert(paths["client_pem"]).public_key(), ed25519.Ed25519PublicKey)
    assert isinstance(_cert(paths["ca_pem"]).public_key(), ec.EllipticCurvePublicKey)


def test_rejects_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unknown key algorithm"):
        certgen.generate_key("dsa1024")
    with pytest.raises(ValueError, match="at least one name"):
        ca_der, ca_key = certgen.make_ca("ecdsa-p256", "CA")
        certgen.make_leaf(ca_der, ca_key, "ecdsa-p256", [])


def test_pem_helpers() -> None:
    ca_der, ca_key = certgen.make_ca("mldsa44", "CA")
    assert certgen.cert_to_pem(ca_der).startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert certgen.key_to_pem(ca_key).startswith(b"-----BEGIN PRIVATE KEY-----\n")
