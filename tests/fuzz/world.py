"""A deterministic world for fuzzing: fixed PKI, fixed clock, fixed randomness.

Everything a client or server draws at random (hello randoms, key shares, HRR cookies,
ticket keys and nonces) comes from :class:`DetEntropy`; certificates are Ed25519 leaves under
an ECDSA P-256 CA signed deterministically; the clock is pinned. So a handshake recorded once
replays byte for byte against a fresh peer in another process: the client's whole byte stream
(both hellos, Certificate, CertificateVerify, Finished, application data, KeyUpdate,
close_notify) is valid input for a fresh deterministic server, and the server's for a fresh
deterministic client. Mutations of those streams reach deep into the handshake instead of
dying at the first MAC check.

One limit: ML-KEM encapsulation is always randomized by the backend, so on the *server* side
only classical groups replay past the ServerHello. Post-quantum scenarios still replay fully
on the client side (the client's ML-KEM key is derived from a seed).

Password logins (the ``pake-*`` scenarios) draw randomness inside ``nautilus_tls.pake``, which
has no entropy hook; :mod:`fuzz.pake_world` pins it per connection while that connection runs
(:func:`pake_randomness`) and gives the PAKE server a store whose failed-login counters are
wiped for every new server connection, so these sessions replay byte for byte too.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fuzz.pake_world import PakeRandom, forget_failures, pake_client, pake_server
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.kem import HybridKem, MlKem
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.session.client_store import ClientTicket, MemorySessionStore
from nautilus_tls.session.ticket_keys import StatelessTickets, TicketKeyManager
from nautilus_tls.wire.enums import NamedGroup

FIXED_NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z, inside every certificate's validity
_NOT_BEFORE = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(2036, 1, 1, tzinfo=datetime.UTC)


def fixed_clock() -> float:
    return FIXED_NOW


def _expand(label: bytes, n: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(label + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:n]


class DetEntropy:
    """Randomness from a counter: the same label gives the same sequence every time."""

    def __init__(self, label: bytes, *, server: bool) -> None:
        self._label = label
        self._server = server
        self._calls = 0

    def random_bytes(self, n: int) -> bytes:
        self._calls += 1
        return _expand(self._label + b"/random/" + self._calls.to_bytes(4, "big"), n)

    def private_key_for(self, group: int) -> bytes | None:
        kem = DEFAULT_PROVIDER.kem_for_group(group)
        if kem is None:
            return None
        label = self._label + b"/key/" + group.to_bytes(2, "big")
        if not self._server:
            return _expand(label, kem.private_len)
        # Server side: ML-KEM encapsulation cannot be pinned; a hybrid takes the classical
        # component's private key only.
        if isinstance(kem, MlKem):
            return None
        if isinstance(kem, HybridKem):
            return _expand(label, kem.classical.private_len)
        return _expand(label, kem.private_len)


class DetRandom:
    """``n -> bytes`` for the ticket key manager: stateless, so that a ticket is the same
    bytes however many were issued before in this process (nonce reuse is harmless here:
    nothing in this world is secret)."""

    def __init__(self, label: bytes) -> None:
        self._label = label

    def __call__(self, n: int) -> bytes:
        return _expand(self._label + n.to_bytes(4, "big"), n)


class AlwaysFresh:
    """Anti-replay that never remembers: every fuzz execution sees 0-RTT for the first time."""

    def first_use(self, key: bytes, ttl: float) -> bool:
        return True


@dataclass(frozen=True)
class Pki:
    ca_der: bytes
    server: CertifiedKey
    client: CertifiedKey

    @property
    def store(self) -> TrustStore:
        return TrustStore.from_certificates([self.ca_der])


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Nautilus TLS fuzzing"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@cache
def pki() -> Pki:
    """CA (ECDSA P-256) and Ed25519 server and client leaves, the same bytes every run."""
    ca_key = ec.derive_private_key(
        int.from_bytes(_expand(b"fuzz/ca", 32), "big") >> 2, ec.SECP256R1()
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Nautilus fuzzing CA"))
        .issuer_name(_name("Nautilus fuzzing CA"))
        .public_key(ca_key.public_key())
        .serial_number(1001)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    )

    def leaf(label: bytes, name: str, serial: int, client: bool) -> CertifiedKey:
        key = ed25519.Ed25519PrivateKey.from_private_bytes(_expand(label, 32))
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(_NOT_BEFORE)
            .not_valid_after(_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
        )
        return CertifiedKey(chain=(cert.public_bytes(serialization.Encoding.DER),), private_key=key)

    return Pki(
        ca_der=ca.public_bytes(serialization.Encoding.DER),
        server=leaf(b"fuzz/server", "localhost", 1002, client=False),
        client=leaf(b"fuzz/client", "client.fuzz.test", 1003, client=True),
    )


@cache
def ticket_manager() -> TicketKeyManager:
    return TicketKeyManager(clock=fixed_clock, random=DetRandom(b"fuzz/ticket-keys"))


class FixedTicketStore:
    """A client session store that offers the same ticket on every connection."""

    def __init__(self) -> None:
        self.ticket: ClientTicket | None = None

    def put(self, key: str, ticket: ClientTicket) -> None:
        if self.ticket is None:
            self.ticket = ticket

    def take(self, key: str, now: float) -> ClientTicket | None:
        return self.ticket


CLASSICAL = (NamedGroup.x25519,)


@dataclass(frozen=True)
class Scenario:
    """One kind of handshake: the two configurations and what the client does."""

    name: str
    client: ClientConfig
    server: ServerConfig
    early_data: bytes | None = None
    needs_ticket: bool = False


def _client(**kw: object) -> ClientConfig:
    base: dict[str, object] = {
        "trust_store": pki().store,
        "keylog_file": None,
        "session_store": None,
        "groups": CLASSICAL,
        "key_share_groups": CLASSICAL,
    }
    base.update(kw)
    return ClientConfig(**base)  # type: ignore[arg-type]


def _server(**kw: object) -> ServerConfig:
    base: dict[str, object] = {
        "certificates": (pki().server,),
        "keylog_file": None,
        "tickets": StatelessTickets(ticket_manager()),
        "anti_replay": AlwaysFresh(),
        "session_tickets": 1,
    }
    base.update(kw)
    return ServerConfig(**base)  # type: ignore[arg-type]


@cache
def scenarios() -> tuple[Scenario, ...]:
    pq = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)
    return (
        Scenario("full", _client(), _server()),
        Scenario(
            "full-pq",
            _client(groups=pq, key_share_groups=pq[:1]),
            _server(groups=pq),
        ),
        Scenario(
            "hrr",
            _client(groups=(NamedGroup.x25519, NamedGroup.secp256r1)),
            _server(groups=(NamedGroup.secp256r1,)),
        ),
        Scenario(
            "mtls",
            _client(client_certificate=pki().client),
            _server(client_auth="require", client_trust_store=pki().store),
        ),
        Scenario(
            "resume",
            _client(session_store=FixedTicketStore()),
            _server(),
            needs_ticket=True,
        ),
        Scenario(
            "early",
            _client(session_store=FixedTicketStore()),
            _server(max_early_data=1024),
            early_data=b"GET /0rtt HTTP/1.1\r\n\r\n",
            needs_ticket=True,
        ),
        # 0-RTT sent, then a HelloRetryRequest: the early records are skipped, the second
        # ClientHello goes in plaintext, and the resumed handshake finishes in 1-RTT.
        Scenario(
            "early-hrr",
            _client(
                groups=(NamedGroup.x25519, NamedGroup.secp256r1),
                session_store=FixedTicketStore(),
            ),
            _server(groups=(NamedGroup.secp256r1,), max_early_data=1024),
            early_data=b"GET /0rtt HTTP/1.1\r\n\r\n",
            needs_ticket=True,
        ),
        # Password logins (nautilus_tls.pake, docs/pake.md), appended so that the scenario
        # bytes of older regression inputs keep their meaning. PAKE alone: a server without a
        # certificate, proved by the login's answer in the ServerHello.
        Scenario(
            "pake-opaque",
            _client(pake=pake_client("opaque")),
            _server(certificates=(), pake_store=pake_server(fixed_clock)),
        ),
        Scenario(
            "pake-spake2plus",
            _client(pake=pake_client("spake2plus")),
            _server(certificates=(), pake_store=pake_server(fixed_clock)),
        ),
        # PAKE next to a certificate, which the client requires and verifies as well.
        Scenario(
            "pake-cert",
            _client(pake=pake_client("opaque", require_certificate=True)),
            _server(pake_store=pake_server(fixed_clock)),
        ),
    )


def new_client(sc: Scenario) -> ClientConnection:
    return ClientConnection(
        sc.client,
        "localhost",
        early_data=sc.early_data,
        entropy=DetEntropy(b"fuzz/client/" + sc.name.encode(), server=False),
        clock=fixed_clock,
    )


def pake_randomness(sc: Scenario, role: str) -> PakeRandom:
    """The PAKE randomness of one connection of ``role`` ("client" or "server"): enter its
    ``active()`` around every call into that connection (harmless in other scenarios)."""
    return PakeRandom(b"fuzz/" + role.encode() + b"/" + sc.name.encode())


def new_server(sc: Scenario) -> ServerConnection:
    forget_failures(sc.server.pake_store)
    return ServerConnection(
        sc.server,
        entropy=DetEntropy(b"fuzz/server/" + sc.name.encode(), server=True),
        clock=fixed_clock,
    )


@dataclass(frozen=True)
class _Pair:
    """A live client and server, each with its own PAKE randomness."""

    client: ClientConnection
    server: ServerConnection
    client_random: PakeRandom
    server_random: PakeRandom

    @classmethod
    def of(cls, sc: Scenario, client: ClientConnection) -> _Pair:
        random = pake_randomness(sc, "client")
        with random.active():
            client.start()
        return cls(client, new_server(sc), random, pake_randomness(sc, "server"))


def _exchange(pair: _Pair, c2s: list[bytes], s2c: list[bytes]) -> None:
    client, server = pair.client, pair.server
    for _ in range(50):
        moved = False
        data = client.data_to_send()
        if data:
            moved = True
            c2s.append(data)
            with pair.server_random.active():
                server.receive_data(data)
        data = server.data_to_send()
        if data:
            moved = True
            s2c.append(data)
            with pair.client_random.active():
                client.receive_data(data)
        if not moved:
            return
    raise AssertionError("exchange did not settle")


def _drain(conn: Connection) -> None:
    while conn.next_event() is not None:
        pass


def record_session(sc: Scenario) -> tuple[bytes, bytes]:
    """Run the scenario between a live client and server; ``(client bytes, server bytes)``.

    After the handshake both sides send data, the client asks for a KeyUpdate, the server
    sends one of its own, and both close with close_notify.
    """
    if sc.needs_ticket:
        ensure_ticket(sc)
    pair = _Pair.of(sc, new_client(sc))
    client, server = pair.client, pair.server
    c2s: list[bytes] = []
    s2c: list[bytes] = []
    steps: list[Callable[[], None]] = [
        lambda: None,
        lambda: client.send_data(b"ping from the client"),
        lambda: server.send_data(b"pong from the server"),
        lambda: client.request_key_update(request_peer=True),
        lambda: client.send_data(b"after the key update"),
        lambda: server.request_key_update(request_peer=False),
        lambda: server.send_data(b"x" * 300),
        client.close,
        server.close,
    ]
    for step in steps:
        step()
        _exchange(pair, c2s, s2c)
    _drain(client)
    _drain(server)
    if client.state != "closed" or server.state != "closed":
        raise AssertionError(f"{sc.name}: recorded session did not close cleanly")
    return b"".join(c2s), b"".join(s2c)


def ensure_ticket(sc: Scenario) -> None:
    """Give the scenario's client store a ticket from a deterministic full handshake."""
    store = sc.client.session_store
    if not isinstance(store, FixedTicketStore) or store.ticket is not None:
        return
    first = dataclasses.replace(sc, name=sc.name + "/first", early_data=None, needs_ticket=False)
    recording = dataclasses.replace(sc.client, session_store=MemorySessionStore())
    client = ClientConnection(
        recording,
        "localhost",
        entropy=DetEntropy(b"fuzz/client/" + first.name.encode(), server=False),
        clock=fixed_clock,
    )
    _exchange(_Pair.of(first, client), [], [])
    taken = (
        recording.session_store.take("localhost", FIXED_NOW) if recording.session_store else None
    )
    if taken is None:
        raise AssertionError("the deterministic full handshake left no ticket")
    store.ticket = taken
