"""OPAQUE and SPAKE2+ inside the TLS 1.3 handshake (pake/tls.py, docs/pake.md): both methods
log in over the record layer with the PAKE key in the key schedule; wrong passwords, unknown
users, the rate limit, missing or malformed extensions end with the documented alerts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from levels import CLIENT_PARAMS, SERVER_PARAMS, engines, expect_alert, run
from loopback import ADAPTERS
from pairs import client_config, pump, server_config
from pake.helpers import KSF, PASSWORD

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.handshake.hooks import with_plugin_secrets
from nautilus_tls.handshake.quic_params import QuicTransportParameters
from nautilus_tls.pake.ratelimit import FailedLoginLimiter
from nautilus_tls.pake.server import PakeServer, register
from nautilus_tls.pake.store_sqlite import SQLiteRecordStore
from nautilus_tls.pake.tls import (
    PAKE_EXTENSION,
    PakeClientHook,
    PakeOutcome,
    PakeServerHook,
    decode_client_hello,
    decode_server_hello,
    encode_client_hello,
    encode_server_hello,
)
from nautilus_tls.wire.enums import HandshakeType

METHODS = ["opaque", "spake2plus"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteRecordStore]:
    s = SQLiteRecordStore(tmp_path / "users.db")
    for method in ("opaque", "spake2plus"):
        register(s, "alice", PASSWORD, method=method, ksf=KSF)  # type: ignore[arg-type]
    yield s
    s.close()


def _server_hook(store: SQLiteRecordStore, max_failures: int = 5) -> PakeServerHook:
    limiter = FailedLoginLimiter(store, max_failures=max_failures)
    return PakeServerHook(PakeServer(store, limiter=limiter, default_ksf=KSF))


def _client_hook(method: str, password: bytes = PASSWORD, user: str = "alice") -> PakeClientHook:
    return PakeClientHook(user, password, method=method, ksf=KSF)  # type: ignore[arg-type]


def _engines(client_hook: PakeClientHook | None, server_hook: PakeServerHook) -> tuple:  # type: ignore[type-arg]
    client_hooks = (QuicTransportParameters(CLIENT_PARAMS),)
    if client_hook is not None:
        client_hooks += (client_hook,)  # type: ignore[assignment]
    return engines(
        client_hooks=client_hooks,
        server_hooks=(QuicTransportParameters(SERVER_PARAMS), server_hook),
    )


@pytest.mark.parametrize("method", METHODS)
def test_password_login_over_tls_with_data_both_ways(store: SQLiteRecordStore, method: str) -> None:
    client = ClientConnection(client_config(), "localhost", extension_hooks=[_client_hook(method)])
    server = ServerConnection(server_config(extension_hooks=(_server_hook(store),)))
    client.start()
    pump(client, server)
    client.send_data(b"ping")
    pump(client, server)
    server.send_data(b"pong")
    pump(client, server)
    ours, theirs = client.peer_extensions[PAKE_EXTENSION], server.peer_extensions[PAKE_EXTENSION]
    assert isinstance(ours, PakeOutcome) and ours.method == method and ours.user == "alice"
    assert theirs.method == method and theirs.user == "alice"
    assert theirs.outcome.confirmed  # the client's Finished verified
    assert store.failures("alice", 0, 1e12) == 0  # the attempt was counted, then cleared
    assert client.info is not None and server.info is not None
    assert client.info.auth == server.info.auth == method


def test_session_info_auth_is_none_without_a_password_login() -> None:
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config())
    client.start()
    pump(client, server)
    assert client.info is not None and server.info is not None
    assert client.info.auth is None and server.info.auth is None


@pytest.mark.parametrize("method", METHODS)
def test_wrong_password_and_unknown_user_end_with_decrypt_error_at_the_client(
    store: SQLiteRecordStore, method: str
) -> None:
    for hook in (_client_hook(method, b"wrong"), _client_hook(method, user="nobody")):
        client, server = _engines(hook, _server_hook(store))
        expect_alert(AlertDescription.decrypt_error, lambda: run(client, server))  # noqa: B023
        assert not client.complete and not server.complete
    assert store.failures("alice", 0, 1e12) == 1
    assert store.failures("nobody", 0, 1e12) == 1


@pytest.mark.parametrize("method", METHODS)
def test_rate_limit_refuses_with_access_denied(store: SQLiteRecordStore, method: str) -> None:
    hook = _server_hook(store, max_failures=2)
    for _ in range(2):
        client, server = _engines(_client_hook(method, b"guess"), hook)
        expect_alert(AlertDescription.decrypt_error, lambda: run(client, server))  # noqa: B023
    client, server = _engines(_client_hook(method), hook)  # even the right password
    expect_alert(AlertDescription.access_denied, lambda: run(client, server))


def test_the_pake_key_is_in_the_key_schedule(store: SQLiteRecordStore) -> None:
    # A client that passes the PAKE check but then uses another key cannot finish: the key
    # really enters the handshake secret (not only the PAKE's own confirmation).
    class Tampering(PakeClientHook):
        def receive(self, message: int, data: bytes | None) -> object:
            outcome = super().receive(message, data)
            assert isinstance(outcome, PakeOutcome)
            outcome.key = bytes(len(outcome.key))
            return outcome

    client, server = _engines(
        Tampering("alice", PASSWORD, method="opaque", ksf=KSF), _server_hook(store)
    )
    with pytest.raises(Exception) as info:
        run(client, server)
    assert getattr(info.value, "alert", None) in (
        AlertDescription.decrypt_error,
        AlertDescription.bad_record_mac,
    )
    assert store.failures("alice", 0, 1e12) == 1


def test_server_requiring_pake_refuses_a_client_without_it(store: SQLiteRecordStore) -> None:
    client, server = _engines(None, _server_hook(store))
    expect_alert(AlertDescription.missing_extension, lambda: run(client, server))


def test_client_refuses_a_server_that_ignores_the_pake(store: SQLiteRecordStore) -> None:
    client, server = engines(
        client_hooks=(QuicTransportParameters(CLIENT_PARAMS), _client_hook("opaque")),
    )
    expect_alert(AlertDescription.missing_extension, lambda: run(client, server))


class _RawPake(PakeClientHook):
    """Offers fixed bytes as the pake extension."""

    def __init__(self, data: bytes) -> None:
        super().__init__("alice", PASSWORD, ksf=KSF)
        self.data = data

    def offer(self, message: int, peer: object | None) -> bytes | None:
        return self.data


@pytest.mark.parametrize(
    ("data", "alert"),
    [
        (b"", AlertDescription.decode_error),
        (b"\x05alice\x00\x00\x00", AlertDescription.decode_error),  # no shares
        (encode_client_hello("alice", [(0xFE02, b"\x01" * 10)]), AlertDescription.decode_error),
        (encode_client_hello("alice", [(0xFE02, bytes(96))]), AlertDescription.illegal_parameter),
        (encode_client_hello("alice", [(0x1234, b"x")]), AlertDescription.handshake_failure),
        (
            encode_client_hello("alice", [(0xFE01, b"x"), (0xFE01, b"y")]),
            AlertDescription.illegal_parameter,
        ),
        (b"\x03a\nb\x00\x00\x05\xfe\x02\x00\x01x", AlertDescription.illegal_parameter),
    ],
)
def test_malformed_client_extension_gets_the_right_alert(
    store: SQLiteRecordStore, data: bytes, alert: AlertDescription
) -> None:
    client, server = _engines(_RawPake(data), _server_hook(store))
    expect_alert(alert, lambda: run(client, server))


def test_codec_round_trip() -> None:
    data = encode_client_hello("zoë", [(0xFE01, b"a"), (0xFE02, b"bc")])
    assert decode_client_hello(data) == ("zoë", {0xFE01: b"a", 0xFE02: b"bc"})


def test_plugin_secret_never_stands_alone() -> None:
    outcome = PakeOutcome("opaque", "alice", b"K" * 4)
    assert with_plugin_secrets(b"ss", {PAKE_EXTENSION: outcome, 1: "other"}) == b"ssKKKK"
    assert with_plugin_secrets(b"ss", {}) == b"ss"
    expect_alert(
        AlertDescription.missing_extension,
        lambda: with_plugin_secrets(None, {PAKE_EXTENSION: outcome}),
    )


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.parametrize("method", METHODS)
def test_login_over_real_sockets(store: SQLiteRecordStore, adapter: str, method: str) -> None:
    # The adapters take plug-ins from the configuration: one client configuration per
    # connection, since a PakeClientHook is one login.
    client_cfg = client_config(extension_hooks=(_client_hook(method),))
    server_cfg = server_config(extension_hooks=(_server_hook(store),))
    client_info, server_info = ADAPTERS[adapter](client_cfg, server_cfg)
    assert client_info.group == server_info.group == "X25519MLKEM768"
    assert store.failures("alice", 0, 1e12) == 0


def test_a_relay_between_two_sessions_fails(store: SQLiteRecordStore) -> None:
    # A man in the middle runs a server for the victim and a client to the real server and
    # copies the PAKE messages across. The PAKE check passes (the answer is the real server's),
    # but the attacker does not know the PAKE key, and each side's key exchange is with the
    # attacker: the victim's Finished check fails.
    class Relayed:
        def __init__(self) -> None:
            self.key = os.urandom(64)  # the attacker's best guess at the PAKE key

        def handshake_secret_input(self) -> bytes:
            return self.key

        def handshake_confirmed(self) -> None:
            raise AssertionError("the relay must not complete")

    class RelayClient(_RawPake):  # towards the real server: the victim's ClientHello share
        answer: bytes | None = None

        def receive(self, message: int, data: bytes | None) -> object:
            RelayClient.answer = data
            return Relayed()

    @dataclass(frozen=True)
    class RelayServer:  # towards the victim: the real server's answer
        ext_type: int = PAKE_EXTENSION
        messages: frozenset[int] = frozenset(
            {HandshakeType.client_hello, HandshakeType.server_hello}
        )

        def receive(self, message: int, data: bytes | None) -> object:
            return Relayed()

        def offer(self, message: int, peer: object | None) -> bytes | None:
            return RelayClient.answer

    victim_hook = _client_hook("opaque")
    victim_ch = victim_hook.offer(HandshakeType.client_hello, None)
    assert victim_ch is not None
    to_real, real = _engines(RelayClient(victim_ch), _server_hook(store))
    with pytest.raises(ProtocolError):
        run(to_real, real)  # the attacker cannot finish with the real server either
    assert RelayClient.answer is not None
    victim, fake_server = engines(
        client_hooks=(QuicTransportParameters(CLIENT_PARAMS), victim_hook),
        server_hooks=(QuicTransportParameters(SERVER_PARAMS), RelayServer()),
    )
    with pytest.raises(ProtocolError) as info:
        run(victim, fake_server)
    assert info.value.alert in (AlertDescription.decrypt_error, AlertDescription.bad_record_mac)
    assert "Finished" in str(info.value)  # the PAKE check passed; the key schedule did not
    assert not victim.complete


@pytest.mark.parametrize("method", METHODS)
def test_login_across_a_hello_retry_request_runs_and_counts_once(
    store: SQLiteRecordStore, method: str
) -> None:
    # The client's first share is for a group the server does not take: HelloRetryRequest.
    # The second ClientHello repeats the PAKE share; the server runs the PAKE once, for the
    # ServerHello, and counts one attempt (cleared by the Finished).
    from nautilus_tls.wire.enums import NamedGroup

    counted: list[int] = []

    class Counting(PakeServer):
        def started(self, user: str) -> None:
            counted.append(False)
            super().started(user)

        def finished(self, user: str, *, ok: bool) -> None:
            counted.append(ok)
            super().finished(user, ok=ok)

    ccfg = client_config(
        groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=(NamedGroup.x25519,)
    )
    hook = PakeServerHook(Counting(store, default_ksf=KSF))
    scfg = server_config(groups=(NamedGroup.secp256r1,), extension_hooks=(hook,))
    client = ClientConnection(ccfg, "localhost", extension_hooks=[_client_hook(method)])
    server = ServerConnection(scfg)
    client.start()
    pump(client, server)
    client.send_data(b"after retry")
    pump(client, server)
    assert client.info is not None and client.info.hello_retry
    assert server.peer_extensions[PAKE_EXTENSION].outcome.confirmed  # type: ignore[attr-defined]
    assert counted == [False, True]


@pytest.mark.parametrize("method", METHODS)
def test_unknown_user_gets_a_server_answer_of_the_same_shape(
    store: SQLiteRecordStore, method: str
) -> None:
    answers = {}
    hook = _server_hook(store)
    for user in ("alice", "nobody"):
        client_hook = _client_hook(method, user=user)
        offer = client_hook.offer(HandshakeType.client_hello, None)
        login = hook.receive(HandshakeType.client_hello, offer)
        answers[user] = hook.offer(HandshakeType.server_hello, login)
    known, unknown = answers["alice"], answers["nobody"]
    assert known is not None and unknown is not None
    assert len(known) == len(unknown) and known[:4] == unknown[:4]  # NamedPAKE and length


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_extension_bytes_decode_or_fail_with_an_alert(data: bytes) -> None:
    for decode in (decode_client_hello, decode_server_hello):
        try:
            decode(data)
        except ProtocolError as exc:
            assert exc.alert in (AlertDescription.decode_error, AlertDescription.illegal_parameter)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=400))
def test_any_server_answer_fails_the_client_with_an_alert(answer: bytes) -> None:
    hook = PakeClientHook("alice", PASSWORD, method="opaque", ksf=KSF)
    hook.offer(HandshakeType.client_hello, None)
    with pytest.raises(ProtocolError):
        hook.receive(HandshakeType.server_hello, encode_server_hello(0xFE02, answer))
