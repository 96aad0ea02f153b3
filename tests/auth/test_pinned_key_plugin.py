"""Authentication plug-ins from outside the library (issue 12 item 2): a "pinned key"
PeerVerifier and an impostor Credential, written entirely in this file, plugged into the
configs with no edit to the handshake modules.

The verifier accepts a peer whose end-entity SubjectPublicKeyInfo hashes (SHA-256) to the
pin, whatever signed its certificate (no trust store), and refuses any other with
bad_certificate (RFC 8446 §4.4.2.4). Its CertificateVerify check goes through the provider's
``verify_spki``, the only way to get a SignatureVerified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from certificates import pki
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pairs import pump

from nautilus_tls.auth.api import CertificateType, Credential, PeerVerifier
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.provider import CryptoProvider
from nautilus_tls.errors import AlertDescription, BadCertificate, ConfigError, ProtocolError
from nautilus_tls.proofs import PeerVerified, SignatureVerified, peer_verified
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.tools.certgen import make_ca, make_leaf
from nautilus_tls.wire.messages import CertificateEntry


def _spki(cert_der: bytes) -> bytes:
    try:
        key = x509.load_der_x509_certificate(cert_der).public_key()
    except ValueError:
        raise BadCertificate(
            "pinned peer sent an unparsable certificate", alert=AlertDescription.bad_certificate
        ) from None
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pin_of(cert_der: bytes) -> bytes:
    return hashlib.sha256(_spki(cert_der)).digest()


@dataclass(frozen=True)
class PinnedKeyVerifier:
    pin: bytes

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        return self.verify_resumed(tuple(e.cert_data for e in entries), server_name, now)

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        spki = _spki(certificates[0])
        if hashlib.sha256(spki).digest() != self.pin:
            raise BadCertificate(
                "peer key does not match the pin", alert=AlertDescription.bad_certificate
            )
        return peer_verified(spki=spki, identity="pinned key", certificates=certificates)

    def verify_signature(
        self,
        peer: PeerVerified,
        scheme: int,
        signature: bytes,
        content: bytes,
        provider: CryptoProvider,
    ) -> SignatureVerified:
        return provider.verify_spki(peer.spki, scheme, signature, content)

    def fingerprint(self) -> bytes | None:
        return hashlib.sha256(b"pinned key verifier\x00" + self.pin).digest()


@dataclass(frozen=True)
class ImpostorCredential:
    """Presents ``shown``'s certificates but signs with ``signer``'s key."""

    shown: CertifiedKey
    signer: CertifiedKey

    @property
    def certificate_type(self) -> CertificateType:
        return CertificateType.X509

    def certificate_entries(self) -> tuple[CertificateEntry, ...]:
        return self.shown.certificate_entries()

    def signature_schemes(self, provider: CryptoProvider) -> tuple[int, ...]:
        return self.shown.signature_schemes(provider)

    def sign(self, provider: CryptoProvider, scheme: int, message: bytes) -> bytes:
        return self.signer.sign(provider, scheme, message)


def _static_checks() -> None:
    """mypy: the test plug-ins satisfy the library's protocols."""
    _v: PeerVerifier = PinnedKeyVerifier(b"")
    _c: Credential = ImpostorCredential(pki().client, pki().client)


@pytest.fixture(scope="module")
def stranger() -> CertifiedKey:
    """A server certificate from a CA nobody trusts: only its pin vouches for it."""
    ca_der, ca_key = make_ca("mldsa65", "Unknown CA")
    der, key = make_leaf(ca_der, ca_key, "mldsa65", ["localhost"])
    return CertifiedKey(chain=(der,), private_key=key)


def _connect(ccfg: ClientConfig, scfg: ServerConfig) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(ccfg, "localhost")
    server = ServerConnection(scfg)
    client.start()
    pump(client, server)
    return client, server


def _refused(ccfg: ClientConfig, scfg: ServerConfig) -> tuple[ProtocolError, bool, bool]:
    """The error that ends a failing handshake, and whether each side finished (client,
    server)."""
    client = ClientConnection(ccfg, "localhost")
    server = ServerConnection(scfg)
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)
    return err.value, client.info is not None, server.info is not None


def test_accepts_a_server_whose_key_matches_the_pin(stranger: CertifiedKey) -> None:
    ccfg = ClientConfig(verifier=PinnedKeyVerifier(pin_of(stranger.chain[0])))
    client, server = _connect(ccfg, ServerConfig(certificates=(stranger,)))
    assert client.info is not None and server.info is not None
    assert client.info.peer_certificates == stranger.chain
    assert client.info.signature_scheme == "mldsa65"


