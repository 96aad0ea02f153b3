"""Protocol violations, HelloRetryRequest and the second ClientHello (RFC 8446 §4.1.2, §4.1.4).
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from handshake.violations import (
    A,
    ch_record,
    drop,
    expect_alert,
    records,
    replace,
    sh_record,
    with_extensions,
    with_sh_extensions,
)
from pairs import client_config, server_config

from nautilus_tls.config import ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType, NamedGroup
from nautilus_tls.wire.messages import ClientHello, Extension, ServerHello, decode_handshake


def _hrr(client: ClientConnection, scfg: ServerConfig) -> ServerHello:
    server = ServerConnection(scfg)
    server.receive_data(client.data_to_send())
    first = records(server.data_to_send())[0]
    hrr = decode_handshake(first[5], first[9:])
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    return hrr


def _retry() -> tuple[ServerConnection, bytes, ClientHello]:
    """A server that sent HelloRetryRequest, the client's CCS, and its second ClientHello."""
    ccfg = client_config(groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=(29,))
    client = ClientConnection(ccfg, "localhost")
    client.start()
    server = ServerConnection(server_config(groups=(NamedGroup.secp256r1,)))
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    ccs, hello = records(client.data_to_send())
    ch2 = decode_handshake(hello[5], hello[9:])
    assert isinstance(ch2, ClientHello)
    return server, ccs, ch2


def _swap_first_two(exts: list[Extension]) -> list[Extension]:
    return [exts[1], exts[0], *exts[2:]]


def _add_unknown(exts: list[Extension]) -> list[Extension]:
    return [Extension(ext_type=0x7A7B, data=b"new"), *exts]


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


@pytest.mark.parametrize(
    "change",
    [
        _swap_first_two,
        _add_unknown,
        drop(ExtensionType.signature_algorithms_cert),
        replace(ExtensionType.supported_groups, ext.encode_supported_groups((23,))),
        replace(ExtensionType.server_name, ext.encode_server_name("other.example")),
    ],
    ids=["reordered", "added", "dropped", "changed-groups", "changed-sni"],
)
def test_server_rejects_second_client_hello_with_other_extensions(
    change: Callable[[list[Extension]], list[Extension]],
) -> None:
    server, ccs, ch2 = _retry()
    expect_alert(server, ccs + ch_record(with_extensions(ch2, change)), A.illegal_parameter)


def test_server_rejects_pre_shared_key_added_in_second_client_hello() -> None:
    server, ccs, ch2 = _retry()
    psk = ext.OfferedPsks((ext.PskIdentity(b"ticket", 0),), (bytes(32),))
    added = Extension(ext_type=ExtensionType.pre_shared_key, data=ext.encode_pre_shared_key_ch(psk))
    ch2 = with_extensions(ch2, lambda exts: [*exts, added])
    expect_alert(server, ccs + ch_record(ch2), A.illegal_parameter)


def test_accepts_second_client_hello_unchanged() -> None:
    server, ccs, ch2 = _retry()
    server.receive_data(ccs + ch_record(ch2))
    assert server.state == "handshaking" and server.data_to_send()
