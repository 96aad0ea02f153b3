"""Sans-I/O TLS 1.3 over a byte stream: bytes in, bytes and events out.

Three calls drive it (the h11 shape): :meth:`Connection.receive_data` with what the socket
read (``b""`` for end of stream), :meth:`Connection.data_to_send` for what to write, and
:meth:`Connection.next_event` for what happened. :meth:`Connection.send_data` and
:meth:`Connection.close` queue application data and close_notify.

This module is the TLS-over-TCP transport of the transport-neutral handshake
(:mod:`nautilus_tls.handshake.engine`). It maps encryption levels to record epochs: plaintext
handshake records are fed to the handshake at INITIAL, protected ones at the level of the
read key, and :class:`~nautilus_tls.handshake.common.SendHandshake` bytes are sealed under the
write key of their level. What exists only over TCP lives here: ChangeCipherSpec records
(sent where the handshake asks, one tolerated from the peer, RFC 8446 §5, §D.4), 0-RTT as
records (sealing early data, skipping rejected early records within the skip budget, RFC 8446
§4.2.10), record-level limits, alerts and close_notify, and KeyUpdate: the handshake reports a
peer's KeyUpdate and this transport moves its :class:`RecordProtector` on. Reassembly,
NewSessionTicket and exporters are the handshake's; this class forwards them.

A protocol error queues the alert that fits, marks the connection failed, and raises; a
failed connection stays failed. Bad input never raises anything but :class:`TLSError`.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal

from nautilus_tls import defaults
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.crypto.keyschedule import next_traffic_secret
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, CryptoProvider
from nautilus_tls.crypto.suites import SuiteParams
from nautilus_tls.errors import (
    AlertDescription,
    AlertLevel,
    ConnectionClosedError,
    DecodeError,
    LocalProtocolError,
    MissingCloseNotify,
    PeerAlert,
    ProtocolError,
    RemoteProtocolError,
    TLSError,
    alert_for,
)
from nautilus_tls.events import (
    AlertReceived,
    ConnectionClosed,
    DataReceived,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    KeyUpdated,
    SessionTicketReceived,
)
from nautilus_tls.handshake.common import (
    Action,
    Clock,
    CompleteHandshake,
    DropEarlyWriteKey,
    Entropy,
    Epoch,
    ExpectEarlyData,
    InstallSecret,
    PeerKeyUpdate,
    SendEarlyData,
    SendHandshake,
    TicketReceived,
)
from nautilus_tls.handshake.engine import ClientHandshake, ServerHandshake
from nautilus_tls.handshake.hooks import ExtensionHook
from nautilus_tls.handshake.risk_floor import (
    client_config_for,
    config_for,
    report_completion,
    report_failure,
)
from nautilus_tls.record.deframer import RECORD_HEADER_LEN, Record, RecordDeframer
from nautilus_tls.record.protection import (
    AEAD_TAG_LEN,
    RecordProtector,
    iter_fragments,
    pack_record_header,
    plaintext_record,
)
from nautilus_tls.record.rekey import RekeySchedule
from nautilus_tls.risk.engine import Assessment, RiskEngine
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import ContentType, KeyUpdateRequest
from nautilus_tls.wire.messages import KeyUpdate

_CCS_RECORD = plaintext_record(ContentType.change_cipher_spec, b"\x01")

State = Literal["handshaking", "connected", "closed", "failed"]


def _clear_frames(error: BaseException) -> None:
    """Drop the local variables of the finished frames in ``error``'s traceback (and its
    causes'): the failed connection keeps ``error``, and those frames hold record
    protectors and secrets that would otherwise outlive the connection's own references."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


