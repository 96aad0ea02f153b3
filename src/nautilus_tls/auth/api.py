"""The two authentication seams: what we present, and how we judge the peer.

* A :class:`Credential` is what an endpoint presents in Certificate / CertificateVerify
  (RFC 8446 §4.4.2, §4.4.3): today an X.509 chain and its key
  (:class:`~nautilus_tls.config.CertifiedKey`); later a raw public key (RFC 7250) or PAKE
  state.
* A :class:`PeerVerifier` judges the peer's Certificate message and its CertificateVerify
  signature. Each step returns a proof value (:mod:`nautilus_tls.proofs`) and the
  handshake's traffic state requires them, so the handshake cannot finish without calling it.
  The X.509 plug-in is :mod:`nautilus_tls.auth.x509`; a plug-in of one's own (a pinned key,
  say) goes in ``ClientConfig.verifier`` / ``ServerConfig.client_verifier`` without any edit
  to the handshake.

Which schemes we offer, that the peer's scheme is one we offered, and which alerts the
handshake itself sends stay in the handshake; a verifier raises a :class:`~.errors.TLSError`
carrying the RFC's alert when it refuses (``BadCertificate`` and its alerts for the identity,
``PeerMisbehaved(decrypt_error)`` for a bad signature).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from nautilus_tls.proofs import PeerVerified, SignatureVerified

if TYPE_CHECKING:
    from nautilus_tls.crypto.provider import CryptoProvider
    from nautilus_tls.wire.messages import CertificateEntry

__all__ = ["CertificateType", "Credential", "PeerVerifier", "PrefetchingVerifier"]


class CertificateType(IntEnum):
    """What a Certificate message's entries hold (RFC 7250 §3, IANA TLS Certificate Types)."""

    X509 = 0
    RawPublicKey = 2


class Credential(Protocol):
    """What we present: the Certificate message's entries and a key that signs
    CertificateVerify. Methods take the config's provider: its algorithms decide which
    schemes the key may use."""

    @property
    def certificate_type(self) -> CertificateType: ...

    def certificate_entries(self) -> tuple[CertificateEntry, ...]:
        """The Certificate message's entries (``cert_data`` and extensions), end-entity first."""
        ...

    def signature_schemes(self, provider: CryptoProvider) -> tuple[int, ...]:
        """The CertificateVerify schemes this credential can sign with, in preference order."""
        ...

    def sign(self, provider: CryptoProvider, scheme: int, message: bytes) -> bytes:
        """Sign the CertificateVerify content under ``scheme``."""
        ...


class PeerVerifier(Protocol):
    """How we judge the peer (a server's verifier on the client, a client's on the server)."""

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        """Judge the peer's Certificate entries (non-empty, already bounded and checked for
        allowed extensions) at ``now`` (Unix seconds); ``server_name`` is the name the client
        asked for (None on the server). Raise a TLSError with the RFC alert to refuse."""
        ...

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        """Re-judge the peer a ticket remembers (its ``cert_data`` values) before resuming:
        a resumed session inherits the ticket's authentication (RFC 8446 §2.2). Raise a
        TLSError to refuse the ticket (the handshake then runs in full)."""
        ...

    def verify_signature(
        self,
        peer: PeerVerified,
        scheme: int,
        signature: bytes,
        content: bytes,
        provider: CryptoProvider,
    ) -> SignatureVerified:
        """Check the peer's CertificateVerify (RFC 8446 §4.4.3) against the key ``peer``
        was verified with; the provider's ``verify_spki`` does the crypto and mints the
        proof."""
        ...

    def fingerprint(self) -> bytes | None:
        """How this verifier judges peers, as stable bytes (tickets record it and resume
        only under the same judgement); None when it does not verify at all."""
        ...


@runtime_checkable
class PrefetchingVerifier(Protocol):
    """A :class:`PeerVerifier` whose judgement needs blocking look-ups it can make ahead of
    the handshake (a did:web document over HTTPS). The handshake runs where the bytes
    arrive, on an event loop for the asyncio adapter, which therefore calls :meth:`prefetch`
    in a worker thread first, so that the look-ups inside the handshake are cache hits."""

    def prefetch(self) -> float | None:
        """Make the look-ups now (blocking; errors are left for the handshake to report).
        Returns within how many seconds to call again to keep them fresh, or None."""
        ...
