"""Secrets never show, and are dropped when a connection ends (issue 7).

The known secrets of real handshakes (full with client certificates, resumption, 0-RTT,
KeyUpdate, a failure) are collected from the key log callback, the session store (PSKs),
the ticket key store, the certificates' private keys and the ephemeral key-exchange private
keys (pinned through injected entropy). Then:

* ``repr()`` and ``str()`` of every library object reachable from the connections, configs,
  states, events and errors, and every log record at DEBUG, must contain none of them, in
  hex (either case) or raw;
* a closed or failed connection must no longer reach any of them;
* secret comparisons in src use ``hmac.compare_digest`` (grep-based).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import os
import re
import stat
import types
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from certificates import Pki, pki
from cryptography.hazmat.primitives import serialization
from pairs import client_config, drain, pump, server_config
from pairs import handshake as pair_handshake

from nautilus_tls.aio import connect, start_server
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.kem import HybridKem, MlKem
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER
from nautilus_tls.errors import ProtocolError, TLSError
from nautilus_tls.events import Event
from nautilus_tls.session.client_store import ClientTicket, MemorySessionStore
from nautilus_tls.session.ticket_keys import StatelessTickets, TicketKeyManager
from nautilus_tls.sync import TLSListener, TLSSocket

SRC = Path(__file__).resolve().parents[1] / "src" / "nautilus_tls"


class Secrets:
    def __init__(self) -> None:
        self.values: set[bytes] = set()

    def add(self, value: bytes) -> None:
        if len(value) >= 16:
            self.values.add(bytes(value))

    def keylog(self, line: str) -> None:
        label, _random, secret = line.split()
        assert label.isupper()
        self.add(bytes.fromhex(secret))

    def needles(self) -> Iterator[tuple[bytes, str]]:
        """Hex (both cases) of 16-byte windows of each secret, and its raw form."""
        for value in self.values:
            for i in range(0, len(value) - 15, 8):
                window = value[i : i + 16]
                yield value, window.hex()
                yield value, window.hex().upper()

    def find_in(self, text: str) -> bytes | None:
        raw = text.encode("latin-1", "ignore")
        for value, needle in self.needles():
            if needle in text:
                return value
        for value in self.values:
            if value[:16] in raw:
                return value
        return None


class PinnedEntropy:
    """System randomness, but key-exchange private keys we know (to look for them)."""

    def __init__(self, secrets: Secrets, *, server: bool) -> None:
        self._secrets = secrets
        self._server = server
        self._n = 0

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)

    def private_key_for(self, group: int) -> bytes | None:
        kem = DEFAULT_PROVIDER.kem_for_group(group)
        if kem is None:
            return None
        length = kem.private_len
        if self._server:  # the server pins the classical part only (ML-KEM is randomized)
            if isinstance(kem, MlKem):
                return None
            if isinstance(kem, HybridKem):
                length = kem.classical.private_len
        self._n += 1
        private = hashlib.shake_256(b"pinned %d %d" % (self._n, self._server)).digest(length)
        self._secrets.add(private)
        return private


def _private_key_bytes(key: Any) -> bytes:
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def library_objects(roots: Iterable[object]) -> Iterator[object]:
    """Every object of this library reachable from ``roots`` (plus the roots)."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(obj))
        module = type(obj).__module__ or ""
        if module.startswith("nautilus_tls") or isinstance(obj, (list, tuple, dict, set)):
            if module.startswith("nautilus_tls"):
                yield obj
            stack.extend(gc.get_referents(obj))


def reachable_bytes(root: object, stop: tuple[type, ...]) -> Iterator[bytes]:
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType, *stop)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (bytes, bytearray)):
            yield bytes(obj)
            continue
        stack.extend(gc.get_referents(obj))


def assert_clean(texts: Iterable[str], secrets: Secrets, what: str) -> None:
    for text in texts:
        found = secrets.find_in(text)
        assert found is None, f"{what} shows a secret: {text[:300]!r}"


def texts_of(objects: Iterable[object]) -> Iterator[str]:
    for obj in objects:
        yield repr(obj)
        yield str(obj)
        if isinstance(obj, BaseException):
            yield from (str(a) for a in obj.args)


# --- a world of handshakes with known secrets ---------------------------------------------------