class _EarlyDataSkip:
    """What the server may still skip of rejected 0-RTT data (RFC 8446 §4.2.10): bytes and
    records. ``max_bytes`` counts plaintext, as max_early_data does; each record is charged
    its size on the wire, at least a header and an AEAD tag, and the record count is capped,
    so a flood of empty records is not free."""

    __slots__ = ("bytes_left", "records_left")

    def __init__(self, max_bytes: int) -> None:
        full_records = -(-max_bytes // defaults.MAX_PLAINTEXT)
        self.records_left = full_records + defaults.EARLY_DATA_SKIP_EXTRA_RECORDS
        # Room for each allowed record's header, content type byte and tag.
        overhead = RECORD_HEADER_LEN + 1 + AEAD_TAG_LEN
        self.bytes_left = max_bytes + self.records_left * overhead

    def charge(self, fragment_len: int) -> None:
        cost = RECORD_HEADER_LEN + max(fragment_len, AEAD_TAG_LEN)
        if cost > self.bytes_left or self.records_left == 0:
            # RFC 8446 §4.2.10: more than max_early_data_size of skipped records.
            raise RemoteProtocolError(
                "more rejected early data than allowed", alert=AlertDescription.unexpected_message
            )
        self.bytes_left -= cost
        self.records_left -= 1


class _SpentHandshake:
    """Stands in for the handshake once the connection is over, so that the handshake's
    secrets (key schedule, exporter and resumption secrets) are no longer reachable."""

    __slots__ = ("is_client",)
    state_name = "closed"
    connected = None
    middlebox_compatibility = False

    def __init__(self, is_client: bool) -> None:
        self.is_client = is_client

    def receive(self, level: Epoch, data: bytes) -> list[Action]:
        raise RemoteProtocolError(
            "handshake message after the connection ended",
            alert=AlertDescription.unexpected_message,
        )

    def has_partial_message(self) -> bool:
        return False

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        raise LocalProtocolError("exporter needs a completed handshake")


class Connection:
    """TLS 1.3 over a byte stream. Use :class:`ClientConnection` or :class:`ServerConnection`."""

    # Risk-adaptive security (config.risk): the engine, the peer it judges (a client's
    # address; a server's name) and the level this handshake runs at. Set by the subclasses.
    _risk_engine: RiskEngine | None = None
    _risk_peer: str | None = None
    _assessment: Assessment | None = None
    _risk_provider: CryptoProvider = DEFAULT_PROVIDER

    def __init__(
        self,
        handshake: ClientHandshake | ServerHandshake,
        config: ClientConfig | ServerConfig,
        clock: Clock | None = None,
    ) -> None:
        self._handshake: ClientHandshake | ServerHandshake | _SpentHandshake = handshake
        self._is_client = handshake.is_client
        self._deframer = RecordDeframer(max_buffer=defaults.MAX_RECEIVE_BUFFER)
        self._ragged_eof = config.ragged_eof
        self._trace = config.handshake_trace
        self._out: list[bytes | bytearray] = []
        self._events: deque[Event] = deque()
        self._pending_data: list[bytes | memoryview] = []
        self._read: RecordProtector | None = None
        self._write: RecordProtector | None = None
        self._read_epoch = Epoch.INITIAL
        self._write_epoch = Epoch.INITIAL
        self._params: SuiteParams | None = None
        self._read_app_secret = b""
        self._write_app_secret = b""
        self._info: SessionInfo | None = None
        self._peer_extensions: Mapping[int, object] = MappingProxyType({})
        self._state: State = "handshaking"
        self._error: TLSError | None = None
        self._peer_closed = False
        self._we_closed = False
        self._ccs_seen = 0
        self._empty_records = 0
        self._warning_alerts = 0
        self._key_updates_in_row = 0
        self._first_flight_sent = False
        self._ccs_sent = False
        self._key_updates_sent = 0
        self._key_updates_received = 0
        self._early_data_limit = 0  # server: 0-RTT bytes we still accept
        self._early_data_rest = b""  # client: early data over max_early_data, sent after
        self._early_skip: _EarlyDataSkip | None = None  # server: rejected 0-RTT we may skip
        self._set_rekey(config, clock)

    def _set_rekey(self, config: ClientConfig | ServerConfig, clock: Clock | None) -> None:
        """Key rotation by policy (config.rekey_*), on top of the AEAD limit."""
        self._rekey = RekeySchedule(
            max_bytes=config.rekey_bytes,
            max_records=config.rekey_records,
            max_seconds=config.rekey_seconds,
            clock=clock or config.provider.clock,
        )
        self._rekey_request_peer = config.rekey_request_peer

    # --- inspection ---------------------------------------------------------------------

    @property
    def is_client(self) -> bool:
        return self._is_client

    @property
    def handshake_complete(self) -> bool:
        return self._info is not None

    @property
    def info(self) -> SessionInfo | None:
        """What the handshake negotiated, once it is complete, with the KeyUpdates sent and
        received so far."""
        info = self._info
        if info is None or (info.key_updates_sent, info.key_updates_received) == (
            self._key_updates_sent,
            self._key_updates_received,
        ):
            return info
        self._info = info = dataclasses.replace(
            info,
            key_updates_sent=self._key_updates_sent,
            key_updates_received=self._key_updates_received,
        )
        return info

    @property
    def peer_extensions(self) -> Mapping[int, object]:
        """What the extension plug-ins parsed from the peer, by code point (once the
        handshake is complete)."""
        return self._peer_extensions

    @property
    def state(self) -> State:
        return self._state

    def _is_failed(self) -> bool:
        return self._state == "failed"

    @property
    def error(self) -> TLSError | None:
        return self._error

    @property
    def key_updates_sent(self) -> int:
        """KeyUpdates sent: asked for, answering the peer, or before the AEAD limit."""
        return self._key_updates_sent

    @property
    def key_updates_received(self) -> int:
        return self._key_updates_received

    @property
    def peer_closed(self) -> bool:
        return self._peer_closed

    def __repr__(self) -> str:
        role = "client" if self._is_client else "server"
        return (
            f"<{type(self).__name__} {role} {self._state} handshake={self._handshake.state_name!r}>"
        )

    # --- the three calls ------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Bytes to write to the transport (empty when there is nothing)."""
        data = self.data_to_send_buffer()
        # A lone sealed write is a bytearray: copied once, so that callers get immutable bytes.
        return data if type(data) is bytes else bytes(data)

    def data_to_send_buffer(self) -> bytes | bytearray:
        """:meth:`data_to_send` without its last copy, for adapters that write straight to a
        transport: a lone bulk write comes back as the ``bytearray`` its records were sealed
        into. The connection never uses that array again, so the caller may keep it."""
        out = self._out
        if not out:
            return b""
        data = b"".join(out) if len(out) > 1 else out[0]
        out.clear()
        return data

    def next_event(self) -> Event | None:
        if self._pending_data:
            self._flush_data()
        return self._events.popleft() if self._events else None

    def _emit(self, event: Event) -> None:
        # Application data waiting to be handed over goes first: events keep the order in
        # which their records arrived.
        if self._pending_data:
            self._flush_data()
        self._events.append(event)

    def _flush_data(self) -> None:
        """One DataReceived for the application data records that arrived in a row: one
        event (and one wake-up of an adapter's reader) per read instead of per record."""
        pending = self._pending_data
        data = b"".join(pending) if len(pending) > 1 else bytes(pending[0])
        pending.clear()
        self._events.append(DataReceived(data=data))

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the transport; ``b""`` means the peer closed its side."""
        if self._state == "failed":
            raise ConnectionClosedError("connection failed earlier") from self._error
        try:
            if not data:
                self._on_eof()
                return
            deframer = self._deframer
            deframer.feed(data)
            next_record, on_record = deframer.next_record, self._on_record
            run_of_records = deframer.application_data_run
            while True:
                # Protected records (all of a bulk read, most of a handshake flight) come in
                # runs; anything else, and the record stitched across two reads, one by one.
                run = run_of_records()
                i, n = 0, len(run)
                while i < n:
                    # (The state test first: no call per record during the handshake.)
                    if self._state == "connected" and self._in_bulk_state():
                        i = self._open_data_run(run, i)
                    else:
                        header, fragment = run[i]
                        i += 1
                        on_record(Record(header[0], (header[1] << 8) | header[2], fragment))
                    if self._is_failed():
                        return
                record = next_record()
                if record is None:
                    return
                on_record(record)
                if self._is_failed():
                    return
        except ProtocolError as exc:
            self._fail(exc)
            _clear_frames(exc)
            raise
        except TLSError:
            raise
        except Exception as exc:  # a bug must not escape as a foreign exception type
            err = LocalProtocolError(
                f"internal error: {type(exc).__name__}", alert=AlertDescription.internal_error
            )
            self._fail(err)
            _clear_frames(exc)
            raise err from exc

    # --- application API --------------------------------------------------------------------

    def send_data(self, data: bytes | bytearray | memoryview) -> None:
        if self._state != "connected" or self._we_closed:
            raise ConnectionClosedError(
                f"cannot send application data: connection is {self._state}"
            )
        write = self._write
        if write is None:
            raise LocalProtocolError("no application keys")
        view = memoryview(data)
        rekey = self._rekey
        records = -(-len(view) // defaults.MAX_PLAINTEXT)
        if records > 1 and not rekey.active and write.can_seal(records):
            # No key change can fall inside this write: seal it as one buffer.
            self._out.append(write.seal_application_data(view))
            self._key_updates_in_row = 0
            return
        for chunk in iter_fragments(view, defaults.MAX_PLAINTEXT):
            if write.needs_key_update():
                write = self._send_key_update(request_peer=False)
            elif rekey.active and rekey.due() is not None:
                write = self._send_key_update(request_peer=self._rekey_request_peer)
            self._out.append(write.seal(ContentType.application_data, chunk))
            rekey.charge(len(chunk))
        self._key_updates_in_row = 0

    def close(self) -> None:
        """Queue close_notify; nothing more can be sent afterwards."""
        if self._we_closed or self._state == "failed":
            return
        self._we_closed = True
        self._send_alert(AlertDescription.close_notify, AlertLevel.WARNING)
        if self._peer_closed or self._state == "handshaking":
            self._set_closed()

    def abort(self, alert: AlertDescription = AlertDescription.user_canceled) -> None:
        """End the connection now with a fatal ``alert`` (e.g. a timeout or a crashed
        handler); queue it for sending and mark the connection failed."""
        if self._state in ("failed", "closed"):
            return
        self._fail(LocalProtocolError("connection aborted locally", alert=alert))

    def request_key_update(self, *, request_peer: bool = True) -> None:
        """Send KeyUpdate (RFC 8446 §4.6.3); with ``request_peer`` the peer updates too."""
        if self._state != "connected":
            raise LocalProtocolError("KeyUpdate needs an established connection")
        if self._we_closed:
            raise ConnectionClosedError("cannot send KeyUpdate after close_notify")
        self._send_key_update(request_peer=request_peer)

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 8446 §7.5 exporter (in TLS 1.3 ``context=None`` equals an empty context);
        the handshake answers it."""
        return self._handshake.export_keying_material(label, context, length)

    # --- records in ----------------------------------------------------------------------------

    def _in_bulk_state(self) -> bool:
        """Application data records can be opened in a row: application keys in use, the
        peer not closed, no handshake message half received."""
        return (
            self._read is not None
            and self._state == "connected"
            and self._read_epoch == Epoch.APPLICATION
            and not self._peer_closed
            and not self._handshake.has_partial_message()
        )

    def _open_data_run(self, run: list[tuple[bytes, memoryview]], start: int) -> int:
        """Open ``run[start:]`` on the bulk path up to the first record that is not
        application data (dispatched here); returns the index after the last record used."""
        read = self._read
        assert read is not None
        pending = self._pending_data
        before = len(pending)
        end, inner_type, content = read.open_data_run(run, start, pending)
        if len(pending) != before:
            self._empty_records = 0
            self._key_updates_in_row = 0
        if content is not None:
            self._dispatch_inner(inner_type, content)
        return end

    def _on_record(self, record: Record) -> None:
        content_type, fragment = record.content_type, record.fragment
        if content_type == ContentType.application_data and self._in_bulk_state():
            # A record that straddled two reads: the bulk path as well.
            header = pack_record_header(content_type, record.legacy_version, len(fragment))
            self._open_data_run([(header, fragment)], 0)
            return
        read = self._read
        if self._peer_closed:
            # RFC 8446 §6.1: nothing follows close_notify; a record that does (a KeyUpdate,
            # a handshake message, an alert) is not processed.
            raise RemoteProtocolError(
                "record after close_notify", alert=AlertDescription.unexpected_message
            )
        if content_type == ContentType.change_cipher_spec:
            self._on_change_cipher_spec(bytes(fragment))
            return
        if (
            self._early_skip is not None
            and content_type == ContentType.application_data
            and (read is None or self._read_epoch == Epoch.HANDSHAKE)
        ):
            if self._skip_rejected_early_data(read, record):
                return
            read = self._read
        if read is None:
            if content_type == ContentType.application_data:
                raise RemoteProtocolError(
                    "encrypted record before keys were agreed",
                    alert=AlertDescription.unexpected_message,
                )
            if not fragment:
                raise RemoteProtocolError(
                    "zero-length plaintext record", alert=AlertDescription.unexpected_message
                )
            inner_type, plaintext = content_type, fragment
        elif content_type == ContentType.alert and self._state == "handshaking":
            # RFC 8446 §6: a peer that fails before it could derive the handshake keys (it
            # rejected our ServerHello, say) can only send its alert in plaintext. It is the
            # peer aborting: it is taken as received, and not answered.
            inner_type, plaintext = content_type, fragment
        else:
            # RFC 8446 §5.2: once protected, everything but CCS arrives as application_data.
            if content_type != ContentType.application_data:
                raise RemoteProtocolError(
                    f"plaintext {ContentType(content_type).name} record after encryption started",
                    alert=AlertDescription.unexpected_message,
                )
            # The header as received is the AAD; packed in one C call (Record.header is
            # two Python calls per record).
            header = pack_record_header(content_type, record.legacy_version, len(fragment))
            inner_type, plaintext = read.open_view(header, fragment)
        self._dispatch_inner(inner_type, plaintext)

    def _dispatch_inner(self, inner_type: int, plaintext: bytes | memoryview) -> None:
        if inner_type == ContentType.handshake:
            self._on_handshake_data(bytes(plaintext))  # no copy when it is bytes already
            return
        if self._handshake.has_partial_message():
            # RFC 8446 §5.1: a handshake message split over records must not be interleaved
            # with records of another type.
            raise RemoteProtocolError(
                "record interleaved with a fragmented handshake message",
                alert=AlertDescription.unexpected_message,
            )
        if inner_type == ContentType.alert:
            self._on_alert(plaintext)
        elif inner_type == ContentType.application_data:
            self._on_application_data(plaintext)
        else:
            raise RemoteProtocolError(
                f"unexpected record content type {inner_type}",
                alert=AlertDescription.unexpected_message,
            )

    def _skip_rejected_early_data(self, read: RecordProtector | None, record: Record) -> bool:
        """RFC 8446 §4.2.10: rejected 0-RTT records are skipped (they do not decrypt under
        the handshake key), within the skip budget. True when ``record`` was handled."""
        if read is not None:
            try:
                inner_type, plaintext = read.open(record.header(), record.fragment)
            except ProtocolError:
                pass
            else:
                self._early_skip = None  # the client has moved on to handshake keys
                self._dispatch_inner(inner_type, plaintext)
                return True
        if self._early_skip is not None:
            self._early_skip.charge(len(record.fragment))
        return True

    def _on_change_cipher_spec(self, fragment: bytes) -> None:
        # RFC 8446 §5: one CCS (body 0x01) may arrive between the first ClientHello and the
        # peer's Finished; it is dropped. Anything else is unexpected_message.
        started = self._is_client or self._handshake_started_by_peer()
        if fragment != b"\x01" or self._state != "handshaking" or not started:
            raise RemoteProtocolError(
                "unexpected ChangeCipherSpec", alert=AlertDescription.unexpected_message
            )
        self._ccs_seen += 1
        if self._ccs_seen > defaults.MAX_CHANGE_CIPHER_SPEC_RECORDS:
            raise RemoteProtocolError(
                "too many ChangeCipherSpec records", alert=AlertDescription.unexpected_message
            )

    def _handshake_started_by_peer(self) -> bool:
        hs = self._handshake
        return isinstance(hs, ServerHandshake) and hs.received_client_hello

    def _on_handshake_data(self, data: bytes) -> None:
        if not data:
            raise RemoteProtocolError(
                "zero-length handshake fragment", alert=AlertDescription.unexpected_message
            )
        self._empty_records = 0
        # Plaintext records carry the INITIAL level; protected ones the level of their key.
        level = self._read_epoch if self._read is not None else Epoch.INITIAL
        if self._trace is not None:
            self._trace("received", bytes(data))
        self._run(self._handshake.receive(level, data))

    def _on_key_update(self, msg: PeerKeyUpdate) -> None:
        """KeyUpdate is the transport's (the handshake checked it ends its record): the
        read key moves on through a new RecordProtector (RFC 8446 §4.6.3, §7.2)."""
        if self._state in ("failed", "closed"):
            return
        self._key_updates_in_row += 1
        if self._key_updates_in_row > defaults.MAX_KEY_UPDATES_IN_ROW:
            raise RemoteProtocolError(
                "too many KeyUpdates in a row", alert=AlertDescription.unexpected_message
            )
        params = self._params
        if params is None:
            raise LocalProtocolError("KeyUpdate without traffic keys")
        self._read_app_secret = next_traffic_secret(params.hash_name, self._read_app_secret)
        self._read = RecordProtector(params, self._read_app_secret)
        self._key_updates_received += 1
        self._emit(KeyUpdated(direction="receive", requested_by_peer=False))
        if msg.update_requested and not self._we_closed:
            self._send_key_update(request_peer=False, answering_peer=True)

    def _on_alert(self, data: bytes | memoryview) -> None:
        if len(data) != 2:
            raise DecodeError("alert must be two bytes")
        level, description = data[0], data[1]
        if description == AlertDescription.close_notify:
            self._peer_closed = True
            self._emit(ConnectionClosed(clean=True))
            if self._state == "handshaking" or self._we_closed:
                self._set_closed()
            return
        if description == AlertDescription.user_canceled:
            # RFC 8446 §6.1: a warning; close_notify should follow. Bounded.
            self._warning_alerts += 1
            if self._warning_alerts > defaults.MAX_WARNING_ALERTS_IN_ROW:
                raise RemoteProtocolError(
                    "too many warning alerts", alert=AlertDescription.unexpected_message
                )
            self._emit(AlertReceived(description=description, level=level))
            return
        # RFC 8446 §6.2: every other alert is fatal whatever its level says.
        self._emit(AlertReceived(description=description, level=level))
        raise PeerAlert(description, level)

    def _on_application_data(self, data: bytes | memoryview) -> None:
        """``data`` may be a view of the decrypted record: it is copied once, when a read's
        records are joined into one DataReceived."""
        if self._read_epoch == Epoch.EARLY:
            # RFC 8446 §4.2.10: more early data than max_early_data_size is unexpected_message.
            if len(data) > self._early_data_limit:
                raise RemoteProtocolError(
                    "early data over max_early_data_size", alert=AlertDescription.unexpected_message
                )
            self._early_data_limit -= len(data)
            if data:
                self._emit(EarlyDataReceived(data=bytes(data)))
            return
        if self._state != "connected" or self._read_epoch != Epoch.APPLICATION:
            raise RemoteProtocolError(
                "application data before the handshake ended",
                alert=AlertDescription.unexpected_message,
            )
        if self._peer_closed:
            raise RemoteProtocolError(
                "data after close_notify", alert=AlertDescription.unexpected_message
            )
        if not data:
            self._empty_records += 1
            if self._empty_records > defaults.MAX_EMPTY_RECORDS_IN_ROW:
                raise RemoteProtocolError(
                    "too many empty records", alert=AlertDescription.unexpected_message
                )
            return
        self._empty_records = 0
        self._key_updates_in_row = 0
        # Consecutive records of one read become one DataReceived (see _emit).
        self._pending_data.append(data)

    def _on_eof(self) -> None:
        if self._peer_closed or self._state in ("closed", "failed"):
            return
        if self._ragged_eof_allowed():
            # ragged_eof="allow" (ssl's suppress_ragged_eofs): a peer that just closes the
            # socket after whole records ends the stream as if it had sent close_notify.
            self._peer_closed = True
            self._emit(ConnectionClosed(clean=True))
            if self._we_closed:
                self._set_closed()
            return
        # RFC 8446 §6.1: EOF without close_notify is a truncation the application must see.
        self._state = "failed"
        partial = self._deframer.buffered
        where = f" in the middle of a record ({partial} bytes)" if partial else ""
        self._error = MissingCloseNotify(
            f"connection closed by peer without close_notify{where} (possible truncation)"
        )
        self._emit(ConnectionClosed(clean=False, error=str(self._error)))
        self._forget_keys()

    def _ragged_eof_allowed(self) -> bool:
        """Only after the handshake, and only when no record was cut off: a partial record
        is truncation whatever the setting."""
        return (
            self._ragged_eof == "allow"
            and self._state == "connected"
            and self._deframer.buffered == 0
        )

    # --- actions out ---------------------------------------------------------------------------

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, SendHandshake):
                self._send_handshake(action)
            elif isinstance(action, InstallSecret):
                self._install(action)
            elif isinstance(action, SendEarlyData):
                self._send_early_data(action.data)
                self._early_data_rest = action.rest
            elif isinstance(action, DropEarlyWriteKey):
                if self._write_epoch == Epoch.EARLY:
                    self._write, self._write_epoch = None, Epoch.INITIAL
            elif isinstance(action, ExpectEarlyData):
                if action.accept:
                    self._early_data_limit = action.max_bytes
                else:
                    self._early_skip = _EarlyDataSkip(action.max_bytes)
            elif isinstance(action, PeerKeyUpdate):
                self._on_key_update(action)
            elif isinstance(action, TicketReceived):
                self._emit(
                    SessionTicketReceived(
                        lifetime=action.lifetime, max_early_data=action.max_early_data
                    )
                )
            elif isinstance(action, CompleteHandshake):
                self._info = self._handshake_completed(action.info)
                if not isinstance(self._handshake, _SpentHandshake):
                    self._peer_extensions = self._handshake.peer_extensions
                self._state = "connected"
                self._emit(HandshakeCompleted(info=self._info))
                self._send_early_data_rest(self._info)

    def _send_handshake(self, action: SendHandshake) -> None:
        write = self._write
        if action.epoch == Epoch.INITIAL:
            write = None
        elif write is None or self._write_epoch != action.epoch:
            # The handshake asks for an epoch; sealing under another key would send bytes
            # the peer cannot read (and hang the handshake).
            raise LocalProtocolError(
                f"handshake message for epoch {action.epoch.name} while writing at "
                f"{self._write_epoch.name}",
                alert=AlertDescription.internal_error,
            )
        if self._is_client and self._first_flight_sent:
            self._client_ccs_once()
        if self._trace is not None:
            self._trace("sent", bytes(action.data))
        for chunk in iter_fragments(memoryview(action.data), defaults.MAX_PLAINTEXT):
            if write is None:
                # RFC 8446 §5.1: the first ClientHello's records may say 0x0301 for old
                # middleboxes; everything after (a second ClientHello included) says 0x0303.
                version = 0x0301 if self._is_client and not self._first_flight_sent else 0x0303
                self._out.append(plaintext_record(ContentType.handshake, chunk, version))
            else:
                self._out.append(write.seal(ContentType.handshake, chunk))
        self._first_flight_sent = True
        if not self._is_client and not self._ccs_sent and self._handshake.middlebox_compatibility:
            # RFC 8446 §D.4: the server's right after its first handshake message.
            self._out.append(_CCS_RECORD)
            self._ccs_sent = True

    def _client_ccs_once(self) -> None:
        """RFC 8446 §D.4, middlebox compatibility: the client's one ChangeCipherSpec goes right
        before the first record after its first ClientHello (0-RTT data, a second ClientHello
        or its protected second flight)."""
        if not self._ccs_sent and self._handshake.middlebox_compatibility:
            self._out.append(_CCS_RECORD)
            self._ccs_sent = True

    def _send_early_data(self, data: bytes) -> None:
        write = self._write
        if write is None or self._write_epoch != Epoch.EARLY:
            raise LocalProtocolError("early data without early keys")
        self._client_ccs_once()
        for chunk in iter_fragments(memoryview(data), defaults.MAX_PLAINTEXT):
            self._out.append(write.seal(ContentType.application_data, chunk))

    def _send_early_data_rest(self, info: SessionInfo) -> None:
        """Client: what did not fit in 0-RTT follows the accepted early data as ordinary
        data, so the server reads the whole request; after a rejection the application
        sends everything again, so nothing is sent here."""
        rest, self._early_data_rest = self._early_data_rest, b""
        if rest and info.early_data == "accepted":
            self.send_data(rest)

    def _install(self, action: InstallSecret) -> None:
        self._params = action.params
        protector = RecordProtector(action.params, action.secret)
        if action.direction == "read":
            # The handshake has checked that no message straddles this key change.
            self._read = protector
            self._read_epoch = action.epoch
            if action.epoch == Epoch.APPLICATION:
                self._read_app_secret = action.secret
        else:
            self._write = protector
            self._write_epoch = action.epoch
            if action.epoch == Epoch.APPLICATION:
                self._write_app_secret = action.secret
                self._rekey.restart()

    def _send_key_update(
        self, *, request_peer: bool, answering_peer: bool = False
    ) -> RecordProtector:
        write, params = self._write, self._params
        if write is None or params is None:
            raise LocalProtocolError("KeyUpdate without traffic keys")
        request = (
            KeyUpdateRequest.update_requested
            if request_peer
            else KeyUpdateRequest.update_not_requested
        )
        self._out.append(
            write.seal(ContentType.handshake, KeyUpdate(request_update=request).encode())
        )
        self._write_app_secret = next_traffic_secret(params.hash_name, self._write_app_secret)
        self._write = RecordProtector(params, self._write_app_secret)
        self._rekey.restart()
        self._key_updates_sent += 1
        self._emit(KeyUpdated(direction="send", requested_by_peer=answering_peer))
        return self._write

    def _handshake_failed(self, error: ProtocolError) -> None:
        """The handshake ended with ``error``: tell the risk engine what it says of the peer."""
        report_failure(self._risk_engine, self._assessment, self._risk_peer, error)

    def _handshake_completed(self, info: SessionInfo) -> SessionInfo:
        """The handshake finished: tell the risk engine and say in the info at which level
        it ran."""
        return report_completion(
            self._risk_engine,
            self._assessment,
            self._risk_peer,
            info,
            provider=self._risk_provider,
            is_client=self._is_client,
        )

    def _send_alert(
        self, description: AlertDescription, level: AlertLevel = AlertLevel.FATAL
    ) -> None:
        body = bytes((level, description))
        if self._write is None:
            self._out.append(plaintext_record(ContentType.alert, body))
        else:
            self._out.append(self._write.seal(ContentType.alert, body))

    def _fail(self, error: ProtocolError) -> None:
        if self._state == "failed":
            return
        if self._state == "handshaking":
            self._handshake_failed(error)
        self._state = "failed"
        self._error = error
        if not isinstance(error, PeerAlert):
            self._send_alert(alert_for(error))
        self._emit(ConnectionClosed(clean=False, error=str(error)))
        self._forget_keys()

    def _set_closed(self) -> None:
        self._state = "closed"
        self._forget_keys()

    def _forget_keys(self) -> None:
        """Drop key material: a closed or failed connection never uses it again (the
        record keys, the traffic secrets, and through the handshake the key schedule and
        the exporter and resumption secrets)."""
        self._read = self._write = None
        self._read_app_secret = self._write_app_secret = b""
        if not isinstance(self._handshake, _SpentHandshake):
            self._handshake = _SpentHandshake(self._is_client)


