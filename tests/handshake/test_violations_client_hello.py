"""Protocol violations, the server facing a bad ClientHello: versions, legacy fields, extensions,
key shares, GREASE and unknown values.
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

import dataclasses
import struct

import pytest
from handshake.violations import (
    HS,
    A,
    ch_record,
    client_hello,
    drop,
    expect_alert,
    expect_alert_record,
    records,
    replace,
    with_extensions,
)
from pairs import client_config, handshake, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.record.protection import plaintext_record
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType, NamedGroup
from nautilus_tls.wire.messages import (
    ClientHello,
    Extension,
    Finished,
    ServerHello,
    decode_handshake,
)


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


def test_rejects_finished_as_first_message() -> None:
    fin = Finished(verify_data=bytes(32)).encode()
    expect_alert_record(
        ServerConnection(server_config()),
        plaintext_record(ContentType.handshake, fin),
        A.unexpected_message,
    )


def test_rejects_client_hello_without_tls13() -> None:
    ch = with_extensions(
        client_hello(),
        replace(ExtensionType.supported_versions, ext.encode_supported_versions_ch((0x0303,))),
    )
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.protocol_version)


def test_rejects_client_hello_without_supported_versions() -> None:
    ch = with_extensions(client_hello(), drop(ExtensionType.supported_versions))
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.protocol_version)


def test_rejects_compression() -> None:
    ch = dataclasses.replace(client_hello(), legacy_compression_methods=b"\x01\x00")
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


@pytest.mark.parametrize(
    "ext_type",
    [ExtensionType.key_share, ExtensionType.supported_groups, ExtensionType.signature_algorithms],
)
def test_rejects_missing_mandatory_extension(ext_type: int) -> None:
    ch = with_extensions(client_hello(), drop(ext_type))
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.missing_extension)


def test_rejects_key_share_for_group_not_offered() -> None:
    ch = with_extensions(
        client_hello(),
        replace(ExtensionType.supported_groups, ext.encode_supported_groups((NamedGroup.x25519,))),
    )
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_rejects_two_shares_for_the_same_group() -> None:
    ch = client_hello()
    shares = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    ch = with_extensions(
        ch, replace(ExtensionType.key_share, ext.encode_key_share_ch(shares + shares))
    )
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


@pytest.mark.parametrize("cut", [1, 32, 1183])
def test_rejects_bad_share_size(cut: int) -> None:
    ch = client_hello()
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    bad = ext.KeyShareEntry(group=share.group, key_exchange=share.key_exchange[:-cut])
    ch = with_extensions(ch, replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,))))
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_rejects_invalid_curve_point() -> None:
    cfg = client_config(key_share_groups=(NamedGroup.secp256r1,))
    client = ClientConnection(cfg, "localhost")
    client.start()
    record = client.data_to_send()
    ch = decode_handshake(record[5], record[9:])
    assert isinstance(ch, ClientHello)
    point = b"\x04" + b"\x01" * 64  # not on P-256
    bad = ext.KeyShareEntry(group=NamedGroup.secp256r1, key_exchange=point)
    ch = with_extensions(ch, replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,))))
    server = ServerConnection(server_config(groups=(NamedGroup.secp256r1,)))
    expect_alert_record(server, ch_record(ch), A.illegal_parameter)


def test_rejects_all_zero_x25519_share() -> None:
    bad = ext.KeyShareEntry(group=NamedGroup.x25519, key_exchange=bytes(32))  # low-order point
    ch = with_extensions(
        client_hello(), replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,)))
    )
    server = ServerConnection(server_config(groups=(NamedGroup.x25519,)))
    expect_alert_record(server, ch_record(ch), A.illegal_parameter)


def test_rejects_duplicate_extension() -> None:
    ch = with_extensions(client_hello(), lambda exts: [*exts, exts[0]])
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_rejects_truncated_client_hello() -> None:
    raw = client_hello().encode()
    body = raw[4:-7]
    truncated = bytes((HandshakeType.client_hello,)) + len(body).to_bytes(3, "big") + body
    expect_alert_record(
        ServerConnection(server_config()),
        plaintext_record(ContentType.handshake, truncated),
        A.decode_error,
    )


def test_rejects_no_common_cipher_suite() -> None:
    ch = dataclasses.replace(client_hello(), cipher_suites=(0x1304,))
    expect_alert_record(ServerConnection(server_config()), ch_record(ch), A.handshake_failure)


def test_server_rejects_unknown_handshake_message_type() -> None:
    expect_alert(
        ServerConnection(server_config()),
        plaintext_record(HS, bytes((99, 0, 0, 1, 0))),
        A.unexpected_message,
    )


def test_server_rejects_oid_filters_in_client_hello() -> None:
    ch = with_extensions(
        client_hello(), lambda e: [Extension(ExtensionType.oid_filters, b"\x00\x00"), *e]
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_server_ignores_grease_and_unknown_values_in_client_hello() -> None:
    server = ServerConnection(server_config())
    server.receive_data(ch_record(_greased(client_hello())))
    out = records(server.data_to_send())
    assert out[0][0] == HS  # a ServerHello, not an alert
    sh = decode_handshake(out[0][5], out[0][9:])
    assert isinstance(sh, ServerHello) and sh.cipher_suite != 0x0A0A
    assert server.state == "handshaking"


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


def test_server_rejects_ml_kem_key_failing_the_modulus_check() -> None:
    ch = client_hello()
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    bad = ext.KeyShareEntry(group=share.group, key_exchange=b"\xff" * len(share.key_exchange))
    ch = with_extensions(ch, replace(ExtensionType.key_share, ext.encode_key_share_ch((bad,))))
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_server_rejects_client_hello_legacy_version_below_tls12() -> None:
    ch = dataclasses.replace(client_hello(), legacy_version=0x0301)
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.protocol_version)


def test_server_rejects_compression_methods_without_null() -> None:
    ch = dataclasses.replace(client_hello(), legacy_compression_methods=b"\x01")
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.illegal_parameter)


def test_server_rejects_key_share_with_empty_key_exchange() -> None:
    ch = client_hello()
    (share,) = ext.decode_key_share_ch(
        ext.get_extension(ch.extensions, ExtensionType.key_share) or b""
    )
    # RFC 8446 §4.2.8: opaque key_exchange<1..2^16-1>.
    entries = struct.pack(">HH", share.group, 0)
    ch = with_extensions(
        ch, replace(ExtensionType.key_share, struct.pack(">H", len(entries)) + entries)
    )
    expect_alert(ServerConnection(server_config()), ch_record(ch), A.decode_error)
