"""Session resumption and 0-RTT over the sans-I/O core (RFC 8446 §2.2, §2.3, §4.2.10, §4.2.11, §4.6.1)."""

from __future__ import annotations

import dataclasses
import time

import pytest
from pairs import client_config, drain, pump, server_config

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.events import DataReceived, EarlyDataReceived, SessionTicketReceived
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType, NamedGroup


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def connect(
    ccfg: ClientConfig,
    scfg: ServerConfig,
    *,
    early: bytes | None = None,
    clock: Clock | None = None,
) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(ccfg, "localhost", early_data=early, clock=clock)
    server = ServerConnection(scfg, clock=clock)
    client.start()
    pump(client, server)
    return client, server


def configs(**server_kw: object) -> tuple[ClientConfig, ServerConfig]:
    return client_config(session_store=MemorySessionStore()), server_config(**server_kw)


def test_full_handshake_leaves_two_tickets_and_the_next_connection_resumes() -> None:
    ccfg, scfg = configs()
    client, _ = connect(ccfg, scfg)
    tickets = [e for e in drain(client) if isinstance(e, SessionTicketReceived)]
    assert len(tickets) == 2
    assert client.info is not None and not client.info.resumed

    client2, server2 = connect(ccfg, scfg)
    assert client2.info is not None and client.info is not None
    # The server's chain is not sent again; the client reports the one it verified before.
    assert client2.info.peer_certificates == client.info.peer_certificates
    assert client2.info.peer_certificate_subject == client.info.peer_certificate_subject
    for info in (client2.info, server2.info):
        assert info is not None and info.resumed
        assert info.group == "X25519MLKEM768"  # psk_dhe_ke: a fresh hybrid key exchange
        assert info.signature_scheme is None
    client2.send_data(b"resumed")
    pump(client2, server2)
    assert [e.data for e in drain(server2) if isinstance(e, DataReceived)] == [b"resumed"]


def test_each_ticket_is_used_once() -> None:
    ccfg, scfg = configs(session_tickets=1)
    connect(ccfg, scfg)
    c2, _ = connect(ccfg, scfg)  # uses the only ticket, gets a new one
    c3, _ = connect(ccfg, scfg)  # uses the new one
    assert c2.info is not None and c2.info.resumed
    assert c3.info is not None and c3.info.resumed
    store = ccfg.session_store
    assert store is not None
    store.take("localhost", 0.0)  # drain what is left
    c4, _ = connect(ccfg, server_config(session_tickets=0))
    assert c4.info is not None
    c5, _ = connect(ccfg, scfg)
    assert c5.info is not None and not c5.info.resumed


def test_ticket_from_another_server_falls_back_to_a_full_handshake() -> None:
    ccfg, scfg = configs()
    connect(ccfg, scfg)
    other = server_config()  # fresh ticket keys: cannot decrypt our ticket
    client, server = connect(ccfg, other)
    assert client.info is not None and not client.info.resumed
    assert server.info is not None and not server.info.resumed


def test_expired_ticket_falls_back_to_a_full_handshake() -> None:
    clock = Clock()
    ccfg, scfg = configs(ticket_lifetime=60)
    connect(ccfg, scfg, clock=clock)
    clock.now += 61
    client, _ = connect(ccfg, scfg, clock=clock)
    assert client.info is not None and not client.info.resumed


def test_resumption_after_hello_retry() -> None:
    ccfg = client_config(session_store=MemorySessionStore(), key_share_groups=(NamedGroup.x25519,))
    scfg = server_config()
    connect(ccfg, scfg)
    client, server = connect(ccfg, scfg)
    assert client.info is not None and client.info.resumed and client.info.hello_retry
    assert server.info is not None and server.info.resumed


def test_psk_dhe_ke_preferred_when_both_modes_offered() -> None:
    ccfg = client_config(session_store=MemorySessionStore(), psk_modes=(1, 0))
    scfg = server_config(allow_psk_ke=True)
    connect(ccfg, scfg)
    client, _ = connect(ccfg, scfg)
    assert client.info is not None and client.info.resumed
    assert client.info.group == "X25519MLKEM768"  # a fresh key exchange still happens


def test_psk_ke_only_when_both_sides_allow_it() -> None:
    ccfg = client_config(session_store=MemorySessionStore(), psk_modes=(0,))
    connect(ccfg, server_config(allow_psk_ke=True))
    client, server = connect(ccfg, server_config(allow_psk_ke=True))
    # A fresh server config has fresh ticket keys: full handshake. Same config: psk_ke.
    assert client.info is not None and not client.info.resumed
    scfg = server_config(allow_psk_ke=True)
    connect(ccfg, scfg)
    client, server = connect(ccfg, scfg)
    assert client.info is not None and client.info.resumed and client.info.group is None
    assert server.info is not None and server.info.group is None
    strict = server_config()  # psk_ke not allowed: full handshake instead
    connect(ccfg, strict)
    client, _ = connect(ccfg, strict)
    assert client.info is not None and not client.info.resumed


