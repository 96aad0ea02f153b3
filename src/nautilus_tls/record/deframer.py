"""Split a TLS byte stream into records (RFC 8446 §5.1).

:class:`RecordDeframer` is fed bytes in whatever pieces the transport delivers (one byte at a
time works) and hands back whole records. Reassembly is O(n): the buffer keeps a read offset
instead of re-slicing, and fragments are zero-copy ``memoryview`` slices of it.

The views stay valid and unchanging for as long as the caller keeps them: once a view of the
internal ``bytearray`` has been handed out, the deframer never writes to that array again; the
next :meth:`RecordDeframer.feed` moves the unread tail (less than one record, since callers
drain records before feeding more) into a fresh array. When the buffer is empty and the
transport hands us ``bytes``, the object is kept as it is, without a copy. When a record
straddles two reads (nearly always: reads do not end on record boundaries), only that record
is stitched together in a fresh array, and the rest of the new ``bytes`` is read in place
once the stitched record has been returned: a 256 KiB read costs one ~16 KiB copy, not a
copy of the whole read.

Checks made on the 5-byte header, as soon as it has arrived (no need to wait for the body):

* content type not one of change_cipher_spec, alert, handshake, application_data
  → ``RemoteProtocolError(unexpected_message)`` (RFC 8446 §5: "If a TLS implementation
  receives an unexpected record type, it MUST terminate the connection with an
  unexpected_message alert").
* length above 2^14 + 256 for ``application_data`` (the outer type of every protected
  record, §5.2) or above 2^14 for the plaintext types (§5.1) → ``record_overflow``.
* length 0 for handshake, alert or change_cipher_spec → ``unexpected_message`` (§5.1:
  zero-length handshake fragments MUST NOT be sent, alerts are never empty, and a
  change_cipher_spec must be the single byte 0x01 — §5). A zero-length application_data
  record is passed through: as ciphertext it fails authentication in the protector.
* legacy_record_version: RFC 8446 §5.1 says the field "MUST be ignored for all purposes", so
  the minor byte is not checked (0x0301 in a first ClientHello, 0x0303 elsewhere, anything in
  between from old stacks). A major byte other than 0x03, though, means the stream is not TLS
  records at all (an SSLv2 hello, a plaintext protocol on the wrong port); that is a malformed
  header, so → ``DecodeError(decode_error)``. This is a deliberate, documented deviation
  from "ignore".

After an error the deframer stays failed: every later call raises the same error again.
"""

from __future__ import annotations

from typing import NamedTuple

