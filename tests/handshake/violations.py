"""Forging helpers for the protocol-violation tests (tests/handshake/test_violations_*.py).

Messages are forged from real flights: a test decrypts a peer's flight with a copy of the
receiver's read key, changes, drops, reorders or adds messages, and seals them again with
another copy, so every check behind the record layer is reachable. ``expect_alert`` checks
that the connection fails with the RFC's alert, sent on the wire (decrypted when it went out
encrypted), and stays failed; ``expect_alert_record`` is the first, lighter form some older
tests use (the alert record went out, plaintext or not).
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from typing import Any

import pytest
from certificates import pki
from pairs import client_config, drain, handshake, server_config

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import AlertDescription, ProtocolError, TLSError
from nautilus_tls.events import ConnectionClosed
from nautilus_tls.record.protection import RecordProtector, plaintext_record
from nautilus_tls.wire.enums import ContentType, NamedGroup
from nautilus_tls.wire.messages import ClientHello, Extension, ServerHello, decode_handshake

A = AlertDescription


def _plain_alert(alert: AlertDescription) -> bytes:
    return plaintext_record(ContentType.alert, bytes((2, alert)))


def expect_alert_record(
    conn: Connection, data: bytes, alert: AlertDescription, *, plaintext: bool = True
) -> None:
    with pytest.raises(ProtocolError) as err:
        conn.receive_data(data)
    assert err.value.alert == alert, str(err.value)
    sent = conn.data_to_send()
    if plaintext:
        assert sent.endswith(_plain_alert(alert))
    else:
        assert sent  # an encrypted alert record went out
    assert conn.state == "failed"
    assert any(isinstance(e, ConnectionClosed) and not e.clean for e in drain(conn))
    with pytest.raises(TLSError):
        conn.receive_data(b"\x17\x03\x03\x00\x01\x00")


def client_hello() -> ClientHello:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    record = client.data_to_send()
    msg = decode_handshake(record[5], record[9:])
    assert isinstance(msg, ClientHello)
    return msg


def ch_record(ch: ClientHello) -> bytes:
    return plaintext_record(ContentType.handshake, ch.encode())


def with_extensions(
    ch: ClientHello, change: Callable[[list[Extension]], list[Extension]]
) -> ClientHello:
    return dataclasses.replace(ch, extensions=tuple(change(list(ch.extensions))))


def drop(ext_type: int) -> Callable[[list[Extension]], list[Extension]]:
    return lambda exts: [e for e in exts if e.ext_type != ext_type]


def replace(ext_type: int, data: bytes) -> Callable[[list[Extension]], list[Extension]]:
    return lambda exts: [
        Extension(ext_type=e.ext_type, data=data) if e.ext_type == ext_type else e for e in exts
    ]


def seal_from(conn: Connection, content_type: int, data: bytes) -> bytes:
    write = conn._write  # tests reach in to forge records with the real keys
    assert write is not None
    return write.seal(content_type, data)


HS = ContentType.handshake


CLASSICAL = {"groups": (NamedGroup.x25519,), "key_share_groups": (NamedGroup.x25519,)}


def clone(p: RecordProtector | None) -> RecordProtector:
    """A copy of a protector: same key, same next sequence number."""
    assert p is not None
    q: Any = p
    twin: Any = RecordProtector(q._params, q._secret)
    twin._seq = q._seq
    return twin  # type: ignore[no-any-return]


def records(data: bytes) -> list[bytes]:
    out = []
    i = 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3 : i + 5], "big")
        out.append(data[i : i + 5 + n])
        i += 5 + n
    return out


def messages(data: bytes) -> list[bytes]:
    out = []
    i = 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i + 1 : i + 4], "big")
        out.append(data[i : i + 4 + n])
        i += 4 + n
    return out


def seal_inner(p: RecordProtector, inner: bytes) -> bytes:
    """Seal any TLSInnerPlaintext (any type octet, any size) with ``p``'s key."""
    q: Any = p
    header = struct.pack(">BHH", ContentType.application_data, 0x0303, len(inner) + 16)
    sealed: bytes = q._aead.encrypt(q._nonce(q._seq), inner, header)
    q._seq += 1
    return header + sealed


def read_sealer(conn: Connection) -> Callable[..., bytes]:
    """Seal records as ``conn``'s peer would right now (each argument its own record)."""
    twin = clone(conn._read)

    def seal(*payloads: bytes, content_type: int = HS) -> bytes:
        return b"".join(twin.seal(content_type, p) for p in payloads)

    return seal


def _opened(sent: list[bytes], writers: list[RecordProtector]) -> list[tuple[int, bytes]]:
    """Decrypt what went out, trying each key the connection wrote with."""
    out = []
    for r in sent:
        if r[0] != ContentType.application_data:
            continue
        for w in writers:
            try:
                out.append(w.open(r[:5], r[5:]))
            except ProtocolError:
                continue
            break
        else:
            raise AssertionError("a record under a key the test cannot follow")
    return out


