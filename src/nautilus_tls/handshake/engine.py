"""One handshake, client or server, driven by ``(level, bytes)``: transport-neutral.

:meth:`receive` takes handshake bytes as they arrived at one encryption level (TLS records in
connection.py; QUIC CRYPTO frames later), reassembles them per level (bounded: one message at
most ``max_handshake_message_size``, the whole handshake at most ``max_handshake_bytes``),
refuses bytes at a level other than the one the handshake reads at, and returns the actions
of :mod:`nautilus_tls.handshake.common`: bytes to send per level, secrets per level and
direction, "complete". After the handshake it processes NewSessionTicket (client) and reports
KeyUpdate to the transport (TLS over TCP only), and it answers exporters (RFC 8446 §7.5).

``quic=True`` makes it the handshake of RFC 9001: no ChangeCipherSpec, no compatibility-mode
session id, no EndOfEarlyData, KeyUpdate refused. ``extension_hooks`` are the extension
plug-ins (:mod:`nautilus_tls.handshake.hooks`); what they parsed from the peer is
:attr:`peer_extensions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from nautilus_tls import defaults
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.crypto.keyschedule import export_keying_material
from nautilus_tls.errors import (
    AlertDescription,
    DecodeError,
    LocalProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.handshake.client import ClientConnected, ClientContext, ClientState, start_client
from nautilus_tls.handshake.common import (
    Action,
    Clock,
    Entropy,
    Epoch,
    HandshakeContext,
    InstallSecret,
    KeyLog,
    PeerKeyUpdate,
)
from nautilus_tls.handshake.hooks import ExtensionHook, ExtensionHooks
from nautilus_tls.handshake.server import (
    ExpectClientHello,
    ServerConnected,
    ServerContext,
    ServerState,
)
from nautilus_tls.session.client_store import session_key as default_session_key
from nautilus_tls.wire.enums import HandshakeType, KeyUpdateRequest
from nautilus_tls.wire.messages import (
    HandshakeReassembler,
    KeyUpdate,
    NewSessionTicket,
    decode_handshake,
)


class _Engine:
    """What the client and server engines share: levels, reassembly, post-handshake."""

    is_client: bool

    def __init__(self, ctx: HandshakeContext, config: ClientConfig | ServerConfig) -> None:
        self._ctx = ctx
        self._max_handshake_bytes = config.max_handshake_bytes
        # One buffer: bytes are only taken at the read level, and a level change requires it
        # empty, so it always holds (part of) a message of the current read level.
        self._reassembler = HandshakeReassembler(max_message_size=config.max_handshake_message_size)
        self._read_level = Epoch.INITIAL
        self._handshake_bytes = 0  # received while handshaking, at every level
        self._tickets_received = 0

    # --- what the subclasses provide ---------------------------------------------------

    def _handle(self, msg_type: int, body: bytes, raw: bytes) -> None:
        raise NotImplementedError

    @property
    def connected(self) -> ClientConnected | ServerConnected | None:
        raise NotImplementedError

    @property
    def middlebox_compatibility(self) -> bool:
        """RFC 8446 §D.4: whether this connection is in middlebox compatibility mode (the
        client's config asked for it; the server saw a non-empty session id). The TCP
        transport then sends the ChangeCipherSpec records; QUIC never is."""
        return self._ctx.middlebox_compatibility

    # --- input ---------------------------------------------------------------------------

    @property
    def read_level(self) -> Epoch:
        """The level handshake bytes must arrive at now (that of the last read secret)."""
        return self._read_level

    def receive(self, level: Epoch, data: bytes) -> list[Action]:
        """Handshake bytes that arrived at ``level``; the actions they lead to."""
        # RFC 8446 §5.1 (a message under the wrong key), RFC 9001 §4.1.3 (CRYPTO data at an
        # unexpected level): unexpected_message.
        if level != self._read_level:
            raise RemoteProtocolError(
                f"handshake data at level {level.name} while reading at {self._read_level.name}",
                alert=AlertDescription.unexpected_message,
            )
        connected = self.connected  # re-read below only while the handshake runs
        if connected is None:
            self._handshake_bytes += len(data)
            if self._handshake_bytes > self._max_handshake_bytes:
                raise DecodeError(
                    f"more than {self._max_handshake_bytes} bytes of handshake messages"
                )
        reassembler = self._reassembler
        reassembler.feed(data)
        actions: list[Action] = []
        while (message := reassembler.next_message()) is not None:
            msg_type, body, raw = message
            if connected is None and (connected := self.connected) is None:
                self._handle(msg_type, body, raw)
                taken = self._take()
            else:
                taken = self._post_handshake(msg_type, body, reassembler)
            actions += taken
            if self._read_level != level:
                if not reassembler.is_empty():
                    # RFC 8446 §5.1, RFC 9001 §4.1.3: a message must not straddle a key change.
                    raise RemoteProtocolError(
                        "handshake message straddles a key change",
                        alert=AlertDescription.unexpected_message,
                    )
                break  # the buffer is empty: nothing of ``data`` is left
        return actions

    def has_partial_message(self) -> bool:
        """True while part of a handshake message is buffered (at any level)."""
        return not self._reassembler.is_empty()

    def _take(self) -> list[Action]:
        ctx = self._ctx
        actions, ctx.actions = ctx.actions, []
        for action in actions:
            if not isinstance(action, InstallSecret):
                continue
            if action.direction == "read":
                self._read_level = action.epoch
        return actions

    # --- after the handshake -------------------------------------------------------------------

    def _post_handshake(
        self, msg_type: int, body: bytes, reassembler: HandshakeReassembler
    ) -> list[Action]:
        if msg_type == HandshakeType.key_update and not self._ctx.quic:
            msg = decode_handshake(msg_type, body)
            if not isinstance(msg, KeyUpdate):
                raise DecodeError("bad KeyUpdate")
            # RFC 8446 §4.6.3, §5.1: KeyUpdate must end its record (no straddling a key change).
            if not reassembler.is_empty():
                raise RemoteProtocolError(
                    "KeyUpdate not at a record boundary", alert=AlertDescription.unexpected_message
                )
            return [PeerKeyUpdate(msg.request_update == KeyUpdateRequest.update_requested)]
        if msg_type == HandshakeType.new_session_ticket and self.is_client:
            return self._on_new_session_ticket(body)
        # RFC 8446 §4.6, RFC 9001 §6 (KeyUpdate over QUIC): anything else is unexpected_message.
        raise RemoteProtocolError(
            f"unexpected post-handshake message {msg_type}",
            alert=AlertDescription.unexpected_message,
        )

    def _on_new_session_ticket(self, body: bytes) -> list[Action]:
        nst = decode_handshake(HandshakeType.new_session_ticket, body)
        connected = self.connected
        if not isinstance(nst, NewSessionTicket) or not isinstance(connected, ClientConnected):
            raise DecodeError("bad NewSessionTicket")
        self._tickets_received += 1
        if self._tickets_received > defaults.MAX_TICKETS_KEPT_PER_CONNECTION:
            return []  # a server that floods tickets gets the rest ignored, not stored
        if not isinstance(self._ctx, ClientContext):
            raise LocalProtocolError("NewSessionTicket on a server handshake")
        return [connected.on_new_session_ticket(self._ctx, nst)]

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 8446 §7.5 exporter (in TLS 1.3 ``context=None`` equals an empty context)."""
        connected = self.connected
        if connected is None:
            raise LocalProtocolError("exporter needs a completed handshake")
        if not 0 < length <= defaults.EXPORTER_MAX_LENGTH:
            raise LocalProtocolError("exporter length out of range")
        return export_keying_material(
            connected.params.hash_name, connected.exporter_master_secret, label, context, length
        )

    # --- inspection ----------------------------------------------------------------------

    @property
    def quic(self) -> bool:
        return self._ctx.quic

    @property
    def client_random(self) -> bytes:
        return self._ctx.client_random

    @property
    def peer_extensions(self) -> Mapping[int, object]:
        """What the extension plug-ins parsed from the peer, by code point."""
        return MappingProxyType(self._ctx.peer_extensions)


class ClientHandshake(_Engine):
    is_client = True

    def __init__(
        self,
        config: ClientConfig,
        server_name: str | None,
        *,
        entropy: Entropy,
        clock: Clock,
        early_data: bytes | None = None,
        session_key: str | None = None,
        quic: bool = False,
        extension_hooks: Iterable[ExtensionHook] = (),
    ) -> None:
        self._client = ClientContext(
            config=config,
            server_name=server_name,
            entropy=entropy,
            clock=clock,
            keylog=KeyLog(config.keylog_file, config.keylog_callback),
            session_key=session_key or default_session_key(server_name, alpn=config.alpn_protocols),
            early_data=early_data,
            quic=quic,
            hooks=ExtensionHooks(
                (*config.extension_hooks, *config.connection_hooks(), *extension_hooks)
            ),
        )
        super().__init__(self._client, config)
        self._state: ClientState | None = None

    def start(self) -> list[Action]:
        """The ClientHello (and 0-RTT data, when a ticket allows it)."""
        self._state = start_client(self._client)
        return self._take()

    def _handle(self, msg_type: int, body: bytes, raw: bytes) -> None:
        if self._state is None:
            raise LocalProtocolError("start() the client handshake first")
        self._state = self._state.handle(self._client, msg_type, body, raw)

    @property
    def state_name(self) -> str:
        return self._state.name if self._state is not None else "not started"

    @property
    def connected(self) -> ClientConnected | None:
        return self._state if isinstance(self._state, ClientConnected) else None


class ServerHandshake(_Engine):
    is_client = False

    def __init__(
        self,
        config: ServerConfig,
        *,
        entropy: Entropy,
        clock: Clock,
        quic: bool = False,
        extension_hooks: Iterable[ExtensionHook] = (),
    ) -> None:
        self._server = ServerContext(
            config=config,
            entropy=entropy,
            clock=clock,
            keylog=KeyLog(config.keylog_file, config.keylog_callback),
            quic=quic,
            hooks=ExtensionHooks((*config.extension_hooks, *extension_hooks)),
        )
        super().__init__(self._server, config)
        self._state: ServerState = ExpectClientHello()

    def start(self) -> list[Action]:
        return []

    def _handle(self, msg_type: int, body: bytes, raw: bytes) -> None:
        self._state = self._state.handle(self._server, msg_type, body, raw)

    @property
    def state_name(self) -> str:
        return self._state.name

    @property
    def connected(self) -> ServerConnected | None:
        return self._state if isinstance(self._state, ServerConnected) else None

    @property
    def received_client_hello(self) -> bool:
        return bool(self._server.client_random)
