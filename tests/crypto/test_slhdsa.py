"""SLH-DSA (via pqcrypto) for CertificateVerify: keys, PEM, the certificate key binding, and
the signature registry's checks."""

from __future__ import annotations

import datetime
from functools import cache

import pytest

from nautilus_tls.auth.x509 import X509ServerVerifier
from nautilus_tls.config import CertifiedKey
from nautilus_tls.crypto import pqclean, slhdsa
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, CryptoProvider, signature_scheme_entry
from nautilus_tls.crypto.signatures import (
    PrivateSignatureScheme,
    certificate_verify_content,
    load_private_key_pem,
)
from nautilus_tls.crypto.x509 import TrustStore, verify_server_chain
from nautilus_tls.errors import AlertDescription, BadCertificate, ConfigError, PeerMisbehaved
from nautilus_tls.tools.certgen import make_ca, make_leaf
from nautilus_tls.wire.enums import SignatureScheme
from nautilus_tls.wire.messages import CertificateEntry

pytest.importorskip("pqcrypto", reason="the pq extra (pqcrypto) is not installed")

scheme_info = DEFAULT_PROVIDER.scheme_info
scheme_name = DEFAULT_PROVIDER.scheme_name
schemes_for_key = DEFAULT_PROVIDER.schemes_for_key
sign = DEFAULT_PROVIDER.sign
verify = DEFAULT_PROVIDER.verify

SCHEMES = {
    PrivateSignatureScheme.slhdsa_sha2_128s: "SLH-DSA-SHA2-128s",
    PrivateSignatureScheme.slhdsa_sha2_128f: "SLH-DSA-SHA2-128f",
    PrivateSignatureScheme.slhdsa_sha2_192f: "SLH-DSA-SHA2-192f",
    PrivateSignatureScheme.slhdsa_sha2_256f: "SLH-DSA-SHA2-256f",
}
CONTENT = certificate_verify_content(True, bytes(range(48)))


@cache
def ca() -> tuple[bytes, object]:
    return make_ca("mldsa65", "SLH-DSA test CA")


@cache
def leaf(parameter_set: str) -> tuple[bytes, slhdsa.SlhDsaPrivateKey]:
    ca_der, ca_key = ca()
    der, key, _ = slhdsa.make_slhdsa_leaf(ca_der, ca_key, parameter_set, ["localhost"])
    return der, key


@pytest.mark.parametrize("parameter_set", slhdsa.PARAMETER_SETS)
def test_declared_sizes_match_pqcrypto(parameter_set: str) -> None:
    params = slhdsa.PARAMETER_SETS[parameter_set]
    backend = pqclean.backend("sign", params.signer.module)
    assert params.public_key_len == backend.PUBLIC_KEY_SIZE
    assert params.signer.secret_key_len == backend.SECRET_KEY_SIZE
    assert params.signature_len == backend.SIGNATURE_SIZE


@pytest.mark.parametrize(
    ("scheme", "parameter_set"), SCHEMES.items(), ids=[s.name for s in SCHEMES]
)
def test_signs_and_verifies_with_a_bound_certificate(
    scheme: PrivateSignatureScheme, parameter_set: str
) -> None:
    der, key = leaf(parameter_set)
    assert schemes_for_key(key, certificate=der) == (scheme,)
    signature = sign(key, scheme, CONTENT)
    info = scheme_info(scheme)
    assert info is not None and len(signature) == info.signature_len
    assert not info.standard and info.post_quantum and 0xFE00 <= scheme <= 0xFEFF
    verify(der, scheme, signature, CONTENT)
    with pytest.raises(PeerMisbehaved) as err:
        verify(der, scheme, signature, CONTENT[:-1] + b"\x00")
    assert err.value.alert == AlertDescription.decrypt_error


def test_the_bound_certificate_is_an_ordinary_valid_chain() -> None:
    der, _ = leaf("SLH-DSA-SHA2-128f")
    store = TrustStore.from_certificates([ca()[0]])
    verify_server_chain([der], "localhost", store, datetime.datetime.now(datetime.UTC))