def test_wrong_binder_gets_decrypt_error() -> None:
    ccfg, scfg = configs()
    connect(ccfg, scfg)
    client = ClientConnection(ccfg, "localhost")
    client.start()
    hello = bytearray(client.data_to_send())
    hello[-1] ^= 1  # the binder is the last byte of the ClientHello
    server = ServerConnection(scfg)
    with pytest.raises(ProtocolError) as err:
        server.receive_data(bytes(hello))
    assert err.value.alert == AlertDescription.decrypt_error


def test_early_data_accepted_once_and_marked_early() -> None:
    ccfg, scfg = configs(max_early_data=1024)
    connect(ccfg, scfg)
    client, server = connect(ccfg, scfg, early=b"GET / 0rtt")
    assert client.info is not None and client.info.early_data == "accepted"
    assert server.info is not None and server.info.early_data == "accepted"
    events = drain(server)
    assert [e.data for e in events if isinstance(e, EarlyDataReceived)] == [b"GET / 0rtt"]
    assert not [e for e in events if isinstance(e, DataReceived)]


def test_early_data_rejected_when_server_disallows_it_and_handshake_completes() -> None:
    ccfg = client_config(session_store=MemorySessionStore())
    scfg = server_config(max_early_data=1024)
    connect(ccfg, scfg)  # the ticket allows early data
    strict = dataclasses.replace(scfg, max_early_data=0)
    client, server = connect(ccfg, strict, early=b"x" * 500)
    assert client.info is not None and client.info.resumed and client.info.early_data == "rejected"
    assert not [e for e in drain(server) if isinstance(e, EarlyDataReceived)]
    client.send_data(b"1-rtt")
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, DataReceived)] == [b"1-rtt"]


def test_replayed_early_data_is_refused_by_a_second_server() -> None:
    ccfg, scfg = configs(max_early_data=1024)
    connect(ccfg, scfg)
    client = ClientConnection(ccfg, "localhost", early_data=b"transfer $100")
    client.start()
    flight = client.data_to_send()
    first = ServerConnection(scfg)
    first.receive_data(flight)
    assert [e.data for e in drain(first) if isinstance(e, EarlyDataReceived)] == [b"transfer $100"]
    replay = ServerConnection(scfg)  # same ticket keys and anti-replay store: one "fleet"
    replay.receive_data(flight)
    assert not [e for e in drain(replay) if isinstance(e, EarlyDataReceived)]
    assert replay.state == "handshaking"  # resumed 1-RTT, early data skipped


def test_early_data_over_the_limit_is_unexpected_message() -> None:
    ccfg, scfg = configs(max_early_data=100)
    connect(ccfg, scfg)
    client = ClientConnection(ccfg, "localhost", early_data=b"y" * 100)
    client.start()
    flight = client.data_to_send()
    # Forge one more early record with the client's early key.
    extra = client._write.seal(23, b"z") if client._write else b""  # type: ignore[attr-defined]
    server = ServerConnection(scfg)
    with pytest.raises(ProtocolError) as err:
        server.receive_data(flight + extra)
    assert err.value.alert == AlertDescription.unexpected_message


def test_client_hello_offers_psk_last() -> None:
    ccfg, scfg = configs()
    connect(ccfg, scfg)
    client = ClientConnection(ccfg, "localhost")
    client.start()
    record = client.data_to_send()
    from nautilus_tls.wire.messages import ClientHello, decode_handshake

    ch = decode_handshake(record[5], record[9:])
    assert isinstance(ch, ClientHello)
    assert ch.extensions[-1].ext_type == ExtensionType.pre_shared_key
    modes = ext.decode_psk_key_exchange_modes(
        ext.get_extension(ch.extensions, ExtensionType.psk_key_exchange_modes) or b""
    )
    assert modes == (1,)


def test_stateful_tickets_resume_once() -> None:
    from nautilus_tls.session.ticket_keys import StatefulTickets

    scfg = server_config(tickets=StatefulTickets(max_entries=100), session_tickets=1)
    ccfg = client_config(session_store=MemorySessionStore())
    connect(ccfg, scfg)
    store = ccfg.session_store
    assert store is not None
    ticket = store.take("localhost", time.time())
    assert ticket is not None
    assert len(ticket.ticket) <= 32  # an opaque id, not the encrypted state
    store.put("localhost", ticket)
    again, _ = connect(ccfg, scfg)
    assert again.info is not None and again.info.resumed
    only_old = client_config(session_store=MemorySessionStore())
    assert only_old.session_store is not None
    only_old.session_store.put("localhost", ticket)  # the same id again: its entry is gone
    third, _ = connect(only_old, scfg)
    assert third.info is not None and not third.info.resumed


