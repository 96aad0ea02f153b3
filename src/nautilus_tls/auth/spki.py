"""The half of a PeerVerifier that every key-based verifier shares.

A verifier that judges the peer by its key alone (an SPKI pin, a DID) reads the same
entries on a full handshake and on resumption, and checks CertificateVerify against the
SubjectPublicKeyInfo it accepted. Subclasses write ``verify_resumed`` and ``fingerprint``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nautilus_tls.proofs import PeerVerified, SignatureVerified

if TYPE_CHECKING:
    from nautilus_tls.crypto.provider import CryptoProvider
    from nautilus_tls.wire.messages import CertificateEntry

__all__ = ["KeyVerifier"]


class KeyVerifier:
    """Mixin: ``verify_identity`` is ``verify_resumed`` over the entries' ``cert_data``, and
    the signature is checked against ``peer.spki`` (RFC 8446 §4.4.3) by the provider."""

    __slots__ = ()

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        raise NotImplementedError

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        return self.verify_resumed(tuple(e.cert_data for e in entries), server_name, now)

    def verify_signature(
        self,
        peer: PeerVerified,
        scheme: int,
        signature: bytes,
        content: bytes,
        provider: CryptoProvider,
    ) -> SignatureVerified:
        return provider.verify_spki(peer.spki, scheme, signature, content)
