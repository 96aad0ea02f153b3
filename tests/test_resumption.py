"""Session resumption and 0-RTT over the sans-I/O core (RFC 8446 §2.2, §2.3, §4.2.10, §4.2.11, §4.6.1)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from certificates import ca_key, pki
from pairs import client_config, drain, pump, server_config

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.events import DataReceived, EarlyDataReceived, SessionTicketReceived
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.session.ticket_keys import StatefulTickets, StatelessTickets, TicketKeyManager
from nautilus_tls.tools.certgen import make_leaf
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import (
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
)


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


# --- a ticket never widens trust (issue 11 item 1) ---------------------------------------------


def _leaf_for_one_hour(clock: Clock, name: str, *, client: bool = False) -> CertifiedKey:
    """A certificate from pki()'s CA that expires an hour after ``clock.now``."""
    issued = datetime.fromtimestamp(clock.now, UTC)
    leaf, key = make_leaf(
        pki().ca_der,
        ca_key("mldsa65"),
        "mldsa65",
        [name],
        client=client,
        not_before=issued - timedelta(days=1),
        not_after=issued + timedelta(hours=1),
    )
    return CertifiedKey(chain=(leaf,), private_key=key)


def _untrusting_client(store: MemorySessionStore) -> ClientConfig:
    """Verifies servers against a CA that did not issue pki("mldsa65")'s server certificate."""
    return client_config("ed25519", session_store=store)


def test_rejects_ticket_from_unverified_connection_under_verifying_config() -> None:
    shared = MemorySessionStore()
    scfg = server_config()
    insecure = ClientConfig(insecure_skip_verify=True, session_store=shared)
    first, _ = connect(insecure, scfg)
    assert first.info is not None and len(shared) == 2
    # The same store, now verifying against a CA that does not vouch for this server: the
    # full handshake refuses the server, so must the ticket.
    client = ClientConnection(_untrusting_client(shared), "localhost")
    server = ServerConnection(scfg)
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.unknown_ca
    assert client.info is None


def test_rejects_ticket_verified_under_another_trust_store() -> None:
    shared = MemorySessionStore()
    scfg = server_config()
    connect(client_config(session_store=shared), scfg)
    wider = ClientConfig(
        trust_store=TrustStore.from_certificates([pki().ca_der, pki("ed25519").ca_der]),
        session_store=shared,
    )
    client, server = connect(wider, scfg)  # the roots differ: a full handshake, verified anew
    assert client.info is not None and not client.info.resumed
    assert server.info is not None and not server.info.resumed


def test_rejects_ticket_verified_under_another_certificate_policy() -> None:
    shared = MemorySessionStore()
    scfg = server_config()
    connect(client_config(session_store=shared), scfg)
    stricter = client_config(session_store=shared, certificate_schemes=(0x0905,))
    client, _ = connect(stricter, scfg)
    assert client.info is not None and not client.info.resumed


def test_rejects_ticket_verified_under_another_x509_profile() -> None:
    shared = MemorySessionStore()
    scfg = server_config()
    connect(client_config(session_store=shared, x509_profile="private"), scfg)
    client, _ = connect(client_config(session_store=shared), scfg)  # webpki: stricter
    assert client.info is not None and not client.info.resumed


def test_client_auth_binding_covers_profile_and_chain_schemes() -> None:
    base = _require()
    assert base.client_auth_binding() == _require().client_auth_binding()
    assert base.client_auth_binding() != _require(x509_profile="private").client_auth_binding()
    narrower = _require(client_certificate_schemes=(0x0905,))
    assert base.client_auth_binding() != narrower.client_auth_binding()


def test_accepts_ticket_verified_under_an_equal_trust_store() -> None:
    shared = MemorySessionStore()
    scfg = server_config()
    connect(client_config(session_store=shared), scfg)
    # A new TrustStore object with the same roots has the same fingerprint.
    same = ClientConfig(
        trust_store=TrustStore.from_certificates([pki().ca_der]), session_store=shared
    )
    client, _ = connect(same, scfg)
    assert client.info is not None and client.info.resumed


def test_rejects_ticket_whose_server_certificate_has_expired() -> None:
    clock = Clock()
    scfg = ServerConfig(certificates=(_leaf_for_one_hour(clock, "localhost"),))
    ccfg = client_config(session_store=MemorySessionStore())
    connect(ccfg, scfg, clock=clock)
    clock.now += 2 * 3600  # the ticket lives on (7 days), the certificate does not
    client = ClientConnection(ccfg, "localhost", clock=clock)
    server = ServerConnection(scfg, clock=clock)
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)  # a full handshake, which sees the expired certificate
    assert err.value.alert == AlertDescription.certificate_expired


def test_rejects_ticket_whose_chain_does_not_cover_the_name() -> None:
    shared = MemorySessionStore()
    scfg = server_config()
    connect(client_config(session_store=shared), scfg)
    ticket = shared.take("localhost", time.time())
    assert ticket is not None
    other_leaf, _ = make_leaf(pki().ca_der, ca_key("mldsa65"), "mldsa65", ["other.test"])
    # A faulty store hands back the ticket with a chain for another name.
    shared.put("localhost", dataclasses.replace(ticket, server_chain=(other_leaf,)))
    client, _ = connect(client_config(session_store=shared), scfg)
    assert client.info is not None and not client.info.resumed


