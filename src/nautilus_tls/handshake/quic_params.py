"""QUIC transport parameters (RFC 9001 §8.2, extension 0x39) as an extension plug-in.

The handshake carries the parameters as opaque bytes; what they mean is QUIC's business. The
plug-in checks only their framing (RFC 9000 §18: a sequence of variable-length-integer id,
variable-length-integer length, value), so bytes that do not parse are refused during the
handshake with decode_error, and a parameter repeated is illegal_parameter (RFC 9000 §7.4
calls both TRANSPORT_PARAMETER_ERROR). It is required: a peer that leaves it out gets
missing_extension (RFC 9001 §8.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_tls.errors import AlertDescription, DecodeError, PeerMisbehaved, RemoteProtocolError
from nautilus_tls.wire.enums import ExtensionType, HandshakeType

# RFC 9001 §8.2: in ClientHello and EncryptedExtensions only.
_MESSAGES = frozenset({HandshakeType.client_hello, HandshakeType.encrypted_extensions})


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """RFC 9000 §16: the value at ``pos`` and the position after it."""
    if pos >= len(data):
        raise DecodeError("truncated QUIC transport parameter")
    size = 1 << (data[pos] >> 6)
    end = pos + size
    if end > len(data):
        raise DecodeError("truncated QUIC transport parameter")
    value = int.from_bytes(data[pos:end], "big") & ((1 << (8 * size - 2)) - 1)
    return value, end


def check_transport_parameters(data: bytes) -> None:
    """Raise unless ``data`` is a well-formed RFC 9000 §18 transport parameter sequence."""
    seen: set[int] = set()
    pos = 0
    while pos < len(data):
        param_id, pos = _read_varint(data, pos)
        length, pos = _read_varint(data, pos)
        if pos + length > len(data):
            # RFC 9000 §18: a value that runs past the end does not decode: decode_error.
            raise DecodeError("QUIC transport parameter runs past the extension")
        if param_id in seen:
            # RFC 9000 §7.4: each parameter at most once.
            raise PeerMisbehaved(f"QUIC transport parameter {param_id:#x} repeated")
        seen.add(param_id)
        pos += length


@dataclass(frozen=True, slots=True)
class QuicTransportParameters:
    """Offer ``local`` (our encoded transport parameters) and receive the peer's; the
    handshake's ``peer_extensions[0x39]`` is then the peer's bytes."""

    local: bytes
    ext_type: int = ExtensionType.quic_transport_parameters
    messages: frozenset[int] = _MESSAGES

    def __post_init__(self) -> None:
        try:
            check_transport_parameters(self.local)
        except (DecodeError, PeerMisbehaved) as exc:
            raise ValueError(f"our own transport parameters are malformed: {exc}") from None

    def offer(self, message: int, peer: object | None) -> bytes | None:
        return self.local

    def receive(self, message: int, data: bytes | None) -> bytes:
        if data is None:
            # RFC 9001 §8.2: the extension is mandatory over QUIC.
            raise RemoteProtocolError(
                "peer sent no QUIC transport parameters",
                alert=AlertDescription.missing_extension,
            )
        check_transport_parameters(data)
        return bytes(data)
