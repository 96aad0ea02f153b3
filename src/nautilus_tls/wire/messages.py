"""TLS 1.3 handshake messages (RFC 8446 §4): frozen dataclasses with ``encode``/``decode_body``.

Every message encodes to the full handshake message (4-byte header: type, uint24 length, then
the body); ``decode_body`` takes the body only, the header having been split off by
:class:`HandshakeReassembler`. Decoding raises only this library's errors:

* :class:`~nautilus_tls.errors.DecodeError` (``decode_error``) for bytes that do not fit the
  RFC 8446 presentation-language definition (truncation, trailing bytes, a vector outside its
  bounds);
* :class:`~nautilus_tls.errors.PeerMisbehaved` (``illegal_parameter``) for well-formed but
  forbidden contents: a repeated extension type in one block (RFC 8446 §4.2), ``pre_shared_key``
  not last in a ClientHello (RFC 8446 §4.2.11), a KeyUpdate value other than 0 or 1
  (RFC 8446 §4.6.3);
* :class:`~nautilus_tls.errors.PeerIncompatible` (``protocol_version``) for a ClientHello or
  ServerHello without any extension block: only a pre-TLS 1.3 peer sends one.

Code points stay plain ``int`` so unknown and GREASE values survive a round trip. Extension
bodies are kept raw (:class:`Extension`); :mod:`nautilus_tls.wire.extensions` has the typed codecs.
Lower bounds of extension blocks (e.g. ``<8..2^16-1>`` in a ClientHello) are not enforced here:
a missing required extension is the handshake's ``missing_extension``, a better alert.

Encoding checks field sizes and raises :class:`~nautilus_tls.errors.LocalProtocolError`
(``internal_error``) for a value that cannot be put on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from nautilus_tls.errors import (
    AlertDescription,
    DecodeError,
    LocalProtocolError,
    PeerIncompatible,
    PeerMisbehaved,
    RemoteProtocolError,
)
from nautilus_tls.wire.buffer import Reader, Writer
from nautilus_tls.wire.enums import ExtensionType, HandshakeType
from nautilus_tls.wire.limits import MAX_LIST_ENTRIES

__all__ = [
    "DOWNGRADE_TLS11",
    "DOWNGRADE_TLS12",
    "HRR_RANDOM",
    "Certificate",
    "CertificateEntry",
    "CertificateRequest",
    "CertificateVerify",
    "ClientHello",
    "EncryptedExtensions",
    "EndOfEarlyData",
    "Extension",
    "Finished",
    "HandshakeMessage",
    "HandshakeReassembler",
    "KeyUpdate",
    "NewSessionTicket",
    "ServerHello",
    "decode_handshake",
    "decode_handshake_message",
    "encode_handshake",
    "handshake_header",
]

Bytes: TypeAlias = bytes | bytearray | memoryview

# RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of
# "HelloRetryRequest").
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
# RFC 8446 §4.1.3: the last 8 bytes of ServerHello.random from a TLS 1.3 server that negotiated
# TLS 1.2 (resp. 1.1 or below); a TLS 1.3 client that sees them must abort (illegal_parameter).
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"

_MAX_UINT24 = (1 << 24) - 1


def _check(ok: bool, what: str) -> None:
    """Encoding-side check: a value we were asked to send does not fit its field."""
    if not ok:
        raise LocalProtocolError(f"cannot encode {what}", alert=AlertDescription.internal_error)


def _check_vector(data: Bytes, lo: int, hi: int, what: str) -> None:
    if not lo <= len(data) <= hi:
        raise LocalProtocolError(
            f"cannot encode {what}: length {len(data)} outside {lo}..{hi}",
            alert=AlertDescription.internal_error,
        )


def _check_uint(value: int, bits: int, what: str) -> None:
    if not 0 <= value < (1 << bits):
        raise LocalProtocolError(
            f"cannot encode {what}: {value} is not a uint{bits}",
            alert=AlertDescription.internal_error,
        )


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension as it travels: its type and raw ``extension_data`` (RFC 8446 §4.2)."""

    ext_type: int
    data: bytes


