"""A PeerVerifier that authenticates the peer by DID (issue 15).

The peer presents a key (today: in a self-issued certificate, :mod:`.certificate`; with RFC
7250, as a raw SubjectPublicKeyInfo) and proves it holds the private key with
CertificateVerify. This verifier decides whether that key may speak for a DID:

* **client, pinned DID** (``expect_did=``): the key must be one that ``expect_did``
  authorizes under ``authentication`` (for did:key, the key the DID encodes; for did:web,
  a key of its document). Anything else: ``bad_certificate``.
* **server, allow-list** (``trust_dids=``): the client's claimed DID (the DID extension of
  :mod:`.extension`, else the ``did:`` URI in its certificate, else the did:key of its key,
  or for a raw key a listed did:web that names it) must be listed: otherwise
  ``access_denied`` (RFC 8446 §6.2: a valid identity that access control refuses); then
  the key must be one the DID authorizes: otherwise ``bad_certificate``.
* **server, any resolvable DID** (``resolve_any=True``): as the allow-list, without the
  list.

A DID that cannot be resolved (unreachable did:web host, bad document) ends the handshake
with ``certificate_unknown``; the message names the DID and the reason. A DID the allow-list
refuses is :class:`~nautilus_tls.errors.AccessDenied`, the other refusals
:class:`~nautilus_tls.errors.BadCertificate`; each is logged on ``nautilus_tls.did`` at DEBUG
(the adapters log the failed handshake itself). The certificate around the key is not
judged (no chain, no validity period): the DID, not a CA, vouches for the key.

Resolution blocks (did:web does HTTPS) and runs inside the handshake. :meth:`prefetch`
resolves ahead the did:web DIDs the verifier names (``expect_did``, ``trust_dids``); the
asyncio adapter runs it in a worker thread before a client's handshake and, for a server,
before it listens and then every half TTL, so that those handshakes find the documents
cached. What cannot be known ahead (a DID that only the peer names, with ``resolve_any``;
a did:web host whose last fetch failed, since failures are not cached) is resolved inside
the handshake: for a verifier whose :meth:`may_block_in_handshake` is true, the asyncio
adapter runs the handshake's reads in a worker thread, so the event loop does not wait.
The QUIC endpoints prefetch the named DIDs too; a QUIC server hands a handshaking
connection's datagrams to it in a worker thread in the same way. A QUIC *client* whose
prefetch failed still resolves on its loop.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from nautilus_tls.auth.raw_key import is_raw_public_key, peer_spki
from nautilus_tls.auth.spki import KeyVerifier
from nautilus_tls.auth.x509 import trust_fingerprint
from nautilus_tls.did.certificate import did_of_certificate
from nautilus_tls.did.errors import DidError, InvalidDid
from nautilus_tls.did.extension import did_in_entry
from nautilus_tls.did.key import canonical_spki, did_key_from_spki
from nautilus_tls.did.resolver import DidResolver, check_did
from nautilus_tls.errors import AccessDenied, AlertDescription, BadCertificate
from nautilus_tls.proofs import PeerVerified, peer_verified
from nautilus_tls.wire.messages import CertificateEntry

__all__ = ["DidPeerVerifier", "check_did"]

logger = logging.getLogger("nautilus_tls.did")


def _describe_key(spki: bytes) -> str:
    try:
        return did_key_from_spki(spki)
    except DidError:
        return "SPKI sha256:" + hashlib.sha256(spki).hexdigest()


def _refuse(message: str, alert: AlertDescription) -> BadCertificate | AccessDenied:
    # DEBUG, not WARNING: the adapters already log the failed handshake with this message,
    # and one refusal should be one line in a server's log.
    logger.debug("refused peer (%s): %s", alert.name, message)
    if alert == AlertDescription.access_denied:
        return AccessDenied(message)
    return BadCertificate(message, alert=alert)


@dataclass(frozen=True)
class DidPeerVerifier(KeyVerifier):
    """Judge the peer by DID. Give ``expect_did`` (a client pinning its server's DID), or
    ``trust_dids`` and/or ``resolve_any`` (a server accepting clients' DIDs).
    ``resolver``: where DIDs are resolved (its did:web resolver holds the TLS config, cache
    and limits)."""

    expect_did: str | None = None
    trust_dids: tuple[str, ...] = ()
    resolve_any: bool = False
    resolver: DidResolver = field(default_factory=DidResolver, compare=False)

    def __post_init__(self) -> None:
        if self.expect_did is not None and (self.trust_dids or self.resolve_any):
            raise ValueError("give expect_did, or trust_dids / resolve_any, not both")
        if self.expect_did is None and not self.trust_dids and not self.resolve_any:
            raise ValueError("give expect_did, trust_dids or resolve_any")
        for did in (self.expect_did, *self.trust_dids):
            if did is not None:
                check_did(did)
        object.__setattr__(self, "trust_dids", tuple(self.trust_dids))

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        # A DID the peer claims in the DID extension (did/extension.py) names which DID to
        # resolve; the key still has to be one that DID authorizes.
        claimed = did_in_entry(entries[0]) if entries and self.expect_did is None else None
        return self._verify(tuple(e.cert_data for e in entries), claimed)

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        return self._verify(certificates, None)

    def _verify(self, certificates: tuple[bytes, ...], claimed: str | None) -> PeerVerified:
        if not certificates:
            raise _refuse("the peer presented no key", AlertDescription.bad_certificate)
        spki = peer_spki(certificates[0])
        try:
            presented = canonical_spki(spki)
        except DidError:
            raise _refuse(
                "the peer's key is of a type no DID can name",
                AlertDescription.unsupported_certificate,
            ) from None
        did = self.expect_did or claimed or self._claimed_did(certificates[0], presented)
        if self.expect_did is None and not self.resolve_any and did not in self.trust_dids:
            raise _refuse(f"the peer's DID {did} is not trusted", AlertDescription.access_denied)
        try:
            keys = self.resolver.authentication_keys(did)
        except DidError as exc:
            raise _refuse(
                f"cannot verify DID {did}: {exc}", AlertDescription.certificate_unknown
            ) from None
        if not any(canonical_spki(k.spki) == presented for k in keys):
            raise _refuse(
                f"expected {did}, but the peer's key is {_describe_key(presented)}, which {did}"
                " does not list under authentication",
                AlertDescription.bad_certificate,
            )
        return peer_verified(spki=spki, identity=did, certificates=certificates)

    def _claimed_did(self, cert_data: bytes, presented: bytes) -> str:
        """The DID the peer claims: the ``did:`` URI of its certificate; for a raw public
        key (or a certificate without one) its did:key, unless that is not listed and a
        listed did:web names the key."""
        if is_raw_public_key(cert_data):
            return self._did_for_raw_key(presented)
        try:
            claimed = did_of_certificate(cert_data)
        except InvalidDid as exc:
            raise _refuse(str(exc), AlertDescription.bad_certificate) from None
        if claimed is not None:
            try:
                return check_did(claimed)
            except InvalidDid as exc:
                raise _refuse(
                    f"the peer claims a bad DID: {exc}", AlertDescription.bad_certificate
                ) from None
        try:
            return did_key_from_spki(presented)
        except DidError:
            raise _refuse(
                "the peer names no DID and its key cannot be a did:key",
                AlertDescription.unsupported_certificate,
            ) from None

    def _did_for_raw_key(self, presented: bytes) -> str:
        try:
            own = did_key_from_spki(presented)
        except DidError:
            own = None
        if own is not None and (self.resolve_any or own in self.trust_dids):
            return own
        # A raw key names no DID: find a listed did:web whose document lists it (bounded by
        # the allow-list; each resolution is cached).
        for did in self.trust_dids:
            if not did.startswith("did:web:"):
                continue
            try:
                keys = self.resolver.authentication_keys(did)
            except DidError:
                continue
            if any(canonical_spki(k.spki) == presented for k in keys):
                return did
        if own is None:
            raise _refuse(
                "the peer's raw key cannot be a did:key and no listed DID names it",
                AlertDescription.unsupported_certificate,
            )
        return own

    def prefetch(self) -> float | None:
        """Resolve the did:web DIDs this verifier names, refreshing those that expire within
        half the resolver's TTL; errors are left to the handshake (certificate_unknown).
        Returns that half TTL (when to call again), or None when no did:web is named.
        Blocking: see :class:`~nautilus_tls.auth.api.PrefetchingVerifier`."""
        dids = [d for d in (self.expect_did, *self.trust_dids) if d and d.startswith("did:web:")]
        if not dids:
            return None
        web = self.resolver.web
        margin = web.ttl / 2
        for did in dids:
            try:
                web.authentication_keys(did, fresh_for=margin)
            except DidError as exc:
                logger.warning("could not resolve %s ahead of handshakes: %s", did, exc)
        return margin

    def may_block_in_handshake(self) -> bool:
        """Whether a handshake may have to resolve a did:web over the network: with
        ``resolve_any`` (the peer names it) or when a did:web is named here (its cached
        document may have expired, or its host failed)."""
        named = (self.expect_did or "", *self.trust_dids)
        return self.resolve_any or any(did.startswith("did:web:") for did in named)

    def fingerprint(self) -> bytes | None:
        return trust_fingerprint(
            b"did verification v1",
            (self.expect_did or "").encode(),
            b"\x01" if self.resolve_any else b"\x00",
            *(did.encode() for did in sorted(self.trust_dids)),
        )