from nautilus_tls.errors import (
    AlertDescription,
    ConfigError,
    DecodeError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.wire.enums import ContentType

__all__ = [
    "DEFAULT_MAX_BUFFER",
    "MAX_CIPHERTEXT_LEN",
    "MAX_PLAINTEXT_LEN",
    "MAX_RECORD_SIZE",
    "RECORD_HEADER_LEN",
    "Record",
    "RecordDeframer",
    "record_header",
]

RECORD_HEADER_LEN = 5
"""content_type(1) || legacy_record_version(2) || length(2)."""

MAX_PLAINTEXT_LEN = 2**14
"""RFC 8446 §5.1: TLSPlaintext.length (and TLSInnerPlaintext.content) limit."""

MAX_CIPHERTEXT_LEN = 2**14 + 256
"""RFC 8446 §5.2: TLSCiphertext.length limit."""

MAX_RECORD_SIZE = RECORD_HEADER_LEN + MAX_CIPHERTEXT_LEN
"""The largest record on the wire, header included (16,645 bytes)."""

DEFAULT_MAX_BUFFER = 8 * MAX_RECORD_SIZE
"""Bytes a deframer holds by default before :meth:`RecordDeframer.feed` refuses more."""

_CT_CHANGE_CIPHER_SPEC = int(ContentType.change_cipher_spec)
_CT_ALERT = int(ContentType.alert)
_CT_HANDSHAKE = int(ContentType.handshake)
_CT_APPLICATION_DATA = int(ContentType.application_data)

# Length limit per outer content type; a type missing here is rejected.
_MAX_LEN: dict[int, int] = {
    _CT_CHANGE_CIPHER_SPEC: MAX_PLAINTEXT_LEN,
    _CT_ALERT: MAX_PLAINTEXT_LEN,
    _CT_HANDSHAKE: MAX_PLAINTEXT_LEN,
    _CT_APPLICATION_DATA: MAX_CIPHERTEXT_LEN,
}


def record_header(content_type: int, legacy_version: int, length: int) -> bytes:
    """The 5-byte record header (also the AAD of a protected record, RFC 8446 §5.2)."""
    return bytes(
        (content_type, legacy_version >> 8, legacy_version & 0xFF, length >> 8, length & 0xFF)
    )


class Record(NamedTuple):
    """One record as it came off the wire; unpacks as ``(content_type, legacy_version, fragment)``."""

    content_type: int
    legacy_version: int
    # Quoted for mypyc, which looks an unquoted builtin other than int/str/... up in the
    # module's globals when it builds a compiled NamedTuple's annotations (KeyError at import).
    fragment: "memoryview"  # noqa: UP037

    def header(self) -> bytes:
        """The record's 5-byte header, as received (the AAD for :meth:`RecordProtector.open`)."""
        return record_header(self.content_type, self.legacy_version, len(self.fragment))


class RecordDeframer:
    """Reassemble records from a byte stream; bounded to ``max_buffer`` unread bytes."""

    __slots__ = ("_buf", "_error", "_exported", "_max_buffer", "_next", "_next_off", "_off")

    def __init__(self, *, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        if max_buffer < MAX_RECORD_SIZE:
            raise ConfigError(
                f"max_buffer must hold at least one whole record ({MAX_RECORD_SIZE} bytes)"
            )
        self._max_buffer = max_buffer
        # Unread bytes are _buf[_off:]. _buf is bytes (kept from the caller, immutable) or a
        # bytearray we own; _exported is True once a view of that bytearray was handed out,
        # after which we never resize or write it again.
        self._buf: bytes | bytearray = b""
        self._off = 0
        self._exported = False
        # bytes read after the record stitched into _buf: next[next_off:] follows _buf[_off:].
        self._next: bytes | None = None
        self._next_off = 0
        self._error: ProtocolError | None = None

    @property
    def max_buffer(self) -> int:
        return self._max_buffer

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned in a record."""
        return len(self._buf) - self._off + self._queued()

    def _queued(self) -> int:
        nxt = self._next
        return 0 if nxt is None else len(nxt) - self._next_off

    @property
    def space(self) -> int:
        """How many more bytes :meth:`feed` accepts right now (for transport back-pressure)."""
        return self._max_buffer - self.buffered

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes from the transport.

        Raises ``LocalProtocolError`` (and keeps nothing of ``data``) when the unread bytes
        would exceed ``max_buffer``: drain :meth:`next_record` first, or read less (see
        :attr:`space`).
        """
        if self._error is not None:
            raise self._error
        n = len(data)
        if n == 0:
            return
        if self._next is not None:
            self._unqueue()  # fed again before the stitched record was read: rare
        pending = len(self._buf) - self._off
        if pending + n > self._max_buffer:
            raise LocalProtocolError(
                f"record buffer full: {pending} bytes unread, {n} more offered, "
                f"max_buffer is {self._max_buffer}; read records before feeding more"
            )
        if pending == 0:
            # Nothing unread: start over. bytes are immutable, so keep them as they are.
            self._buf = data if type(data) is bytes else bytes(data)
            self._off = 0
            self._exported = False
        elif type(self._buf) is bytearray and not self._exported:
            self._buf += data
        else:
            # The buffer is immutable bytes, or a bytearray a caller may still be viewing:
            # move the unread tail to a fresh array (this is also the compaction).
            need = self._stitch_need(pending)
            if type(data) is bytes and 0 < need < n:
                # Only the straddling record is copied; the rest of ``data`` waits in place.
                fresh = bytearray(memoryview(self._buf)[self._off :])
                fresh += memoryview(data)[:need]
                self._next, self._next_off = data, need
            else:
                fresh = bytearray(memoryview(self._buf)[self._off :])
                fresh += data
            self._buf = fresh
            self._off = 0
            self._exported = False

    def _stitch_need(self, pending: int) -> int:
        """Bytes still missing from the pending partial record (0 if its header is not in)."""
        if pending < RECORD_HEADER_LEN:
            return 0
        buf, off = self._buf, self._off
        length = (buf[off + 3] << 8) | buf[off + 4]
        return RECORD_HEADER_LEN + length - pending

    def _unqueue(self) -> None:
        """Move the queued bytes behind the unread tail, in one fresh array."""
        nxt, self._next = self._next, None
        if nxt is None:
            return
        fresh = bytearray(memoryview(self._buf)[self._off :])
        fresh += memoryview(nxt)[self._next_off :]
        self._buf, self._off, self._exported = fresh, 0, False

    def next_record(self) -> Record | None:
        """The next whole record, or ``None`` until more bytes arrive.

        Raises ``RemoteProtocolError`` / ``DecodeError`` (see the module docstring).
        """
        if self._error is not None:
            raise self._error
        buf = self._buf
        off = self._off
        avail = len(buf) - off
        if avail == 0 and self._next is not None:
            # The stitched record was read: go on in the bytes of the last read, in place.
            buf, off = self._buf, self._off = self._next, self._next_off
            self._next = None
            self._exported = False
            avail = len(buf) - off
        if avail < RECORD_HEADER_LEN:
            if self._next is not None:
                self._unqueue()
                return self.next_record()
            return None
        content_type = buf[off]
        major = buf[off + 1]
        length = (buf[off + 3] << 8) | buf[off + 4]
        max_len = _MAX_LEN.get(content_type)
        if (
            max_len is None
            or major != 0x03
            or length > max_len
            or (length == 0 and content_type != _CT_APPLICATION_DATA)
        ):
            # Cold path: name the error.
            self._error = self._header_error(content_type, major, length, max_len)
            raise self._error
        end = off + RECORD_HEADER_LEN + length
        if end > len(buf):
            if self._next is not None:
                self._unqueue()
                return self.next_record()
            return None
        legacy_version = (major << 8) | buf[off + 2]
        fragment = memoryview(buf)[off + RECORD_HEADER_LEN : end]
        self._off = end
        self._exported = True
        return Record(content_type, legacy_version, fragment)

    def application_data_run(self) -> list[tuple[bytes, memoryview]]:
        """The whole ``application_data`` records buffered from here on, as ``(header,
        fragment)`` pairs, up to the first record of another type, the first incomplete one
        or the first whose header :meth:`next_record` must refuse (left for it to name).

        After the handshake a bulk read holds a run of such records: one call hands them all
        over instead of one :meth:`next_record` call and one :class:`Record` per record.
        Views and buffer ownership are as for :meth:`next_record`.
        """
        if self._error is not None:
            raise self._error
        buf = self._buf
        off = start = self._off
        size = len(buf)
        run: list[tuple[bytes, memoryview]] = []
        view: memoryview | None = None
        while size - off >= RECORD_HEADER_LEN and buf[off] == _CT_APPLICATION_DATA:
            length = (buf[off + 3] << 8) | buf[off + 4]
            end = off + RECORD_HEADER_LEN + length
            if buf[off + 1] != 0x03 or length > MAX_CIPHERTEXT_LEN or end > size:
                break
            if view is None:
                view = memoryview(buf)
            run.append(
                (bytes(buf[off : off + RECORD_HEADER_LEN]), view[off + RECORD_HEADER_LEN : end])
            )
            off = end
        if off != start:
            self._off = off
            self._exported = True
        return run

    def __iter__(self) -> RecordDeframer:
        return self

    def __next__(self) -> Record:
        record = self.next_record()
        if record is None:
            raise StopIteration
        return record

    @staticmethod
    def _header_error(
        content_type: int, major: int, length: int, max_len: int | None
    ) -> ProtocolError:
        if max_len is None:
            # RFC 8446 §5: an unexpected record type ends the connection with unexpected_message.
            return RemoteProtocolError(
                f"record with unknown content type {content_type}",
                alert=AlertDescription.unexpected_message,
            )
        if major != 0x03:
            # RFC 8446 §5.1 says to ignore legacy_record_version; a major byte other than 3
            # means these are not TLS records at all (see the module docstring).
            return DecodeError(f"not a TLS record: legacy_record_version major byte 0x{major:02x}")
        if length > max_len:
            # RFC 8446 §5.1 (plaintext, 2^14) and §5.2 (ciphertext, 2^14 + 256).
            return RemoteProtocolError(
                f"record of {length} bytes exceeds the {max_len}-byte limit for content type "
                f"{content_type}",
                alert=AlertDescription.record_overflow,
            )
        # length == 0: RFC 8446 §5.1, no zero-length handshake fragments; alerts and
        # change_cipher_spec always have content.
        return RemoteProtocolError(
            f"zero-length record of content type {content_type}",
            alert=AlertDescription.unexpected_message,
        )
