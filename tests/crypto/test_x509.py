"""Chain validation with cryptography's WebPKI verifier, including ML-DSA chains."""

from __future__ import annotations

import datetime
import ipaddress
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nautilus_tls.crypto.x509 import (
    TrustStore,
    ca_distinguished_names,
    load_certificate_chain_pem,
    subject_of,
    verify_client_chain,
    verify_server_chain,
)
from nautilus_tls.errors import AlertDescription, BadCertificate, ConfigError, LocalProtocolError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
DER = serialization.Encoding.DER
SERVER = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH

_KEYGEN: dict[str, Any] = {
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "mldsa44": mldsa.MLDSA44PrivateKey.generate,
    "mldsa65": mldsa.MLDSA65PrivateKey.generate,
    "mldsa87": mldsa.MLDSA87PrivateKey.generate,
}


def _digest(key: Any) -> hashes.HashAlgorithm | None:
    return hashes.SHA256() if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Issued:
    key: Any
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(DER)


def make_ca(
    kind: str,
    cn: str = "Test CA",
    issuer: Issued | None = None,
    valid: tuple[int, int] = (-30, 365),
) -> Issued:
    key = _KEYGEN[kind]()
    signer = issuer.key if issuer else key
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + valid[0] * DAY)
        .not_valid_after(NOW + valid[1] * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
        .sign(signer, _digest(signer))
    )
    return Issued(key, cert)


def make_leaf(
    kind: str,
    issuer: Issued,
    names: tuple[str, ...] = ("example.com",),
    eku: x509.ObjectIdentifier = SERVER,
    valid: tuple[int, int] = (-1, 30),
) -> Issued:
    key = _KEYGEN[kind]()
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + valid[0] * DAY)
        .not_valid_after(NOW + valid[1] * DAY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        .sign(issuer.key, _digest(issuer.key))
    )
    return Issued(key, cert)


def _alert(exc: pytest.ExceptionInfo[BadCertificate]) -> AlertDescription:
    return exc.value.alert


# --- accepts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mldsa44", "mldsa65", "mldsa87", "p256"])
def test_accepts_chain_signed_with(kind: str) -> None:
    """cryptography 50's verifier checks ML-DSA signatures (FIPS 204, RFC 9881)."""
    root = make_ca(kind)
    inter = make_ca(kind, "Intermediate", issuer=root)
    leaf = make_leaf(kind, inter)
    store = TrustStore.from_certificates([root.der])
    verify_server_chain([leaf.der, inter.der], "example.com", store, NOW)
    client = make_leaf(kind, inter, names=("client.example",), eku=CLIENT)
    verify_client_chain([client.der, inter.der], store, NOW)


def test_rejects_mldsa_chain_with_bad_signature() -> None:
    root = make_ca("mldsa65")
    impostor = make_ca("mldsa65")  # same subject name, different key
    leaf = make_leaf("mldsa65", impostor)
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "example.com", TrustStore.from_certificates([root.der]), NOW
        )
    assert _alert(exc) is AlertDescription.bad_certificate  # "signature does not match"
    tampered = bytearray(make_leaf("mldsa65", root).der)
    tampered[-10] ^= 0xFF  # inside the signature
    with pytest.raises(BadCertificate):
        verify_server_chain(
            [bytes(tampered)], "example.com", TrustStore.from_certificates([root.der]), NOW
        )


@pytest.mark.parametrize("leaf_kind", ["mldsa65", "ed25519"])
def test_accepts_ecdsa_root_with_leaf_key(leaf_kind: str) -> None:
    root = make_ca("p256")
    leaf = make_leaf(leaf_kind, root)
    verify_server_chain([leaf.der], "example.com", TrustStore.from_certificates([root.der]), NOW)


def test_accepts_ip_address_and_case_insensitive_names() -> None:
    root = make_ca("p256")
    leaf = make_leaf("p256", root, names=("example.com", "127.0.0.1", "::1"))
    store = TrustStore.from_certificates([root.der])
    verify_server_chain([leaf.der], "127.0.0.1", store, NOW)
    verify_server_chain([leaf.der], "::1", store, NOW)
    verify_server_chain([leaf.der], "EXAMPLE.com.", store, NOW)