class World:
    def __init__(self) -> None:
        self.secrets = Secrets()
        p = pki()
        for ck in (p.server, p.client):
            self.secrets.add(_private_key_bytes(ck.private_key))
        self.store = MemorySessionStore()
        self.tickets = TicketKeyManager()
        self.client_cfg = client_config(
            client_certificate=p.client,
            session_store=self.store,
            keylog_callback=self.secrets.keylog,
        )
        self.server_cfg = server_config(
            client_auth="require",
            client_trust_store=p.store,
            keylog_callback=self.secrets.keylog,
            tickets=StatelessTickets(self.tickets),
            max_early_data=1024,
        )
        self.objects: list[object] = [self.client_cfg, self.server_cfg, self.store, self.tickets]
        self.connections: list[Connection] = []

    def pair(self, early: bytes | None = None) -> tuple[ClientConnection, ServerConnection]:
        client = ClientConnection(
            self.client_cfg,
            "localhost",
            early_data=early,
            entropy=PinnedEntropy(self.secrets, server=False),
        )
        server = ServerConnection(self.server_cfg, entropy=PinnedEntropy(self.secrets, server=True))
        self.connections += [client, server]
        client.start()
        # Look at the states along the way, not only at the end.
        for _ in range(20):
            moved = False
            for src, dst in ((client, server), (server, client)):
                data = src.data_to_send()
                if data:
                    moved = True
                    dst.receive_data(data)
                    self.objects += list(library_objects([client, server]))
            if not moved:
                break
        return client, server

    def collect_psks(self) -> None:
        # What the store holds now (tickets are taken as they are used).
        for obj in library_objects([self.store]):
            if isinstance(obj, ClientTicket):
                self.secrets.add(obj.psk)
        ticket_keys = self.tickets.store.keys  # a TicketKeyStore, not a dict
        for key in ticket_keys():
            self.secrets.add(key.secret)


@pytest.fixture(scope="module")
def world() -> World:
    w = World()
    client, server = w.pair()
    w.collect_psks()
    client.send_data(b"hello")
    client.request_key_update(request_peer=True)
    pump(client, server)
    w.objects += drain(client) + drain(server)
    resumed_client, resumed_server = w.pair(early=b"0-RTT hello")
    assert resumed_client.info is not None and resumed_client.info.resumed
    w.objects += drain(resumed_client) + drain(resumed_server)
    w.collect_psks()
    # A failure: a tampered record.
    bad_client, bad_server = w.pair()
    bad_client.send_data(b"x")
    record = bytearray(bad_client.data_to_send())
    record[-1] ^= 1
    with pytest.raises(ProtocolError) as err:
        bad_server.receive_data(bytes(record))
    w.objects += [err.value, *drain(bad_server)]
    for conn in (client, server, resumed_client, resumed_server):
        w.objects.append(conn.info)
    assert len(w.secrets.values) >= 20
    return w


# --- repr, str, events, errors, logs -----------------------------------------------------------


def test_secrets_were_collected(world: World) -> None:
    assert any(len(v) == 48 for v in world.secrets.values)  # SHA-384 traffic secrets


def test_repr_and_str_show_no_secret(world: World) -> None:
    objects = list(library_objects([*world.objects, *world.connections]))
    assert any(isinstance(o, Event) for o in objects)
    assert any(type(o).__name__.startswith("Expect") for o in objects)  # handshake states
    assert_clean(texts_of(objects), world.secrets, "repr/str")


def test_error_messages_show_no_secret(world: World) -> None:
    errors: list[BaseException] = []
    for mutate in range(0, 1500, 37):
        client, server = world.pair()
        client.send_data(b"payload")
        client.request_key_update()
        data = bytearray(client.data_to_send())
        data[mutate % len(data)] ^= 0x40
        try:
            server.receive_data(bytes(data))
            server.receive_data(b"")
        except TLSError as exc:
            errors.append(exc)
            errors.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)
    assert errors
    assert_clean(texts_of(errors), world.secrets, "an error message")


