"""Typed extension codecs and the RFC 8446 §4.2 placement table."""

from __future__ import annotations

import contextlib
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
    PeerMisbehaved,
    ProtocolError,
)
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType, HandshakeType, NamedGroup
from nautilus_tls.wire.extensions import (
    ALLOWED_IN,
    HRR,
    KeyShareEntry,
    OfferedPsks,
    PskIdentity,
    binders_length,
    check_allowed,
    get_extension,
)
from nautilus_tls.wire.messages import (
    Certificate,
    ClientHello,
    EncryptedExtensions,
    Extension,
    NewSessionTicket,
    ServerHello,
    decode_handshake_message,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u16_lists = st.lists(u16, min_size=1, max_size=20).map(tuple)
hostnames = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,60}[a-z0-9])?", fullmatch=True)
key_shares = st.builds(KeyShareEntry, u16, st.binary(min_size=1, max_size=100))
binders = st.binary(min_size=32, max_size=64)
offered_psks = st.integers(1, 4).flatmap(
    lambda n: st.builds(
        OfferedPsks,
        st.lists(
            st.builds(PskIdentity, st.binary(min_size=1, max_size=50), u32),
            min_size=n,
            max_size=n,
        ).map(tuple),
        st.lists(binders, min_size=n, max_size=n).map(tuple),
    )
)

# name -> (encode, decode, values)
CODECS: dict[str, tuple[Callable[[Any], bytes], Callable[[Any], Any], st.SearchStrategy[Any]]] = {
    "server_name": (ext.encode_server_name, ext.decode_server_name, hostnames),
    "supported_groups": (ext.encode_supported_groups, ext.decode_supported_groups, u16_lists),
    "signature_algorithms": (
        ext.encode_signature_algorithms,
        ext.decode_signature_algorithms,
        u16_lists,
    ),
    "signature_algorithms_cert": (
        ext.encode_signature_algorithms_cert,
        ext.decode_signature_algorithms_cert,
        u16_lists,
    ),
    "alpn": (
        ext.encode_alpn,
        ext.decode_alpn,
        st.lists(st.binary(min_size=1, max_size=255), min_size=1, max_size=5).map(tuple),
    ),
    "supported_versions_ch": (
        ext.encode_supported_versions_ch,
        ext.decode_supported_versions_ch,
        st.lists(u16, min_size=1, max_size=127).map(tuple),
    ),
    "supported_versions_sh": (
        ext.encode_supported_versions_sh,
        ext.decode_supported_versions_sh,
        u16,
    ),
    "key_share_ch": (
        ext.encode_key_share_ch,
        ext.decode_key_share_ch,
        st.lists(key_shares, max_size=4, unique_by=lambda e: e.group).map(tuple),
    ),
    "key_share_sh": (ext.encode_key_share_sh, ext.decode_key_share_sh, key_shares),
    "key_share_hrr": (ext.encode_key_share_hrr, ext.decode_key_share_hrr, u16),
    "cookie": (ext.encode_cookie, ext.decode_cookie, st.binary(min_size=1, max_size=300)),
    "psk_key_exchange_modes": (
        ext.encode_psk_key_exchange_modes,
        ext.decode_psk_key_exchange_modes,
        st.lists(u8, min_size=1, max_size=10).map(tuple),
    ),
    "pre_shared_key_ch": (ext.encode_pre_shared_key_ch, ext.decode_pre_shared_key_ch, offered_psks),
    "pre_shared_key_sh": (ext.encode_pre_shared_key_sh, ext.decode_pre_shared_key_sh, u16),
    "early_data_nst": (ext.encode_early_data_nst, ext.decode_early_data_nst, u32),
    "certificate_authorities": (
        ext.encode_certificate_authorities,
        ext.decode_certificate_authorities,
        st.lists(st.binary(min_size=1, max_size=80), min_size=1, max_size=5).map(tuple),
    ),
}


@pytest.mark.parametrize("name", sorted(CODECS))
@given(data=st.data())
def test_round_trips_every_extension(name: str, data: st.DataObject) -> None:
    encode, decode, values = CODECS[name]
    value = data.draw(values)
    encoded = encode(value)
    assert isinstance(encoded, bytes)
    assert decode(encoded) == value
    assert decode(memoryview(encoded)) == value


@pytest.mark.parametrize("name", sorted(CODECS))
@given(data=st.data())
def test_no_strict_prefix_of_an_extension_decodes(name: str, data: st.DataObject) -> None:
    encode, decode, values = CODECS[name]
    encoded = encode(data.draw(values))
    for cut in range(len(encoded)):
        with pytest.raises(ProtocolError):
            decode(encoded[:cut])
    with pytest.raises(DecodeError):
        decode(encoded + b"\x00")