def test_naive_time_is_utc() -> None:
    root = make_ca("p256")
    leaf = make_leaf("p256", root)
    naive = NOW.replace(tzinfo=None)
    verify_server_chain([leaf.der], "example.com", TrustStore.from_certificates([root.der]), naive)


# --- rejects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("when", [NOW + 60 * DAY, NOW - 5 * DAY])
def test_rejects_leaf_outside_validity_as_expired(when: datetime.datetime) -> None:
    root = make_ca("p256")
    leaf = make_leaf("p256", root)
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "example.com", TrustStore.from_certificates([root.der]), when
        )
    assert _alert(exc) is AlertDescription.certificate_expired


def test_rejects_expired_intermediate() -> None:
    root = make_ca("p256")
    inter = make_ca("p256", "Intermediate", issuer=root, valid=(-30, 1))
    leaf = make_leaf("p256", inter, valid=(-1, 30))
    store = TrustStore.from_certificates([root.der])
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain([leaf.der, inter.der], "example.com", store, NOW + 5 * DAY)
    assert _alert(exc) is AlertDescription.certificate_expired


def test_rejects_unknown_ca() -> None:
    root = make_ca("p256")
    other = make_ca("p256", "Other CA")
    leaf = make_leaf("p256", root)
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "example.com", TrustStore.from_certificates([other.der]), NOW
        )
    assert _alert(exc) is AlertDescription.unknown_ca
    with pytest.raises(BadCertificate) as exc:
        client = make_leaf("p256", root, eku=CLIENT)
        verify_client_chain([client.der], TrustStore.from_certificates([other.der]), NOW)
    assert _alert(exc) is AlertDescription.unknown_ca


def test_rejects_missing_intermediate_as_unknown_ca() -> None:
    root = make_ca("p256")
    inter = make_ca("p256", "Intermediate", issuer=root)
    leaf = make_leaf("p256", inter)
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "example.com", TrustStore.from_certificates([root.der]), NOW
        )
    assert _alert(exc) is AlertDescription.unknown_ca


def test_rejects_name_mismatch() -> None:
    root = make_ca("mldsa65")
    leaf = make_leaf("mldsa65", root)
    store = TrustStore.from_certificates([root.der])
    for wrong in ("other.example", "www.example.com", "10.0.0.1"):
        with pytest.raises(BadCertificate) as exc:
            verify_server_chain([leaf.der], wrong, store, NOW)
        assert _alert(exc) is AlertDescription.bad_certificate


def test_rejects_wrong_extended_key_usage() -> None:
    root = make_ca("p256")
    store = TrustStore.from_certificates([root.der])
    client_cert = make_leaf("p256", root, eku=CLIENT)
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain([client_cert.der], "example.com", store, NOW)
    assert _alert(exc) is AlertDescription.bad_certificate
    server_cert = make_leaf("p256", root, eku=SERVER)
    with pytest.raises(BadCertificate) as exc:
        verify_client_chain([server_cert.der], store, NOW)
    assert _alert(exc) is AlertDescription.bad_certificate


def test_rejects_ed25519_chain_as_unsupported() -> None:
    """cryptography's WebPKI policy forbids Ed25519 CA signatures: we say so (no silent pass)."""
    root = make_ca("ed25519")
    leaf = make_leaf("ed25519", root)
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "example.com", TrustStore.from_certificates([root.der]), NOW
        )
    assert _alert(exc) is AlertDescription.unsupported_certificate


def test_rejects_malformed_and_empty_chains() -> None:
    root = make_ca("p256")
    store = TrustStore.from_certificates([root.der])
    for chain in ([b"\x30\x03\x02\x01\x01"], [b""], []):
        with pytest.raises(BadCertificate) as exc:
            verify_server_chain(chain, "example.com", store, NOW)
        assert _alert(exc) is AlertDescription.bad_certificate
        with pytest.raises(BadCertificate):
            verify_client_chain(chain, store, NOW)


def test_requires_server_name() -> None:
    root = make_ca("p256")
    leaf = make_leaf("p256", root)
    store = TrustStore.from_certificates([root.der])
    for missing in (None, ""):
        with pytest.raises(LocalProtocolError):
            verify_server_chain([leaf.der], missing, store, NOW)