def expect_alert(conn: Connection, data: bytes, alert: AlertDescription) -> None:
    """``data`` makes ``conn`` fail with ``alert``: raised, sent (decrypted if need be) and
    the connection closed for good."""
    writers = [clone(conn._write)] if conn._write is not None else []
    install = conn._install

    def spy(action: Any) -> None:  # keys installed while ``data`` is processed
        install(action)
        if action.direction == "write":
            writers.append(clone(conn._write))

    conn._install = spy  # type: ignore[method-assign]
    with pytest.raises(ProtocolError) as err:
        conn.receive_data(data)
    assert err.value.alert == alert, str(err.value)
    sent = records(conn.data_to_send())
    assert sent, "no alert went out"
    last = sent[-1]
    if last[0] == ContentType.alert:
        assert last[5:] == bytes((2, alert))
    else:
        assert _opened(sent, writers)[-1] == (ContentType.alert, bytes((2, alert)))
    assert conn.state == "failed"
    assert conn._read is None and conn._write is None  # key material dropped
    assert any(isinstance(e, ConnectionClosed) and not e.clean for e in drain(conn))
    with pytest.raises(TLSError):
        conn.receive_data(b"\x17\x03\x03\x00\x01\x00")


@dataclasses.dataclass
class ServerFlight:
    """A client that has processed the ServerHello, and the server's encrypted messages."""

    client: ClientConnection
    server: ServerConnection
    sh: ServerHello
    sh_raw: bytes
    msgs: list[bytes]  # EncryptedExtensions, [CertificateRequest], Certificate, CV, Finished

    def msg(self, msg_type: int) -> bytes:
        return next(m for m in self.msgs if m[0] == msg_type)

    def without(self, *types: int) -> list[bytes]:
        return [m for m in self.msgs if m[0] not in types]

    def replaced(self, msg_type: int, new: bytes) -> list[bytes]:
        return [new if m[0] == msg_type else m for m in self.msgs]


def server_flight(
    ccfg: ClientConfig | None = None,
    scfg: ServerConfig | None = None,
    *,
    clock: Callable[[], float] | None = None,
    server_name: str = "localhost",
) -> ServerFlight:
    client = ClientConnection(ccfg or client_config(), server_name, clock=clock)
    client.start()
    server = ServerConnection(scfg or server_config())
    server.receive_data(client.data_to_send())
    out = records(server.data_to_send())
    plain = [r for r in out if r[0] != ContentType.application_data]
    encrypted = [r for r in out if r[0] == ContentType.application_data]
    client.receive_data(b"".join(plain))
    client.data_to_send()  # its CCS
    reader = clone(client._read)
    data = b"".join(reader.open(r[:5], r[5:])[1] for r in encrypted)
    sh_raw = plain[0][5:]
    sh = decode_handshake(sh_raw[0], sh_raw[4:])
    assert isinstance(sh, ServerHello)
    return ServerFlight(client, server, sh, sh_raw, messages(data))


def fresh_client_and_server_hello(
    ccfg: ClientConfig | None = None, scfg: ServerConfig | None = None
) -> tuple[ClientConnection, ServerHello]:
    """A client waiting for its ServerHello, and the ServerHello a real server sent it."""
    client = ClientConnection(ccfg or client_config(), "localhost")
    client.start()
    server = ServerConnection(scfg or server_config())
    server.receive_data(client.data_to_send())
    first = records(server.data_to_send())[0]
    sh = decode_handshake(first[5], first[9:])
    assert isinstance(sh, ServerHello)
    return client, sh


def sh_record(sh: ServerHello) -> bytes:
    return plaintext_record(HS, sh.encode())


def with_sh_extensions(
    sh: ServerHello, change: Callable[[list[Extension]], list[Extension]]
) -> ServerHello:
    return dataclasses.replace(sh, extensions=tuple(change(list(sh.extensions))))


@dataclasses.dataclass
class ClientFlight:
    """A server waiting for the client's second flight, and that flight's messages."""

    client: ClientConnection
    server: ServerConnection
    msgs: list[bytes]  # [Certificate, CertificateVerify], Finished

    def msg(self, msg_type: int) -> bytes:
        return next(m for m in self.msgs if m[0] == msg_type)


def client_flight(
    ccfg: ClientConfig | None = None, scfg: ServerConfig | None = None
) -> ClientFlight:
    client = ClientConnection(ccfg or client_config(), "localhost")
    client.start()
    server = ServerConnection(scfg or server_config())
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    reader = clone(server._read)
    out = records(client.data_to_send())
    data = b"".join(
        reader.open(r[:5], r[5:])[1] for r in out if r[0] == ContentType.application_data
    )
    return ClientFlight(client, server, messages(data))


def mtls() -> tuple[ClientConfig, ServerConfig]:
    return (
        client_config(client_certificate=pki().client),
        server_config(client_auth="require", client_trust_store=pki().store),
    )


def connected() -> tuple[ClientConnection, ServerConnection]:
    client, server = handshake(client_config(), server_config())
    drain(client)
    drain(server)
    return client, server