def _read_extensions(r: Reader, where: str) -> tuple[Extension, ...]:
    """An ``Extension extensions<0..2^16-1>`` block; a repeated type is illegal_parameter."""
    exts: list[Extension] = []
    seen: set[int] = set()
    for ext_type, data in r.sub(2).type_length_values():
        if ext_type in seen:
            # RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a
            # given extension block."
            raise PeerMisbehaved(
                f"duplicate extension {ext_type} in {where}",
                alert=AlertDescription.illegal_parameter,
            )
        seen.add(ext_type)
        exts.append(Extension(ext_type, data))
    return tuple(exts)


def _write_extensions(w: Writer, extensions: tuple[Extension, ...], where: str) -> None:
    total = 0
    for ext in extensions:
        if not 0 <= ext.ext_type <= 0xFFFF:
            _check_uint(ext.ext_type, 16, f"extension type in {where}")
        total += 4 + len(ext.data)
    _check(total <= 0xFFFF, f"extensions of {where}: {total} bytes is too long")
    w.uint16(total)
    for ext in extensions:
        w.uint16(ext.ext_type)
        w.vector(2, ext.data)


_HEADER_PLACEHOLDER = bytes(4)


def handshake_header(msg_type: int, length: int) -> bytes:
    """The 4-byte handshake header: ``HandshakeType msg_type; uint24 length`` (RFC 8446 §4)."""
    if not (0 <= msg_type <= 0xFF and 0 <= length <= 0xFFFFFF):  # one test on the hot path
        _check_uint(msg_type, 8, "handshake type")
        _check_uint(length, 24, "handshake message length")
    return bytes((msg_type,)) + length.to_bytes(3, "big")


