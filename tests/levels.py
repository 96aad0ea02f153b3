"""QUIC-style drivers for the handshake engine: bytes per level, no records (shared by the
engine and extension plug-in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from pairs import client_config, server_config

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.handshake.common import (
    Action,
    CompleteHandshake,
    Epoch,
    InstallSecret,
    SendHandshake,
)
from nautilus_tls.handshake.engine import ClientHandshake, ServerHandshake
from nautilus_tls.handshake.hooks import ExtensionHook
from nautilus_tls.handshake.quic_params import QuicTransportParameters
from nautilus_tls.wire.messages import HandshakeReassembler

# RFC 9000 §18.2: initial_max_data (0x04) = 2^20, max_idle_timeout (0x01) = 30000 ms.
CLIENT_PARAMS = bytes.fromhex("0404" + "80100000" + "0102" + "7530")
SERVER_PARAMS = bytes.fromhex("0404" + "80200000")


@dataclass
class Side:
    """One endpoint as a QUIC stack would see it: what TLS asked it to send and install."""

    engine: ClientHandshake | ServerHandshake
    sent: list[SendHandshake] = field(default_factory=list)
    secrets: dict[tuple[str, Epoch], bytes] = field(default_factory=dict)
    other: list[Action] = field(default_factory=list)

    def take(self, actions: list[Action]) -> list[SendHandshake]:
        out = []
        for action in actions:
            if isinstance(action, SendHandshake):
                out.append(action)
                self.sent.append(action)
            elif isinstance(action, InstallSecret):
                self.secrets[(action.direction, action.epoch)] = action.secret
            else:
                self.other.append(action)
        return out

    @property
    def complete(self) -> bool:
        return any(isinstance(a, CompleteHandshake) for a in self.other)


def engines(
    ccfg: ClientConfig | None = None,
    scfg: ServerConfig | None = None,
    *,
    client_hooks: tuple[ExtensionHook, ...] = (QuicTransportParameters(CLIENT_PARAMS),),
    server_hooks: tuple[ExtensionHook, ...] = (QuicTransportParameters(SERVER_PARAMS),),
    early_data: bytes | None = None,
) -> tuple[Side, Side]:
    ccfg = ccfg or client_config()
    client = ClientHandshake(
        ccfg,
        "localhost",
        entropy=ccfg.provider.entropy,
        clock=ccfg.provider.clock,
        quic=True,
        extension_hooks=client_hooks,
        early_data=early_data,
    )
    scfg = scfg or server_config()
    server = ServerHandshake(
        scfg,
        entropy=scfg.provider.entropy,
        clock=scfg.provider.clock,
        quic=True,
        extension_hooks=server_hooks,
    )
    return Side(client), Side(server)


def run(client: Side, server: Side, *, rounds: int = 10) -> None:
    """Carry each side's bytes, level by level, to the other until both are quiet (bounded)."""
    pending = client.take(client.engine.start())
    to_server = True
    for _ in range(rounds):
        if not pending:
            return
        receiver = server if to_server else client
        replies: list[SendHandshake] = []
        for send in pending:
            replies += receiver.take(receiver.engine.receive(send.epoch, send.data))
        pending, to_server = replies, not to_server
    raise AssertionError("handshake did not settle")


def message_types(side: Side) -> list[int]:
    types = []
    for send in side.sent:
        reassembler = HandshakeReassembler(max_message_size=1 << 20)
        reassembler.feed(send.data)
        while (message := reassembler.next_message()) is not None:
            types.append(message[0])
    return types


def expect_alert(alert: AlertDescription, call: Callable[[], object]) -> None:
    with pytest.raises(ProtocolError) as info:
        call()
    assert info.value.alert == alert
