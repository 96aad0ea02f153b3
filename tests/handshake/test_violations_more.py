"""Protocol violations, the rest of issue 7's list: every item ends the connection with the
RFC's alert, which is checked on the wire (decrypted when it went out encrypted), and leaves
the connection failed (a ConnectionClosed(clean=False) event, later input refused).

Messages are forged from real flights: the test decrypts a peer's flight with a copy of the
receiver's read key, changes, drops, reorders or adds messages, and seals them again with
another copy, so every check behind the record layer is reachable. Each section names the
item of the issue it covers; tests/handshake/test_violations.py has the first part.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from typing import Any

import pytest
from certificates import CLIENT_NAME, pki
from handshake.test_violations import ch_record, client_hello, drop, replace, with_extensions
from pairs import client_config, drain, handshake, pump, server_config

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.errors import AlertDescription, ConnectionClosedError, ProtocolError, TLSError
from nautilus_tls.events import ConnectionClosed, DataReceived, HandshakeCompleted
from nautilus_tls.record.protection import RecordProtector, plaintext_record
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType, NamedGroup
from nautilus_tls.wire.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Extension,
    Finished,
    NewSessionTicket,
    ServerHello,
    decode_handshake,
)

A = AlertDescription
HS = ContentType.handshake
CLASSICAL = {"groups": (NamedGroup.x25519,), "key_share_groups": (NamedGroup.x25519,)}

# --- forging helpers ---------------------------------------------------------------------------


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


# --- wrong message order -------------------------------------------------------------------------


def test_client_rejects_finished_instead_of_server_hello() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    client.data_to_send()
    expect_alert(
        client, plaintext_record(HS, Finished(verify_data=bytes(48)).encode()), A.unexpected_message
    )


def test_client_rejects_certificate_before_encrypted_extensions() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(f.msg(HandshakeType.certificate), *f.msgs), A.unexpected_message)


def test_client_rejects_finished_before_certificate() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(f.msg(HandshakeType.encrypted_extensions), f.msg(HandshakeType.finished)),
        A.unexpected_message,
    )


def test_client_rejects_missing_certificate_verify() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.without(HandshakeType.certificate_verify)), A.unexpected_message)


def test_client_rejects_new_session_ticket_during_handshake() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    nst = NewSessionTicket(
        ticket_lifetime=60, ticket_age_add=0, ticket_nonce=b"\x00", ticket=b"t"
    ).encode()
    expect_alert(
        f.client,
        seal(f.msg(HandshakeType.encrypted_extensions), nst),
        A.unexpected_message,
    )


def test_client_rejects_second_server_hello() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(f.sh_raw), A.unexpected_message)


def test_server_rejects_finished_before_client_certificate() -> None:
    f = client_flight(*mtls())
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(f.msg(HandshakeType.finished)), A.unexpected_message)


def test_server_rejects_certificate_verify_before_certificate() -> None:
    f = client_flight(*mtls())
    seal = read_sealer(f.server)
    expect_alert(
        f.server,
        seal(f.msg(HandshakeType.certificate_verify), f.msg(HandshakeType.certificate)),
        A.unexpected_message,
    )


def test_server_rejects_end_of_early_data_without_early_data() -> None:
    f = client_flight()
    seal = read_sealer(f.server)
    expect_alert(
        f.server, seal(bytes((HandshakeType.end_of_early_data, 0, 0, 0))), A.unexpected_message
    )


def test_server_rejects_unknown_handshake_message_type() -> None:
    expect_alert(
        ServerConnection(server_config()),
        plaintext_record(HS, bytes((99, 0, 0, 1, 0))),
        A.unexpected_message,
    )


# --- duplicate extensions ------------------------------------------------------------------------


def test_client_rejects_duplicate_extension_in_server_hello() -> None:
    client, sh = fresh_client_and_server_hello()
    sh = with_sh_extensions(sh, lambda e: [*e, e[0]])
    expect_alert(client, sh_record(sh), A.illegal_parameter)


def test_client_rejects_duplicate_extension_in_encrypted_extensions() -> None:
    f = server_flight()
    ee = EncryptedExtensions(extensions=(Extension(ExtensionType.server_name, b""),) * 2).encode()
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.encrypted_extensions, ee)), A.illegal_parameter
    )


def test_server_rejects_duplicate_extension_in_client_certificate_entry() -> None:
    f = client_flight(*mtls())
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    sct = Extension(ExtensionType.signed_certificate_timestamp, b"\x00\x00")
    entry = CertificateEntry(cert.certificate_list[0].cert_data, (sct, sct))
    forged = dataclasses.replace(cert, certificate_list=(entry,)).encode()
    expect_alert(f.server, read_sealer(f.server)(forged), A.illegal_parameter)


# --- extensions in the wrong message ----------------------------------------------------------


def test_client_rejects_key_share_in_encrypted_extensions() -> None:
    f = server_flight()
    ee = EncryptedExtensions(extensions=(Extension(ExtensionType.key_share, b"\x00\x1d\x00\x00"),))
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(*f.replaced(HandshakeType.encrypted_extensions, ee.encode())),
        A.illegal_parameter,
    )


def test_client_rejects_supported_groups_in_server_hello() -> None:
    client, sh = fresh_client_and_server_hello()
    groups = Extension(ExtensionType.supported_groups, ext.encode_supported_groups((29,)))
    expect_alert(
        client, sh_record(with_sh_extensions(sh, lambda e: [*e, groups])), A.illegal_parameter
    )


def test_client_rejects_cookie_in_server_hello() -> None:
    client, sh = fresh_client_and_server_hello()
    cookie = Extension(ExtensionType.cookie, ext.encode_cookie(b"c"))
    expect_alert(
        client, sh_record(with_sh_extensions(sh, lambda e: [*e, cookie])), A.illegal_parameter
    )


def test_server_rejects_oid_filters_in_client_hello() -> None:
    ch = with_extensions(
        client_hello(), lambda e: [Extension(ExtensionType.oid_filters, b"\x00\x00"), *e]
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_client_rejects_supported_groups_in_certificate_entry() -> None:
    f = server_flight()
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    bad = Extension(ExtensionType.supported_groups, ext.encode_supported_groups((29,)))
    entry = CertificateEntry(cert.certificate_list[0].cert_data, (bad,))
    forged = dataclasses.replace(cert, certificate_list=(entry,)).encode()
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.illegal_parameter
    )


# --- unknown and GREASE values ---------------------------------------------------------------------


def _greased(ch: ClientHello) -> ClientHello:
    def change(exts: list[Extension]) -> list[Extension]:
        out = [Extension(0x0A0A, b""), Extension(0xFEED, b"unknown")]
        for e in exts:
            if e.ext_type == ExtensionType.supported_groups:
                groups = ext.decode_supported_groups(e.data)
                e = Extension(e.ext_type, ext.encode_supported_groups((0x1A1A, *groups)))
            elif e.ext_type == ExtensionType.signature_algorithms:
                schemes = ext.decode_signature_algorithms(e.data)
                e = Extension(e.ext_type, ext.encode_signature_algorithms((0x2A2A, *schemes)))
            elif e.ext_type == ExtensionType.supported_versions:
                e = Extension(e.ext_type, ext.encode_supported_versions_ch((0x3A3A, 0x0304)))
            elif e.ext_type == ExtensionType.key_share:
                shares = ext.decode_key_share_ch(e.data)
                grease = ext.KeyShareEntry(group=0x1A1A, key_exchange=b"\x00")
                e = Extension(e.ext_type, ext.encode_key_share_ch((grease, *shares)))
            elif e.ext_type == ExtensionType.psk_key_exchange_modes:
                e = Extension(e.ext_type, ext.encode_psk_key_exchange_modes((0x4A, 1)))
            out.append(e)
        return out

    return dataclasses.replace(
        with_extensions(ch, change), cipher_suites=(0x0A0A, *ch.cipher_suites)
    )


def test_server_ignores_grease_and_unknown_values_in_client_hello() -> None:
    server = ServerConnection(server_config())
    server.receive_data(ch_record(_greased(client_hello())))
    out = records(server.data_to_send())
    assert out[0][0] == HS  # a ServerHello, not an alert
    sh = decode_handshake(out[0][5], out[0][9:])
    assert isinstance(sh, ServerHello) and sh.cipher_suite != 0x0A0A
    assert server.state == "handshaking"


def test_client_rejects_unknown_extension_in_server_hello() -> None:
    client, sh = fresh_client_and_server_hello()
    unknown = Extension(0xFEED, b"")
    expect_alert(
        client, sh_record(with_sh_extensions(sh, lambda e: [*e, unknown])), A.unsupported_extension
    )


def test_client_rejects_unsolicited_extension_in_encrypted_extensions() -> None:
    f = server_flight()
    ee = EncryptedExtensions(extensions=(Extension(0xFEED, b""),)).encode()
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(*f.replaced(HandshakeType.encrypted_extensions, ee)),
        A.unsupported_extension,
    )


def test_client_rejects_grease_cipher_suite_in_server_hello() -> None:
    client, sh = fresh_client_and_server_hello()
    expect_alert(
        client, sh_record(dataclasses.replace(sh, cipher_suite=0x0A0A)), A.illegal_parameter
    )


def test_client_rejects_grease_version_in_server_hello() -> None:
    client, sh = fresh_client_and_server_hello()
    sh = with_sh_extensions(
        sh, replace(ExtensionType.supported_versions, ext.encode_supported_versions_sh(0x3A3A))
    )
    expect_alert(client, sh_record(sh), A.illegal_parameter)


def test_client_rejects_grease_group_in_server_hello() -> None:
    client, sh = fresh_client_and_server_hello()
    share = ext.KeyShareEntry(group=0x1A1A, key_exchange=b"\x01" * 32)
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(share)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


def test_client_ignores_unknown_extension_in_new_session_ticket() -> None:
    client, server = connected()
    nst = NewSessionTicket(
        ticket_lifetime=60,
        ticket_age_add=1,
        ticket_nonce=b"\x01",
        ticket=b"opaque",
        extensions=(Extension(0x0A0A, b""), Extension(0xFEED, b"x")),
    ).encode()
    assert server._write is not None
    client.receive_data(server._write.seal(HS, nst))
    assert client.state == "connected"


def test_rejects_unknown_record_content_type() -> None:
    expect_alert(
        ServerConnection(server_config()),
        struct.pack(">BHH", 99, 0x0303, 1) + b"\x00",
        A.unexpected_message,
    )


def test_rejects_unknown_inner_content_type() -> None:
    _client, server = connected()
    expect_alert(server, seal_inner(clone(server._read), b"data\x63"), A.unexpected_message)


# --- missing mandatory extensions --------------------------------------------------------------


def test_client_rejects_server_hello_without_key_share() -> None:
    client, sh = fresh_client_and_server_hello()
    expect_alert(
        client,
        sh_record(with_sh_extensions(sh, drop(ExtensionType.key_share))),
        A.missing_extension,
    )


def test_server_rejects_pre_shared_key_without_psk_key_exchange_modes() -> None:
    ccfg = client_config(session_store=MemorySessionStore())
    scfg = server_config()
    handshake(ccfg, scfg)  # leaves a ticket
    client = ClientConnection(ccfg, "localhost")
    client.start()
    record = client.data_to_send()
    ch = decode_handshake(record[5], record[9:])
    assert isinstance(ch, ClientHello)
    ch = with_extensions(ch, drop(ExtensionType.psk_key_exchange_modes))
    expect_alert(ServerConnection(scfg), ch_record(ch), A.missing_extension)


def test_client_rejects_certificate_request_without_signature_algorithms() -> None:
    ccfg, scfg = mtls()
    f = server_flight(ccfg, scfg)
    cr = CertificateRequest(certificate_request_context=b"", extensions=()).encode()
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate_request, cr)), A.missing_extension
    )


# --- key_share for a group not in supported_groups; HRR choices -----------------------------------


def test_client_rejects_key_share_for_group_it_did_not_offer() -> None:
    client, sh = fresh_client_and_server_hello(client_config(**CLASSICAL))
    share = ext.KeyShareEntry(group=NamedGroup.secp256r1, key_exchange=b"\x04" + b"\x01" * 64)
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(share)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


def _hrr(client: ClientConnection, scfg: ServerConfig) -> ServerHello:
    server = ServerConnection(scfg)
    server.receive_data(client.data_to_send())
    first = records(server.data_to_send())[0]
    hrr = decode_handshake(first[5], first[9:])
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    return hrr


def test_client_rejects_hello_retry_for_group_not_in_supported_groups() -> None:
    ccfg = client_config(groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=(29,))
    client = ClientConnection(ccfg, "localhost")
    client.start()
    hrr = _hrr(client, server_config(groups=(NamedGroup.secp256r1,)))
    hrr = with_sh_extensions(
        hrr, replace(ExtensionType.key_share, ext.encode_key_share_hrr(NamedGroup.secp384r1))
    )
    expect_alert(client, sh_record(hrr), A.illegal_parameter)


def test_client_rejects_hello_retry_for_group_it_already_sent() -> None:
    ccfg = client_config(groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=(29,))
    client = ClientConnection(ccfg, "localhost")
    client.start()
    hrr = _hrr(client, server_config(groups=(NamedGroup.secp256r1,)))
    hrr = with_sh_extensions(
        hrr, replace(ExtensionType.key_share, ext.encode_key_share_hrr(NamedGroup.x25519))
    )
    expect_alert(client, sh_record(hrr), A.illegal_parameter)


def test_client_rejects_second_hello_retry_request() -> None:
    ccfg = client_config(groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=(29,))
    client = ClientConnection(ccfg, "localhost")
    client.start()
    hrr = _hrr(client, server_config(groups=(NamedGroup.secp256r1,)))
    client.receive_data(sh_record(hrr))
    client.data_to_send()
    expect_alert(client, sh_record(hrr), A.unexpected_message)


# --- bad shares: sizes, invalid points, all-zero X25519 ------------------------------------------


@pytest.mark.parametrize("cut", [1, 31])
def test_client_rejects_bad_share_size(cut: int) -> None:
    client, sh = fresh_client_and_server_hello(client_config(**CLASSICAL))
    share = ext.KeyShareEntry(group=NamedGroup.x25519, key_exchange=b"\x09" * (32 - cut))
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(share)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


def test_client_rejects_bad_hybrid_ciphertext_size() -> None:
    client, sh = fresh_client_and_server_hello()
    entry = ext.decode_key_share_sh(
        ext.get_extension(sh.extensions, ExtensionType.key_share) or b""
    )
    short = ext.KeyShareEntry(group=entry.group, key_exchange=entry.key_exchange[:-1])
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(short)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


def test_client_rejects_invalid_curve_point() -> None:
    groups = {"groups": (NamedGroup.secp256r1,), "key_share_groups": (NamedGroup.secp256r1,)}
    client, sh = fresh_client_and_server_hello(
        client_config(**groups), server_config(groups=(NamedGroup.secp256r1,))
    )
    share = ext.KeyShareEntry(group=NamedGroup.secp256r1, key_exchange=b"\x04" + b"\x01" * 64)
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(share)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


def test_server_rejects_ml_kem_key_failing_the_modulus_check() -> None:
    ch = client_hello()
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    bad = ext.KeyShareEntry(group=share.group, key_exchange=b"\xff" * len(share.key_exchange))
    ch = with_extensions(ch, replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,))))
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_client_rejects_all_zero_x25519_share() -> None:
    client, sh = fresh_client_and_server_hello(client_config(**CLASSICAL))
    share = ext.KeyShareEntry(group=NamedGroup.x25519, key_exchange=bytes(32))
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(share)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


# --- wrong Finished, bad CertificateVerify ------------------------------------------------------------


def test_client_rejects_wrong_server_finished() -> None:
    f = server_flight()
    fin = bytearray(f.msg(HandshakeType.finished))
    fin[-1] ^= 1
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.finished, bytes(fin))), A.decrypt_error)


def test_server_rejects_wrong_client_finished() -> None:
    f = client_flight()
    fin = bytearray(f.msg(HandshakeType.finished))
    fin[-1] ^= 1
    expect_alert(f.server, read_sealer(f.server)(bytes(fin)), A.decrypt_error)


def test_client_rejects_bad_certificate_verify_signature() -> None:
    f = server_flight()
    cv = bytearray(f.msg(HandshakeType.certificate_verify))
    cv[-1] ^= 1
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate_verify, bytes(cv))), A.decrypt_error
    )


def test_server_rejects_bad_client_certificate_verify_signature() -> None:
    f = client_flight(*mtls())
    cv = bytearray(f.msg(HandshakeType.certificate_verify))
    cv[-1] ^= 1
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(f.msg(HandshakeType.certificate), bytes(cv)), A.decrypt_error)


def test_client_rejects_certificate_verify_with_scheme_it_did_not_offer() -> None:
    f = server_flight(client_config(signature_schemes=(0x0905,)))  # mldsa65 only
    raw = f.msg(HandshakeType.certificate_verify)
    cv = decode_handshake(raw[0], raw[4:])
    assert isinstance(cv, CertificateVerify)
    forged = dataclasses.replace(cv, algorithm=0x0807).encode()  # ed25519
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate_verify, forged)), A.illegal_parameter
    )


# --- certificate chains that do not verify ---------------------------------------------------------


def test_client_rejects_chain_from_unknown_ca() -> None:
    other = pki("ed25519").store  # another CA altogether
    f = server_flight(ClientConfig(trust_store=other))
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.msgs), A.unknown_ca)


def test_client_rejects_expired_certificate() -> None:
    f = server_flight(clock=lambda: 4_102_444_800.0)  # 2100
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.msgs), A.certificate_expired)


def test_client_rejects_certificate_for_another_name() -> None:
    f = server_flight(server_name="not-localhost.example")
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.msgs), A.bad_certificate)


def test_client_rejects_undecodable_certificate() -> None:
    f = server_flight()
    forged = Certificate(certificate_list=(CertificateEntry(b"\x30\x03junk"),)).encode()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_server_rejects_client_chain_from_unknown_ca() -> None:
    other = pki("ed25519").client
    f = client_flight(
        client_config(client_certificate=other),
        server_config(client_auth="require", client_trust_store=pki().store),
    )
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(*f.msgs), A.unknown_ca)


def test_server_requires_a_client_certificate() -> None:
    ccfg, scfg = mtls()
    f = client_flight(ccfg, scfg)
    empty = Certificate(certificate_list=()).encode()
    expect_alert(f.server, read_sealer(f.server)(empty), A.certificate_required)


# --- legacy_version and legacy_compression_methods ---------------------------------------------


def test_server_rejects_client_hello_legacy_version_below_tls12() -> None:
    ch = dataclasses.replace(client_hello(), legacy_version=0x0301)
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.protocol_version)


def test_server_rejects_compression_methods_without_null() -> None:
    ch = dataclasses.replace(client_hello(), legacy_compression_methods=b"\x01")
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_client_rejects_server_hello_legacy_version_not_tls12() -> None:
    client, sh = fresh_client_and_server_hello()
    expect_alert(
        client, sh_record(dataclasses.replace(sh, legacy_version=0x0304)), A.illegal_parameter
    )


def test_client_rejects_server_hello_compression() -> None:
    client, sh = fresh_client_and_server_hello()
    expect_alert(
        client, sh_record(dataclasses.replace(sh, legacy_compression_method=1)), A.illegal_parameter
    )


# --- truncated records ---------------------------------------------------------------------------------


def test_truncated_record_then_end_of_stream_fails_the_connection() -> None:
    client, server = connected()
    client.send_data(b"will be cut")
    record = client.data_to_send()
    server.receive_data(record[:-3])
    server.receive_data(b"")  # the transport ended inside a record
    assert server.state == "failed"
    assert server.error is not None and "truncation" in str(server.error)
    assert server._read is None and server._write is None
    events = drain(server)
    assert not [e for e in events if isinstance(e, DataReceived)]
    assert any(isinstance(e, ConnectionClosed) and not e.clean for e in events)
    with pytest.raises(TLSError):
        server.receive_data(b"\x17\x03\x03\x00\x01\x00")


def test_rejects_protected_record_shorter_than_its_tag() -> None:
    _client, server = connected()
    expect_alert(server, b"\x17\x03\x03\x00\x05" + b"\x00" * 5, A.bad_record_mac)


def test_rejects_alert_inside_a_split_handshake_message() -> None:
    # RFC 8446 §5.1: a handshake message split over records must not be interleaved with
    # records of another type.
    raw = client_hello().encode()
    head = plaintext_record(HS, raw[:100])
    alert = plaintext_record(ContentType.alert, b"\x01\x5a")  # user_canceled (a warning)
    expect_alert(ServerConnection(server_config()), head + alert, A.unexpected_message)


def test_rejects_application_data_inside_a_split_handshake_message() -> None:
    client, server = connected()
    assert client._write is not None
    ku = bytes((HandshakeType.key_update, 0, 0, 1, 0))
    data = client._write.seal(HS, ku[:2]) + client._write.seal(ContentType.application_data, b"x")
    expect_alert(server, data, A.unexpected_message)


# --- records over the size limits ------------------------------------------------------------------


def test_rejects_protected_record_over_the_ciphertext_limit() -> None:
    _client, server = connected()
    header = struct.pack(">BHH", ContentType.application_data, 0x0303, 2**14 + 257)
    expect_alert(server, header, A.record_overflow)


def test_rejects_decrypted_record_over_the_plaintext_limit() -> None:
    _client, server = connected()
    inner = b"a" * (2**14 + 1) + bytes((ContentType.application_data,))
    expect_alert(server, seal_inner(clone(server._read), inner), A.record_overflow)


@pytest.mark.parametrize("content_type", [ContentType.alert, ContentType.change_cipher_spec])
def test_rejects_oversized_plaintext_record(content_type: int) -> None:
    header = struct.pack(">BHH", content_type, 0x0303, 2**14 + 1)
    expect_alert(ServerConnection(server_config()), header, A.record_overflow)


# --- zero-length fragments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", [ContentType.handshake, ContentType.alert, ContentType.change_cipher_spec]
)
def test_rejects_zero_length_plaintext_record(content_type: int) -> None:
    expect_alert(
        ServerConnection(server_config()),
        struct.pack(">BHH", content_type, 0x0303, 0),
        A.unexpected_message,
    )


@pytest.mark.parametrize("content_type", [ContentType.handshake, ContentType.alert])
def test_rejects_zero_length_protected_fragment(content_type: int) -> None:
    _client, server = connected()
    expect_alert(
        server, seal_inner(clone(server._read), bytes((content_type,))), A.unexpected_message
    )


def test_client_rejects_zero_length_handshake_fragment_during_handshake() -> None:
    f = server_flight()
    twin = clone(f.client._read)
    expect_alert(f.client, seal_inner(twin, bytes((HS,))), A.unexpected_message)


# --- application data before the handshake ends ---------------------------------------------------


def test_client_rejects_application_data_under_handshake_keys() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(
        f.client,
        seal(b"early", content_type=ContentType.application_data),
        A.unexpected_message,
    )


def test_server_rejects_application_data_before_client_finished() -> None:
    f = client_flight()
    seal = read_sealer(f.server)
    expect_alert(
        f.server, seal(b"too soon", content_type=ContentType.application_data), A.unexpected_message
    )


def test_client_rejects_plaintext_application_data_before_server_hello() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    client.data_to_send()
    expect_alert(
        client, plaintext_record(ContentType.application_data, b"hi"), A.unexpected_message
    )


# --- a handshake message that straddles a key change ------------------------------------------------


def test_client_rejects_server_hello_and_part_of_the_next_message_in_one_record() -> None:
    client, sh = fresh_client_and_server_hello()
    record = plaintext_record(HS, sh.encode() + bytes((HandshakeType.encrypted_extensions, 0)))
    expect_alert(client, record, A.unexpected_message)


def test_server_rejects_client_hello_and_part_of_the_next_message_in_one_record() -> None:
    record = plaintext_record(HS, client_hello().encode() + bytes((HandshakeType.finished, 0, 0)))
    expect_alert(ServerConnection(server_config()), record, A.unexpected_message)


def test_server_rejects_finished_and_part_of_a_key_update_in_one_record() -> None:
    f = client_flight()
    twin = clone(f.server._read)
    data = f.msg(HandshakeType.finished) + bytes((HandshakeType.key_update, 0))
    expect_alert(f.server, twin.seal(HS, data), A.unexpected_message)


def test_rejects_key_update_not_at_the_end_of_its_record() -> None:
    client, server = connected()
    assert client._write is not None
    ku = bytes((HandshakeType.key_update, 0, 0, 1, 0))
    expect_alert(server, client._write.seal(HS, ku + ku[:2]), A.unexpected_message)


# --- data after close_notify ------------------------------------------------------------------------


def test_client_rejects_data_after_close_notify() -> None:
    client, server = connected()
    assert server._write is not None
    close = server._write.seal(ContentType.alert, b"\x01\x00")
    late = server._write.seal(ContentType.application_data, b"late")
    expect_alert(client, close + late, A.unexpected_message)


def test_rejects_key_update_after_close_notify() -> None:
    # Found by the fuzzer (tests/fuzz/corpus/regressions/server-keyupdate-after-close-notify.bin):
    # a KeyUpdate after close_notify reached the key schedule with no keys and the connection
    # answered internal_error.
    client, server = connected()
    assert client._write is not None
    close = client._write.seal(ContentType.alert, b"\x01\x00")
    ku = client._write.seal(HS, bytes((HandshakeType.key_update, 0, 0, 1, 1)))
    expect_alert(server, close + ku, A.unexpected_message)


def test_rejects_handshake_message_after_close_notify_during_handshake() -> None:
    server = ServerConnection(server_config())
    close = plaintext_record(ContentType.alert, b"\x01\x00")
    ku = plaintext_record(HS, bytes((HandshakeType.key_update, 0, 0, 1, 1)))
    expect_alert(server, close + ku, A.unexpected_message)


def test_rejects_alert_after_close_notify() -> None:
    client, server = connected()
    assert client._write is not None
    close = client._write.seal(ContentType.alert, b"\x01\x00")
    again = client._write.seal(ContentType.alert, b"\x01\x00")
    expect_alert(server, close + again, A.unexpected_message)


# --- ChangeCipherSpec at the wrong time or with the wrong body -----------------------------------


def test_rejects_change_cipher_spec_after_the_handshake() -> None:
    _client, server = connected()
    expect_alert(
        server, plaintext_record(ContentType.change_cipher_spec, b"\x01"), A.unexpected_message
    )


def test_rejects_protected_change_cipher_spec() -> None:
    f = client_flight()
    twin = clone(f.server._read)
    expect_alert(f.server, seal_inner(twin, b"\x01\x14"), A.unexpected_message)


def test_rejects_two_change_cipher_specs() -> None:
    f = server_flight()
    ccs = plaintext_record(ContentType.change_cipher_spec, b"\x01")
    expect_alert(f.client, ccs + ccs, A.unexpected_message)


def test_client_rejects_change_cipher_spec_with_wrong_body() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    client.data_to_send()
    expect_alert(
        client, plaintext_record(ContentType.change_cipher_spec, b"\x01\x01"), A.unexpected_message
    )


# --- renegotiation ----------------------------------------------------------------------------------


def test_client_rejects_hello_request_after_the_handshake() -> None:
    client, server = connected()
    assert server._write is not None
    expect_alert(client, server._write.seal(HS, bytes((0, 0, 0, 0))), A.unexpected_message)


def test_client_rejects_server_hello_after_the_handshake() -> None:
    client, server = connected()
    _, sh = fresh_client_and_server_hello()
    assert server._write is not None
    expect_alert(client, server._write.seal(HS, sh.encode()), A.unexpected_message)


def test_server_rejects_client_hello_after_the_handshake() -> None:
    client, server = connected()
    assert client._write is not None
    expect_alert(server, client._write.seal(HS, client_hello().encode()), A.unexpected_message)


# --- KeyUpdate with an invalid value -------------------------------------------------------------


@pytest.mark.parametrize("value", [2, 255])
def test_client_rejects_key_update_with_invalid_value(value: int) -> None:
    client, server = connected()
    assert server._write is not None
    body = bytes((HandshakeType.key_update, 0, 0, 1, value))
    expect_alert(client, server._write.seal(HS, body), A.illegal_parameter)


def test_rejects_key_update_with_trailing_bytes() -> None:
    client, server = connected()
    assert client._write is not None
    body = bytes((HandshakeType.key_update, 0, 0, 2, 0, 0))
    expect_alert(server, client._write.seal(HS, body), A.decode_error)


# --- caps: warning alerts, empty records, KeyUpdates, CCS in a row -----------------------------


def test_rejects_too_many_warning_alerts_in_a_row() -> None:
    client, server = connected()
    assert client._write is not None
    warnings = b"".join(client._write.seal(ContentType.alert, b"\x01\x5a") for _ in range(5))
    expect_alert(server, warnings, A.unexpected_message)


def test_accepts_a_few_warning_alerts() -> None:
    client, server = connected()
    assert client._write is not None
    server.receive_data(
        b"".join(client._write.seal(ContentType.alert, b"\x01\x5a") for _ in range(4))
    )
    assert server.state == "connected"


def test_rejects_too_many_empty_records_in_a_row() -> None:
    client, server = connected()
    assert server._write is not None
    flood = b"".join(server._write.seal(ContentType.application_data, b"") for _ in range(33))
    expect_alert(client, flood, A.unexpected_message)


def test_rejects_too_many_key_updates_in_a_row() -> None:
    _client, server = connected()
    twin = clone(server._read)
    ku = bytes((HandshakeType.key_update, 0, 0, 1, 0))
    flood = b""
    for _ in range(33):
        flood += twin.seal(HS, ku)
        twin = twin.updated()
    expect_alert(server, flood, A.unexpected_message)


def test_key_updates_separated_by_data_are_fine() -> None:
    client, server = connected()
    for _ in range(40):
        client.request_key_update(request_peer=False)
        client.send_data(b"x")
        pump(client, server)
    assert server.state == "connected"
    assert any(isinstance(e, DataReceived) for e in drain(server))


def test_rejects_change_cipher_spec_flood_during_handshake() -> None:
    server = ServerConnection(server_config())
    client = ClientConnection(client_config(), "localhost")
    client.start()
    server.receive_data(client.data_to_send())
    server.data_to_send()
    ccs = plaintext_record(ContentType.change_cipher_spec, b"\x01")
    expect_alert(server, ccs * 3, A.unexpected_message)


def test_handshake_completes_after_forged_flight_is_resealed_unchanged() -> None:
    """The forging helpers themselves: an unchanged flight, sealed again, still works."""
    f = server_flight()
    seal = read_sealer(f.client)
    f.client.receive_data(seal(*f.msgs))
    assert any(isinstance(e, HandshakeCompleted) for e in drain(f.client))


def _bad_version(der: bytes) -> bytes:
    """The certificate with its X.509 version field set to 34 (cryptography raises
    InvalidVersion, which is not a ValueError)."""
    i = der.index(b"\xa0\x03\x02\x01\x02")
    return der[: i + 4] + b"\x22" + der[i + 5 :]


def test_client_rejects_certificate_with_invalid_x509_version() -> None:
    # Found by the fuzzer (server side, mTLS: tests/fuzz/corpus/regressions/
    # server-client-certificate-invalid-x509-version.bin): the parse error escaped as
    # internal_error. Fixed in crypto/x509.py.
    f = server_flight()
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    entry = CertificateEntry(_bad_version(cert.certificate_list[0].cert_data))
    forged = Certificate(certificate_list=(entry,)).encode()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_client_without_verification_rejects_certificate_with_invalid_x509_version() -> None:
    f = server_flight(ClientConfig(insecure_skip_verify=True))
    cert = decode_handshake(HandshakeType.certificate, f.msg(HandshakeType.certificate)[4:])
    assert isinstance(cert, Certificate)
    entry = CertificateEntry(_bad_version(cert.certificate_list[0].cert_data))
    forged = Certificate(certificate_list=(entry,)).encode()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


def test_no_key_update_is_sent_after_our_close_notify() -> None:
    # RFC 8446 §6.1: nothing follows close_notify, our own KeyUpdate included.
    client, server = connected()
    client.close()
    sent = client.data_to_send()
    with pytest.raises(ConnectionClosedError):
        client.request_key_update()
    assert client.data_to_send() == b""
    server.receive_data(sent)
    assert server.peer_closed


def test_server_rejects_client_certificate_with_malformed_subject() -> None:
    # Found by the fuzzer (tests/fuzz/corpus/regressions/server-client-certificate-malformed-
    # subject.bin): the certificate loads (cryptography parses lazily) but path validation
    # then raised ValueError, answered with internal_error. Fixed in crypto/x509.py.
    ccfg, scfg = mtls()
    f = client_flight(ccfg, scfg)
    der = pki().client.chain[0]
    name = CLIENT_NAME.encode()
    i = der.index(name)  # the subject's common name: the first occurrence
    bad = der[: i - 2] + b"\x01" + der[i - 1 :]  # its UTF8String tag becomes BOOLEAN
    forged = Certificate(certificate_list=(CertificateEntry(bad),)).encode()
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(forged), A.bad_certificate)