# --- resumption keeps client authentication (issue 11 item 2) --------------------------------


def _refused(ccfg: ClientConfig, scfg: ServerConfig, clock: Clock | None = None) -> ProtocolError:
    """Connect, expecting the handshake to fail; the error raised (by either side)."""
    client = ClientConnection(ccfg, "localhost", clock=clock)
    server = ServerConnection(scfg, clock=clock)
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)
    assert client.info is None or not client.info.resumed
    return err.value


def _require(**kw: object) -> ServerConfig:
    kw.setdefault("client_trust_store", pki().store)
    return server_config(client_auth="require", **kw)


@pytest.mark.parametrize("before", ["none", "request"])
def test_rejects_ticket_without_client_chain_when_client_auth_is_required(before: str) -> None:
    tickets = StatelessTickets(TicketKeyManager())  # shared ticket keys, or a changed config
    lenient = server_config(client_auth=before, client_trust_store=pki().store, tickets=tickets)
    ccfg = client_config(session_store=MemorySessionStore())  # no client certificate
    first, _ = connect(ccfg, lenient)
    assert first.info is not None and not first.info.resumed
    err = _refused(ccfg, _require(tickets=tickets))
    assert err.alert == AlertDescription.certificate_required


def test_rejects_ticket_bound_to_another_client_trust_store() -> None:
    tickets = StatelessTickets(TicketKeyManager())
    ccfg = client_config(session_store=MemorySessionStore(), client_certificate=pki().client)
    connect(ccfg, _require(tickets=tickets))
    # The same ticket keys behind a server that trusts another client CA.
    err = _refused(ccfg, _require(tickets=tickets, client_trust_store=pki("ed25519").store))
    assert err.alert == AlertDescription.unknown_ca


def test_accepts_ticket_with_client_chain_under_the_same_client_auth() -> None:
    scfg = _require()
    ccfg = client_config(session_store=MemorySessionStore(), client_certificate=pki().client)
    connect(ccfg, scfg)
    _, server = connect(ccfg, scfg)
    assert server.info is not None and server.info.resumed
    assert server.info.peer_certificates == pki().client.chain


def test_rejects_ticket_whose_client_certificate_has_expired() -> None:
    clock = Clock()
    scfg = _require()
    ccfg = client_config(
        session_store=MemorySessionStore(),
        client_certificate=_leaf_for_one_hour(clock, "client.test", client=True),
    )
    connect(ccfg, scfg, clock=clock)
    clock.now += 2 * 3600  # the ticket lives on, the client certificate does not
    err = _refused(ccfg, scfg, clock)  # a full handshake, which sees the expired certificate
    assert err.alert == AlertDescription.certificate_expired


# --- resumption and HelloRetryRequest (issue 11 item 10) ---------------------------------------


def test_ticket_of_another_hash_with_hello_retry_completes_a_full_handshake() -> None:
    """RFC 8446 §4.1.4, §4.2.11: the server's HRR names its own suite (SHA-256), so the
    client drops its SHA-384 ticket and the handshake completes, instead of the server
    aborting on "second ClientHello would change the cipher suite"."""
    tickets = StatelessTickets(TicketKeyManager())
    ccfg = client_config(session_store=MemorySessionStore(), key_share_groups=(NamedGroup.x25519,))
    sha384_only = server_config(
        cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,), tickets=tickets
    )
    connect(ccfg, sha384_only)  # the tickets are for a SHA-384 suite
    prefers_sha256 = server_config(
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384),
        tickets=tickets,
    )
    client, server = connect(ccfg, prefers_sha256)  # x25519 share: HRR for the hybrid group
    for info in (client.info, server.info):
        assert info is not None and info.hello_retry and not info.resumed
        assert info.cipher_suite == "TLS_AES_128_GCM_SHA256"


def test_stateful_ticket_survives_hello_retry_and_resumes() -> None:
    """The first ClientHello only looks the ticket up; the second one, which the server
    answers with ServerHello, uses it up."""
    cache = StatefulTickets(max_entries=100)
    scfg = server_config(tickets=cache, session_tickets=1)
    ccfg = client_config(session_store=MemorySessionStore(), key_share_groups=(NamedGroup.x25519,))
    connect(ccfg, scfg)
    client, server = connect(ccfg, scfg)
    for info in (client.info, server.info):
        assert info is not None and info.hello_retry and info.resumed
    assert len(cache) == 1  # the used ticket is gone; the new connection's one is there


def test_stateful_ticket_is_not_consumed_by_a_client_hello_that_gets_a_retry() -> None:
    cache = StatefulTickets(max_entries=100)
    scfg = server_config(tickets=cache, session_tickets=1)
    ccfg = client_config(session_store=MemorySessionStore(), key_share_groups=(NamedGroup.x25519,))
    connect(ccfg, scfg)
    client = ClientConnection(ccfg, "localhost")
    server = ServerConnection(scfg)
    client.start()
    server.receive_data(client.data_to_send())  # ClientHello 1 -> HelloRetryRequest
    assert server.data_to_send() and len(cache) == 1  # still there for ClientHello 2
