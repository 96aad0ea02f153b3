"""Our TLS on aioquic's transport against UNMODIFIED aioquic 1.7.2, both roles, over loopback
UDP in one process (issue 13 items 2, 4, 6)."""

from __future__ import annotations

import pytest
from aioquic.asyncio.client import connect as aioquic_connect
from aioquic.tls import State as tls_state
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

from nautilus_tls.config import ServerConfig
from nautilus_tls.quic.retry import RetryTokens
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


def test_our_client_resumes_with_an_unmodified_aioquic_server() -> None:
    from nautilus_tls.session.client_store import MemorySessionStore

    cfg = our_client_config("ecdsa-p256", session_store=MemorySessionStore())

    async def main() -> list[SessionInfo]:
        server = await start_aioquic_echo(aioquic_server_config("ecdsa-p256"), tickets=True)
        infos = []
        try:
            for _ in range(2):
                async with our_client(port_of(server), cfg) as protocol:
                    assert await echo_once(protocol, b"again") == b"again"
                    infos.append(session_info_of(protocol))
        finally:
            server.close()
        return infos

    first, second = run(main())
    assert first.group == "x25519"  # aioquic has no hybrid group: its share was the classical one
    assert not first.resumed and second.resumed


def _aioquic_client_twice(
    server_config: ServerConfig, *, early: bool
) -> list[tuple[bytes, bool, bool]]:
    """Two unmodified aioquic clients, the second with the first's ticket (and, with
    ``early``, sending its request before the handshake completes: 0-RTT)."""
    tickets: list[object] = []

    async def main() -> list[tuple[bytes, bool, bool]]:
        server = await start_our_echo(server_config)
        out = []
        try:
            for attempt in range(2):
                cfg = aioquic_client_config("ecdsa-p256")
                if tickets:
                    cfg.session_ticket = tickets[-1]  # type: ignore[assignment]
                async with aioquic_connect(
                    "127.0.0.1", port_of(server), configuration=cfg,
                    session_ticket_handler=tickets.append, wait_connected=not (early and attempt),
                ) as protocol:  # fmt: skip
                    reply = await echo_once(protocol, b"early bird")
                    # 1-RTT data arrived: the handshake is complete (aioquic's
                    # wait_connected would wait forever once it is).
                    tls = protocol._quic.tls
                    assert tls.state is tls_state.CLIENT_POST_HANDSHAKE
                    out.append((reply, tls.session_resumed, tls.early_data_accepted))
        finally:
            server.close()
        return out

    return run(main())


def test_an_unmodified_aioquic_client_resumes_with_our_server() -> None:
    first, second = _aioquic_client_twice(our_server_config("ecdsa-p256"), early=False)
    assert first == (b"early bird", False, False)
    assert second == (b"early bird", True, False)


def test_an_unmodified_aioquic_client_sends_0rtt_that_our_server_accepts() -> None:
    # RFC 9001 §4.6.1: a server that takes 0-RTT over QUIC says 0xffffffff in its tickets.
    scfg = our_server_config("ecdsa-p256", max_early_data=0xFFFFFFFF)
    first, second = _aioquic_client_twice(scfg, early=True)
    assert first == (b"early bird", False, False)
    assert second == (b"early bird", True, True)


def test_our_client_sends_0rtt_that_an_unmodified_aioquic_server_accepts() -> None:
    from nautilus_tls.quic.api import connect
    from nautilus_tls.session.client_store import MemorySessionStore

    cfg = our_client_config("ecdsa-p256", session_store=MemorySessionStore())

    async def main() -> tuple[SessionInfo, bytes]:
        server = await start_aioquic_echo(aioquic_server_config("ecdsa-p256"), tickets=True)
        port = port_of(server)
        try:
            async with connect("127.0.0.1", port, config=cfg, server_name="localhost") as first:
                await first.request(b"ticket please")
            async with connect(
                "127.0.0.1", port, config=cfg, server_name="localhost", early_data=b"early"
            ) as second:
                return second.info, await second.early_reply()
        finally:
            server.close()

    info, reply = run(main())
    assert info.resumed and info.early_data == "accepted"
    assert reply == b"early"


def test_our_client_follows_an_unmodified_aioquic_servers_retry() -> None:
    groups = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)

    async def main() -> bytes:
        server = await start_aioquic_echo(aioquic_server_config("ecdsa-p256"), retry=True)
        try:
            cfg = our_client_config("ecdsa-p256", groups=groups, key_share_groups=groups)
            async with our_client(port_of(server), cfg) as protocol:
                assert protocol._quic._retry_count == 1  # aioquic's client state: one Retry
                return await echo_once(protocol, b"validated by aioquic")
        finally:
            server.close()

    assert run(main()) == b"validated by aioquic"


def test_an_unmodified_aioquic_client_follows_our_servers_retry() -> None:
    async def main() -> tuple[bytes, int, int]:
        server = await start_our_echo(our_server_config("ecdsa-p256"), retry=RetryTokens())
        try:
            cfg = aioquic_client_config("ecdsa-p256")
            async with aioquic_client(port_of(server), cfg) as protocol:
                reply = await echo_once(protocol, b"validated by us")
                return reply, protocol._quic._retry_count, server.retries_sent
        finally:
            server.close()

    reply, followed, sent = run(main())
    # aioquic's client checks our retry_source_connection_id parameter (RFC 9000 §7.3).
    assert reply == b"validated by us" and followed == 1 and sent >= 1
