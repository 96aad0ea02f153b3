"""The peer's DID in the handshake: a small extension in a private-use code point.

Code point **0xFFD1** (``DID_EXTENSION``; RFC 8446 §4.2 reserves 0xFF00-0xFFFF for private
use), ``extension_data`` = the DID in ASCII with a 2-byte length::

    opaque did<1..2^16-1>;

Who sends what (the extension plug-in rules of :mod:`nautilus_tls.handshake.hooks`):

* a client asks for the server's DID with an empty copy in its ClientHello; the server
  answers with its DID in the end-entity entry of its Certificate;
* a server asks for the client's DID with an empty copy in its CertificateRequest; the
  client answers in its Certificate's end-entity entry.

The DID is a *claim*: :class:`~.verifier.DidPeerVerifier` reads it from the entry to know which
DID to resolve (a raw public key names none), and accepts it only if that DID authorizes the
key the peer then proves it holds with CertificateVerify. Give the same
:class:`DidExtension` to ``extension_hooks`` on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_tls.did.errors import InvalidDid
from nautilus_tls.did.resolver import check_did
from nautilus_tls.errors import AlertDescription, DecodeError, PeerMisbehaved
from nautilus_tls.wire.buffer import Reader, Writer
from nautilus_tls.wire.enums import HandshakeType
from nautilus_tls.wire.messages import CertificateEntry

__all__ = ["DID_EXTENSION", "DidExtension", "decode_did", "did_in_entry", "encode_did"]

DID_EXTENSION = 0xFFD1


def encode_did(did: str) -> bytes:
    w = Writer()
    w.vector(2, did.encode("ascii"))
    return w.getvalue()


def decode_did(data: bytes) -> str:
    """The DID of a non-empty copy; DecodeError when malformed, illegal_parameter when it
    is not a did:key / did:web we can use."""
    r = Reader(data)
    raw = r.vector(2, min_len=1)
    r.expect_end("DID extension")
    try:
        return check_did(raw.decode("ascii"))
    except (UnicodeDecodeError, InvalidDid) as exc:
        raise PeerMisbehaved(
            f"the peer's DID extension holds no usable DID: {exc}",
            alert=AlertDescription.illegal_parameter,
        ) from None


def did_in_entry(entry: CertificateEntry) -> str | None:
    """The DID the peer's end-entity entry claims, if it carries the extension."""
    for extension in entry.extensions:
        if extension.ext_type == DID_EXTENSION and extension.data:
            return decode_did(extension.data)
    return None


@dataclass(frozen=True, slots=True)
class DidExtension:
    """The DID extension as a plug-in (``extension_hooks``): ``did`` is ours, sent when the
    peer asks; ``ask_peer`` asks for the peer's."""

    did: str | None = None
    ask_peer: bool = True

    def __post_init__(self) -> None:
        if self.did is not None:
            check_did(self.did)

    @property
    def ext_type(self) -> int:
        return DID_EXTENSION

    @property
    def messages(self) -> frozenset[int]:
        return frozenset(
            {
                HandshakeType.client_hello,
                HandshakeType.certificate_request,
                HandshakeType.certificate,
            }
        )

    def offer(self, message: int, peer: object | None) -> bytes | None:
        if message in (HandshakeType.client_hello, HandshakeType.certificate_request):
            return b"" if self.ask_peer else None  # "tell me your DID"
        # The handshake asks about a Certificate only for what the peer's ClientHello or
        # CertificateRequest offered: being asked means the peer wants our DID.
        if message == HandshakeType.certificate and self.did is not None:
            return encode_did(self.did)
        return None

    def receive(self, message: int, data: bytes | None) -> object:
        if message in (HandshakeType.client_hello, HandshakeType.certificate_request):
            if data not in (None, b""):
                raise DecodeError("a DID request is empty")
            return data is not None  # the peer asked for our DID
        return decode_did(data) if data else None  # the peer's claimed DID
