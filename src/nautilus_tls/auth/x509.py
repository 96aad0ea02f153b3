"""The X.509 plug-in: certificate chains judged against a trust store (RFC 8446 §4.4.2.4).

These verifiers wrap the path validation of :mod:`nautilus_tls.crypto.x509` exactly as the
handshake used to call it, with every check and alert unchanged: the chain against the
roots, the name and the X.509 profile, then the signature_algorithms_cert check on every
certificate (RFC 8446 §4.2.3, unsupported_certificate). What they add is the result: a
:class:`~nautilus_tls.proofs.PeerVerified` holding the end-entity SubjectPublicKeyInfo,
which the CertificateVerify signature is then checked against.

* :class:`X509ServerVerifier`: a client judging servers (``ClientConfig``'s default).
* :class:`X509ClientVerifier`: a server judging client certificates (mutual TLS).
* :class:`InsecureSkipVerifier`: ``insecure_skip_verify``: any chain is accepted, but the
  CertificateVerify signature is still checked against the end-entity key (it binds the
  handshake to whoever holds that key).

The SLH-DSA schemes keep their key in a certificate extension, not the SPKI
(:mod:`nautilus_tls.crypto.slhdsa`); for those the signature check goes through the
end-entity certificate, which the provider reads the bound key from.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from nautilus_tls.crypto.x509 import (
    TrustStore,
    X509Profile,
    chain_valid_at,
    check_chain_signatures,
    spki_of,
    subject_of,
    verify_client_chain,
    verify_server_chain,
)
from nautilus_tls.errors import AlertDescription, BadCertificate
from nautilus_tls.proofs import PeerVerified, SignatureVerified, peer_verified

if TYPE_CHECKING:
    from nautilus_tls.crypto.provider import CryptoProvider
    from nautilus_tls.wire.messages import CertificateEntry

__all__ = [
    "InsecureSkipVerifier",
    "X509ClientVerifier",
    "X509ServerVerifier",
    "trust_fingerprint",
]


def trust_fingerprint(label: bytes, *parts: bytes) -> bytes:
    """SHA-256 over a label and length-prefixed parts (public inputs only)."""
    digest = hashlib.sha256(b"nautilus-tls " + label + b"\x00")
    for part in parts:
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


@lru_cache(maxsize=64)
def judgement_fingerprint(
    label: bytes, parts: tuple[bytes, ...], schemes: tuple[int, ...]
) -> bytes:
    """:func:`trust_fingerprint` of how peers are judged: ``parts`` then the accepted
    signature schemes, sorted. Asked several times per handshake (tickets record it,
    resumption compares it) by verifiers a config rebuilds per call: cached on its inputs."""
    return trust_fingerprint(label, *parts, *(s.to_bytes(2, "big") for s in sorted(schemes)))


def _when(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


class _ValidatedPaths:
    """Chains that passed full path validation, by (judgement, chain, name); bounded LRU.

    Path validation (pyca's verifier plus the signature_algorithms_cert check) costs 0.3-0.4
    ms, as much as the rest of a resumed handshake. Its result depends only on the chain, the
    name, the judgement (roots, profile, chain schemes: all in the fingerprint) and the time;
    and every certificate's validity period is one interval. So a chain validated once is
    valid again exactly while every certificate is still within its period: a hit re-checks
    only that (chain_valid_at), a miss or an expired chain takes the full path (and its
    precise alert). Holds public data only.
    """

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[bytes, tuple[bytes, ...], str | None], None] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def known(self, key: tuple[bytes, tuple[bytes, ...], str | None]) -> bool:
        with self._lock:
            if key not in self._entries:
                return False
            self._entries.move_to_end(key)
            return True

    def add(self, key: tuple[bytes, tuple[bytes, ...], str | None]) -> None:
        with self._lock:
            self._entries[key] = None
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


_VALIDATED_PATHS = _ValidatedPaths(max_entries=256)


def verify_x509_signature(
    peer: PeerVerified, scheme: int, signature: bytes, content: bytes, provider: CryptoProvider
) -> SignatureVerified:
    """CertificateVerify against an X.509 peer: the SPKI, or for a scheme whose key a
    certificate extension binds (SLH-DSA) the end-entity certificate itself."""
    if provider.signer_for(scheme) is not None and peer.certificates:
        return provider.verify(peer.certificates[0], scheme, signature, content)
    return provider.verify_spki(peer.spki, scheme, signature, content)


@dataclass(frozen=True, slots=True)
class _X509Verifier:
    """What both X.509 verifiers hold: the roots, the profile and the schemes accepted on
    chains (signature_algorithms_cert); the signature check is the same on both sides."""

    trust_store: TrustStore
    profile: X509Profile
    chain_schemes: tuple[int, ...]

    def verify_signature(
        self,
        peer: PeerVerified,
        scheme: int,
        signature: bytes,
        content: bytes,
        provider: CryptoProvider,
    ) -> SignatureVerified:
        return verify_x509_signature(peer, scheme, signature, content, provider)

    def _judgement(self, label: bytes) -> bytes:
        return judgement_fingerprint(
            label, (self.trust_store.fingerprint, self.profile.encode("ascii")), self.chain_schemes
        )


@dataclass(frozen=True, slots=True)
class X509ServerVerifier(_X509Verifier):
    """A client's judgement of servers: the chain must lead to ``trust_store`` for the name
    asked for (webpki or private ``profile``), every certificate signed with one of
    ``chain_schemes`` (our signature_algorithms_cert)."""

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        return self.verify_resumed(tuple(e.cert_data for e in entries), server_name, now)

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        # RFC 8446 §4.4.2.4: path validation for the name at the current time, then the
        # signature_algorithms_cert check (§4.2.3); a resumed chain is re-checked the same way.
        when = _when(now)
        key = (self.fingerprint() or b"", certificates, server_name)
        if not (_VALIDATED_PATHS.known(key) and chain_valid_at(certificates, when)):
            verify_server_chain(
                certificates, server_name, self.trust_store, when, profile=self.profile
            )
            # A pq-only client lists only ML-DSA here: a chain signed classically is refused.
            check_chain_signatures(certificates, self.chain_schemes)
            _VALIDATED_PATHS.add(key)
        return peer_verified(
            spki=spki_of(certificates[0]), identity=server_name or "", certificates=certificates
        )

    def fingerprint(self) -> bytes | None:
        # The same bytes as before the plug-in seam: tickets issued earlier keep resuming.
        return self._judgement(b"server verification v1")


@dataclass(frozen=True, slots=True)
class InsecureSkipVerifier:
    """``insecure_skip_verify``: no chain, name or validity check. The CertificateVerify is
    still verified against the end-entity certificate's key."""

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        return self.verify_resumed(tuple(e.cert_data for e in entries), server_name, now)

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        try:
            spki = spki_of(certificates[0]) if certificates else b""
        except BadCertificate:
            spki = b""  # refused later by the CertificateVerify check (bad_certificate)
        return peer_verified(
            spki=spki, identity=f"unverified {server_name or ''}".strip(), certificates=certificates
        )

    def verify_signature(
        self,
        peer: PeerVerified,
        scheme: int,
        signature: bytes,
        content: bytes,
        provider: CryptoProvider,
    ) -> SignatureVerified:
        if not peer.certificates:
            raise BadCertificate("no certificate to verify", alert=AlertDescription.bad_certificate)
        # As before the seam: the certificate itself, so an unparsable one is bad_certificate.
        return provider.verify(peer.certificates[0], scheme, signature, content)

    def fingerprint(self) -> bytes | None:
        return None


@dataclass(frozen=True, slots=True)
class X509ClientVerifier(_X509Verifier):
    """A server's judgement of client certificates (mutual TLS): the chain must lead to
    ``trust_store`` under ``profile`` (no name: the subject DN may be the only identity),
    every certificate signed with one of ``chain_schemes``."""

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        chain = tuple(e.cert_data for e in entries)
        verify_client_chain(chain, self.trust_store, _when(now), profile=self.profile)
        # RFC 8446 §4.2.3, §4.4.2.4: a chain signed with a scheme we did not list is refused
        # with unsupported_certificate.
        check_chain_signatures(chain, self.chain_schemes)
        return peer_verified(
            spki=spki_of(chain[0]), identity=subject_of(chain[0]), certificates=chain
        )

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        # A client chain from a ticket made under the same client-auth binding: it must still
        # be within its validity period (as Go re-checks it).
        if not chain_valid_at(certificates, _when(now)):
            raise BadCertificate(
                "the resumed client certificate is no longer valid",
                alert=AlertDescription.certificate_expired,
            )
        return peer_verified(
            spki=spki_of(certificates[0]),
            identity=subject_of(certificates[0]),
            certificates=certificates,
        )

    def fingerprint(self) -> bytes | None:
        return self._judgement(b"client verifier x509 v1")