class _Message:
    """Shared encoding: header plus the body each message writes into a Writer."""

    __slots__ = ()
    msg_type: ClassVar[HandshakeType]

    def _write_body(self, w: Writer) -> None:
        raise NotImplementedError

    def encode_body(self) -> bytes:
        w = Writer()
        self._write_body(w)
        return w.getvalue()

    def encode(self) -> bytes:
        """The full handshake message: header and body."""
        # One buffer for both (no body copy): the header's 4 bytes are filled in last.
        w = Writer()
        w.raw(_HEADER_PLACEHOLDER)
        self._write_body(w)
        w.overwrite(0, handshake_header(self.msg_type, len(w) - 4))
        return w.getvalue()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientHello(_Message):
    """RFC 8446 §4.1.2."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_hello

    random: bytes
    legacy_session_id: bytes
    cipher_suites: tuple[int, ...]
    legacy_compression_methods: bytes = b"\x00"
    extensions: tuple[Extension, ...]
    legacy_version: int = 0x0303

    def _write_body(self, w: Writer) -> None:
        _check_uint(self.legacy_version, 16, "ClientHello.legacy_version")
        _check(len(self.random) == 32, "ClientHello.random: must be 32 bytes")
        _check_vector(self.legacy_session_id, 0, 32, "ClientHello.legacy_session_id")
        _check(1 <= len(self.cipher_suites) <= 0x7FFF, "ClientHello.cipher_suites: bad count")
        _check_vector(
            self.legacy_compression_methods, 1, 0xFF, "ClientHello.legacy_compression_methods"
        )
        w.uint16(self.legacy_version)
        w.raw(self.random)
        w.vector(1, self.legacy_session_id)
        suites = self.cipher_suites
        if not (min(suites) >= 0 and max(suites) <= 0xFFFF):  # nonempty: checked above
            for suite in suites:
                _check_uint(suite, 16, "cipher suite")
        w.uint16_list(2, suites)
        w.vector(1, self.legacy_compression_methods)
        _write_extensions(w, self.extensions, "ClientHello")

    @classmethod
    def decode_body(cls, body: Bytes) -> ClientHello:
        r = Reader(body)
        legacy_version = r.uint16()
        random = r.raw(32)
        session_id = r.vector(1, max_len=32)
        # RFC 8446 §6.2 decode_error past MAX_LIST_ENTRIES: unknown suites only cost us CPU.
        cipher_suites = r.uint16_list(2, min_len=2, max_count=MAX_LIST_ENTRIES)
        compression = r.vector(1, min_len=1)
        if r.at_end():
            # RFC 8446 §4.1.2/§4.2.1: a TLS 1.3 ClientHello always carries supported_versions.
            raise PeerIncompatible(
                "ClientHello without extensions (TLS 1.2 or older client)",
                alert=AlertDescription.protocol_version,
            )
        extensions = _read_extensions(r, "ClientHello")
        r.expect_end("ClientHello")
        for ext in extensions[:-1]:
            if ext.ext_type == ExtensionType.pre_shared_key:
                # RFC 8446 §4.2.11: pre_shared_key MUST be the last extension; servers MUST
                # check and fail with illegal_parameter.
                raise PeerMisbehaved(
                    "pre_shared_key is not the last ClientHello extension",
                    alert=AlertDescription.illegal_parameter,
                )
        return cls(
            legacy_version=legacy_version,
            random=random,
            legacy_session_id=session_id,
            cipher_suites=cipher_suites,
            legacy_compression_methods=compression,
            extensions=extensions,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerHello(_Message):
    """RFC 8446 §4.1.3; a HelloRetryRequest is a ServerHello with ``random == HRR_RANDOM``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello

    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    extensions: tuple[Extension, ...]
    legacy_version: int = 0x0303
    legacy_compression_method: int = 0

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HRR_RANDOM

    def _write_body(self, w: Writer) -> None:
        _check_uint(self.legacy_version, 16, "ServerHello.legacy_version")
        _check(len(self.random) == 32, "ServerHello.random: must be 32 bytes")
        _check_vector(self.legacy_session_id_echo, 0, 32, "ServerHello.legacy_session_id_echo")
        _check_uint(self.cipher_suite, 16, "ServerHello.cipher_suite")
        _check_uint(self.legacy_compression_method, 8, "ServerHello.legacy_compression_method")
        w.uint16(self.legacy_version)
        w.raw(self.random)
        w.vector(1, self.legacy_session_id_echo)
        w.uint16(self.cipher_suite)
        w.uint8(self.legacy_compression_method)
        _write_extensions(w, self.extensions, "ServerHello")

    @classmethod
    def decode_body(cls, body: Bytes) -> ServerHello:
        r = Reader(body)
        legacy_version = r.uint16()
        random = r.raw(32)
        session_id = r.vector(1, max_len=32)
        cipher_suite = r.uint16()
        compression = r.uint8()
        if r.at_end():
            # RFC 8446 §4.1.3: a TLS 1.3 ServerHello always carries supported_versions.
            raise PeerIncompatible(
                "ServerHello without extensions (TLS 1.2 or older server)",
                alert=AlertDescription.protocol_version,
            )
        extensions = _read_extensions(
            r, "HelloRetryRequest" if random == HRR_RANDOM else "ServerHello"
        )
        r.expect_end("ServerHello")
        return cls(
            legacy_version=legacy_version,
            random=random,
            legacy_session_id_echo=session_id,
            cipher_suite=cipher_suite,
            legacy_compression_method=compression,
            extensions=extensions,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptedExtensions(_Message):
    """RFC 8446 §4.3.1."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.encrypted_extensions

    extensions: tuple[Extension, ...] = ()

    def _write_body(self, w: Writer) -> None:
        _write_extensions(w, self.extensions, "EncryptedExtensions")

    @classmethod
    def decode_body(cls, body: Bytes) -> EncryptedExtensions:
        r = Reader(body)
        extensions = _read_extensions(r, "EncryptedExtensions")
        r.expect_end("EncryptedExtensions")
        return cls(extensions=extensions)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRequest(_Message):
    """RFC 8446 §4.3.2."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request

    certificate_request_context: bytes
    extensions: tuple[Extension, ...]

    def _write_body(self, w: Writer) -> None:
        _check_vector(self.certificate_request_context, 0, 0xFF, "CertificateRequest context")
        w.vector(1, self.certificate_request_context)
        _write_extensions(w, self.extensions, "CertificateRequest")

    @classmethod
    def decode_body(cls, body: Bytes) -> CertificateRequest:
        r = Reader(body)
        context = r.vector(1)
        extensions = _read_extensions(r, "CertificateRequest")
        r.expect_end("CertificateRequest")
        return cls(certificate_request_context=context, extensions=extensions)


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """One certificate (or raw public key) with its extensions (RFC 8446 §4.4.2)."""

    cert_data: bytes
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate(_Message):
    """RFC 8446 §4.4.2."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate

    certificate_request_context: bytes = b""
    certificate_list: tuple[CertificateEntry, ...]

    def _write_body(self, w: Writer) -> None:
        _check_vector(self.certificate_request_context, 0, 0xFF, "Certificate context")
        w.vector(1, self.certificate_request_context)
        entries = Writer()
        for entry in self.certificate_list:
            _check_vector(entry.cert_data, 1, _MAX_UINT24, "CertificateEntry.cert_data")
            entries.vector(3, entry.cert_data)
            _write_extensions(entries, entry.extensions, "CertificateEntry")
        _check(len(entries) <= _MAX_UINT24, "Certificate: certificate_list too long")
        w.vector(3, entries.getvalue())

    @classmethod
    def decode_body(cls, body: Bytes) -> Certificate:
        r = Reader(body)
        context = r.vector(1)
        block = r.sub(3)
        r.expect_end("Certificate")
        entries: list[CertificateEntry] = []
        while not block.at_end():
            cert_data = block.vector(3, min_len=1)
            entries.append(CertificateEntry(cert_data, _read_extensions(block, "CertificateEntry")))
        return cls(certificate_request_context=context, certificate_list=tuple(entries))


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateVerify(_Message):
    """RFC 8446 §4.4.3."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_verify

    algorithm: int
    signature: bytes

    def _write_body(self, w: Writer) -> None:
        _check_uint(self.algorithm, 16, "CertificateVerify.algorithm")
        _check_vector(self.signature, 0, 0xFFFF, "CertificateVerify.signature")
        w.uint16(self.algorithm)
        w.vector(2, self.signature)

    @classmethod
    def decode_body(cls, body: Bytes) -> CertificateVerify:
        r = Reader(body)
        algorithm = r.uint16()
        signature = r.vector(2)
        r.expect_end("CertificateVerify")
        return cls(algorithm=algorithm, signature=signature)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished(_Message):
    """RFC 8446 §4.4.4. The body is ``verify_data`` alone; its length (the hash length) is
    checked by the handshake, which knows the suite. Here it must only be non-empty."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.finished

    verify_data: bytes

    def _write_body(self, w: Writer) -> None:
        _check_vector(self.verify_data, 1, _MAX_UINT24, "Finished.verify_data")
        w.raw(self.verify_data)

    @classmethod
    def decode_body(cls, body: Bytes) -> Finished:
        if not body:
            raise DecodeError("empty Finished")
        return cls(verify_data=bytes(body))


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSessionTicket(_Message):
    """RFC 8446 §4.6.1."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket

    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: tuple[Extension, ...] = ()

    def _write_body(self, w: Writer) -> None:
        _check_uint(self.ticket_lifetime, 32, "NewSessionTicket.ticket_lifetime")
        _check_uint(self.ticket_age_add, 32, "NewSessionTicket.ticket_age_add")
        _check_vector(self.ticket_nonce, 0, 0xFF, "NewSessionTicket.ticket_nonce")
        _check_vector(self.ticket, 1, 0xFFFF, "NewSessionTicket.ticket")
        w.uint32(self.ticket_lifetime)
        w.uint32(self.ticket_age_add)
        w.vector(1, self.ticket_nonce)
        w.vector(2, self.ticket)
        _write_extensions(w, self.extensions, "NewSessionTicket")

    @classmethod
    def decode_body(cls, body: Bytes) -> NewSessionTicket:
        r = Reader(body)
        lifetime = r.uint32()
        age_add = r.uint32()
        nonce = r.vector(1)
        ticket = r.vector(2, min_len=1)
        extensions = _read_extensions(r, "NewSessionTicket")
        r.expect_end("NewSessionTicket")
        return cls(
            ticket_lifetime=lifetime,
            ticket_age_add=age_add,
            ticket_nonce=nonce,
            ticket=ticket,
            extensions=extensions,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfEarlyData(_Message):
    """RFC 8446 §4.5: an empty body."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.end_of_early_data

    def _write_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, body: Bytes) -> EndOfEarlyData:
        if body:
            raise DecodeError(f"{len(body)} trailing bytes after EndOfEarlyData")
        return cls()


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyUpdate(_Message):
    """RFC 8446 §4.6.3."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.key_update

    request_update: int

    def _write_body(self, w: Writer) -> None:
        _check(self.request_update in (0, 1), "KeyUpdate.request_update: must be 0 or 1")
        w.uint8(self.request_update)

    @classmethod
    def decode_body(cls, body: Bytes) -> KeyUpdate:
        r = Reader(body)
        request_update = r.uint8()
        r.expect_end("KeyUpdate")
        if request_update not in (0, 1):
            # RFC 8446 §4.6.3: any other value -> illegal_parameter.
            raise PeerMisbehaved(
                f"KeyUpdate request_update {request_update} is neither 0 nor 1",
                alert=AlertDescription.illegal_parameter,
            )
        return cls(request_update=request_update)


HandshakeMessage: TypeAlias = (
    ClientHello
    | ServerHello
    | EncryptedExtensions
    | CertificateRequest
    | Certificate
    | CertificateVerify
    | Finished
    | NewSessionTicket
    | EndOfEarlyData
    | KeyUpdate
)

_DECODERS = {
    cls.msg_type.value: cls.decode_body
    for cls in (
        ClientHello,
        ServerHello,
        EncryptedExtensions,
        CertificateRequest,
        Certificate,
        CertificateVerify,
        Finished,
        NewSessionTicket,
        EndOfEarlyData,
        KeyUpdate,
    )
}


def encode_handshake(msg: HandshakeMessage) -> bytes:
    """The full handshake message (header and body)."""
    return msg.encode()


def decode_handshake(msg_type: int, body: Bytes) -> HandshakeMessage:
    """Decode a message body by its type; an unknown type (or ``message_hash``, which never
    travels) is ``unexpected_message`` (RFC 8446 §4)."""
    decoder = _DECODERS.get(msg_type)
    if decoder is None:
        raise RemoteProtocolError(
            f"unknown handshake message type {msg_type}",
            alert=AlertDescription.unexpected_message,
        )
    return decoder(body)


def decode_handshake_message(data: Bytes) -> HandshakeMessage:
    """Decode exactly one whole message, header included (for tests and tools)."""
    view = memoryview(data)
    if len(view) < 4:
        raise DecodeError("handshake message truncated")
    length = int.from_bytes(view[1:4], "big")
    if len(view) != 4 + length:
        raise DecodeError(f"handshake header says {length} bytes, {len(view) - 4} present")
    return decode_handshake(view[0], view[4:])


class HandshakeReassembler:
    """Collects handshake bytes (record fragments or QUIC CRYPTO frames) into whole messages.

    Messages may be split across, or coalesced within, what is fed. When :meth:`next_message`
    meets a header that declares a body longer than ``max_message_size`` it raises
    :class:`~nautilus_tls.errors.DecodeError` (``decode_error``) without waiting for the body,
    so, if the caller drains :meth:`next_message` after each :meth:`feed`, the buffer stays
    below ``max_message_size`` + 4 plus one feed.
    """

    __slots__ = ("_buf", "_max")

    def __init__(self, *, max_message_size: int) -> None:
        self._buf = bytearray()
        self._max = max_message_size

    def feed(self, data: Bytes) -> None:
        self._buf += data

    def next_message(self) -> tuple[int, bytes, bytes] | None:
        """``(msg_type, body, raw)`` for the next whole message (``raw`` includes the header,
        for the transcript), or ``None`` until one is complete."""
        buf = self._buf
        if len(buf) < 4:
            return None
        length = int.from_bytes(buf[1:4], "big")
        if length > self._max:
            raise DecodeError(f"handshake message of {length} bytes exceeds limit {self._max}")
        end = 4 + length
        if len(buf) < end:
            return None
        raw = bytes(buf[:end])
        del buf[:end]  # O(1) amortized: CPython bytearray drops from the front in place
        return raw[0], raw[4:], raw

    def is_empty(self) -> bool:
        """True when no partial message is buffered (required at every key change,
        RFC 8446 §5.1)."""
        return not self._buf

    @property
    def buffered(self) -> int:
        """Bytes held, whole messages not yet taken included."""
        return len(self._buf)
