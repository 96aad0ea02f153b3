"""The loopback matrix over real sockets: every group x every suite x every signature scheme,
through the asyncio adapter (all in one event loop) and the blocking adapter (a server
thread), each connection echoing data after the handshake."""

from __future__ import annotations

import asyncio
import threading

import pytest
from pairs import client_config, server_config
from test_matrix import GROUPS, SCHEMES, SUITES

from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.sync import TLSListener, TLSSocket
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme

TIMEOUT = 20.0
CASES = [(g, s, a) for g in GROUPS for s in SUITES for a in SCHEMES]


def _configs(
    group: NamedGroup, suite: CipherSuite, alg: str, scheme: SignatureScheme
) -> tuple[ClientConfig, ServerConfig]:
    return (
        client_config(
            alg,
            groups=(group,),
            key_share_groups=(group,),
            cipher_suites=(suite,),
            signature_schemes=(scheme,),
        ),
        server_config(alg, groups=(group,), cipher_suites=(suite,)),
    )


def test_asyncio_matrix() -> None:
    async def one(
        group: NamedGroup, suite: CipherSuite, alg_scheme: tuple[str, SignatureScheme]
    ) -> str | None:
        alg, scheme = alg_scheme
        ccfg, scfg = _configs(group, suite, alg, scheme)

        async def echo(reader: TLSReader, writer: TLSWriter) -> None:
            writer.write(await reader.read(100))
            await writer.drain()
            writer.close()

        server = await start_server(echo, "127.0.0.1", 0, config=scfg)
        try:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await connect("127.0.0.1", port, config=ccfg, server_name="localhost")
            info = writer.info
            writer.write(b"ping")
            reply = await reader.read(100)
            writer.close()
            await writer.wait_closed()
        finally:
            server.close()
            await server.wait_closed()
        got = (info.group, info.cipher_suite, info.signature_scheme, reply)
        want = (group.name, suite.name, scheme.name, b"ping")
        return None if got == want else f"{want}: got {got}"

    async def main() -> list[str]:
        failures = []
        for case in CASES:
            problem = await asyncio.wait_for(one(*case), TIMEOUT)
            if problem:
                failures.append(problem)
        return failures

    assert asyncio.run(main()) == []


@pytest.mark.parametrize(
    ("group", "suite", "alg_scheme"),
    # Every group, suite and scheme at least once (the full product runs over asyncio above).
    [
        (GROUPS[i % len(GROUPS)], SUITES[i % len(SUITES)], SCHEMES[i % len(SCHEMES)])
        for i in range(len(GROUPS) * len(SCHEMES) // 3)
    ],
    ids=str,
)
def test_blocking_matrix(
    group: NamedGroup, suite: CipherSuite, alg_scheme: tuple[str, SignatureScheme]
) -> None:
    alg, scheme = alg_scheme
    ccfg, scfg = _configs(group, suite, alg, scheme)
    listener = TLSListener("127.0.0.1", 0, scfg)
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with listener.accept(timeout=TIMEOUT) as conn:
                conn.sendall(conn.recv(100))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with TLSSocket.connect(
            listener.address, config=ccfg, server_name="localhost", timeout=TIMEOUT
        ) as tls:
            tls.sendall(b"ping")
            assert tls.recv(100) == b"ping"
            info = tls.info
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert not errors, errors
    assert (info.group, info.cipher_suite, info.signature_scheme) == (
        group.name,
        suite.name,
        scheme.name,
    )
