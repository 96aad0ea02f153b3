"""Events the sans-I/O connection reports, in the order they happened.

Past tense, frozen, keyword-only: an event is a fact about something that already happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_tls.session_info import SessionInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base class of everything ``Connection.next_event()`` returns."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeCompleted(Event):
    """The handshake finished; ``info`` is everything it negotiated."""

    info: SessionInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class DataReceived(Event):
    """Application data from the peer, decrypted and authenticated."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class EarlyDataReceived(Event):
    """0-RTT data (server side). It may be a replay of data an attacker recorded: accept it
    only for requests that are safe to repeat (RFC 8446 §8, §E.5)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyUpdated(Event):
    """Traffic keys changed; ``direction`` is "send" or "receive"; ``requested_by_peer`` says why."""

    direction: str
    requested_by_peer: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionTicketReceived(Event):
    """A NewSessionTicket arrived; it is in the client's session store (if it has one)."""

    lifetime: int
    max_early_data: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertReceived(Event):
    """The peer sent an alert (``description``, ``level`` as on the wire, RFC 8446 §6)."""

    description: int
    level: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed(Event):
    """The connection ended. ``clean`` is True after close_notify; ``error`` says why otherwise."""

    clean: bool
    error: str | None = None