@pytest.mark.parametrize("name", sorted(CODECS))
@given(blob=st.binary(max_size=120))
def test_random_extension_bodies_raise_only_protocol_errors(name: str, blob: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        CODECS[name][1](blob)


@pytest.mark.parametrize("name", sorted(CODECS))
@given(data=st.data())
def test_mutated_extension_bodies_raise_only_protocol_errors(
    name: str, data: st.DataObject
) -> None:
    encode, decode, values = CODECS[name]
    buf = bytearray(encode(data.draw(values)))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(buf) - 1)) if buf else 0
        op = data.draw(st.sampled_from(["set", "insert", "delete"]))
        if op == "insert" or not buf:
            buf.insert(i, data.draw(u8))
        elif op == "set":
            buf[i] = data.draw(u8)
        else:
            del buf[i]
    with contextlib.suppress(ProtocolError):
        decode(bytes(buf))


# -- server_name -----------------------------------------------------------------------------


def _sni(*entries: tuple[int, bytes]) -> bytes:
    body = b"".join(bytes((t,)) + len(n).to_bytes(2, "big") + n for t, n in entries)
    return len(body).to_bytes(2, "big") + body


@pytest.mark.parametrize(
    "data",
    [
        b"",  # the EncryptedExtensions form is not a ServerNameList
        b"\x00\x00",  # empty list
        _sni((0, b"")),  # empty host name
        _sni((0, b"example.com.")),  # trailing dot (RFC 6066 §3)
        _sni((0, "exämple.com".encode())),  # not ASCII
        _sni((0, b"a.example"), (0, b"b.example")),  # two host names
    ],
)
def test_rejects_bad_server_names(data: bytes) -> None:
    with pytest.raises(DecodeError):
        ext.decode_server_name(data)


def test_skips_other_server_name_types() -> None:
    assert ext.decode_server_name(_sni((7, b"opaque"))) is None
    assert ext.decode_server_name(_sni((7, b"opaque"), (0, b"example.com"))) == "example.com"


@pytest.mark.parametrize("host", ["", "example.com.", "exämple.com"])
def test_refuses_to_encode_bad_server_names(host: str) -> None:
    with pytest.raises(LocalProtocolError):
        ext.encode_server_name(host)


# -- other rules -----------------------------------------------------------------------------


def test_rejects_two_key_shares_for_one_group() -> None:
    data = ext.encode_key_share_ch([KeyShareEntry(29, b"a"), KeyShareEntry(23, b"b")])
    dup = data.replace(b"\x00\x17", b"\x00\x1d")
    with pytest.raises(PeerMisbehaved) as exc:
        ext.decode_key_share_ch(dup)
    assert exc.value.alert == AlertDescription.illegal_parameter


def test_accepts_empty_client_key_share() -> None:
    assert ext.decode_key_share_ch(b"\x00\x00") == ()
    assert ext.encode_key_share_ch(()) == b"\x00\x00"


def test_rejects_empty_key_exchange() -> None:
    with pytest.raises(DecodeError):
        ext.decode_key_share_ch(b"\x00\x04\x00\x1d\x00\x00")
    with pytest.raises(DecodeError):
        ext.decode_key_share_sh(b"\x00\x1d\x00\x00")


def test_rejects_psk_identities_and_binders_that_do_not_pair_up() -> None:
    one = ext.encode_pre_shared_key_ch(OfferedPsks((PskIdentity(b"id", 7),), (bytes(32),)))
    ids_len = int.from_bytes(one[:2], "big")
    ids, rest = one[2 : 2 + ids_len], one[2 + ids_len :]
    two_ids = (2 * ids_len).to_bytes(2, "big") + ids + ids + rest
    with pytest.raises(PeerMisbehaved) as exc:
        ext.decode_pre_shared_key_ch(two_ids)
    assert exc.value.alert == AlertDescription.illegal_parameter


def test_rejects_short_binders_and_empty_identities() -> None:
    short_binder = b"\x00\x07\x00\x01x\x00\x00\x00\x00" + b"\x00\x20\x1f" + bytes(31)
    with pytest.raises(DecodeError):
        ext.decode_pre_shared_key_ch(short_binder)
    with pytest.raises(DecodeError):
        ext.decode_pre_shared_key_ch(b"\x00\x00" + b"\x00\x21\x20" + bytes(32))


