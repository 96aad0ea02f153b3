"""Forward secrecy of resumed sessions, shown with a recording and an attacker.

The attacker records a resumed connection, then later obtains the server's certificate key
and every ticket key the server still has. With psk_dhe_ke (our default) the recording stays
sealed: the ticket key that protected the PSK was retired and destroyed, and even a PSK alone
would not do, since every resumption ran a fresh hybrid key exchange. With psk_ke the same
attacker holding a still-live ticket key reads the handshake: the weaker property, documented.
"""

from __future__ import annotations

from dataclasses import dataclass

from certificates import pki
from pairs import client_config, drain, server_config

from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.keyschedule import KeySchedule
from nautilus_tls.crypto.provider import default_provider
from nautilus_tls.crypto.transcript import Transcript
from nautilus_tls.errors import ProtocolError
from nautilus_tls.record.deframer import RecordDeframer
from nautilus_tls.record.protection import RecordProtector
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.session.ticket_keys import (
    MemoryTicketKeyStore,
    StatelessTickets,
    TicketKeyManager,
)
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType
from nautilus_tls.wire.messages import ClientHello, ServerHello, decode_handshake

DAY = 24 * 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Recording:
    client_to_server: bytes
    server_to_client: bytes


def _records(stream: bytes) -> list[tuple[int, bytes, bytes]]:
    deframer = RecordDeframer(max_buffer=1 << 22)
    deframer.feed(stream)
    return [(r.content_type, r.header(), bytes(r.fragment)) for r in deframer]


def _recorded_pump(client: Connection, server: Connection, rec: Recording) -> None:
    for _ in range(20):
        c, s = client.data_to_send(), server.data_to_send()
        if not c and not s:
            return
        rec.client_to_server += c
        rec.server_to_client += s
        if c:
            server.receive_data(c)
        if s:
            client.receive_data(s)


def _setup(
    *, psk_ke: bool
) -> tuple[Clock, TicketKeyManager, MemorySessionStore, Recording, object]:
    clock = Clock()
    keys = TicketKeyManager(
        MemoryTicketKeyStore(), rotation_period=DAY, max_ticket_lifetime=DAY, clock=clock
    )
    scfg = server_config(
        tickets=StatelessTickets(keys), ticket_lifetime=int(DAY), allow_psk_ke=psk_ke
    )
    store = MemorySessionStore()
    # psk_ke: a client that offers resumption without any key exchange.
    ccfg = client_config(session_store=store, psk_modes=(0,) if psk_ke else (1,))
    first_c, first_s = (
        ClientConnection(ccfg, "localhost", clock=clock),
        ServerConnection(scfg, clock=clock),
    )
    first_c.start()
    _recorded_pump(first_c, first_s, Recording(b"", b""))
    rec = Recording(b"", b"")
    clock.now += 60
    client = ClientConnection(ccfg, "localhost", clock=clock)
    server = ServerConnection(scfg, clock=clock)
    client.start()
    _recorded_pump(client, server, rec)
    assert client.info is not None and client.info.resumed
    client.send_data(b"the launch codes are 0000")
    rec.client_to_server += client.data_to_send()
    drain(client), drain(server)
    return clock, keys, store, rec, client.info


def _ticket(rec: Recording) -> bytes:
    (_, _, ch_bytes), *_ = _records(rec.client_to_server)
    ch = decode_handshake(ch_bytes[0], ch_bytes[4:])
    assert isinstance(ch, ClientHello)
    data = ext.get_extension(ch.extensions, ExtensionType.pre_shared_key) or b""
    return ext.decode_pre_shared_key_ch(data).identities[0].identity


def _attack(rec: Recording, tickets: StatelessTickets) -> str:
    """What an attacker with ``tickets`` (the server's ticket keys) learns from ``rec``:
    "no ticket" (cannot open it), "sealed" (PSK alone does not open the handshake) or
    "read" (handshake records decrypted)."""
    (ch_type, _, ch_bytes), *_ = _records(rec.client_to_server)
    assert ch_type == ContentType.handshake
    ch = decode_handshake(ch_bytes[0], ch_bytes[4:])
    assert isinstance(ch, ClientHello)
    offered = ext.decode_pre_shared_key_ch(
        ext.get_extension(ch.extensions, ExtensionType.pre_shared_key) or b""
    )
    state = tickets.redeem(offered.identities[0].identity)
    if state is None:
        return "no ticket"
    server_records = _records(rec.server_to_client)
    sh_bytes = server_records[0][2]
    sh = decode_handshake(sh_bytes[0], sh_bytes[4:])
    assert isinstance(sh, ServerHello)
    params = default_provider().suite_params(sh.cipher_suite)
    assert params is not None
    transcript = Transcript(params.hash_name)
    transcript.update(ch_bytes)
    transcript.update(sh_bytes)
    # Without the (EC)DHE/ML-KEM secret, the best guess is the psk_ke schedule.
    schedule = KeySchedule(params.hash_name, state.psk)
    schedule.enter_handshake(None)
    _, s_hs = schedule.handshake_traffic_secrets(transcript.digest())
    reader = RecordProtector(params, s_hs)
    for content_type, header, fragment in server_records[1:]:
        if content_type != ContentType.application_data:
            continue
        try:
            reader.open(header, fragment)
        except ProtocolError:
            return "sealed"
        return "read"
    return "sealed"


def test_resumed_psk_dhe_ke_recording_stays_sealed_after_keys_leak() -> None:
    clock, keys, _, rec, info = _setup(psk_ke=False)
    assert getattr(info, "group", None) == "X25519MLKEM768"
    tickets = StatelessTickets(keys)
    # Even with the live ticket key, the PSK alone does not open a psk_dhe_ke handshake.
    assert _attack(rec, tickets) == "sealed"
    # Later: the ticket key is retired and destroyed; the attacker gets everything left,
    # including the certificate key (which never encrypted anything in TLS 1.3).
    assert keys.open(_ticket(rec)) is not None
    clock.now += 3 * DAY
    keys.rotate()
    assert pki().server.private_key is not None
    assert keys.open(_ticket(rec)) is None  # the key that sealed the ticket is gone
    assert _attack(rec, tickets) == "no ticket"


def test_psk_ke_recording_is_readable_with_a_live_ticket_key() -> None:
    _, keys, _, rec, info = _setup(psk_ke=True)
    assert getattr(info, "group", "") is None  # no key exchange on this resumption
    assert _attack(rec, StatelessTickets(keys)) == "read"