def test_a_flood_of_tickets_is_ignored_after_the_cap() -> None:
    from nautilus_tls import defaults
    from nautilus_tls.wire.messages import NewSessionTicket

    ccfg, scfg = configs(session_tickets=1)
    client, server = connect(ccfg, scfg)
    drain(client)
    write = server._write  # forge more tickets under the server's real key
    assert write is not None
    flood = b"".join(
        write.seal(
            22,
            NewSessionTicket(
                ticket_lifetime=60, ticket_age_add=i, ticket_nonce=bytes([i]), ticket=b"t%d" % i
            ).encode(),
        )
        for i in range(40)
    )
    client.receive_data(flood)
    received = [e for e in drain(client) if isinstance(e, SessionTicketReceived)]
    assert len(received) == defaults.MAX_TICKETS_KEPT_PER_CONNECTION - 1  # one came before
    assert client.state == "connected"


def connect_rejecting_early_data(
    max_early_data: int, early: bytes
) -> tuple[ClientConnection, ServerConnection]:
    """A client holding a ticket that allows ``max_early_data`` sends ``early`` to a server
    that no longer takes 0-RTT."""
    ccfg, scfg = configs(max_early_data=max_early_data)
    connect(ccfg, scfg)
    return connect(ccfg, dataclasses.replace(scfg, max_early_data=0), early=early)


def test_rejected_early_data_of_the_full_allowance_is_skipped() -> None:
    # RFC 8446 §4.2.10: up to max_early_data_size of rejected 0-RTT is skipped; the record
    # overhead (header, content type, tag) does not count against it.
    client, server = connect_rejecting_early_data(16384, b"e" * 16384)
    assert client.info is not None and client.info.early_data == "rejected"
    assert server.info is not None and server.info.early_data == "rejected"


def _hrr_configs() -> tuple[ClientConfig, ServerConfig]:
    """A client whose first key share the server does not take: every handshake has an HRR."""
    groups = (NamedGroup.x25519, NamedGroup.secp256r1)
    ccfg = client_config(
        groups=groups, key_share_groups=groups[:1], session_store=MemorySessionStore()
    )
    return ccfg, server_config(groups=groups[1:], max_early_data=1024)


def test_early_data_then_hello_retry_request_completes_the_handshake() -> None:
    # RFC 8446 §4.1.4, §4.2.10: after HelloRetryRequest the early data is rejected; the
    # second ClientHello goes out in plaintext (not under the early key) and the handshake
    # completes in 1-RTT.
    ccfg, scfg = _hrr_configs()
    connect(ccfg, scfg)
    client, server = connect(ccfg, scfg, early=b"GET / 0rtt")
    for info in (client.info, server.info):
        assert info is not None
        assert info.hello_retry and info.resumed and info.early_data == "rejected"
    assert not [e for e in drain(server) if isinstance(e, EarlyDataReceived)]
    client.send_data(b"again, in 1-RTT")
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, DataReceived)] == [b"again, in 1-RTT"]


def test_second_client_hello_after_early_data_is_plaintext() -> None:
    ccfg, scfg = _hrr_configs()
    connect(ccfg, scfg)
    client = ClientConnection(ccfg, "localhost", early_data=b"GET / 0rtt")
    server = ServerConnection(scfg)
    client.start()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    second = client.data_to_send()
    assert second[0] == ContentType.handshake  # the ClientHello, not an early-data record
    assert second[5] == HandshakeType.client_hello


def test_early_data_over_max_early_data_is_not_cut_short() -> None:
    # Only max_early_data bytes may go as 0-RTT (RFC 8446 §4.2.10); the rest must still
    # arrive, as ordinary data right after the handshake, and the count is reported.
    request = b"POST /pay?amount=1000000&to=bob"
    ccfg, scfg = configs(max_early_data=16)
    connect(ccfg, scfg)
    client, server = connect(ccfg, scfg, early=request)
    assert client.info is not None and client.info.early_data == "accepted"
    assert client.info.early_data_sent == 16
    assert client.info.as_dict()["early_data_sent"] == 16
    events = drain(server)
    early = b"".join(e.data for e in events if isinstance(e, EarlyDataReceived))
    later = b"".join(e.data for e in events if isinstance(e, DataReceived))
    assert early == request[:16]
    assert early + later == request


def test_early_data_that_fits_is_sent_whole_and_counted() -> None:
    ccfg, scfg = configs(max_early_data=1024)
    connect(ccfg, scfg)
    client, server = connect(ccfg, scfg, early=b"GET / 0rtt")
    assert client.info is not None and client.info.early_data_sent == len(b"GET / 0rtt")
    assert not [e for e in drain(server) if isinstance(e, DataReceived)]


def test_rejected_early_data_over_the_limit_is_not_sent_after_the_handshake() -> None:
    # On rejection the application sends everything again; the library adds nothing.
    client, server = connect_rejecting_early_data(16, b"z" * 40)
    assert client.info is not None and client.info.early_data == "rejected"
    assert client.info.early_data_sent == 16
    events = drain(server)
    assert not [e for e in events if isinstance(e, (DataReceived, EarlyDataReceived))]