def test_binders_length_and_binders_encoding_agree() -> None:
    bs = (bytes(32), bytes(range(48)))
    encoded = ext.encode_psk_binders(bs)
    assert len(encoded) == binders_length([32, 48]) == 2 + 33 + 49
    full = ext.encode_pre_shared_key_ch(
        OfferedPsks((PskIdentity(b"a", 1), PskIdentity(b"b", 2)), bs)
    )
    assert full.endswith(encoded)


@pytest.mark.parametrize(
    ("decode", "data"),
    [
        (ext.decode_alpn, b"\x00\x00"),
        (ext.decode_alpn, b"\x00\x01\x00"),  # empty protocol name
        (ext.decode_supported_groups, b"\x00\x00"),
        (ext.decode_signature_algorithms, b"\x00\x03\x04\x03\x05"),
        (ext.decode_supported_versions_ch, b"\x00"),
        (ext.decode_supported_versions_sh, b"\x03\x04\x00"),
        (ext.decode_cookie, b"\x00\x00"),
        (ext.decode_psk_key_exchange_modes, b"\x00"),
        (ext.decode_certificate_authorities, b"\x00\x00"),
        (ext.decode_certificate_authorities, b"\x00\x02\x00\x00"),
        (ext.decode_early_data_nst, b"\x00\x00\x04"),
        (ext.decode_pre_shared_key_sh, b""),
        (ext.decode_key_share_hrr, b"\x00"),
    ],
)
def test_rejects_malformed_bodies(decode: Callable[[bytes], object], data: bytes) -> None:
    with pytest.raises(DecodeError) as exc:
        decode(data)
    assert exc.value.alert == AlertDescription.decode_error


@pytest.mark.parametrize(
    "build",
    [
        lambda: ext.encode_alpn(()),
        lambda: ext.encode_alpn((b"",)),
        lambda: ext.encode_alpn((bytes(256),)),
        lambda: ext.encode_supported_groups(()),
        lambda: ext.encode_supported_groups((0x10000,)),
        lambda: ext.encode_supported_versions_ch(tuple(range(128))),
        lambda: ext.encode_key_share_ch((KeyShareEntry(29, b""),)),
        lambda: ext.encode_cookie(b""),
        lambda: ext.encode_psk_key_exchange_modes(()),
        lambda: ext.encode_psk_key_exchange_modes((256,)),
        lambda: ext.encode_pre_shared_key_ch(OfferedPsks((PskIdentity(b"a", 0),), ())),
        lambda: ext.encode_pre_shared_key_ch(OfferedPsks((PskIdentity(b"a", 0),), (bytes(31),))),
        lambda: ext.encode_pre_shared_key_ch(OfferedPsks((PskIdentity(b"", 0),), (bytes(32),))),
        lambda: ext.encode_early_data_nst(1 << 32),
        lambda: ext.encode_certificate_authorities(()),
        lambda: ext.encode_certificate_authorities((b"",)),
    ],
)
def test_refuses_to_encode_values_that_do_not_fit(build: Callable[[], bytes]) -> None:
    with pytest.raises(LocalProtocolError):
        build()


def test_decode_empty() -> None:
    ext.decode_empty(b"")
    with pytest.raises(DecodeError):
        ext.decode_empty(b"\x00", "early_data")


# -- lookup and placement --------------------------------------------------------------------


def test_get_extension() -> None:
    exts = (Extension(0, b"a"), Extension(43, b"b"))
    assert get_extension(exts, 43) == b"b"
    assert get_extension(exts, ExtensionType.server_name) == b"a"
    assert get_extension(exts, 51) is None
    assert get_extension((), 0) is None


@pytest.mark.parametrize(
    ("ext_type", "kind"),
    [
        (ExtensionType.key_share, HandshakeType.encrypted_extensions),
        (ExtensionType.supported_groups, HandshakeType.server_hello),
        (ExtensionType.cookie, HandshakeType.server_hello),
        (ExtensionType.pre_shared_key, HRR),
        (ExtensionType.early_data, HandshakeType.server_hello),
        (ExtensionType.application_layer_protocol_negotiation, HandshakeType.certificate),
        (ExtensionType.oid_filters, HandshakeType.client_hello),
        (ExtensionType.server_name, HandshakeType.new_session_ticket),
        (ExtensionType.signature_algorithms, HandshakeType.encrypted_extensions),
        (ExtensionType.extended_master_secret, HandshakeType.server_hello),
        (ExtensionType.renegotiation_info, HandshakeType.encrypted_extensions),
    ],
)
def test_rejects_extensions_where_rfc8446_forbids_them(ext_type: int, kind: int) -> None:
    with pytest.raises(PeerMisbehaved) as exc:
        check_allowed((Extension(ext_type, b""),), kind)
    assert exc.value.alert == AlertDescription.illegal_parameter


