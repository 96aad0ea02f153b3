"""What a finished handshake negotiated: a plain value an application can inspect and log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionInfo:
    version: str = "TLSv1.3"
    cipher_suite: str
    group: str | None
    signature_scheme: str | None
    alpn: str | None
    server_name: str | None
    peer_certificates: tuple[bytes, ...] = field(default=(), repr=False)
    peer_certificate_subject: str | None = None  # RFC 4514 subject DN of the peer's leaf
    # DNS names and IP addresses in the leaf's subjectAltName (empty when it has none: a
    # client certificate may identify its holder by subject DN alone).
    peer_certificate_names: tuple[str, ...] = ()
    # What the peer's Certificate held (RFC 7250): "x509", "raw_public_key", or None when it
    # sent none; and the DID its key was verified for (did.verifier.DidPeerVerifier), if any.
    certificate_type: str | None = None
    peer_did: str | None = None
    client_certificate_scheme: str | None = None
    resumed: bool = False
    hello_retry: bool = False
    early_data: str = "none"  # "none" | "accepted" | "rejected" (0-RTT)
    # Client: how many bytes of the requested early data went out as 0-RTT (at most the
    # ticket's max_early_data). With "accepted" the server took them and the rest followed as
    # ordinary data right after the handshake; with "rejected" none arrived: send it all again.
    early_data_sent: int = 0
    # What the extension plug-ins (config.extension_hooks) received from the peer, by code
    # point: a read-only view that a NewSessionTicket's plug-ins may still add to.
    peer_extensions: Mapping[int, object] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "cipher_suite": self.cipher_suite,
            "group": self.group,
            "signature_scheme": self.signature_scheme,
            "alpn": self.alpn,
            "server_name": self.server_name,
            "peer_certificate_subject": self.peer_certificate_subject,
            "peer_certificate_names": list(self.peer_certificate_names),
            "certificate_type": self.certificate_type,
            "peer_did": self.peer_did,
            "resumed": self.resumed,
            "hello_retry": self.hello_retry,
            "early_data": self.early_data,
            "early_data_sent": self.early_data_sent,
        }