class ClientConnection(Connection):
    """The client side. ``server_name`` is sent in SNI and checked against the certificate."""

    def __init__(
        self,
        config: ClientConfig,
        server_name: str | None,
        *,
        early_data: bytes | None = None,
        session_key: str | None = None,
        entropy: Entropy | None = None,
        clock: Clock | None = None,
        extension_hooks: Iterable[ExtensionHook] = (),
    ) -> None:
        """``early_data`` is sent as 0-RTT when a stored ticket allows it. At most the
        ticket's max_early_data bytes go early (``info.early_data_sent`` says how many); it
        is never cut short: when the server accepts the 0-RTT (``info.early_data ==
        "accepted"``) the rest follows as ordinary data right after the handshake. When it
        does not ("rejected", or "none" if no 0-RTT was possible), none of ``early_data`` was
        delivered: send it again. ``session_key`` names the server in the session store
        (default: its name + ALPN). ``extension_hooks`` are extension plug-ins
        (:mod:`nautilus_tls.handshake.hooks`). With ``config.risk`` the handshake runs at the
        level the engine assesses for this server (``session_key``, else ``server_name``):
        post-quantum groups only when it is raised, and no 0-RTT."""
        if config.risk is not None:
            self._risk_engine, self._risk_provider = config.risk, config.provider
            self._risk_peer = session_key or server_name
            self._assessment = config.risk.assess(self._risk_peer)
            config = client_config_for(config, self._assessment)
            if not self._assessment.floor.early_data:
                early_data = None  # replayable data waits for a full handshake
        handshake = ClientHandshake(
            config,
            server_name,
            entropy=entropy or config.provider.entropy,
            clock=clock or config.provider.clock,
            early_data=early_data,
            session_key=session_key,
            extension_hooks=extension_hooks,
        )
        super().__init__(handshake, config, clock)

    def start(self) -> None:
        """Queue the ClientHello."""
        handshake = self._handshake
        if not isinstance(handshake, ClientHandshake):
            raise ConnectionClosedError("the connection is closed")
        self._run(handshake.start())


