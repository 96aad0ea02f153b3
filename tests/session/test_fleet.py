"""A fleet of servers sharing ticket keys and the 0-RTT anti-replay record through a real
Redis: tickets from one server resume on another, and 0-RTT accepted by one is refused by
the others.

Two ``nautilus-tls serve`` processes share one redis-server (started by the fixture) for the
resumption and ticket-reuse cases; the byte-exact replay of a first flight is shown with two
server instances in this process, each with its own connection to the same Redis.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from session.helpers import RedisServer

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.events import DataReceived, EarlyDataReceived
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.session.redis_store import RedisAntiReplay, RedisTicketKeyStore
from nautilus_tls.session.ticket_keys import StatelessTickets, TicketKeyManager
from nautilus_tls.tools.certgen import write_pem_bundle

DEADLINE = 20.0
SESSION_KEY = "fleet.example"  # both servers stand behind one name, as behind a load balancer


class ServeProcess:
    """``nautilus-tls serve`` on an ephemeral loopback port, ended by PID."""

    def __init__(self, certs: dict[str, Path], redis_url: str, prefix: str) -> None:
        del prefix  # the CLI uses the store's default key prefix
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "nautilus_tls", "serve",
                "--host", "127.0.0.1", "--port", "0",
                "--cert", str(certs["server_pem"]), "--key", str(certs["server_key"]),
                "--ticket-store", redis_url, "--early-data", "--json-log", "-q",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.lines: list[dict[str, object]] = []
        self.port = 0
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(DEADLINE) or not self.port:
            self.stop()
            raise RuntimeError("nautilus-tls serve did not start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for count, line in enumerate(self.proc.stdout):
            if count > 10_000:
                break
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                self._ready.set()
            elif line.startswith("{"):
                self.lines.append(json.loads(line))
        self._ready.set()

    def handshakes(self, n: int) -> list[dict[str, object]]:
        deadline = time.monotonic() + DEADLINE
        while len(self.lines) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.lines

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Path]:
    return write_pem_bundle(tmp_path / "certs", "mldsa65", ["localhost", "127.0.0.1"])


@pytest.fixture
def fleet(
    certs: dict[str, Path], redis_server: RedisServer, redis_prefix: str
) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    a = ServeProcess(certs, redis_server.url, redis_prefix)
    try:
        b = ServeProcess(certs, redis_server.url, redis_prefix)
    except BaseException:
        a.stop()
        raise
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _talk(conn: ClientConnection, port: int, message: bytes, expect: int | None = None) -> bytes:
    """Handshake over a real socket, send ``message``, return ``expect`` bytes of echo
    (default ``len(message)``; bounded in time)."""
    want = len(message) if expect is None else expect
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
        sock.settimeout(0.2)
        conn.start()
        sent = False
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and len(received) < want:
            if conn.handshake_complete and not sent:
                conn.send_data(message)
                sent = True
            if out := conn.data_to_send():
                sock.sendall(out)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            conn.receive_data(data)
            while (event := conn.next_event()) is not None:
                if isinstance(event, DataReceived):
                    received += event.data
        conn.close()
        sock.sendall(conn.data_to_send())
    return bytes(received)


def _client_config(certs: dict[str, Path], store: MemorySessionStore) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_file(certs["ca_pem"]), session_store=store)


def test_tickets_from_one_server_resume_on_the_other(
    fleet: tuple[ServeProcess, ServeProcess], certs: dict[str, Path]
) -> None:
    a, b = fleet
    store = MemorySessionStore()
    config = _client_config(certs, store)
    first = ClientConnection(config, "localhost", session_key=SESSION_KEY)
    assert _talk(first, a.port, b"to A") == b"to A"
    assert first.info is not None and not first.info.resumed
    second = ClientConnection(config, "localhost", session_key=SESSION_KEY)
    assert _talk(second, b.port, b"to B") == b"to B"
    assert second.info is not None and second.info.resumed
    logged = b.handshakes(1)
    assert logged and logged[0]["resumed"] is True


def test_early_data_accepted_by_one_server_is_refused_by_the_other(
    fleet: tuple[ServeProcess, ServeProcess], certs: dict[str, Path]
) -> None:
    a, b = fleet
    store = MemorySessionStore()
    config = _client_config(certs, store)
    assert (
        _talk(ClientConnection(config, "localhost", session_key=SESSION_KEY), a.port, b"hi")
        == b"hi"
    )
    ticket = store.take(SESSION_KEY, time.time())
    assert ticket is not None and ticket.max_early_data > 0
    once = MemorySessionStore()
    once.put(SESSION_KEY, ticket)
    early = ClientConnection(
        _client_config(certs, once), "localhost", session_key=SESSION_KEY, early_data=b"pay 5 "
    )
    assert _talk(early, a.port, b"once", expect=10) == b"pay 5 once"  # 0-RTT echoed too
    assert early.info is not None and early.info.early_data == "accepted"
    # The same ticket again (as a replaying attacker or a buggy client would), to server B.
    reuse = MemorySessionStore()
    reuse.put(SESSION_KEY, ticket)
    again = ClientConnection(
        _client_config(certs, reuse), "localhost", session_key=SESSION_KEY, early_data=b"pay 5 "
    )
    assert _talk(again, b.port, b"twice") == b"twice"  # the 0-RTT part was not accepted
    assert again.info is not None and again.info.resumed and again.info.early_data == "rejected"
    assert b.handshakes(1)[0]["early_data"] == "rejected"


def test_byte_exact_replay_to_a_second_server_gets_no_early_data(
    certs: dict[str, Path], redis_server: RedisServer, redis_prefix: str
) -> None:
    def server_config() -> ServerConfig:
        keys = TicketKeyManager(RedisTicketKeyStore(redis_server.url, prefix=redis_prefix + "k:"))
        return ServerConfig(
            certificates=(CertifiedKey.from_files(certs["server_pem"], certs["server_key"]),),
            tickets=StatelessTickets(keys),
            anti_replay=RedisAntiReplay(redis_server.url, prefix=redis_prefix + "r:"),
            max_early_data=1024,
        )

    first_server, second_server = server_config(), server_config()
    store = MemorySessionStore()
    config = _client_config(certs, store)
    client = ClientConnection(config, "localhost", session_key=SESSION_KEY)
    server = ServerConnection(first_server)
    _pump(client, server)
    assert store.take(SESSION_KEY, time.time()) is not None  # a ticket arrived

    _pump(
        ClientConnection(config, "localhost", session_key=SESSION_KEY),
        ServerConnection(first_server),
    )
    client = ClientConnection(config, "localhost", session_key=SESSION_KEY, early_data=b"withdraw")
    client.start()
    flight = client.data_to_send()
    a = ServerConnection(first_server)
    a.receive_data(flight)
    assert [e.data for e in _events(a) if isinstance(e, EarlyDataReceived)] == [b"withdraw"]
    b = ServerConnection(second_server)
    b.receive_data(flight)  # the attacker's copy, sent to another server of the fleet
    assert not [e for e in _events(b) if isinstance(e, EarlyDataReceived)]


def _events(conn: Connection) -> list[object]:
    out = []
    while (e := conn.next_event()) is not None:
        out.append(e)
    return out


def _pump(client: ClientConnection, server: ServerConnection) -> None:
    client.start()
    for _ in range(20):
        c, s = client.data_to_send(), server.data_to_send()
        if not c and not s:
            break
        if c:
            server.receive_data(c)
        if s:
            client.receive_data(s)
    assert client.handshake_complete


def test_ticket_keys_rotate_command_adds_a_current_key(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from nautilus_tls.cli import main

    assert main(["ticket-keys", "rotate", "--ticket-store", redis_server.url]) == 0
    first = capsys.readouterr().out
    assert main(["ticket-keys", "rotate", "--ticket-store", redis_server.url]) == 0
    second = capsys.readouterr().out
    new_key = second.split("new current ticket key ")[1].split()[0]
    assert new_key not in first
    listed = [line.split()[1] for line in second.splitlines() if line.startswith("key ")]
    assert listed[0] == new_key and len(listed) >= 2  # newest first; older keys still decrypt