def test_rejects_a_server_whose_key_differs_from_the_pin_with_bad_certificate(
    stranger: CertifiedKey,
) -> None:
    ccfg = ClientConfig(verifier=PinnedKeyVerifier(pin_of(pki().server.chain[0])))
    error, client_done, _ = _refused(ccfg, ServerConfig(certificates=(stranger,)))
    assert isinstance(error, BadCertificate) and error.alert == AlertDescription.bad_certificate
    assert not client_done


def test_pinned_verifier_replaces_the_trust_store() -> None:
    # pki()'s server is trusted by the default X.509 verifier of a client with pki()'s store,
    # but the pin decides: a pin for another key refuses it.
    ccfg = ClientConfig(
        trust_store=pki().store, verifier=PinnedKeyVerifier(hashlib.sha256(b"x").digest())
    )
    error, _, _ = _refused(ccfg, ServerConfig(certificates=(pki().server,)))
    assert isinstance(error, BadCertificate)


def test_rejects_a_verifier_next_to_insecure_skip_verify() -> None:
    with pytest.raises(ConfigError):
        ClientConfig(verifier=PinnedKeyVerifier(b""), insecure_skip_verify=True)


def test_resumes_only_under_the_same_pin(stranger: CertifiedKey) -> None:
    shared = MemorySessionStore()
    scfg = ServerConfig(certificates=(stranger,))
    pinned = ClientConfig(
        verifier=PinnedKeyVerifier(pin_of(stranger.chain[0])), session_store=shared
    )
    _connect(pinned, scfg)
    client, _ = _connect(pinned, scfg)
    assert client.info is not None and client.info.resumed
    assert client.info.peer_certificates == stranger.chain
    # A ticket made under the pin is not taken by a client that judges by the X.509 roots:
    # the full handshake then refuses the unknown CA.
    x509_client = ClientConfig(trust_store=pki().store, session_store=shared)
    error, _, _ = _refused(x509_client, scfg)
    assert error.alert == AlertDescription.unknown_ca


def _pinned_mtls(client_cert: CertifiedKey) -> ServerConfig:
    return ServerConfig(
        certificates=(pki().server,),
        client_auth="require",
        client_verifier=PinnedKeyVerifier(pin_of(client_cert.chain[0])),
    )


def test_server_accepts_a_pinned_client_without_a_client_trust_store(
    stranger: CertifiedKey,
) -> None:
    ccfg = ClientConfig(trust_store=pki().store, client_certificate=stranger)
    _client, server = _connect(ccfg, _pinned_mtls(stranger))
    assert server.info is not None and server.info.peer_certificates == stranger.chain
    assert server.info.client_certificate_scheme == "mldsa65"


def test_server_refuses_a_client_whose_key_differs_from_the_pin(stranger: CertifiedKey) -> None:
    ccfg = ClientConfig(trust_store=pki().store, client_certificate=pki().client)
    error, _, server_done = _refused(ccfg, _pinned_mtls(stranger))
    assert isinstance(error, BadCertificate) and error.alert == AlertDescription.bad_certificate
    assert not server_done


def test_server_refuses_an_impostor_that_shows_the_pinned_certificate(
    stranger: CertifiedKey,
) -> None:
    # The impostor shows the pinned certificate but holds another ML-DSA-65 key: the pin
    # passes, the CertificateVerify does not (RFC 8446 §4.4.3: decrypt_error).
    impostor = ImpostorCredential(shown=stranger, signer=pki().client)
    ccfg = ClientConfig(trust_store=pki().store, client_certificate=impostor)
    error, _, server_done = _refused(ccfg, _pinned_mtls(stranger))
    assert error.alert == AlertDescription.decrypt_error
    assert not server_done


def test_server_resumes_a_pinned_client_through_the_plugin(stranger: CertifiedKey) -> None:
    scfg = ServerConfig(
        certificates=(pki().server,),
        client_auth="require",
        client_verifier=PinnedKeyVerifier(pin_of(stranger.chain[0])),
    )
    ccfg = ClientConfig(
        trust_store=pki().store, client_certificate=stranger, session_store=MemorySessionStore()
    )
    _connect(ccfg, scfg)
    _client, server = _connect(ccfg, scfg)
    assert server.info is not None and server.info.resumed
    assert server.info.peer_certificates == stranger.chain