@pytest.mark.parametrize(
    ("ext_type", "kind"),
    [
        (ExtensionType.key_share, HRR),
        (ExtensionType.cookie, HRR),
        (ExtensionType.supported_versions, HandshakeType.server_hello),
        (ExtensionType.pre_shared_key, HandshakeType.server_hello),
        (ExtensionType.early_data, HandshakeType.new_session_ticket),
        (ExtensionType.status_request, HandshakeType.certificate),
        (ExtensionType.certificate_authorities, HandshakeType.certificate_request),
        (ExtensionType.quic_transport_parameters, HandshakeType.encrypted_extensions),
        (ExtensionType.renegotiation_info, HandshakeType.client_hello),
        (0xFAFA, HandshakeType.server_hello),  # unknown: the handshake decides
        (0x1234, HRR),
    ],
)
def test_accepts_extensions_where_allowed_or_unknown(ext_type: int, kind: int) -> None:
    check_allowed((Extension(ext_type, b""),), kind)


def test_allowed_table_matches_rfc8446() -> None:
    # Every extension may appear in a ClientHello except oid_filters (CR only).
    for ext_type, kinds in ALLOWED_IN.items():
        assert (HandshakeType.client_hello in kinds) == (ext_type != ExtensionType.oid_filters)
    assert {t for t, kinds in ALLOWED_IN.items() if HRR in kinds} == {
        ExtensionType.key_share,
        ExtensionType.cookie,
        ExtensionType.supported_versions,
    }
    assert {t for t, kinds in ALLOWED_IN.items() if HandshakeType.server_hello in kinds} == {
        ExtensionType.key_share,
        ExtensionType.pre_shared_key,
        ExtensionType.supported_versions,
    }
    assert {t for t, kinds in ALLOWED_IN.items() if HandshakeType.new_session_ticket in kinds} == {
        ExtensionType.early_data
    }


# -- RFC 8448 -------------------------------------------------------------------------------


def _summary(section: str) -> dict[str, str]:
    summary: dict[str, str] = load_vector(f"rfc8448/{section}.json")["summary"]
    return summary


def _msg(summary: dict[str, str], key: str) -> Any:
    return decode_handshake_message(bytes.fromhex(summary[key]))


def _ext(msg: Any, ext_type: int) -> bytes:
    data = get_extension(msg.extensions, ext_type)
    assert data is not None, f"{ExtensionType(ext_type).name} missing"
    return data


def test_rfc8448_simple_handshake_extensions() -> None:
    s = _summary("section3_simple_1rtt_handshake")
    ch: ClientHello = _msg(s, "ClientHello")
    check_allowed(ch.extensions, HandshakeType.client_hello)
    assert ext.decode_server_name(_ext(ch, ExtensionType.server_name)) == "server"
    assert ext.encode_server_name("server") == _ext(ch, ExtensionType.server_name)
    groups = ext.decode_supported_groups(_ext(ch, ExtensionType.supported_groups))
    assert groups[:4] == (
        NamedGroup.x25519,
        NamedGroup.secp256r1,
        NamedGroup.secp384r1,
        NamedGroup.secp521r1,
    )
    assert ext.decode_key_share_ch(_ext(ch, ExtensionType.key_share)) == (
        KeyShareEntry(NamedGroup.x25519, bytes.fromhex(s["client_x25519_public_key"])),
    )
    assert ext.decode_supported_versions_ch(_ext(ch, ExtensionType.supported_versions)) == (0x0304,)
    schemes = ext.decode_signature_algorithms(_ext(ch, ExtensionType.signature_algorithms))
    assert schemes[:3] == (0x0403, 0x0503, 0x0603)
    assert 0x0804 in schemes
    assert ext.decode_psk_key_exchange_modes(_ext(ch, ExtensionType.psk_key_exchange_modes)) == (1,)

    sh: ServerHello = _msg(s, "ServerHello")
    check_allowed(sh.extensions, HandshakeType.server_hello)
    assert ext.decode_key_share_sh(_ext(sh, ExtensionType.key_share)) == KeyShareEntry(
        NamedGroup.x25519, bytes.fromhex(s["server_x25519_public_key"])
    )
    assert ext.decode_supported_versions_sh(_ext(sh, ExtensionType.supported_versions)) == 0x0304

    ee: EncryptedExtensions = _msg(s, "EncryptedExtensions")
    check_allowed(ee.extensions, HandshakeType.encrypted_extensions)
    ext.decode_empty(_ext(ee, ExtensionType.server_name))
    assert (
        ext.decode_supported_groups(_ext(ee, ExtensionType.supported_groups))[0]
        == NamedGroup.x25519
    )

    cert: Certificate = _msg(s, "server_Certificate")
    for entry in cert.certificate_list:
        check_allowed(entry.extensions, HandshakeType.certificate)

    nst: NewSessionTicket = _msg(s, "NewSessionTicket")
    check_allowed(nst.extensions, HandshakeType.new_session_ticket)
    assert ext.decode_early_data_nst(_ext(nst, ExtensionType.early_data)) == 1024