class ServerConnection(Connection):
    """The server side: answers one client's handshake with a certificate of the config's
    (chosen by SNI and signature algorithms), then carries its application data. With
    ``config.risk`` (:mod:`nautilus_tls.risk`) and the client's ``peer_address``, the
    handshake runs at the level the engine assesses for that address (its floor raised on top
    of ``config``, :mod:`nautilus_tls.handshake.risk_floor`), and its outcome is reported back
    to the engine. An adapter that learns the address only once the transport is up calls
    :meth:`set_peer_address` before feeding any bytes."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        entropy: Entropy | None = None,
        clock: Clock | None = None,
        extension_hooks: Iterable[ExtensionHook] = (),
        peer_address: str | None = None,
    ) -> None:
        self._base_config = config
        # Kept only to set the handshake up again in set_peer_address; dropped with the keys
        # (a pinned entropy source can reach secrets).
        self._entropy: Entropy | None = entropy or config.provider.entropy
        self._hooks = tuple(extension_hooks)
        self._risk_peer = peer_address
        config = self._assess(config)
        super().__init__(self._new_handshake(config, clock), config, clock)
        self._server_clock = clock

    def _assess(self, config: ServerConfig) -> ServerConfig:
        if config.risk is None:
            return config
        self._risk_engine, self._risk_provider = config.risk, config.provider
        self._assessment = config.risk.assess(self._risk_peer)
        return config_for(config, self._assessment)

    def _new_handshake(self, config: ServerConfig, clock: Clock | None) -> ServerHandshake:
        if self._entropy is None:
            raise ConnectionClosedError("the connection is closed")
        return ServerHandshake(
            config,
            entropy=self._entropy,
            clock=clock or config.provider.clock,
            extension_hooks=self._hooks,
        )

    @property
    def peer_address(self) -> str | None:
        return self._risk_peer

    def set_peer_address(self, address: str | None) -> None:
        """Name the client's address (before any of its bytes arrived): with a risk engine,
        the handshake is set up again at the level assessed for ``address``."""
        if self._first_flight_sent or self._deframer.buffered or self._state != "handshaking":
            raise LocalProtocolError("the peer address must be set before the handshake starts")
        hs = self._handshake
        if isinstance(hs, ServerHandshake) and hs.received_client_hello:
            raise LocalProtocolError("the peer address must be set before the handshake starts")
        self._risk_peer = address
        if self._base_config.risk is None:
            return
        before = self._assessment
        config = self._assess(self._base_config)
        after = self._assessment
        if before is not None and after is not None and before.level == after.level:
            return  # the same floor: the handshake already set up is the right one
        self._handshake = self._new_handshake(config, self._server_clock)
        self._set_rekey(config, self._server_clock)

    def _forget_keys(self) -> None:
        super()._forget_keys()
        self._entropy = None