# --- trust stores and helpers ----------------------------------------------------------------


def test_system_store_loads_certifi() -> None:
    store = TrustStore.system()
    assert len(store) > 50
    assert len(ca_distinguished_names(store)) == len(store)


def test_store_constructors(tmp_path: Path) -> None:
    a = make_ca("p256", "A")
    b = make_ca("mldsa65", "B")
    pem = a.cert.public_bytes(serialization.Encoding.PEM) + b.cert.public_bytes(
        serialization.Encoding.PEM
    )
    assert len(TrustStore.from_pem(pem)) == 2
    (tmp_path / "bundle.pem").write_bytes(pem)
    assert len(TrustStore.from_file(tmp_path / "bundle.pem")) == 2
    (tmp_path / "one.der").write_bytes(a.der)
    assert len(TrustStore.from_file(str(tmp_path / "one.der"))) == 1
    (tmp_path / "notes.txt").write_text("ignored")
    assert len(TrustStore.from_directory(tmp_path)) == 3
    store = TrustStore.from_certificates([a.der, b.der])
    assert ca_distinguished_names(store) == (
        a.cert.subject.public_bytes(),
        b.cert.subject.public_bytes(),
    )
    assert "2 certificates" in repr(store)


def test_store_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        TrustStore.from_pem(b"not pem")
    with pytest.raises(ConfigError):
        TrustStore.from_certificates([])
    with pytest.raises(ConfigError):
        TrustStore.from_certificates([b"junk"])
    with pytest.raises(ConfigError):
        TrustStore.from_file(tmp_path / "missing.pem")
    with pytest.raises(ConfigError):
        TrustStore.from_directory(tmp_path / "missing")
    with pytest.raises(ConfigError):
        TrustStore.from_directory(tmp_path)  # empty


def test_load_certificate_chain_pem() -> None:
    root = make_ca("p256")
    leaf = make_leaf("mldsa65", root)
    pem = leaf.cert.public_bytes(serialization.Encoding.PEM) + root.cert.public_bytes(
        serialization.Encoding.PEM
    )
    assert load_certificate_chain_pem(pem) == (leaf.der, root.der)
    with pytest.raises(ConfigError):
        load_certificate_chain_pem(b"")


def test_subject_of_rfc8448_certificate() -> None:
    """RFC 8448 §2 certificate (expired 2026-07-30: dates are not checked here)."""
    der = bytes.fromhex(
        load_vector("rfc8448/section2_server_rsa_private_key.json")["server_certificate_der"]
    )
    assert subject_of(der) == "CN=rsa"
    with pytest.raises(BadCertificate):
        subject_of(b"junk")


# --- Private PKIs made with OpenSSL's default commands (issue 11, item 17) ----------------


def _pem_der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(DER)


def _openssl_store(pki: Path, name: str = "ca") -> TrustStore:
    return TrustStore.from_file(pki / f"{name}.pem")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def test_rejects_openssl_default_ca_under_webpki_naming_the_ca_and_the_option(
    openssl_pki: Path,
) -> None:
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [_pem_der(openssl_pki / "server.pem")], "localhost", _openssl_store(openssl_pki), _now()
        )
    message = str(exc.value)
    assert _alert(exc) is AlertDescription.bad_certificate
    assert "'CN=ca'" in message and "keyUsage" in message
    assert 'x509_profile="private"' in message and "--x509-profile private" in message


@pytest.mark.parametrize("leaf", ["server", "client_nosan"])
def test_accepts_openssl_default_ca_and_leaf_without_eku_with_private_profile(
    openssl_pki: Path, leaf: str
) -> None:
    der = _pem_der(openssl_pki / f"{leaf}.pem")
    store = _openssl_store(openssl_pki)
    if leaf == "server":
        verify_server_chain([der], "localhost", store, _now(), profile="private")
    verify_client_chain([der], store, _now(), profile="private")


def test_accepts_client_certificate_without_subject_alt_name(openssl_pki: Path) -> None:
    # The CA passes the WebPKI rules, so this is the default profile at work.
    der = _pem_der(openssl_pki / "ku_client_nosan.pem")
    verify_client_chain([der], _openssl_store(openssl_pki, "ku_ca"), _now())


