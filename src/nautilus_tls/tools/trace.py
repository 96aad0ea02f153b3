"""A readable trace of one handshake: every message in order, with its direction, size and
time (``nautilus-tls connect --trace``), like ``openssl s_client -msg``.

:class:`HandshakeTracer` is a ``config.handshake_trace`` callback. It puts the bytes of each
direction back together into whole messages and notes, for each, what a reader needs to
follow the negotiation: the key shares a ClientHello sends (group and size), the group a
ServerHello answers with, a HelloRetryRequest and the group it asks for, the number of
certificates. Nothing secret is recorded (no key share value, no Finished MAC).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, CryptoProvider
from nautilus_tls.errors import DecodeError
from nautilus_tls.wire.enums import ExtensionType, HandshakeType, display_name
from nautilus_tls.wire.extensions import (
    decode_key_share_ch,
    decode_key_share_hrr,
    decode_key_share_sh,
)
from nautilus_tls.wire.messages import HRR_RANDOM, Certificate, ClientHello, ServerHello

__all__ = ["HandshakeTracer", "TracedMessage"]

MAX_MESSAGES = 64
"""A handshake has about a dozen messages; more are counted, not kept."""
MAX_REASSEMBLY = 1 << 24
"""A message larger than a handshake header can declare is not ours to hold."""


@dataclass(frozen=True, slots=True)
class TracedMessage:
    """One handshake message: seconds since the trace started, "sent" or "received", the
    message name, its size with the 4-byte header, and what it says that matters."""

    at: float
    direction: str
    name: str
    size: int
    details: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "at_ms": round(self.at * 1000, 3),
            "direction": self.direction,
            "message": self.name,
            "size": self.size,
            "details": self.details,
        }

    def render(self) -> str:
        arrow = ">>>" if self.direction == "sent" else "<<<"
        text = f"{self.at * 1000:9.3f} ms {arrow} {self.name} ({self.size} bytes)"
        return f"{text}: {self.details}" if self.details else text


class HandshakeTracer:
    """Collects :class:`TracedMessage` s; pass the instance as ``handshake_trace``."""

    def __init__(
        self,
        *,
        provider: CryptoProvider = DEFAULT_PROVIDER,
        clock: Callable[[], float] = time.monotonic,
        on_message: Callable[[TracedMessage], None] | None = None,
    ) -> None:
        self._provider = provider
        self._clock = clock
        self._start = clock()
        self._buffers: dict[str, bytearray] = {"sent": bytearray(), "received": bytearray()}
        self._on_message = on_message
        self.messages: list[TracedMessage] = []
        self.dropped = 0

    def __call__(self, direction: str, data: bytes) -> None:
        buffer = self._buffers.setdefault(direction, bytearray())
        buffer += data
        while len(buffer) >= 4:
            length = int.from_bytes(buffer[1:4], "big")
            if length > MAX_REASSEMBLY:  # the connection refuses it; the trace stops following
                buffer.clear()
                return
            if len(buffer) < 4 + length:
                return
            raw = bytes(buffer[: 4 + length])
            del buffer[: 4 + length]
            self._record(direction, raw)

    def _record(self, direction: str, raw: bytes) -> None:
        message = TracedMessage(
            at=self._clock() - self._start,
            direction=direction,
            name=_message_name(raw),
            size=len(raw),
            details=self._details(raw),
        )
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)
        else:
            self.dropped += 1
        if self._on_message is not None:
            self._on_message(message)

    @property
    def hello_retry(self) -> bool:
        return any(m.name == "HelloRetryRequest" for m in self.messages)

    def _details(self, raw: bytes) -> str:
        body = raw[4:]
        try:
            if raw[0] == HandshakeType.client_hello:
                return self._client_hello(ClientHello.decode_body(body))
            if raw[0] == HandshakeType.server_hello:
                return self._server_hello(ServerHello.decode_body(body))
            if raw[0] == HandshakeType.certificate:
                count = len(Certificate.decode_body(body).certificate_list)
                return f"{count} certificate{'s' if count != 1 else ''}"
        except DecodeError as exc:
            return f"undecodable: {exc}"
        return ""

    def _client_hello(self, hello: ClientHello) -> str:
        for extension in hello.extensions:
            if extension.ext_type == ExtensionType.key_share:
                shares = decode_key_share_ch(extension.data)
                listed = ", ".join(
                    f"{self._provider.group_name(s.group)} ({len(s.key_exchange)} bytes)"
                    for s in shares
                )
                return f"key shares: {listed or 'none (asks the server to choose)'}"
        return "no key_share extension"

    def _server_hello(self, hello: ServerHello) -> str:
        for extension in hello.extensions:
            if extension.ext_type != ExtensionType.key_share:
                continue
            if hello.random == HRR_RANDOM:
                wanted = decode_key_share_hrr(extension.data)
                return f"asks for a key share for {self._provider.group_name(wanted)}"
            share = decode_key_share_sh(extension.data)
            return (
                f"key share {self._provider.group_name(share.group)} "
                f"({len(share.key_exchange)} bytes), "
                f"suite {self._provider.suite_name(hello.cipher_suite)}"
            )
        return f"no key share (resumption without (EC)DHE?), suite {hello.cipher_suite:#06x}"


def _message_name(raw: bytes) -> str:
    if raw[0] == HandshakeType.server_hello and raw[4 + 2 : 4 + 34] == HRR_RANDOM:
        return "HelloRetryRequest"
    name = display_name(HandshakeType, raw[0])
    if name.startswith("0x"):
        return f"unknown message {name}"
    return "".join(part.capitalize() for part in name.split("_"))
