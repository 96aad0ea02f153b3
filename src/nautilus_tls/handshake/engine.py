"""One handshake, client or server, driven message by message.

The transport (TLS records in connection.py; CRYPTO frames in QUIC later) hands in whole
handshake messages and carries out the actions that come back.
"""

from __future__ import annotations

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.handshake.client import ClientConnected, ClientContext, ClientState, start_client
from nautilus_tls.handshake.common import Action, Clock, Entropy, KeyLog, unexpected
from nautilus_tls.handshake.server import (
    ExpectClientHello,
    ServerConnected,
    ServerContext,
    ServerState,
)
from nautilus_tls.session.client_store import ClientTicket
from nautilus_tls.session.client_store import session_key as default_session_key
from nautilus_tls.wire.enums import HandshakeType
from nautilus_tls.wire.messages import NewSessionTicket


class ClientHandshake:
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
    ) -> None:
        self._ctx = ClientContext(
            config=config,
            server_name=server_name,
            entropy=entropy,
            clock=clock,
            keylog=KeyLog(config.keylog_file, config.keylog_callback),
            session_key=session_key or default_session_key(server_name, alpn=config.alpn_protocols),
            early_data=early_data,
        )
        self._state: ClientState | None = None

    def start(self) -> list[Action]:
        self._state = start_client(self._ctx)
        return self._take()

    def handle_message(self, msg_type: int, body: bytes, raw: bytes) -> list[Action]:
        if self._state is None:
            raise RuntimeError("start() the client handshake first")
        self._state = self._state.handle(self._ctx, msg_type, body, raw)
        return self._take()

    @property
    def state_name(self) -> str:
        return self._state.name if self._state is not None else "not started"

    @property
    def connected(self) -> ClientConnected | None:
        return self._state if isinstance(self._state, ClientConnected) else None

    @property
    def client_random(self) -> bytes:
        return self._ctx.client_random

    def on_new_session_ticket(self, nst: NewSessionTicket) -> ClientTicket | None:
        connected = self.connected
        if connected is None:
            raise unexpected(HandshakeType.new_session_ticket, "handshaking")
        return connected.on_new_session_ticket(self._ctx, nst)

    def _take(self) -> list[Action]:
        actions, self._ctx.actions = self._ctx.actions, []
        return actions


class ServerHandshake:
    is_client = False

    def __init__(self, config: ServerConfig, *, entropy: Entropy, clock: Clock) -> None:
        self._ctx = ServerContext(
            config=config,
            entropy=entropy,
            clock=clock,
            keylog=KeyLog(config.keylog_file, config.keylog_callback),
        )
        self._state: ServerState = ExpectClientHello()

    def start(self) -> list[Action]:
        return []

    def handle_message(self, msg_type: int, body: bytes, raw: bytes) -> list[Action]:
        self._state = self._state.handle(self._ctx, msg_type, body, raw)
        actions, self._ctx.actions = self._ctx.actions, []
        return actions

    @property
    def state_name(self) -> str:
        return self._state.name

    @property
    def connected(self) -> ServerConnected | None:
        return self._state if isinstance(self._state, ServerConnected) else None

    @property
    def client_random(self) -> bytes:
        return self._ctx.client_random

    @property
    def received_client_hello(self) -> bool:
        return bool(self._ctx.client_random)
