"""nautilus_tls.quic.api: connect/serve with asyncio streams over QUIC streams, SessionInfo as
over TCP, resumption, and handshake failures raised as our errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from certificates import pki, unrelated_pki
from quic.quicpeers import HOST, run

from nautilus_tls.config import ClientConfig
from nautilus_tls.errors import AlertDescription as A
from nautilus_tls.errors import ConfigError, PeerAlert, ProtocolError
from nautilus_tls.quic.api import QUIC_KEY_SHARE_GROUPS, connect, echo, quic_client_config, serve
from nautilus_tls.session.client_store import MemorySessionStore
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import NamedGroup

ALPN = (b"nautilus-echo",)


def _client(**kw: object) -> ClientConfig:
    kw.setdefault("alpn_protocols", ALPN)
    return quic_client_config(trust_store=pki().store, **kw)


async def _echo_session(
    config: ClientConfig, payload: bytes, **server_kw: object
) -> tuple[bytes, SessionInfo]:
    server = await serve(
        echo, HOST, 0, config=pki().server_config(alpn_protocols=ALPN, **server_kw)
    )
    try:
        async with connect(
            HOST, server.address[1], config=config, server_name="localhost"
        ) as client:
            return await client.request(payload), client.info
    finally:
        server.close()


def test_sends_two_key_shares_by_default_over_quic() -> None:
    assert _client().key_share_groups == QUIC_KEY_SHARE_GROUPS
    # Configurable as over TCP.
    one = _client(key_share_groups=(NamedGroup.x25519,))
    assert one.key_share_groups == (NamedGroup.x25519,)


def test_echoes_over_streams_and_reports_the_session_as_over_tcp() -> None:
    reply, info = run(_echo_session(_client(), b"ping" * 5000))
    assert reply == b"ping" * 5000
    assert info.group == "X25519MLKEM768"
    assert info.signature_scheme == "mldsa65"
    assert info.alpn == "nautilus-echo"
    assert (info.resumed, info.hello_retry, info.early_data) == (False, False, "none")


def test_opens_several_streams_on_one_connection() -> None:
    async def main() -> list[bytes]:
        server = await serve(echo, HOST, 0, config=pki().server_config(alpn_protocols=ALPN))
        try:
            async with connect(
                HOST, server.address[1], config=_client(), server_name="localhost"
            ) as c:
                return list(await asyncio.gather(*(c.request(b"%d" % i) for i in range(5))))
        finally:
            server.close()

    assert run(main()) == [b"%d" % i for i in range(5)]


def test_resumes_with_the_ticket_of_the_first_connection() -> None:
    config = _client(session_store=MemorySessionStore())

    async def main() -> tuple[SessionInfo, SessionInfo]:
        server = await serve(echo, HOST, 0, config=pki().server_config(alpn_protocols=ALPN))
        try:
            port = server.address[1]
            async with connect(HOST, port, config=config, server_name="localhost") as first:
                await first.request(b"one")  # a round trip: the tickets have arrived
                first_info = first.info
            async with connect(HOST, port, config=config, server_name="localhost") as second:
                await second.request(b"two")
                return first_info, second.info
        finally:
            server.close()

    first, second = run(main())
    assert not first.resumed and second.resumed


def test_raises_our_error_when_we_refuse_the_server_certificate() -> None:
    config = quic_client_config(trust_store=unrelated_pki().store, alpn_protocols=ALPN)
    with pytest.raises(ProtocolError) as info:
        run(_echo_session(config, b"x"))
    assert info.value.alert in (A.unknown_ca, A.bad_certificate)


def test_raises_peer_alert_when_the_server_refuses_us() -> None:
    with pytest.raises(PeerAlert) as info:
        run(_echo_session(_client(alpn_protocols=(b"other",)), b"x"))
    assert info.value.description == A.no_application_protocol


def test_refuses_a_config_without_alpn() -> None:
    with pytest.raises(ConfigError, match="ALPN"):
        run(_echo_session(_client(alpn_protocols=()), b"x"))


def _twice_with_early_data(
    server_config: Any, config: ClientConfig
) -> tuple[SessionInfo, SessionInfo, bytes]:
    """One connection for the ticket, then one that sends its request as early data."""

    async def main() -> tuple[SessionInfo, SessionInfo, bytes]:
        server = await serve(echo, HOST, 0, config=server_config)
        try:
            port = server.address[1]
            async with connect(HOST, port, config=config, server_name="localhost") as first:
                await first.request(b"ticket please")
                first_info = first.info
            async with connect(
                HOST, port, config=config, server_name="localhost", early_data=b"0-RTT hello"
            ) as second:
                return first_info, second.info, await second.early_reply()
        finally:
            server.close()

    return run(main())


def test_sends_0rtt_that_our_server_accepts() -> None:
    scfg = pki().server_config(alpn_protocols=ALPN, max_early_data=0xFFFFFFFF)
    first, second, reply = _twice_with_early_data(scfg, _client(session_store=MemorySessionStore()))
    assert first.early_data == "none"
    assert second.resumed and second.early_data == "accepted"
    assert second.early_data_sent == len(b"0-RTT hello")
    assert reply == b"0-RTT hello"


def test_sends_early_data_as_1rtt_when_tickets_allow_no_0rtt() -> None:
    scfg = pki().server_config(alpn_protocols=ALPN)  # max_early_data 0: no 0-RTT in tickets
    _, second, reply = _twice_with_early_data(scfg, _client(session_store=MemorySessionStore()))
    assert second.resumed and second.early_data == "none"
    assert reply == b"0-RTT hello"


def test_tells_the_server_of_each_completed_handshake_with_the_client_address() -> None:
    seen: list[tuple[SessionInfo, Any]] = []

    async def main() -> tuple[SessionInfo, int]:
        config = pki().server_config(alpn_protocols=ALPN)
        server = await serve(
            echo, HOST, 0, config=config, on_handshake=lambda i, a: seen.append((i, a))
        )
        try:
            async with connect(
                HOST, server.address[1], config=_client(), server_name="localhost"
            ) as client:
                await client.request(b"x")
                return client.info, client.protocol._transport.get_extra_info("sockname")[1]
        finally:
            server.close()

    client_info, client_port = run(main())
    assert len(seen) == 1
    info, address = seen[0]
    assert (info.group, info.cipher_suite) == (client_info.group, client_info.cipher_suite)
    assert tuple(address[:2]) == (HOST, client_port)


def test_a_failing_handshake_observer_does_not_fail_the_handshake(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(info: SessionInfo, address: Any) -> None:
        raise RuntimeError("observer bug")

    async def main() -> bytes:
        config = pki().server_config(alpn_protocols=ALPN)
        server = await serve(echo, HOST, 0, config=config, on_handshake=broken)
        try:
            async with connect(
                HOST, server.address[1], config=_client(), server_name="localhost"
            ) as client:
                return await client.request(b"still served")
        finally:
            server.close()

    assert run(main()) == b"still served"
    assert "QUIC handshake observer failed" in caplog.text