def test_rejects_server_certificate_without_subject_alt_name_in_every_profile(
    openssl_pki: Path,
) -> None:
    der = _pem_der(openssl_pki / "ku_client_nosan.pem")
    for profile in ("webpki", "private"):
        with pytest.raises(BadCertificate, match=r"'CN=client'.*subjectAltName") as exc:
            verify_server_chain(
                [der], "client", _openssl_store(openssl_pki, "ku_ca"), _now(), profile=profile
            )
        assert "x509_profile=" not in str(exc.value)  # no option relaxes it


@pytest.mark.parametrize("profile", ["webpki", "private"])
def test_rejects_x509_v1_leaf_naming_it(openssl_pki: Path, profile: str) -> None:
    der = _pem_der(openssl_pki / "client_v1.pem")
    with pytest.raises(BadCertificate, match=r"'CN=client'.*v3") as exc:
        verify_client_chain([der], _openssl_store(openssl_pki), _now(), profile=profile)  # type: ignore[arg-type]
    assert _alert(exc) is AlertDescription.bad_certificate
    assert "x509_profile=" not in str(exc.value)


def _self_signed_ca(cn: str, extensions: list[x509.ExtensionType]) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 30 * DAY)
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=True)
    return Issued(key, builder.sign(key, hashes.SHA256()))


@pytest.mark.parametrize(
    ("extensions", "rule"),
    [
        ([], "basicConstraints"),
        ([x509.BasicConstraints(ca=False, path_length=None)], "basicConstraints"),
        ([x509.BasicConstraints(ca=True, path_length=None), _key_usage(ca=False)], "keyCertSign"),
    ],
)
def test_private_profile_still_requires_a_real_ca(
    extensions: list[x509.ExtensionType], rule: str
) -> None:
    ca = _self_signed_ca("private root", extensions)
    leaf = make_leaf("p256", ca, ("localhost",))
    with pytest.raises(BadCertificate, match=f"'CN=private root'.*{rule}") as exc:
        verify_server_chain(
            [leaf.der],
            "localhost",
            TrustStore.from_certificates([ca.der]),
            NOW,
            profile="private",
        )
    assert _alert(exc) is AlertDescription.bad_certificate


# --- messages a user can act on ------------------------------------------------------------


def test_a_name_mismatch_says_which_name_was_expected_and_which_the_certificate_has() -> None:
    root = make_ca("p256")
    leaf = make_leaf("p256", root, names=("example.com", "127.0.0.1"))
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "other.example", TrustStore.from_certificates([root.der]), NOW
        )
    assert str(exc.value).endswith(
        "expected 'other.example', the certificate is for: example.com, 127.0.0.1 "
        "(alert: bad_certificate)"
    )


def test_an_unknown_ca_names_the_missing_issuer_and_how_to_trust_it() -> None:
    root, other = make_ca("p256"), make_ca("p256", "Other CA")
    leaf = make_leaf("p256", root)
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "example.com", TrustStore.from_certificates([other.der]), NOW
        )
    text = str(exc.value)
    assert f"its issuer '{root.cert.subject.rfc4514_string()}' is not a trusted CA" in text
    assert "trust the CA that issued it with --cafile FILE" in text
    client = make_leaf("p256", root, eku=CLIENT)
    with pytest.raises(BadCertificate) as exc:
        verify_client_chain([client.der], TrustStore.from_certificates([other.der]), NOW)
    assert "with --client-ca FILE" in str(exc.value)


def test_an_expired_certificate_gives_its_validity_dates_and_now() -> None:
    root = make_ca("p256")
    leaf = make_leaf("p256", root, valid=(-1, 30))
    later = NOW + 60 * DAY
    with pytest.raises(BadCertificate) as exc:
        verify_server_chain(
            [leaf.der], "example.com", TrustStore.from_certificates([root.der]), later
        )
    before = (NOW - DAY).strftime("%Y-%m-%d")
    after = (NOW + 30 * DAY).strftime("%Y-%m-%d")
    assert re.search(
        rf"is valid from {before} \S+ UTC to {after} \S+ UTC, and it is now 2026-03-02 00:00:00 UTC",
        str(exc.value),
    ), str(exc.value)
