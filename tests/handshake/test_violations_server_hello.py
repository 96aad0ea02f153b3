"""Protocol violations, the client facing a bad ServerHello or EncryptedExtensions: downgrade,
legacy fields, chosen suite and key share, extensions, GREASE, messages out of order.
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

import dataclasses
import struct

import pytest
from handshake.violations import (
    CLASSICAL,
    HS,
    A,
    drop,
    expect_alert,
    expect_alert_record,
    fresh_client_and_server_hello,
    read_sealer,
    replace,
    server_flight,
    sh_record,
    with_sh_extensions,
)
from pairs import client_config, drain, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.events import HandshakeCompleted
from nautilus_tls.record.protection import plaintext_record
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType, NamedGroup
from nautilus_tls.wire.messages import (
    EncryptedExtensions,
    Extension,
    Finished,
    ServerHello,
    decode_handshake,
)


def _server_hello_for(client: ClientConnection) -> tuple[ServerHello, bytes]:
    server = ServerConnection(server_config())
    server.receive_data(client.data_to_send())
    out = server.data_to_send()
    length = int.from_bytes(out[3:5], "big")
    sh = decode_handshake(out[5], out[9 : 5 + length])
    assert isinstance(sh, ServerHello)
    return sh, out[5 + length :]


def test_client_rejects_downgrade_sentinel() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(
        sh,
        random=sh.random[:24] + b"DOWNGRD\x01",
        extensions=tuple(
            e for e in sh.extensions if e.ext_type != ExtensionType.supported_versions
        ),
    )
    expect_alert_record(
        client, plaintext_record(ContentType.handshake, sh.encode()), A.illegal_parameter
    )


def test_client_rejects_tls12_server_hello() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(
        sh,
        extensions=tuple(
            e for e in sh.extensions if e.ext_type != ExtensionType.supported_versions
        ),
    )
    expect_alert_record(
        client, plaintext_record(ContentType.handshake, sh.encode()), A.protocol_version
    )


def test_client_rejects_suite_it_did_not_offer() -> None:
    client = ClientConnection(client_config(cipher_suites=(0x1301,)), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(sh, cipher_suite=0x1302)
    expect_alert_record(
        client, plaintext_record(ContentType.handshake, sh.encode()), A.illegal_parameter
    )


def test_client_rejects_wrong_session_id_echo() -> None:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    sh, _ = _server_hello_for(client)
    sh = dataclasses.replace(sh, legacy_session_id_echo=b"\x00" * 32)
    expect_alert_record(
        client, plaintext_record(ContentType.handshake, sh.encode()), A.illegal_parameter
    )


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


def test_client_rejects_second_server_hello() -> None:
    f = server_flight()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(f.sh_raw), A.unexpected_message)


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


def test_client_rejects_server_hello_without_key_share() -> None:
    client, sh = fresh_client_and_server_hello()
    expect_alert(
        client,
        sh_record(with_sh_extensions(sh, drop(ExtensionType.key_share))),
        A.missing_extension,
    )


def test_client_rejects_key_share_for_group_it_did_not_offer() -> None:
    client, sh = fresh_client_and_server_hello(client_config(**CLASSICAL))
    share = ext.KeyShareEntry(group=NamedGroup.secp256r1, key_exchange=b"\x04" + b"\x01" * 64)
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(share)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


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


def test_client_rejects_all_zero_x25519_share() -> None:
    client, sh = fresh_client_and_server_hello(client_config(**CLASSICAL))
    share = ext.KeyShareEntry(group=NamedGroup.x25519, key_exchange=bytes(32))
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, ext.encode_key_share_sh(share)))
    expect_alert(client, sh_record(sh), A.illegal_parameter)


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


def test_handshake_completes_after_forged_flight_is_resealed_unchanged() -> None:
    """The forging helpers themselves: an unchanged flight, sealed again, still works."""
    f = server_flight()
    seal = read_sealer(f.client)
    f.client.receive_data(seal(*f.msgs))
    assert any(isinstance(e, HandshakeCompleted) for e in drain(f.client))


def test_client_rejects_server_key_share_with_empty_key_exchange() -> None:
    client, sh = fresh_client_and_server_hello()
    entry = ext.decode_key_share_sh(
        ext.get_extension(sh.extensions, ExtensionType.key_share) or b""
    )
    empty = struct.pack(">HH", entry.group, 0)
    sh = with_sh_extensions(sh, replace(ExtensionType.key_share, empty))
    expect_alert(client, sh_record(sh), A.decode_error)
