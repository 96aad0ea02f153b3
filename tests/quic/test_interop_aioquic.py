"""Our TLS on aioquic's transport against UNMODIFIED aioquic 1.7.2, both roles, over loopback
UDP in one process (issue 13 items 2, 4, 6)."""

from __future__ import annotations

import pytest
from quic.quicpeers import (
    aioquic_client,
    aioquic_client_config,
    aioquic_server_config,
    echo_once,
    our_client,
    our_client_config,
    our_server_config,
    port_of,
    run,
    session_info_of,
    start_aioquic_echo,
    start_our_echo,
)

from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import NamedGroup


@pytest.mark.parametrize(
    ("alg", "group"),
    [
        ("ecdsa-p256", NamedGroup.x25519),
        ("rsa2048", NamedGroup.x25519),
        ("ecdsa-p256", NamedGroup.secp256r1),
    ],
)
def test_our_client_talks_to_an_unmodified_aioquic_server(alg: str, group: NamedGroup) -> None:
    # aioquic has no hybrid groups and no HRR: the client's classical share must fit.
    groups = (NamedGroup.X25519MLKEM768, group)

    async def main() -> tuple[bytes, SessionInfo]:
        server = await start_aioquic_echo(aioquic_server_config(alg))
        try:
            cfg = our_client_config(alg, groups=groups, key_share_groups=groups)
            async with our_client(port_of(server), cfg) as protocol:
                return await echo_once(protocol, b"hello over QUIC"), session_info_of(protocol)
        finally:
            server.close()

    reply, info = run(main())
    assert reply == b"hello over QUIC"
    assert info.group == group.name
    assert info.alpn == "nautilus-echo"
    assert not info.hello_retry


@pytest.mark.parametrize("alg", ["ecdsa-p256", "rsa2048"])
def test_an_unmodified_aioquic_client_talks_to_our_server(alg: str) -> None:
    async def main() -> tuple[bytes, object]:
        server = await start_our_echo(our_server_config(alg))
        try:
            async with aioquic_client(port_of(server), aioquic_client_config(alg)) as protocol:
                reply = await echo_once(protocol, b"from aioquic")
                return reply, protocol._quic.tls.key_schedule.cipher_suite  # type: ignore[union-attr]
        finally:
            server.close()

    reply, suite = run(main())
    assert reply == b"from aioquic"
    assert int(suite) in (0x1301, 0x1302, 0x1303)  # type: ignore[call-overload]
