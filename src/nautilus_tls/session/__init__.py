"""Session resumption: tickets, ticket keys and rotation, session stores, 0-RTT anti-replay.

Server side: a :class:`ResumptionState` goes into a ticket (:class:`StatelessTickets`, sealed
under keys from a :class:`TicketKeyManager`; or :class:`StatefulTickets`, an id into a
cache) and comes back out of it. Client side: a :class:`ClientTicket` per NewSessionTicket,
kept in a :class:`ClientSessionStore` under :func:`session_key`. 0-RTT: :class:`AntiReplay`.
The Redis classes (``nautilus_tls.session.redis_store``) import ``redis`` only when made.
"""

from nautilus_tls.session._util import SessionStoreError
from nautilus_tls.session.anti_replay import AntiReplay, MemoryAntiReplay
from nautilus_tls.session.client_store import (
    ClientSessionStore,
    ClientTicket,
    FileSessionStore,
    MemorySessionStore,
    session_key,
)
from nautilus_tls.session.redis_store import RedisAntiReplay, RedisTicketKeyStore
from nautilus_tls.session.state import ResumptionState
from nautilus_tls.session.ticket_keys import (
    MemoryTicketKeyStore,
    StatefulTickets,
    StatelessTickets,
    TicketKey,
    TicketKeyManager,
    TicketKeyStore,
)

__all__ = [
    "AntiReplay",
    "ClientSessionStore",
    "ClientTicket",
    "FileSessionStore",
    "MemoryAntiReplay",
    "MemorySessionStore",
    "MemoryTicketKeyStore",
    "RedisAntiReplay",
    "RedisTicketKeyStore",
    "ResumptionState",
    "SessionStoreError",
    "StatefulTickets",
    "StatelessTickets",
    "TicketKey",
    "TicketKeyManager",
    "TicketKeyStore",
    "session_key",
]