def test_logs_at_debug_show_no_secret(
    world: World, tls_pki: Pki, other_pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = world.secrets

    async def main() -> None:
        cfg = tls_pki.server_config(keylog_callback=secrets.keylog)
        server = await start_server(lambda r, w: None, "127.0.0.1", 0, config=cfg)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await connect(
            "127.0.0.1",
            port,
            config=tls_pki.client_config(keylog_callback=secrets.keylog),
            server_name="localhost",
        )
        writer.close()
        with pytest.raises(TLSError):  # a failed handshake is logged by the server
            await connect(
                "127.0.0.1", port, config=other_pki.client_config(), server_name="localhost"
            )
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    with TLSListener("127.0.0.1", 0, tls_pki.server_config(keylog_callback=secrets.keylog)) as lst:
        import threading

        def accept() -> None:
            with contextlib.suppress(TLSError):
                lst.accept(timeout=10).close()

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        with pytest.raises(TLSError):
            TLSSocket.connect(
                lst.address, config=other_pki.client_config(), server_name="localhost"
            )
        t.join(10)
    texts = [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    assert any("failed" in t for t in texts)  # the failures were logged
    assert_clean(texts, secrets, "a log record")


# --- key material is dropped when the connection ends ----------------------------------------------


def _assert_forgot(conn: Connection, secrets: Secrets) -> None:
    assert conn._read is None and conn._write is None
    leaked = [
        b for b in reachable_bytes(conn, stop=(ClientConfig, ServerConfig)) if b in secrets.values
    ]
    assert not leaked, f"{conn!r} still reaches {len(leaked)} secret(s)"
    with pytest.raises(ProtocolError):
        conn.export_keying_material(b"label", None, 32)


def test_connections_drop_key_material_after_close(world: World) -> None:
    client, server = world.pair()
    assert any(b in world.secrets.values for b in reachable_bytes(client, (ClientConfig,)))
    client.close()
    pump(client, server)
    server.close()
    pump(client, server)
    assert client.state == server.state == "closed"
    _assert_forgot(client, world.secrets)
    _assert_forgot(server, world.secrets)


def test_connections_drop_key_material_after_failure(world: World) -> None:
    client, server = world.pair()
    client.send_data(b"x")
    record = bytearray(client.data_to_send())
    record[-1] ^= 1
    with pytest.raises(ProtocolError):
        server.receive_data(bytes(record))
    _assert_forgot(server, world.secrets)
    with pytest.raises(ProtocolError):
        client.receive_data(server.data_to_send())  # the alert
    assert client.state == "failed"
    _assert_forgot(client, world.secrets)


def test_connection_drops_key_material_at_end_of_stream_without_close_notify(
    world: World,
) -> None:
    _client, server = world.pair()
    server.receive_data(b"")
    assert server.state == "failed"
    _assert_forgot(server, world.secrets)


def test_connection_drops_key_material_when_aborted(world: World) -> None:
    client, _server = world.pair()
    client.abort()
    _assert_forgot(client, world.secrets)


# --- secret comparisons use hmac.compare_digest ---------------------------------------------------

_SECRETISH = re.compile(
    r"\b\w*(verify_data|binder|mac|tag|psk|secret|cookie|expected|finished_key)\w*\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(r"(==|!=)")
# Comparisons of non-secret values that happen to match the pattern.
_ALLOWED = re.compile(
    r"len\(|msg_type|HandshakeType|is None|is not None|_public\(\)|key_id ==|created_at =="
    r"|\.hash_name|mode|_len\b|suite\b|\.group\b|lifetime|\b0\b|\bb\"\"|DATAGRAM_SIZE|_first_inner_tag\(",
)


def test_secret_comparisons_use_compare_digest() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if _COMPARISON.search(code) and _SECRETISH.search(code) and not _ALLOWED.search(code):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not offenders, "compare secrets with hmac.compare_digest:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("module", "what"),
    [
        ("handshake/common.py", "verify_data"),  # Finished, both sides (check_finished)
        ("handshake/server.py", "binders"),  # PSK binder
        ("handshake/server.py", "cookie"),  # HRR cookie
    ],
)
def test_known_secret_checks_use_compare_digest(module: str, what: str) -> None:
    text = (SRC / module).read_text()
    assert re.search(rf"compare_digest\([^)]*{what}", text), f"{module}: {what}"


# --- key log files (issue 11 item 9) ------------------------------------------------------------


def _keylog_handshake(server_kw: dict[str, Any], client_kw: dict[str, Any]) -> None:
    client, server = pair_handshake(client_config(**client_kw), server_config(**server_kw))
    assert client.handshake_complete and server.handshake_complete


def test_server_ignores_sslkeylogfile_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    assert server_config().keylog_file is None
    _keylog_handshake({}, {"keylog_file": str(tmp_path / "client.log")})
    assert not keylog.exists()


def test_server_honours_sslkeylogfile_when_opted_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    _keylog_handshake(
        {"keylog_from_environment": True}, {"keylog_file": str(tmp_path / "client.log")}
    )
    assert "SERVER_TRAFFIC_SECRET_0" in keylog.read_text()


def test_client_honours_sslkeylogfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    assert client_config().keylog_file == str(keylog)


def test_keylog_file_is_created_owner_only(tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    old = os.umask(0o022)
    try:
        _keylog_handshake({"keylog_file": str(keylog)}, {})
    finally:
        os.umask(old)
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600


def test_keylog_file_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keylog = tmp_path / "keys.log"
    with caplog.at_level(logging.WARNING, logger="nautilus_tls.keylog"):
        _keylog_handshake({"keylog_file": str(keylog)}, {})
        _keylog_handshake({"keylog_file": str(keylog)}, {})
    warnings = [r for r in caplog.records if r.name == "nautilus_tls.keylog"]
    assert len(warnings) == 1
    assert str(keylog) in warnings[0].getMessage()
    assert keylog.read_text().count("SERVER_TRAFFIC_SECRET_0") == 2


@pytest.mark.parametrize("module", ["handshake/client.py", "handshake/server.py"])
def test_finished_is_checked_by_the_shared_constant_time_check(module: str) -> None:
    assert "check_finished(fin," in (SRC / module).read_text()