def test_rejects_a_scheme_that_does_not_fit_the_certificate() -> None:
    der_128f, key_128f = leaf("SLH-DSA-SHA2-128f")
    signature = sign(key_128f, PrivateSignatureScheme.slhdsa_sha2_128f, CONTENT)
    # The 128s scheme against a certificate binding a 128f key: no bound key for that set.
    with pytest.raises(PeerMisbehaved) as err:
        verify(der_128f, PrivateSignatureScheme.slhdsa_sha2_128s, signature, CONTENT)
    assert err.value.alert == AlertDescription.illegal_parameter
    # An ordinary ML-DSA certificate binds no SLH-DSA key at all.
    ca_der, ca_key = ca()
    plain, _ = make_leaf(ca_der, ca_key, "mldsa44", ["localhost"])
    with pytest.raises(PeerMisbehaved) as err:
        verify(plain, PrivateSignatureScheme.slhdsa_sha2_128f, signature, CONTENT)
    assert err.value.alert == AlertDescription.illegal_parameter
    with pytest.raises(BadCertificate):
        verify(b"not a certificate", PrivateSignatureScheme.slhdsa_sha2_128f, signature, CONTENT)


def test_key_does_not_fit_another_keys_certificate() -> None:
    der, _ = leaf("SLH-DSA-SHA2-128f")
    other = slhdsa.SlhDsaPrivateKey.generate("SLH-DSA-SHA2-128f")
    assert schemes_for_key(other, certificate=der) == ()
    with pytest.raises(ConfigError, match="cannot sign"):
        CertifiedKey(chain=(der,), private_key=other)
    assert CertifiedKey(chain=(der,), private_key=leaf("SLH-DSA-SHA2-128f")[1])


def test_companion_key_serves_mldsa44_from_the_same_certificate() -> None:
    ca_der, ca_key = ca()
    der, key, companion = slhdsa.make_slhdsa_leaf(ca_der, ca_key, "SLH-DSA-SHA2-128f", ["a.test"])
    assert schemes_for_key(companion, certificate=der) == (SignatureScheme.mldsa44,)
    assert schemes_for_key(key, certificate=der) == (PrivateSignatureScheme.slhdsa_sha2_128f,)


def test_private_key_pem_round_trips_and_hides_the_key() -> None:
    _, key = leaf("SLH-DSA-SHA2-128s")
    pem = key.private_bytes_pem()
    assert pem.startswith(
        b"-----BEGIN NAUTILUS SLH-DSA PRIVATE KEY-----\nParameter-Set: SLH-DSA-SHA2-128s"
    )
    loaded = load_private_key_pem(pem)
    assert isinstance(loaded, slhdsa.SlhDsaPrivateKey)
    assert loaded.public_key_bytes == key.public_key_bytes
    assert key.public_key_bytes.hex() not in repr(key) and "128s" in repr(key)
    with pytest.raises(ConfigError):
        load_private_key_pem(pem, password=b"x")
    with pytest.raises(ConfigError):
        load_private_key_pem(pem.replace(b"SHA2-128s", b"SHA2-999s"))
    with pytest.raises(ConfigError):
        load_private_key_pem(pem.replace(b"\n\n", b"\n\n!!"))


def test_scheme_entry_rules() -> None:
    provider = slhdsa.SlhDsaScheme(slhdsa.PARAMETER_SETS["SLH-DSA-SHA2-128f"], scheme=0x0999)
    common = {
        "name": "x",
        "level": 128,
        "post_quantum": True,
        "public_key_len": 32,
        "signature_len": 9,
    }
    with pytest.raises(ValueError, match="private-use"):
        signature_scheme_entry(provider, code=0x0999, **common)
    entry = signature_scheme_entry(provider, code=PrivateSignatureScheme.slhdsa_sha2_128f, **common)
    with pytest.raises(ValueError, match="twice"):
        CryptoProvider(signature_schemes=(entry, entry))
    assert scheme_name(PrivateSignatureScheme.slhdsa_sha2_128s) == "slhdsa_sha2_128s"
    assert scheme_name(0xFEEE) == "0xfeee"


def test_x509_verifier_checks_slhdsa_against_the_bound_key_not_the_spki() -> None:
    der, key = leaf("SLH-DSA-SHA2-128f")
    scheme = PrivateSignatureScheme.slhdsa_sha2_128f
    verifier = X509ServerVerifier(
        TrustStore.from_certificates([ca()[0]]), "webpki", (SignatureScheme.mldsa65,)
    )
    now = datetime.datetime.now(datetime.UTC).timestamp()
    peer = verifier.verify_identity((CertificateEntry(cert_data=der),), "localhost", now)
    signature = sign(key, scheme, CONTENT)
    assert verifier.verify_signature(peer, scheme, signature, CONTENT, DEFAULT_PROVIDER).scheme == (
        scheme
    )
    # The SPKI holds the ML-DSA-44 companion: an SLH-DSA scheme cannot use it directly.
    with pytest.raises(PeerMisbehaved) as err:
        DEFAULT_PROVIDER.verify_spki(peer.spki, scheme, signature, CONTENT)
    assert err.value.alert == AlertDescription.illegal_parameter
