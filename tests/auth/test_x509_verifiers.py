"""The X.509 plug-in (auth/x509.py): today's chain checks and alerts, now returning proofs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from certificates import ca_key, pki
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from nautilus_tls.auth.x509 import InsecureSkipVerifier, X509ClientVerifier, X509ServerVerifier
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.crypto.signatures import certificate_verify_content
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    LocalProtocolError,
    PeerMisbehaved,
)
from nautilus_tls.proofs import PeerVerified
from nautilus_tls.tools.certgen import make_leaf
from nautilus_tls.wire.enums import SignatureScheme
from nautilus_tls.wire.messages import CertificateEntry

NOW = time.time()
CONTENT = certificate_verify_content(True, bytes(32))


def _entries(*chain: bytes) -> tuple[CertificateEntry, ...]:
    return tuple(CertificateEntry(cert_data=der) for der in chain)


def _spki(cert_der: bytes) -> bytes:
    return (
        x509.load_der_x509_certificate(cert_der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def server_verifier(**kw: object) -> X509ServerVerifier:
    verifier = ClientConfig(trust_store=pki().store, **kw).peer_verifier()  # type: ignore[arg-type]
    assert isinstance(verifier, X509ServerVerifier)
    return verifier


def test_server_verifier_returns_the_leaf_spki_and_the_name() -> None:
    leaf = pki().server.chain[0]
    peer = server_verifier().verify_identity(_entries(leaf), "localhost", NOW)
    assert isinstance(peer, PeerVerified)
    assert peer.spki == _spki(leaf) and peer.identity == "localhost"
    assert peer.certificates == (leaf,)


def test_server_verifier_keeps_the_alerts_of_path_validation() -> None:
    verifier = server_verifier()
    with pytest.raises(BadCertificate) as err:
        verifier.verify_identity(_entries(pki("ed25519").server.chain[0]), "localhost", NOW)
    assert err.value.alert == AlertDescription.unknown_ca
    with pytest.raises(BadCertificate):
        verifier.verify_identity(_entries(pki().server.chain[0]), "other.test", NOW)
    with pytest.raises(LocalProtocolError):  # no name, no way to tie the chain to the peer
        verifier.verify_identity(_entries(pki().server.chain[0]), None, NOW)
    with pytest.raises(BadCertificate) as err:
        verifier.verify_identity(_entries(b"\x30\x03\x02\x01\x01"), "localhost", NOW)
    assert err.value.alert == AlertDescription.bad_certificate


def test_server_verifier_enforces_signature_algorithms_cert() -> None:
    verifier = server_verifier(certificate_schemes=(SignatureScheme.ed25519,))
    with pytest.raises(BadCertificate) as err:
        verifier.verify_identity(_entries(pki().server.chain[0]), "localhost", NOW)
    assert err.value.alert == AlertDescription.unsupported_certificate


def test_server_verifier_checks_certificate_verify_against_the_spki() -> None:
    verifier = server_verifier()
    peer = verifier.verify_identity(_entries(pki().server.chain[0]), "localhost", NOW)
    signature = pki().server.sign(DEFAULT_PROVIDER, SignatureScheme.mldsa65, CONTENT)
    proof = verifier.verify_signature(
        peer, SignatureScheme.mldsa65, signature, CONTENT, DEFAULT_PROVIDER
    )
    assert proof.scheme == SignatureScheme.mldsa65
    with pytest.raises(PeerMisbehaved) as err:
        verifier.verify_signature(
            peer, SignatureScheme.mldsa65, signature, CONTENT + b"x", DEFAULT_PROVIDER
        )
    assert err.value.alert == AlertDescription.decrypt_error


def test_fingerprints_follow_the_configuration() -> None:
    base = ClientConfig(trust_store=pki().store)
    assert base.server_trust_fingerprint() == server_verifier().fingerprint()
    assert base.server_trust_fingerprint() != server_verifier(x509_profile="private").fingerprint()
    assert ClientConfig(insecure_skip_verify=True).server_trust_fingerprint() is None


def test_insecure_verifier_accepts_any_chain_but_still_checks_the_signature() -> None:
    verifier = InsecureSkipVerifier()
    peer = verifier.verify_identity(_entries(b"not a certificate"), "localhost", NOW)
    assert peer.spki == b"" and peer.certificates == (b"not a certificate",)
    with pytest.raises(BadCertificate) as err:
        verifier.verify_signature(peer, SignatureScheme.ed25519, b"s", CONTENT, DEFAULT_PROVIDER)
    assert err.value.alert == AlertDescription.bad_certificate
    stranger = pki("ed25519").server
    peer = verifier.verify_identity(_entries(*stranger.chain), "anything", NOW)
    good = stranger.sign(DEFAULT_PROVIDER, SignatureScheme.ed25519, CONTENT)
    verifier.verify_signature(peer, SignatureScheme.ed25519, good, CONTENT, DEFAULT_PROVIDER)
    with pytest.raises(PeerMisbehaved):
        verifier.verify_signature(
            peer, SignatureScheme.ed25519, good[::-1], CONTENT, DEFAULT_PROVIDER
        )


def _client_verifier() -> X509ClientVerifier:
    cfg = ServerConfig(
        certificates=(pki().server,), client_auth="require", client_trust_store=pki().store
    )
    verifier = cfg.client_peer_verifier()
    assert isinstance(verifier, X509ClientVerifier)
    return verifier


def test_client_verifier_names_the_client_by_its_subject() -> None:
    leaf = pki().client.chain[0]
    peer = _client_verifier().verify_identity(_entries(leaf), None, NOW)
    assert peer.identity.startswith("CN=") and peer.spki == _spki(leaf)


def test_client_verifier_refuses_a_resumed_chain_that_expired() -> None:
    issued = datetime.fromtimestamp(NOW, UTC)
    leaf, _ = make_leaf(
        pki().ca_der,
        ca_key("mldsa65"),
        "mldsa65",
        ["client.test"],
        client=True,
        not_before=issued - timedelta(days=1),
        not_after=issued + timedelta(hours=1),
    )
    verifier = _client_verifier()
    assert verifier.verify_resumed((leaf,), None, NOW).certificates == (leaf,)
    with pytest.raises(BadCertificate) as err:
        verifier.verify_resumed((leaf,), None, NOW + 7200)
    assert err.value.alert == AlertDescription.certificate_expired


def test_server_without_client_auth_store_has_no_client_verifier() -> None:
    assert ServerConfig(certificates=(pki().server,)).client_peer_verifier() is None


# --- validated paths are remembered, never beyond what a full validation would accept ----------


def _counting_full_validation(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    import nautilus_tls.auth.x509 as plugin

    calls: list[str | None] = []
    real = plugin.verify_server_chain

    def counted(chain: object, name: str | None, *args: object, **kw: object) -> None:
        calls.append(name)
        real(chain, name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(plugin, "verify_server_chain", counted)
    # The memory of validated paths is per process: start from none, so what earlier tests
    # validated does not count here.
    monkeypatch.setattr(plugin, "_VALIDATED_PATHS", plugin._ValidatedPaths(max_entries=256))
    return calls


def test_accepts_a_validated_chain_again_without_a_second_path_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_full_validation(monkeypatch)
    chain = pki().server.chain
    verifier = server_verifier(certificate_schemes=(SignatureScheme.mldsa65,))
    for _ in range(3):
        peer = verifier.verify_resumed(chain, "localhost", NOW)
        assert peer.identity == "localhost"
    assert calls == ["localhost"]


def test_rejects_a_validated_chain_for_another_name(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_full_validation(monkeypatch)
    chain = pki().server.chain
    verifier = server_verifier(certificate_schemes=(SignatureScheme.mldsa65, 0x0403))
    verifier.verify_resumed(chain, "localhost", NOW)
    with pytest.raises(BadCertificate):
        verifier.verify_resumed(chain, "other.example", NOW)
    assert calls == ["localhost", "other.example"]


def test_rejects_a_validated_chain_once_it_has_expired() -> None:
    issued = datetime.fromtimestamp(NOW, UTC)
    leaf, _ = make_leaf(
        pki().ca_der,
        ca_key("mldsa65"),
        "mldsa65",
        ["localhost"],
        not_before=issued - timedelta(days=1),
        not_after=issued + timedelta(hours=1),
    )
    verifier = server_verifier(certificate_schemes=(SignatureScheme.mldsa65, 0x0503))
    verifier.verify_resumed((leaf,), "localhost", NOW)
    with pytest.raises(BadCertificate) as err:
        verifier.verify_resumed((leaf,), "localhost", NOW + 2 * 3600)
    assert err.value.alert == AlertDescription.certificate_expired


def test_a_validated_chain_is_not_trusted_under_other_roots() -> None:
    chain = pki().server.chain
    server_verifier().verify_resumed(chain, "localhost", NOW)
    other = ClientConfig(trust_store=pki("ed25519").store).peer_verifier()
    with pytest.raises(BadCertificate) as err:
        other.verify_resumed(chain, "localhost", NOW)
    assert err.value.alert == AlertDescription.unknown_ca
