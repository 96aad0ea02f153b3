"""Extension plug-ins (handshake/hooks.py) and the QUIC transport parameters plug-in
(handshake/quic_params.py): offered, parsed and checked per message, with the RFC's alerts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from certificates import pki
from levels import CLIENT_PARAMS, SERVER_PARAMS, engines, expect_alert, run
from pairs import client_config, handshake, pump, server_config

from nautilus_tls.config import CertifiedKey, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, ConfigError, LocalProtocolError, ProtocolError
from nautilus_tls.handshake.hooks import ExtensionHooks
from nautilus_tls.handshake.quic_params import QuicTransportParameters
from nautilus_tls.wire.enums import ExtensionType, HandshakeType
from nautilus_tls.wire.messages import CertificateEntry, Extension

CH = HandshakeType.client_hello
EE = HandshakeType.encrypted_extensions


@dataclass(frozen=True)
class RawHook:
    """A plug-in that offers fixed bytes and keeps what it receives unchecked."""

    ext_type: int
    data: bytes = b"x"
    messages: frozenset[int] = frozenset({CH, EE})

    def offer(self, message: int, peer: object | None) -> bytes | None:
        return self.data

    def receive(self, message: int, data: bytes | None) -> object:
        return data


def test_rejects_malformed_transport_parameters_from_the_server_with_decode_error() -> None:
    truncated = RawHook(ExtensionType.quic_transport_parameters, b"\x04\x04\x80\x20")
    client, server = engines(server_hooks=(truncated,))
    expect_alert(AlertDescription.decode_error, lambda: run(client, server))
    assert not client.complete


def test_rejects_malformed_transport_parameters_from_the_client_with_decode_error() -> None:
    runs_past_end = RawHook(ExtensionType.quic_transport_parameters, b"\x01\x05\x00")
    client, server = engines(client_hooks=(runs_past_end,))
    expect_alert(AlertDescription.decode_error, lambda: run(client, server))


def test_rejects_a_repeated_transport_parameter_with_illegal_parameter() -> None:
    repeated = RawHook(ExtensionType.quic_transport_parameters, b"\x01\x00\x01\x00")
    client, server = engines(client_hooks=(repeated,))
    expect_alert(AlertDescription.illegal_parameter, lambda: run(client, server))


def test_rejects_a_server_without_transport_parameters_with_missing_extension() -> None:
    client, server = engines(server_hooks=())
    expect_alert(AlertDescription.missing_extension, lambda: run(client, server))


def test_rejects_a_client_without_transport_parameters_with_missing_extension() -> None:
    client, server = engines(client_hooks=())
    expect_alert(AlertDescription.missing_extension, lambda: run(client, server))


def test_rejects_a_plug_in_extension_in_a_message_it_is_not_allowed_in() -> None:
    # The client's plug-in may appear in ClientHello only; a server that answers it in
    # EncryptedExtensions breaks RFC 8446 §4.2: illegal_parameter.
    client_only = RawHook(0xFF01, messages=frozenset({CH}))
    answered = RawHook(0xFF01)
    client, server = engines(
        client_hooks=(QuicTransportParameters(CLIENT_PARAMS), client_only),
        server_hooks=(QuicTransportParameters(SERVER_PARAMS), answered),
    )
    expect_alert(AlertDescription.illegal_parameter, lambda: run(client, server))


def test_plug_in_messages_extend_the_rfc_table_without_narrowing_it() -> None:
    hooks = ExtensionHooks(
        (RawHook(ExtensionType.quic_transport_parameters, messages=frozenset({CH})),)
    )
    assert hooks.allowed_in[ExtensionType.quic_transport_parameters] == {CH, EE}


def test_accepts_a_plug_in_the_server_does_not_know_and_sees_it_unanswered() -> None:
    # RFC 8446 §4.2: an unknown extension is ignored; the plug-in sees its absence.
    client, server = engines(
        client_hooks=(QuicTransportParameters(CLIENT_PARAMS), RawHook(0xFF02)),
    )
    run(client, server)
    assert client.complete and server.complete
    assert client.engine.peer_extensions[0xFF02] is None


def test_server_plug_in_does_not_answer_what_the_client_did_not_offer() -> None:
    client, server = engines(
        server_hooks=(QuicTransportParameters(SERVER_PARAMS), RawHook(0xFF03)),
    )
    run(client, server)  # an unsolicited 0xFF03 would be unsupported_extension
    assert client.complete and server.complete
    assert server.engine.peer_extensions[0xFF03] is None


def test_rejects_two_plug_ins_for_one_code_point() -> None:
    with pytest.raises(LocalProtocolError):
        ExtensionHooks((RawHook(0xFF04), RawHook(0xFF04)))


def test_rejects_a_plug_in_that_duplicates_a_built_in_extension() -> None:
    alpn = RawHook(ExtensionType.application_layer_protocol_negotiation)
    with pytest.raises(LocalProtocolError, match="built into the handshake"):
        engines(client_config(alpn_protocols=(b"h3",)), client_hooks=(alpn,))


def test_rejects_malformed_local_transport_parameters() -> None:
    with pytest.raises(ValueError):
        QuicTransportParameters(b"\x04\x04")


def test_round_trips_plug_in_extensions_over_tls_records() -> None:
    client = ClientConnection(
        client_config(), "localhost", extension_hooks=(RawHook(0xFF05, b"from client"),)
    )
    server = ServerConnection(server_config(), extension_hooks=(RawHook(0xFF05, b"from server"),))
    client.start()
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    assert client.peer_extensions[0xFF05] == b"from server"
    assert server.peer_extensions[0xFF05] == b"from client"


# --- plug-ins given by the configuration, in every hooked message, over TLS records ---------

SH = HandshakeType.server_hello
CR = HandshakeType.certificate_request
CERT = HandshakeType.certificate
NST = HandshakeType.new_session_ticket


@dataclass(frozen=True)
class Tagged:
    """Offers ``tag`` and the message it went in; keeps what it receives, and remembers what
    it was answering (``peer``) in what it offers back."""

    ext_type: int
    tag: bytes
    messages: frozenset[int]

    def offer(self, message: int, peer: object | None) -> bytes | None:
        answered = b"" if peer is None else b" re " + bytes(peer)  # type: ignore[call-overload]
        return self.tag + b"@" + str(message).encode() + answered

    def receive(self, message: int, data: bytes | None) -> object:
        return data


def hooked_pair(
    client_hooks: tuple[Tagged, ...], server_hooks: tuple[Tagged, ...], *, mtls: bool = False
) -> tuple[ClientConnection, ServerConnection]:
    client_kw: dict[str, object] = {"extension_hooks": client_hooks}
    server_kw: dict[str, object] = {"extension_hooks": server_hooks}
    if mtls:
        client_kw["client_certificate"] = pki().client
        server_kw.update(client_auth="require", client_trust_store=pki().store)
    return handshake(client_config(**client_kw), server_config(**server_kw))


@pytest.mark.parametrize("message", [SH, EE, CERT], ids=["ServerHello", "EE", "Certificate"])
def test_server_answers_a_client_plug_in_in_the_message_it_names(message: int) -> None:
    client, server = hooked_pair(
        (Tagged(0xFF20, b"c", frozenset({CH, message})),),
        (Tagged(0xFF20, b"s", frozenset({CH, message})),),
    )
    assert client.handshake_complete and server.handshake_complete
    assert server.peer_extensions[0xFF20] == b"c@1"
    assert client.peer_extensions[0xFF20] == b"s@%d re c@1" % message
    assert client.info is not None
    assert client.info.peer_extensions[0xFF20] == b"s@%d re c@1" % message


def test_client_certificate_answers_a_certificate_request_plug_in() -> None:
    # RFC 8446 §4.4.2: the client's Certificate extensions answer its CertificateRequest.
    client, server = hooked_pair(
        (Tagged(0xFF21, b"c", frozenset({CR, CERT})),),
        (Tagged(0xFF21, b"s", frozenset({CR, CERT})),),
        mtls=True,
    )
    assert client.handshake_complete and server.handshake_complete
    assert client.peer_extensions[0xFF21] == b"s@13"
    assert server.peer_extensions[0xFF21] == b"c@11 re s@13"


def test_client_receives_a_new_session_ticket_plug_in_after_the_handshake() -> None:
    client, server = hooked_pair(
        (Tagged(0xFF22, b"c", frozenset({NST})),),
        (Tagged(0xFF22, b"s", frozenset({NST})),),
    )
    pump(client, server)  # the tickets follow the server's Finished
    assert client.peer_extensions[0xFF22] == b"s@4"
    assert client.info is not None and client.info.peer_extensions[0xFF22] == b"s@4"


def test_server_sends_no_plug_in_answer_the_client_did_not_ask_for() -> None:
    # The server's plug-in would go in ServerHello, EE and Certificate; the client offered
    # nothing, so none goes out (else the client would refuse it: unsupported_extension).
    client, server = hooked_pair((), (Tagged(0xFF23, b"s", frozenset({CH, SH, EE, CERT})),))
    assert client.handshake_complete and server.handshake_complete
    assert 0xFF23 not in client.peer_extensions
    assert server.peer_extensions[0xFF23] is None  # the server's plug-in saw no offer


@dataclass(frozen=True, slots=True)
class StapledCertifiedKey(CertifiedKey):
    """A credential that puts an extension nobody asked for in its end-entity entry."""

    stapled: int = ExtensionType.signed_certificate_timestamp

    def certificate_entries(self) -> tuple[CertificateEntry, ...]:
        leaf, *rest = CertifiedKey.certificate_entries(self)
        unasked = Extension(ext_type=self.stapled, data=b"\x00\x00")
        return (CertificateEntry(cert_data=leaf.cert_data, extensions=(unasked,)), *rest)


def stapled(key: CertifiedKey) -> StapledCertifiedKey:
    return StapledCertifiedKey(chain=key.chain, private_key=key.private_key)


def test_client_refuses_a_certificate_extension_its_client_hello_did_not_offer() -> None:
    # RFC 8446 §4.4.2: the server's Certificate extensions must answer the ClientHello.
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(ServerConfig(certificates=(stapled(pki().server),)))
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.unsupported_extension
    assert not client.handshake_complete


def test_server_refuses_a_certificate_extension_its_request_did_not_offer() -> None:
    client = ClientConnection(client_config(client_certificate=stapled(pki().client)), "localhost")
    server = ServerConnection(server_config(client_auth="require", client_trust_store=pki().store))
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.unsupported_extension
    assert not server.handshake_complete


@pytest.mark.parametrize(
    ("hooks", "problem"),
    [
        ((Tagged(0xFF24, b"a", frozenset({CH})), Tagged(0xFF24, b"b", frozenset({CH}))), "two"),
        ((Tagged(ExtensionType.key_share, b"a", frozenset({CH})),), "built into"),
        ((Tagged(0xFF25, b"a", frozenset({HandshakeType.finished})),), "without hooks"),
        ((Tagged(0xFF26, b"a", frozenset()),), "without hooks"),
        ((Tagged(0x10000, b"a", frozenset({CH})),), "16-bit"),
    ],
    ids=["duplicate", "built-in", "finished", "no-message", "too-big"],
)
def test_config_refuses_plug_ins_that_cannot_run(hooks: tuple[Tagged, ...], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        client_config(extension_hooks=hooks)
    with pytest.raises(ConfigError, match=problem):
        server_config(extension_hooks=hooks)
