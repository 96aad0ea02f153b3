"""Record protection for one direction of one epoch (RFC 8446 §5.2-§5.5).

A :class:`RecordProtector` is built from a traffic secret: it derives the write key and IV
(RFC 8446 §7.3), keeps one AEAD object for the key, and counts records. Each record's nonce is
the IV XOR the 64-bit sequence number, left-padded to the IV length (§5.3); the additional
data is the 5-byte record header (§5.2). The same class seals (our writes) and opens (the
peer's writes); the connection holds one for each direction and replaces it on every key
change (:meth:`RecordProtector.updated` gives the next generation after a KeyUpdate, §7.2).

TLSInnerPlaintext is ``content || content_type || zeros`` (§5.2, §5.4). Receive-side checks:

* ciphertext longer than 2^14 + 256 → ``record_overflow`` (§5.2)
* authentication failure → ``bad_record_mac`` (§5.2)
* decrypted TLSInnerPlaintext longer than 2^14 + 1 → ``record_overflow`` (§5.4: padding does
  not raise the limit)
* no non-zero octet (no content type) → ``unexpected_message`` (§5.4)
* inner content type other than alert, handshake, application_data → ``unexpected_message``
  (§5: protected change_cipher_spec and unknown types)
* zero-length handshake or alert content → ``unexpected_message`` (§5.4)

Sequence numbers never wrap (§5.3): using number 2^64 raises ``LocalProtocolError``; well
before that, :meth:`RecordProtector.needs_key_update` turns true as the key nears the AEAD's
confidentiality limit (§5.5), so the connection can send a KeyUpdate.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidTag

from nautilus_tls import defaults
from nautilus_tls.crypto.keyschedule import next_traffic_secret, traffic_key_iv
from nautilus_tls.crypto.suites import SuiteParams
from nautilus_tls.errors import (
    AlertDescription,
    ConfigError,
    LocalProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.record.deframer import (
    MAX_CIPHERTEXT_LEN,
    MAX_PLAINTEXT_LEN,
    RECORD_HEADER_LEN,
)
from nautilus_tls.wire.enums import ContentType, ProtocolVersion

__all__ = [
    "AEAD_TAG_LEN",
    "DEFAULT_CONFIDENTIALITY_LIMIT",
    "KEY_UPDATE_MARGIN",
    "MAX_SEQUENCE",
    "RecordProtector",
    "iter_fragments",
    "pack_record_header",
    "plaintext_record",
]

Buffer = bytes | bytearray | memoryview

AEAD_TAG_LEN = 16
"""Tag length of every AEAD we support (AES-GCM, ChaCha20-Poly1305)."""

MAX_SEQUENCE = 2**64 - 1
"""The last usable sequence number (RFC 8446 §5.3: sequence numbers must not wrap)."""

DEFAULT_CONFIDENTIALITY_LIMIT = 2**24
"""AES-GCM's records per key (§5.5); each suite carries its own in ``SuiteParams``."""

KEY_UPDATE_MARGIN = defaults.KEY_UPDATE_MARGIN_RECORDS
"""Records before the confidentiality limit at which a KeyUpdate becomes due (2^16).

Leaves room for the records already in flight in the other direction: when the read side
asks the peer to update, the peer may send many more records before it acts on the request.
"""

_MAX_INNER_LEN = MAX_PLAINTEXT_LEN + 1  # content + content type (+ padding), RFC 8446 §5.4
_CT_APPLICATION_DATA = int(ContentType.application_data)
_CT_HANDSHAKE = int(ContentType.handshake)
_CT_ALERT = int(ContentType.alert)

# The content-type octets that may be protected (RFC 8446 §5: never change_cipher_spec).
_TYPE_OCTET: dict[int, bytes] = {
    _CT_ALERT: bytes((_CT_ALERT,)),
    _CT_HANDSHAKE: bytes((_CT_HANDSHAKE,)),
    _CT_APPLICATION_DATA: bytes((_CT_APPLICATION_DATA,)),
}

_pack_header = struct.Struct(">BHH").pack
pack_record_header = _pack_header
"""``pack_record_header(content_type, legacy_version, length)``: a 5-byte record header in
one C call (the AAD of a protected record, RFC 8446 §5.2)."""
_TLS12 = int(ProtocolVersion.TLS1_2)


def _bad_record_mac() -> RemoteProtocolError:
    return RemoteProtocolError(
        "record failed authentication", alert=AlertDescription.bad_record_mac
    )


def _overflow(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, alert=AlertDescription.record_overflow)


