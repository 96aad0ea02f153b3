"""Handshake message codecs (RFC 8446 §4) and reassembly.

Round trips and "no strict prefix decodes" follow Go's handshake_messages_test.go; the real
messages come from RFC 8448 §3-§7 (tests/vectors/rfc8448).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nautilus_tls.errors import (
    AlertDescription,
    DecodeError,
    LocalProtocolError,
    PeerIncompatible,
    PeerMisbehaved,
    ProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.wire.enums import CipherSuite, ExtensionType, HandshakeType
from nautilus_tls.wire.messages import (
    HRR_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    Extension,
    Finished,
    HandshakeMessage,
    HandshakeReassembler,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
    decode_handshake,
    decode_handshake_message,
    encode_handshake,
    handshake_header,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

# -- strategies ------------------------------------------------------------------------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
ext_types = st.one_of(st.sampled_from(list(ExtensionType)), u16)
extensions_st = st.lists(
    st.builds(Extension, ext_types, st.binary(max_size=40)),
    max_size=6,
    unique_by=lambda e: e.ext_type,
).map(tuple)


def _psk_last(exts: tuple[Extension, ...]) -> tuple[Extension, ...]:
    return tuple(
        e
        for i, e in enumerate(exts)
        if e.ext_type != ExtensionType.pre_shared_key or i == len(exts) - 1
    )


client_hellos = st.builds(
    ClientHello,
    random=st.binary(min_size=32, max_size=32),
    legacy_session_id=st.binary(max_size=32),
    cipher_suites=st.lists(
        st.one_of(st.sampled_from(list(CipherSuite)), u16), min_size=1, max_size=8
    ).map(tuple),
    legacy_compression_methods=st.binary(min_size=1, max_size=4),
    extensions=extensions_st.map(_psk_last),
    legacy_version=u16,
)
server_hellos = st.builds(
    ServerHello,
    random=st.one_of(st.just(HRR_RANDOM), st.binary(min_size=32, max_size=32)),
    legacy_session_id_echo=st.binary(max_size=32),
    cipher_suite=u16,
    extensions=extensions_st,
    legacy_version=u16,
    legacy_compression_method=u8,
)
certificates = st.builds(
    Certificate,
    certificate_request_context=st.binary(max_size=255),
    certificate_list=st.lists(
        st.builds(CertificateEntry, st.binary(min_size=1, max_size=100), extensions_st),
        max_size=4,
    ).map(tuple),
)
messages: st.SearchStrategy[HandshakeMessage] = st.one_of(
    client_hellos,
    server_hellos,
    st.builds(EncryptedExtensions, extensions=extensions_st),
    st.builds(
        CertificateRequest,
        certificate_request_context=st.binary(max_size=255),
        extensions=extensions_st,
    ),
    certificates,
    st.builds(CertificateVerify, algorithm=u16, signature=st.binary(max_size=300)),
    st.builds(Finished, verify_data=st.binary(min_size=1, max_size=64)),
    st.builds(
        NewSessionTicket,
        ticket_lifetime=u32,
        ticket_age_add=u32,
        ticket_nonce=st.binary(max_size=255),
        ticket=st.binary(min_size=1, max_size=200),
        extensions=extensions_st,
    ),
    st.just(EndOfEarlyData()),
    st.builds(KeyUpdate, request_update=st.sampled_from([0, 1])),
)

ALL_TYPES = [
    HandshakeType.client_hello,
    HandshakeType.server_hello,
    HandshakeType.new_session_ticket,
    HandshakeType.end_of_early_data,
    HandshakeType.encrypted_extensions,
    HandshakeType.certificate,
    HandshakeType.certificate_request,
    HandshakeType.certificate_verify,
    HandshakeType.finished,
    HandshakeType.key_update,
]

# -- round trips -----------------------------------------------------------------------------


@given(msg=messages)
def test_round_trips_every_message(msg: HandshakeMessage) -> None:
    encoded = msg.encode()
    assert encoded == encode_handshake(msg)
    assert encoded[0] == msg.msg_type
    assert encoded[:4] == handshake_header(msg.msg_type, len(encoded) - 4)
    assert encoded[4:] == msg.encode_body()
    assert decode_handshake(msg.msg_type, encoded[4:]) == msg
    assert type(msg).decode_body(encoded[4:]) == msg
    assert decode_handshake_message(encoded) == msg


@given(msg=messages)
def test_no_strict_prefix_of_a_message_decodes(msg: HandshakeMessage) -> None:
    encoded = msg.encode()
    for cut in range(len(encoded)):
        with pytest.raises(ProtocolError):
            decode_handshake_message(encoded[:cut])
    if isinstance(msg, Finished):
        return  # verify_data is the whole body: its length comes from the header alone
    body = encoded[4:]
    for cut in range(len(body)):
        with pytest.raises(ProtocolError):
            decode_handshake(msg.msg_type, body[:cut])


@given(msg=messages, extra=st.binary(min_size=1, max_size=3))
def test_rejects_trailing_bytes(msg: HandshakeMessage, extra: bytes) -> None:
    if isinstance(msg, Finished):
        return
    with pytest.raises(DecodeError):
        decode_handshake(msg.msg_type, msg.encode_body() + extra)


@given(msg_type=st.sampled_from(ALL_TYPES), body=st.binary(max_size=200))
def test_random_bodies_raise_only_protocol_errors(msg_type: int, body: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_handshake(msg_type, body)


@given(data=st.binary(max_size=300))
def test_random_messages_raise_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_handshake_message(data)


@given(msg=messages, data=st.data())
def test_mutated_messages_raise_only_protocol_errors(
    msg: HandshakeMessage, data: st.DataObject
) -> None:
    _decode_mutated(msg.encode(), data)


def _decode_mutated(raw: bytes, data: st.DataObject) -> None:
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if op == "insert" or not buf:
            buf.insert(data.draw(st.integers(0, len(buf))), data.draw(u8))
            continue
        i = data.draw(st.integers(0, len(buf) - 1))
        if op == "flip":
            buf[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set":
            buf[i] = data.draw(u8)
        else:
            del buf[i]
    for decode in (decode_handshake_message, lambda b: decode_handshake(raw[0], bytes(b[4:]))):
        with contextlib.suppress(ProtocolError):
            decode(bytes(buf))


def test_messages_are_frozen_slotted_and_keyword_only() -> None:
    msg = Finished(verify_data=b"x" * 32)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.verify_data = b""  # type: ignore[misc]
    assert not hasattr(msg, "__dict__")
    with pytest.raises(TypeError):
        Finished(b"x" * 32)  # type: ignore[misc]
    assert msg.msg_type == HandshakeType.finished
    assert hash(
        ClientHello(random=bytes(32), legacy_session_id=b"", cipher_suites=(1,), extensions=())
    )


# -- decoding rules --------------------------------------------------------------------------


def _ch(**changes: Any) -> ClientHello:
    fields: dict[str, Any] = {
        "random": bytes(range(32)),
        "legacy_session_id": b"",
        "cipher_suites": (0x1301,),
        "extensions": (Extension(ExtensionType.supported_versions, b"\x02\x03\x04"),),
    }
    fields.update(changes)
    return ClientHello(**fields)


def _raw_ch_body(
    extensions: bytes, *, suites: bytes = b"\x00\x02\x13\x01", session_id: bytes = b"\x00"
) -> bytes:
    return b"\x03\x03" + bytes(32) + session_id + suites + b"\x01\x00" + extensions


def _ext_block(*exts: tuple[int, bytes]) -> bytes:
    body = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in exts)
    return len(body).to_bytes(2, "big") + body


@pytest.mark.parametrize("ext_type", [0, ExtensionType.key_share, 0xFAFA])
def test_rejects_duplicate_extensions_in_client_hello(ext_type: int) -> None:
    body = _raw_ch_body(_ext_block((ext_type, b""), (43, b"\x02\x03\x04"), (ext_type, b"")))
    with pytest.raises(PeerMisbehaved) as exc:
        ClientHello.decode_body(body)
    assert exc.value.alert == AlertDescription.illegal_parameter


@pytest.mark.parametrize(
    ("msg_type", "prefix"),
    [
        (HandshakeType.encrypted_extensions, b""),
        (HandshakeType.certificate_request, b"\x00"),
        (HandshakeType.new_session_ticket, bytes(8) + b"\x00\x00\x01t"),
        (HandshakeType.server_hello, b"\x03\x03" + bytes(32) + b"\x00\x13\x01\x00"),
    ],
)
def test_rejects_duplicate_extensions_in_every_block(msg_type: int, prefix: bytes) -> None:
    body = prefix + _ext_block((10, b"a"), (10, b"b"))
    with pytest.raises(PeerMisbehaved) as exc:
        decode_handshake(msg_type, body)
    assert exc.value.alert == AlertDescription.illegal_parameter


def test_rejects_duplicate_extensions_in_certificate_entry() -> None:
    entry = b"\x00\x00\x01x" + _ext_block((5, b""), (5, b""))
    body = b"\x00" + len(entry).to_bytes(3, "big") + entry
    with pytest.raises(PeerMisbehaved):
        Certificate.decode_body(body)


def test_rejects_pre_shared_key_not_last() -> None:
    psk = (ExtensionType.pre_shared_key, b"psk")
    body = _raw_ch_body(_ext_block(psk, (43, b"\x02\x03\x04")))
    with pytest.raises(PeerMisbehaved) as exc:
        ClientHello.decode_body(body)
    assert exc.value.alert == AlertDescription.illegal_parameter
    # Last is fine (the codec does not look inside).
    ClientHello.decode_body(_raw_ch_body(_ext_block((43, b"\x02\x03\x04"), psk)))


def test_rejects_empty_or_odd_cipher_suites() -> None:
    for suites in (b"\x00\x00", b"\x00\x03\x13\x01\x13"):
        with pytest.raises(DecodeError) as exc:
            ClientHello.decode_body(_raw_ch_body(_ext_block(), suites=suites))
        assert exc.value.alert == AlertDescription.decode_error


def test_rejects_long_session_id_and_empty_compression() -> None:
    with pytest.raises(DecodeError):
        ClientHello.decode_body(_raw_ch_body(_ext_block(), session_id=b"\x21" + bytes(33)))
    body = b"\x03\x03" + bytes(32) + b"\x00\x00\x02\x13\x01\x00" + _ext_block()
    with pytest.raises(DecodeError):
        ClientHello.decode_body(body)


def test_rejects_hellos_without_extensions_as_old_versions() -> None:
    with pytest.raises(PeerIncompatible) as exc:
        ClientHello.decode_body(_raw_ch_body(b""))
    assert exc.value.alert == AlertDescription.protocol_version
    with pytest.raises(PeerIncompatible) as exc:
        ServerHello.decode_body(b"\x03\x03" + bytes(32) + b"\x00\x13\x01\x00")
    assert exc.value.alert == AlertDescription.protocol_version


def test_accepts_empty_extension_blocks() -> None:
    assert ClientHello.decode_body(_raw_ch_body(b"\x00\x00")).extensions == ()
    assert EncryptedExtensions.decode_body(b"\x00\x00") == EncryptedExtensions()


def test_keeps_unknown_and_grease_values() -> None:
    msg = _ch(
        cipher_suites=(0x0A0A, 0x1301, 0xFFFF),
        extensions=(Extension(0x1A1A, b""), Extension(0xFE0D, b"\x01\x02")),
    )
    decoded = ClientHello.decode_body(msg.encode_body())
    assert decoded.cipher_suites == (0x0A0A, 0x1301, 0xFFFF)
    assert decoded.extensions == msg.extensions


@pytest.mark.parametrize("value", [2, 3, 0xFF])
def test_rejects_key_update_values_other_than_0_and_1(value: int) -> None:
    with pytest.raises(PeerMisbehaved) as exc:
        decode_handshake(HandshakeType.key_update, bytes((value,)))
    assert exc.value.alert == AlertDescription.illegal_parameter


def test_accepts_key_update_requests() -> None:
    assert KeyUpdate.decode_body(b"\x01") == KeyUpdate(request_update=1)
    assert KeyUpdate(request_update=0).encode() == b"\x18\x00\x00\x01\x00"


@pytest.mark.parametrize("msg_type", [0, 3, 6, 12, 21, 22, 23, 25, HandshakeType.message_hash, 255])
def test_rejects_unknown_message_types_as_unexpected(msg_type: int) -> None:
    with pytest.raises(RemoteProtocolError) as exc:
        decode_handshake(msg_type, b"")
    assert exc.value.alert == AlertDescription.unexpected_message


def test_rejects_empty_finished_and_non_empty_end_of_early_data() -> None:
    with pytest.raises(DecodeError):
        Finished.decode_body(b"")
    with pytest.raises(DecodeError):
        EndOfEarlyData.decode_body(b"\x00")
    assert Finished.decode_body(b"\x01" * 48).verify_data == b"\x01" * 48


def test_rejects_empty_ticket_and_empty_certificate() -> None:
    with pytest.raises(DecodeError):
        NewSessionTicket.decode_body(bytes(8) + b"\x00\x00\x00\x00\x00")
    with pytest.raises(DecodeError):
        Certificate.decode_body(b"\x00\x00\x00\x05\x00\x00\x00\x00\x00")


def test_accepts_empty_certificate_list() -> None:
    assert Certificate.decode_body(b"\x00\x00\x00\x00") == Certificate(certificate_list=())


def test_hello_retry_request_is_recognised_by_its_random() -> None:
    hrr = ServerHello(
        random=HRR_RANDOM, legacy_session_id_echo=b"", cipher_suite=0x1301, extensions=()
    )
    assert hrr.is_hello_retry_request
    assert not dataclasses.replace(hrr, random=bytes(32)).is_hello_retry_request


# -- encoding checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: _ch(random=bytes(31)),
        lambda: _ch(legacy_session_id=bytes(33)),
        lambda: _ch(cipher_suites=()),
        lambda: _ch(cipher_suites=(0x10000,)),
        lambda: _ch(legacy_compression_methods=b""),
        lambda: _ch(extensions=(Extension(0x10000, b""),)),
        lambda: _ch(extensions=(Extension(1, bytes(0x10000)),)),
        lambda: ServerHello(
            random=bytes(32), legacy_session_id_echo=b"", cipher_suite=-1, extensions=()
        ),
        lambda: Certificate(certificate_list=(CertificateEntry(b""),)),
        lambda: CertificateVerify(algorithm=0x10000, signature=b""),
        lambda: Finished(verify_data=b""),
        lambda: NewSessionTicket(
            ticket_lifetime=1 << 32, ticket_age_add=0, ticket_nonce=b"", ticket=b"t"
        ),
        lambda: NewSessionTicket(ticket_lifetime=0, ticket_age_add=0, ticket_nonce=b"", ticket=b""),
        lambda: KeyUpdate(request_update=2),
        lambda: CertificateRequest(certificate_request_context=bytes(256), extensions=()),
    ],
)
def test_refuses_to_encode_values_that_do_not_fit(build: Callable[[], HandshakeMessage]) -> None:
    with pytest.raises(LocalProtocolError) as exc:
        build().encode()
    assert exc.value.alert == AlertDescription.internal_error


def test_handshake_header() -> None:
    assert handshake_header(HandshakeType.finished, 32) == b"\x14\x00\x00\x20"
    with pytest.raises(LocalProtocolError):
        handshake_header(1, 1 << 24)


# -- reassembly ------------------------------------------------------------------------------


@given(msgs=st.lists(messages, min_size=1, max_size=4), data=st.data())
def test_reassembles_messages_split_anywhere(
    msgs: list[HandshakeMessage], data: st.DataObject
) -> None:
    stream = b"".join(m.encode() for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    r = HandshakeReassembler(max_message_size=1 << 16)
    out: list[tuple[int, bytes, bytes]] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        r.feed(stream[start:end])
        while (item := r.next_message()) is not None:
            out.append(item)
    assert r.is_empty()
    assert r.buffered == 0
    assert [raw for _, _, raw in out] == [m.encode() for m in msgs]
    assert [decode_handshake(t, body) for t, body, _ in out] == msgs


def test_reassembles_byte_at_a_time() -> None:
    raw = Finished(verify_data=b"v" * 32).encode() + EndOfEarlyData().encode()
    r = HandshakeReassembler(max_message_size=100)
    got = []
    for i, byte in enumerate(raw):
        r.feed(bytes((byte,)))
        item = r.next_message()
        if item is not None:
            got.append((i, item))
        assert r.is_empty() == (i + 1 in (36, 40))
    assert got == [
        (35, (HandshakeType.finished, b"v" * 32, raw[:36])),
        (39, (HandshakeType.end_of_early_data, b"", raw[36:])),
    ]
    assert r.next_message() is None


def test_rejects_messages_over_the_limit_before_the_body_arrives() -> None:
    r = HandshakeReassembler(max_message_size=1000)
    r.feed(b"\x0b\x00\x03")
    assert r.next_message() is None
    r.feed(b"\xe9")  # 1001 bytes declared
    with pytest.raises(DecodeError, match="1001 bytes exceeds limit 1000"):
        r.next_message()
    ok = HandshakeReassembler(max_message_size=1000)
    ok.feed(b"\x0b\x00\x03\xe8" + bytes(1000))
    assert ok.next_message() is not None


def test_reassembler_reports_partial_messages() -> None:
    r = HandshakeReassembler(max_message_size=100)
    assert r.is_empty()
    r.feed(b"\x14")
    assert not r.is_empty()
    assert r.next_message() is None
    r.feed(memoryview(b"\x00\x00\x01\xaa"))
    assert r.next_message() == (20, b"\xaa", b"\x14\x00\x00\x01\xaa")
    assert r.is_empty()


# -- RFC 8448 -------------------------------------------------------------------------------

SECTIONS = [
    "section3_simple_1rtt_handshake",
    "section4_resumed_0rtt_handshake",
    "section5_hello_retry_request",
    "section6_client_authentication",
    "section7_compatibility_mode",
]
MESSAGE_KEYS = {
    "ClientHello": ClientHello,
    "ClientHello1": ClientHello,
    "ClientHello2": ClientHello,
    "HelloRetryRequest": ServerHello,
    "ServerHello": ServerHello,
    "EncryptedExtensions": EncryptedExtensions,
    "CertificateRequest": CertificateRequest,
    "server_Certificate": Certificate,
    "client_Certificate": Certificate,
    "server_CertificateVerify": CertificateVerify,
    "client_CertificateVerify": CertificateVerify,
    "server_Finished": Finished,
    "client_Finished": Finished,
    "EndOfEarlyData": EndOfEarlyData,
    "NewSessionTicket": NewSessionTicket,
}


def rfc8448_messages(section: str) -> dict[str, bytes]:
    summary = load_vector(f"rfc8448/{section}.json")["summary"]
    return {k: bytes.fromhex(v) for k, v in summary.items() if k in MESSAGE_KEYS}


@pytest.fixture(scope="module")
def all_rfc8448_messages() -> list[bytes]:
    return [raw for s in SECTIONS for raw in rfc8448_messages(s).values()]


@pytest.mark.parametrize("section", SECTIONS)
def test_rfc8448_messages_decode_and_re_encode_identically(section: str) -> None:
    found = rfc8448_messages(section)
    assert len(found) >= 6, f"too few messages found in {section}"
    for key, raw in found.items():
        msg = decode_handshake_message(raw)
        assert isinstance(msg, MESSAGE_KEYS[key]), key
        assert msg.encode() == raw, key
        assert decode_handshake(raw[0], raw[4:]) == msg


@pytest.mark.parametrize("section", SECTIONS)
def test_rfc8448_handshake_records_reassemble_into_messages(section: str) -> None:
    vec = load_vector(f"rfc8448/{section}.json")
    known = set(rfc8448_messages(section).values())
    for sender in ("client", "server"):
        r = HandshakeReassembler(max_message_size=1 << 14)
        payload = b"".join(
            bytes.fromhex(rec["payload"])
            for rec in vec["records"]
            if rec["sender"] == sender and rec["content_type"] == "handshake"
        )
        for byte in payload:  # byte at a time, across record boundaries
            r.feed(bytes((byte,)))
            while (item := r.next_message()) is not None:
                msg_type, body, raw = item
                assert decode_handshake(msg_type, body).encode() == raw
                assert raw in known
        assert r.is_empty()


def test_rfc8448_simple_handshake_fields() -> None:
    m = rfc8448_messages("section3_simple_1rtt_handshake")
    ch = ClientHello.decode_body(m["ClientHello"][4:])
    assert ch.random == bytes.fromhex(
        "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"
    )
    assert ch.legacy_session_id == b""
    assert ch.cipher_suites == (0x1301, 0x1303, 0x1302)
    assert ch.legacy_compression_methods == b"\x00"
    assert [e.ext_type for e in ch.extensions] == [0, 0xFF01, 10, 35, 51, 43, 13, 45, 28]
    sh = ServerHello.decode_body(m["ServerHello"][4:])
    assert sh.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    assert not sh.is_hello_retry_request
    cert = Certificate.decode_body(m["server_Certificate"][4:])
    assert cert.certificate_request_context == b""
    assert len(cert.certificate_list) == 1
    assert cert.certificate_list[0].cert_data[:4] == bytes.fromhex("308201ac")
    assert cert.certificate_list[0].extensions == ()
    cv = CertificateVerify.decode_body(m["server_CertificateVerify"][4:])
    assert cv.algorithm == 0x0804
    assert len(cv.signature) == 128
    fin = Finished.decode_body(m["server_Finished"][4:])
    assert (
        fin.verify_data.hex() == "9b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718"
    )
    nst = NewSessionTicket.decode_body(m["NewSessionTicket"][4:])
    assert nst.ticket_lifetime == 30
    assert nst.ticket_age_add == 0xFAD6AAC5
    assert nst.ticket_nonce == b"\x00\x00"
    assert len(nst.ticket) == 178
    assert nst.extensions == (Extension(ExtensionType.early_data, b"\x00\x00\x04\x00"),)


def test_rfc8448_hello_retry_request() -> None:
    m = rfc8448_messages("section5_hello_retry_request")
    hrr = decode_handshake_message(m["HelloRetryRequest"])
    assert isinstance(hrr, ServerHello)
    assert hrr.is_hello_retry_request
    assert [e.ext_type for e in hrr.extensions] == [51, 44, 43]
    sh = decode_handshake_message(m["ServerHello"])
    assert isinstance(sh, ServerHello)
    assert not sh.is_hello_retry_request


def test_rfc8448_compatibility_mode_session_id() -> None:
    m = rfc8448_messages("section7_compatibility_mode")
    ch = ClientHello.decode_body(m["ClientHello"][4:])
    sh = ServerHello.decode_body(m["ServerHello"][4:])
    assert len(ch.legacy_session_id) == 32
    assert sh.legacy_session_id_echo == ch.legacy_session_id


def test_rfc8448_client_authentication() -> None:
    m = rfc8448_messages("section6_client_authentication")
    cr = CertificateRequest.decode_body(m["CertificateRequest"][4:])
    assert cr.certificate_request_context == b""
    assert [e.ext_type for e in cr.extensions] == [ExtensionType.signature_algorithms]
    cv = CertificateVerify.decode_body(m["server_CertificateVerify"][4:])
    assert cv.algorithm == 0x0403


@given(data=st.data())
def test_mutated_rfc8448_messages_raise_only_protocol_errors(
    all_rfc8448_messages: list[bytes], data: st.DataObject
) -> None:
    _decode_mutated(data.draw(st.sampled_from(all_rfc8448_messages)), data)


def test_no_strict_prefix_of_an_rfc8448_message_decodes(all_rfc8448_messages: list[bytes]) -> None:
    for raw in all_rfc8448_messages:
        for cut in range(len(raw)):
            with pytest.raises(ProtocolError):
                decode_handshake_message(raw[:cut])
