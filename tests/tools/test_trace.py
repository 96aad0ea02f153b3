"""The handshake tracer: whole messages from fragments, in order, with HRR and key shares
named; it is fed by a real client/server pair through ``handshake_trace``."""

from __future__ import annotations

from pairs import client_config, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.tools.trace import HandshakeTracer
from nautilus_tls.wire.enums import NamedGroup

FIRST = ["ClientHello", "HelloRetryRequest", "ClientHello", "ServerHello"]


def traced_pair() -> tuple[HandshakeTracer, HandshakeTracer]:
    client_trace, server_trace = HandshakeTracer(), HandshakeTracer()
    client = ClientConnection(
        client_config(
            groups=(NamedGroup.X25519MLKEM768, NamedGroup.x25519),
            key_share_groups=(NamedGroup.x25519,),
            handshake_trace=client_trace,
        ),
        "localhost",
    )
    server = ServerConnection(
        server_config(groups=(NamedGroup.X25519MLKEM768,), handshake_trace=server_trace)
    )
    client.start()
    for _ in range(10):
        moved = False
        for src, dst in ((client, server), (server, client)):
            if data := src.data_to_send():
                moved = True
                dst.receive_data(data)
        if not moved:
            break
    assert client.handshake_complete and server.handshake_complete
    assert client.info is not None and client.info.hello_retry
    return client_trace, server_trace


def test_both_sides_see_the_same_messages_in_opposite_directions() -> None:
    client, server = traced_pair()
    names = [m.name for m in client.messages]
    assert names[:4] == FIRST
    assert [m.name for m in server.messages] == names
    flip = {"sent": "received", "received": "sent"}
    assert [flip[m.direction] for m in server.messages] == [m.direction for m in client.messages]
    assert [m.size for m in server.messages] == [m.size for m in client.messages]
    assert client.hello_retry and server.hello_retry
    times = [m.at for m in client.messages]
    assert times == sorted(times)


def test_key_shares_and_the_retry_request_are_named() -> None:
    client, _ = traced_pair()
    first, retry, second, hello = client.messages[:4]
    assert first.details == "key shares: x25519 (32 bytes)"
    assert retry.details == "asks for a key share for X25519MLKEM768"
    assert second.details == "key shares: X25519MLKEM768 (1216 bytes)"
    assert hello.details.startswith("key share X25519MLKEM768 (1120 bytes), suite TLS_")


def test_fragments_are_put_back_together_and_coalesced_messages_split() -> None:
    tracer = HandshakeTracer()
    finished = bytes([20, 0, 0, 4]) + b"\x01\x02\x03\x04"
    for byte in finished:  # one byte at a time
        tracer("received", bytes([byte]))
    tracer("received", finished + finished)  # two in one
    assert [(m.name, m.size) for m in tracer.messages] == [("Finished", 8)] * 3


def test_an_unknown_message_type_is_shown_by_number() -> None:
    tracer = HandshakeTracer()
    tracer("received", bytes([99, 0, 0, 0]))
    assert tracer.messages[0].name == "unknown message 0x0063"