def _sequence_wrapped() -> LocalProtocolError:
    return LocalProtocolError("record sequence number would wrap; a KeyUpdate is overdue")


def _unexpected(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, alert=AlertDescription.unexpected_message)


class RecordProtector:
    """Seal or open the records of one direction of one epoch.

    ``params`` is the negotiated suite, ``secret`` the traffic secret for this direction and
    epoch (``[sender]_handshake_traffic_secret``, ``[sender]_application_traffic_secret_N``
    or ``client_early_traffic_secret``). ``confidentiality_limit`` overrides the suite's
    records-per-key limit (for tests).
    """

    __slots__ = (
        "_aead",
        "_encrypt_into",
        "_iv_int",
        "_iv_len",
        "_limit_override",
        "_params",
        "_secret",
        "_seq",
        "_update_at",
    )

    def __init__(
        self, params: SuiteParams, secret: bytes, *, confidentiality_limit: int | None = None
    ) -> None:
        key, iv = traffic_key_iv(params, secret)
        self._params = params
        self._secret = secret
        self._aead = params.new_aead(key)  # one AEAD object per key, reused for every record
        # pyca's AEADs write into a caller's buffer; a provider's AEAD may not (then
        # seal_application_data falls back to one seal per record).
        self._encrypt_into: Callable[[bytes, bytes, bytes, memoryview], int] | None = getattr(
            self._aead, "encrypt_into", None
        )
        self._iv_int = int.from_bytes(iv, "big")
        self._iv_len = len(iv)
        self._seq = 0
        self._limit_override = confidentiality_limit
        limit = (
            confidentiality_limit
            if confidentiality_limit is not None
            else params.confidentiality_limit
        )
        if limit < 1:
            raise ConfigError("confidentiality_limit must be positive")
        # Due at limit - margin; for small limits (tests) at half the limit instead.
        self._update_at = min(max(limit - KEY_UPDATE_MARGIN, limit // 2), MAX_SEQUENCE)

    def __repr__(self) -> str:  # never shows the key, IV or secret
        return f"<RecordProtector {self._params.suite.name} sequence={self._seq}>"

    @property
    def params(self) -> SuiteParams:
        return self._params

    @property
    def sequence(self) -> int:
        """The sequence number the next record will use."""
        return self._seq

    @property
    def records_protected(self) -> int:
        """Records sealed or opened under this key so far (equal to :attr:`sequence`)."""
        return self._seq

    def needs_key_update(self) -> bool:
        """True once this key is close to its confidentiality limit (RFC 8446 §5.5)."""
        return self._seq >= self._update_at

    def updated(self) -> RecordProtector:
        """The protector for the next generation of this direction's keys (RFC 8446 §7.2)."""
        secret = next_traffic_secret(self._params.hash_name, self._secret)
        return RecordProtector(self._params, secret, confidentiality_limit=self._limit_override)

    def _nonce(self, seq: int) -> bytes:
        # RFC 8446 §5.3: IV XOR the sequence number left-padded to the IV length.
        if seq > MAX_SEQUENCE:
            raise _sequence_wrapped()
        return (self._iv_int ^ seq).to_bytes(self._iv_len, "big")

    def seal(self, content_type: int, plaintext: Buffer, padding: int = 0) -> bytes:
        """Protect one record: the whole record, header included, ready to send.

        ``plaintext`` is at most 2^14 bytes minus ``padding`` (split larger data with
        :func:`iter_fragments`); ``content_type`` is alert, handshake or application_data.
        """
        type_octet = _TYPE_OCTET.get(content_type)
        if type_octet is None:
            raise LocalProtocolError(f"content type {content_type} cannot be protected")
        if padding < 0:
            raise LocalProtocolError("padding must not be negative")
        inner_len = len(plaintext) + 1 + padding
        if inner_len > _MAX_INNER_LEN:
            raise LocalProtocolError(
                f"record content of {len(plaintext)} bytes plus {padding} bytes of padding "
                f"exceeds the 2^14-byte limit; fragment it"
            )
        if inner_len == 1 and content_type != _CT_APPLICATION_DATA:
            raise LocalProtocolError("handshake and alert records must not be empty")
        seq = self._seq
        nonce = self._nonce(seq)
        header = _pack_header(_CT_APPLICATION_DATA, _TLS12, inner_len + AEAD_TAG_LEN)
        if padding:
            inner = b"".join((plaintext, type_octet, bytes(padding)))
        else:
            inner = b"".join((plaintext, type_octet))
        sealed = self._aead.encrypt(nonce, inner, header)
        self._seq = seq + 1
        return header + sealed

    def seal_application_data(self, data: Buffer) -> bytes | bytearray:
        """Seal ``data`` as full-size application_data records, all written into one buffer.

        The same bytes as joining :meth:`seal` of each 2^14-byte fragment, with fewer copies:
        each record's ciphertext is written by the AEAD straight into its place (no record
        built and then copied into a joined buffer). Check :meth:`can_seal` first: a key
        must not pass its update point in the middle of the records.
        """
        encrypt_into = self._encrypt_into
        n = len(data)
        if encrypt_into is None or n <= MAX_PLAINTEXT_LEN:
            return b"".join(
                [self.seal(_CT_APPLICATION_DATA, chunk) for chunk in iter_fragments(data)]
            )
        count = -(-n // MAX_PLAINTEXT_LEN)
        out = bytearray(n + count * (RECORD_HEADER_LEN + 1 + AEAD_TAG_LEN))
        view = memoryview(out)
        source = memoryview(data)
        seq = self._seq
        if seq + count - 1 > MAX_SEQUENCE:
            raise _sequence_wrapped()
        iv, iv_len = self._iv_int, self._iv_len
        type_octet = _TYPE_OCTET[_CT_APPLICATION_DATA]
        pos = 0
        for start in range(0, n, MAX_PLAINTEXT_LEN):
            chunk = source[start : start + MAX_PLAINTEXT_LEN]
            inner_len = len(chunk) + 1
            header = _pack_header(_CT_APPLICATION_DATA, _TLS12, inner_len + AEAD_TAG_LEN)
            view[pos : pos + RECORD_HEADER_LEN] = header
            body = pos + RECORD_HEADER_LEN
            end = body + inner_len + AEAD_TAG_LEN
            nonce = (iv ^ seq).to_bytes(iv_len, "big")
            encrypt_into(nonce, b"".join((chunk, type_octet)), header, view[body:end])
            seq += 1
            pos = end
        self._seq = seq
        view.release()
        return out

    def can_seal(self, records: int) -> bool:
        """True when ``records`` more records fit before this key's update point."""
        return self._seq + records <= self._update_at

    def seal_fragments(
        self,
        content_type: int,
        data: Buffer,
        *,
        max_fragment: int = MAX_PLAINTEXT_LEN,
    ) -> list[bytes]:
        """Seal ``data`` as as many records as it takes (``max_fragment`` bytes each).

        Handshake messages larger than 2^14 bytes go out this way; join the list once, at
        flush time. Empty ``data`` gives no records.
        """
        return [self.seal(content_type, chunk) for chunk in iter_fragments(data, max_fragment)]

    def open(self, header: Buffer, ciphertext: Buffer) -> tuple[int, bytes]:
        """Authenticate and decrypt one record: ``(inner content type, content)``.

        ``header`` is the record's 5-byte header as received (it is the AAD; see
        :meth:`Record.header`), ``ciphertext`` its fragment.
        """
        content_type, content = self.open_view(header, ciphertext)
        return content_type, bytes(content)

    def open_view(self, header: Buffer, ciphertext: Buffer) -> tuple[int, memoryview]:
        """:meth:`open`, with the content as a view of the decrypted record: no copy of it
        until the caller makes one (the connection joins a read's records into one
        ``bytes``, so each byte of application data is copied once after decryption)."""
        if len(ciphertext) > MAX_CIPHERTEXT_LEN:
            raise _overflow(f"protected record of {len(ciphertext)} bytes exceeds 2^14 + 256")
        if header[0] != _CT_APPLICATION_DATA:
            # RFC 8446 §5.2: the outer type of a protected record is always application_data.
            raise _unexpected(f"protected record with outer content type {header[0]}")
        seq = self._seq
        if seq > MAX_SEQUENCE:
            raise _sequence_wrapped()
        # RFC 8446 §5.3, inlined (once per record): IV XOR the padded sequence number.
        nonce = (self._iv_int ^ seq).to_bytes(self._iv_len, "big")
        try:
            # cryptography accepts any buffer; the Aead protocol is typed with bytes. Called
            # directly (not through suites.open_record and typing.cast): three Python calls
            # less per record.
            inner = self._aead.decrypt(nonce, ciphertext, header)  # type: ignore[arg-type]
        except InvalidTag:
            raise _bad_record_mac() from None
        self._seq = seq + 1
        return self._inner_content(inner)

    @staticmethod
    def _inner_content(inner: bytes) -> tuple[int, memoryview]:
        """Split a decrypted TLSInnerPlaintext into (content type, content), with its checks."""
        if len(inner) > _MAX_INNER_LEN:
            raise _overflow(f"decrypted record of {len(inner)} bytes exceeds 2^14 + 1")
        content_type = inner[-1] if inner else 0
        if content_type != 0:
            content = memoryview(inner)[:-1]
        else:
            # Padded (or all zeros): the content type is the last non-zero octet (§5.4).
            stripped = inner.rstrip(b"\x00")
            if not stripped:
                raise _unexpected("protected record has no non-zero octet (no content type)")
            content_type = stripped[-1]
            content = memoryview(stripped)[:-1]
        if content_type not in _TYPE_OCTET:
            raise _unexpected(f"protected record with inner content type {content_type}")
        if not content and content_type != _CT_APPLICATION_DATA:
            raise _unexpected("zero-length handshake or alert content in a protected record")
        return content_type, content

    def open_data_run(
        self, run: list[tuple[bytes, memoryview]], start: int, data: list[bytes | memoryview]
    ) -> tuple[int, int, memoryview | None]:
        """Open ``run[start:]`` (``(header, fragment)`` pairs of protected records, see
        :meth:`RecordDeframer.application_data_run`) in order, for the bulk path.

        The content of each record that decrypts to non-empty application data is appended
        to ``data``. The first record that holds anything else (handshake, alert, or empty
        application data) ends the call: it is opened, and ``(index after it, its inner
        content type, its content)`` is returned for the caller to dispatch before it opens
        more (a KeyUpdate changes the key). ``(len(run), 0, None)`` when every record was
        data. The checks and errors are those of :meth:`open_view`; a failure raises at the
        record that failed, with the records before it already in ``data``.
        """
        aead_decrypt = self._aead.decrypt
        iv, iv_len = self._iv_int, self._iv_len
        seq = self._seq
        append = data.append
        end = len(run)
        for i in range(start, end):
            header, ciphertext = run[i]
            if len(ciphertext) > MAX_CIPHERTEXT_LEN or header[0] != _CT_APPLICATION_DATA:
                self._seq = seq
                content_type, content = self.open_view(header, ciphertext)  # names the error
                return i + 1, content_type, content
            if seq > MAX_SEQUENCE:
                self._seq = seq
                raise _sequence_wrapped()
            try:
                inner = aead_decrypt((iv ^ seq).to_bytes(iv_len, "big"), ciphertext, header)  # type: ignore[arg-type]
            except InvalidTag:
                self._seq = seq
                raise _bad_record_mac() from None
            seq += 1
            if (
                len(inner) > 1
                and inner[-1] == _CT_APPLICATION_DATA
                and len(inner) <= _MAX_INNER_LEN
            ):
                append(memoryview(inner)[:-1])
                continue
            # Anything but plain, non-empty application data: the full checks of open_view.
            self._seq = seq
            content_type, content = self._inner_content(inner)
            return i + 1, content_type, content
        self._seq = seq
        return end, 0, None


def iter_fragments(data: Buffer, size: int = MAX_PLAINTEXT_LEN) -> Iterator[memoryview]:
    """``data`` in consecutive zero-copy slices of at most ``size`` bytes (none if empty).

    Handshake messages larger than a record are split this way (RFC 8446 §5.1 allows a
    handshake message to span records; alerts must not be fragmented).
    """
    if not 0 < size <= MAX_PLAINTEXT_LEN:
        raise ConfigError(f"fragment size must be between 1 and {MAX_PLAINTEXT_LEN}")
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield view[start : start + size]


def plaintext_record(content_type: int, data: Buffer, legacy_version: int = _TLS12) -> bytes:
    """An unprotected record (TLSPlaintext, RFC 8446 §5.1): header || data.

    ``legacy_version`` is 0x0303, except that a client MAY use 0x0301 for its first
    ClientHello.
    """
    n = len(data)
    if not 0 <= content_type <= 0xFF or not 0 <= legacy_version <= 0xFFFF:
        raise LocalProtocolError("content type and legacy_version must fit in 1 and 2 octets")
    if n > MAX_PLAINTEXT_LEN:
        raise LocalProtocolError(f"plaintext record of {n} bytes exceeds 2^14; fragment it")
    if n == 0 and content_type != _CT_APPLICATION_DATA:
        raise LocalProtocolError(
            "handshake, alert and change_cipher_spec records must not be empty"
        )
    return b"".join((_pack_header(content_type, legacy_version, n), data))