def test_rfc8448_hello_retry_request_extensions() -> None:
    s = _summary("section5_hello_retry_request")
    hrr: ServerHello = _msg(s, "HelloRetryRequest")
    assert hrr.is_hello_retry_request
    check_allowed(hrr.extensions, HRR)
    assert ext.decode_key_share_hrr(_ext(hrr, ExtensionType.key_share)) == NamedGroup.secp256r1
    cookie = ext.decode_cookie(_ext(hrr, ExtensionType.cookie))
    assert cookie
    assert ext.decode_supported_versions_sh(_ext(hrr, ExtensionType.supported_versions)) == 0x0304
    with pytest.raises(PeerMisbehaved):
        check_allowed(hrr.extensions, HandshakeType.server_hello)  # cookie is HRR-only

    ch1: ClientHello = _msg(s, "ClientHello1")
    assert [e.group for e in ext.decode_key_share_ch(_ext(ch1, ExtensionType.key_share))] == [
        NamedGroup.x25519
    ]
    ch2: ClientHello = _msg(s, "ClientHello2")
    check_allowed(ch2.extensions, HandshakeType.client_hello)
    assert ext.decode_cookie(_ext(ch2, ExtensionType.cookie)) == cookie
    assert ext.decode_key_share_ch(_ext(ch2, ExtensionType.key_share)) == (
        KeyShareEntry(NamedGroup.secp256r1, bytes.fromhex(s["client_p256_public_key"])),
    )
    assert ch2.random == ch1.random


def test_rfc8448_resumption_pre_shared_key_and_binders() -> None:
    s3 = _summary("section3_simple_1rtt_handshake")
    s = _summary("section4_resumed_0rtt_handshake")
    ch_raw = bytes.fromhex(s["ClientHello"])
    ch: ClientHello = decode_handshake_message(ch_raw)  # type: ignore[assignment]
    check_allowed(ch.extensions, HandshakeType.client_hello)
    assert ch.extensions[-1].ext_type == ExtensionType.pre_shared_key
    ext.decode_empty(_ext(ch, ExtensionType.early_data))
    offered = ext.decode_pre_shared_key_ch(_ext(ch, ExtensionType.pre_shared_key))
    nst: NewSessionTicket = _msg(s3, "NewSessionTicket")
    assert [p.identity for p in offered.identities] == [nst.ticket]
    assert offered.binders == (bytes.fromhex(s["binder"]),)
    assert ext.encode_pre_shared_key_ch(offered) == _ext(ch, ExtensionType.pre_shared_key)

    # RFC 8446 §4.2.11.2: the binder covers the ClientHello up to the binders list.
    cut = binders_length(len(b) for b in offered.binders)
    truncated = ch_raw[:-cut]
    assert truncated == bytes.fromhex(s["ClientHello_prefix_without_binders"])
    assert truncated + ext.encode_psk_binders(offered.binders) == ch_raw

    sh: ServerHello = _msg(s, "ServerHello")
    check_allowed(sh.extensions, HandshakeType.server_hello)
    assert ext.decode_pre_shared_key_sh(_ext(sh, ExtensionType.pre_shared_key)) == 0
    ee: EncryptedExtensions = _msg(s, "EncryptedExtensions")
    check_allowed(ee.extensions, HandshakeType.encrypted_extensions)
    ext.decode_empty(_ext(ee, ExtensionType.early_data))


def test_rfc8448_certificate_request_extensions() -> None:
    s = _summary("section6_client_authentication")
    cr = _msg(s, "CertificateRequest")
    check_allowed(cr.extensions, HandshakeType.certificate_request)
    schemes = ext.decode_signature_algorithms(_ext(cr, ExtensionType.signature_algorithms))
    assert 0x0804 in schemes
    assert ext.encode_signature_algorithms(schemes) == _ext(cr, ExtensionType.signature_algorithms)
