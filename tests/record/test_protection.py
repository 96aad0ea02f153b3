"""RecordProtector: RFC 8448 records byte for byte, and the checks of RFC 8446 §5.2-5.5."""

from __future__ import annotations

import dataclasses
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st
from vectors import load_vector

from nautilus_tls.crypto.keyschedule import next_traffic_secret, traffic_key_iv
from nautilus_tls.crypto.provider import default_provider
from nautilus_tls.crypto.suites import SuiteParams
from nautilus_tls.errors import (
    AlertDescription,
    ConfigError,
    LocalProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.record import (
    KEY_UPDATE_MARGIN,
    MAX_CIPHERTEXT_LEN,
    MAX_PLAINTEXT_LEN,
    Record,
    RecordDeframer,
    RecordProtector,
    iter_fragments,
    plaintext_record,
    record_header,
)
from nautilus_tls.wire.enums import CipherSuite, ContentType

ALERT, HANDSHAKE, APPLICATION_DATA = 21, 22, 23

RFC8448_SECTIONS = [
    "rfc8448/section3_simple_1rtt_handshake.json",
    "rfc8448/section4_resumed_0rtt_handshake.json",
    "rfc8448/section5_hello_retry_request.json",
    "rfc8448/section6_client_authentication.json",
    "rfc8448/section7_compatibility_mode.json",
]

# `protected_with` names the write key/IV; this is the traffic secret they come from.
SECRET_FOR_KEY = {
    "client_early_data_write_key": "client_early_traffic_secret",
    "client_handshake_write_key": "client_handshake_traffic_secret",
    "server_handshake_write_key": "server_handshake_traffic_secret",
    "client_application_write_key": "client_application_traffic_secret_0",
    "server_application_write_key": "server_application_traffic_secret_0",
}


def params_for(suite: CipherSuite) -> SuiteParams:
    params = default_provider().suite_params(suite)
    assert params is not None
    return params


AES128 = params_for(CipherSuite.TLS_AES_128_GCM_SHA256)
AES256 = params_for(CipherSuite.TLS_AES_256_GCM_SHA384)
CHACHA = params_for(CipherSuite.TLS_CHACHA20_POLY1305_SHA256)
ALL_PARAMS = [AES128, AES256, CHACHA]


def pair(params: SuiteParams = AES128, **kw: int) -> tuple[RecordProtector, RecordProtector]:
    secret = os.urandom(params.hash_len)
    return RecordProtector(params, secret, **kw), RecordProtector(params, secret, **kw)


def split(record: bytes) -> tuple[bytes, bytes]:
    return record[:5], record[5:]


def raw_record(params: SuiteParams, secret: bytes, seq: int, inner: bytes) -> bytes:
    """A record sealed by hand, for inner plaintexts the protector refuses to make."""
    key, iv = traffic_key_iv(params, secret)
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(len(iv), "big")
    header = record_header(APPLICATION_DATA, 0x0303, len(inner) + 16)
    return header + params.new_aead(key).encrypt(nonce, inner, header)


def expect_alert(alert: AlertDescription, protector: RecordProtector, record: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as e:
        protector.open(*split(record))
    assert e.value.alert is alert


# --- RFC 8448 -----------------------------------------------------------------------------


@pytest.mark.parametrize("relpath", RFC8448_SECTIONS)
def test_seals_and_opens_rfc8448_records_byte_for_byte(relpath: str) -> None:
    """RFC 8448 §3-§7: replay every protected record in trace order with one protector per
    key, so the sequence numbers come from the protector, then compare the wire bytes."""
    vector = load_vector(relpath)
    summary = vector["summary"]
    sealers: dict[str, RecordProtector] = {}
    openers: dict[str, RecordProtector] = {}
    checked = 0
    for record in vector["records"]:
        if record["protected_with"] is None:
            continue
        key_name, iv_name = (s.strip() for s in record["protected_with"].split("/"))
        secret = bytes.fromhex(summary[SECRET_FOR_KEY[key_name]])
        # The key schedule gives the key/IV the RFC lists (checked here too, as a sanity check).
        assert traffic_key_iv(AES128, secret) == (
            bytes.fromhex(summary[key_name]),
            bytes.fromhex(summary[iv_name]),
        )
        sealer = sealers.setdefault(key_name, RecordProtector(AES128, secret))
        opener = openers.setdefault(key_name, RecordProtector(AES128, secret))
        assert sealer.sequence == int(record["sequence_number"])
        content_type = int(ContentType[record["content_type"]])
        payload = bytes.fromhex(record["payload"])
        wire = bytes.fromhex(record["complete_record"])

        assert sealer.seal(content_type, payload) == wire
        assert opener.open(*split(wire)) == (content_type, payload)
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("relpath", RFC8448_SECTIONS)
def test_deframes_and_opens_rfc8448_trace_fed_in_small_pieces(relpath: str) -> None:
    vector = load_vector(relpath)
    summary = vector["summary"]
    for sender in ("client", "server"):
        records = [r for r in vector["records"] if r["sender"] == sender]
        wire = b"".join(bytes.fromhex(r["complete_record"]) for r in records)
        deframer = RecordDeframer()
        openers: dict[str, RecordProtector] = {}
        got: list[tuple[Record, dict[str, str]]] = []
        for i in range(0, len(wire), 7):
            deframer.feed(wire[i : i + 7])
            for r in deframer:
                got.append((r, records[len(got)]))
        assert len(got) == len(records)
        for r, expected in got:
            payload = bytes.fromhex(expected["payload"])
            if expected["protected_with"] is None:
                assert bytes(r.fragment) == payload
                continue
            key_name = expected["protected_with"].split("/")[0].strip()
            secret = bytes.fromhex(summary[SECRET_FOR_KEY[key_name]])
            opener = openers.setdefault(key_name, RecordProtector(AES128, secret))
            assert opener.open(r.header(), r.fragment) == (
                int(ContentType[expected["content_type"]]),
                payload,
            )


def test_makes_rfc8448_plaintext_records() -> None:
    records = load_vector("rfc8448/section3_simple_1rtt_handshake.json")["records"]
    client_hello, server_hello = records[0], records[1]
    assert plaintext_record(
        HANDSHAKE, bytes.fromhex(client_hello["payload"]), legacy_version=0x0301
    ) == bytes.fromhex(client_hello["complete_record"])
    assert plaintext_record(HANDSHAKE, bytes.fromhex(server_hello["payload"])) == bytes.fromhex(
        server_hello["complete_record"]
    )


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("params", ALL_PARAMS, ids=lambda p: p.suite.name)
def test_round_trips_every_suite(params: SuiteParams) -> None:
    sealer, opener = pair(params)
    for content_type, data in [
        (HANDSHAKE, b"\x14\x00\x00\x20" + bytes(32)),
        (APPLICATION_DATA, b"hello world"),
        (APPLICATION_DATA, b""),
        (APPLICATION_DATA, os.urandom(MAX_PLAINTEXT_LEN)),
        (ALERT, b"\x01\x00"),
    ]:
        record = sealer.seal(content_type, data)
        assert record[:3] == b"\x17\x03\x03"
        assert int.from_bytes(record[3:5], "big") == len(record) - 5 == len(data) + 1 + 16
        assert opener.open(*split(record)) == (content_type, data)
    assert sealer.sequence == opener.sequence == sealer.records_protected == 5


def test_round_trips_padding() -> None:
    sealer, opener = pair()
    record = sealer.seal(APPLICATION_DATA, b"secret", padding=100)
    assert len(record) == 5 + 6 + 1 + 100 + 16
    assert opener.open(*split(record)) == (APPLICATION_DATA, b"secret")
    # Padding up to the full 2^14 + 1 inner plaintext is allowed (RFC 8446 §5.4).
    record = sealer.seal(HANDSHAKE, b"\x01", padding=MAX_PLAINTEXT_LEN - 1)
    assert opener.open(*split(record)) == (HANDSHAKE, b"\x01")
    # Padding with empty application data hides even the presence of content.
    record = sealer.seal(APPLICATION_DATA, b"", padding=31)
    assert opener.open(*split(record)) == (APPLICATION_DATA, b"")


def test_accepts_memoryview_input() -> None:
    sealer, opener = pair()
    record = sealer.seal(APPLICATION_DATA, memoryview(bytearray(b"view")))
    assert opener.open(memoryview(record)[:5], memoryview(record)[5:]) == (
        APPLICATION_DATA,
        b"view",
    )


def test_open_view_gives_the_content_without_a_copy_and_open_gives_bytes() -> None:
    sealer, opener = pair()
    records = [sealer.seal(APPLICATION_DATA, b"x" * 100, padding=p) for p in (0, 7, 0)]
    for record in records[:2]:
        content_type, view = opener.open_view(*split(record))
        assert content_type == APPLICATION_DATA
        assert isinstance(view, memoryview) and view == b"x" * 100
    content_type, content = opener.open(*split(records[2]))
    assert type(content) is bytes and content == b"x" * 100


class _OneShotAead:
    """A provider AEAD with encrypt/decrypt only (no encrypt_into), wrapping pyca's."""

    def __init__(self, key: bytes) -> None:
        self._inner = AESGCM(key)

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes | None) -> bytes:
        return self._inner.encrypt(nonce, data, aad)

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes | None) -> bytes:
        return self._inner.decrypt(nonce, data, aad)


@pytest.mark.parametrize(
    "params", [*ALL_PARAMS, dataclasses.replace(AES128, aead=_OneShotAead)], ids=str
)
@pytest.mark.parametrize("size", [1, MAX_PLAINTEXT_LEN, MAX_PLAINTEXT_LEN + 1, 65536, 50007])
def test_seal_application_data_equals_one_seal_per_fragment(params: SuiteParams, size: int) -> None:
    secret = os.urandom(params.hash_len)
    one_buffer, per_record = RecordProtector(params, secret), RecordProtector(params, secret)
    data = os.urandom(size)
    sealed = one_buffer.seal_application_data(data)
    expected = b"".join(per_record.seal(APPLICATION_DATA, c) for c in iter_fragments(data))
    assert bytes(sealed) == expected
    assert one_buffer.sequence == per_record.sequence == -(-size // MAX_PLAINTEXT_LEN)
    opener, got = RecordProtector(params, secret), []
    deframer = RecordDeframer()
    deframer.feed(bytes(sealed))
    for record in deframer:
        got.append(opener.open(record.header(), record.fragment)[1])
    assert b"".join(got) == data


def test_can_seal_stops_at_the_key_update_point() -> None:
    sealer, _ = pair(confidentiality_limit=8)  # update due at record 4
    assert sealer.can_seal(4) and not sealer.can_seal(5)
    sealer.seal_application_data(b"x" * (3 * MAX_PLAINTEXT_LEN))
    assert sealer.can_seal(1) and not sealer.can_seal(2)


def test_increments_sequence_so_nonces_differ() -> None:
    sealer, opener = pair()
    first = sealer.seal(APPLICATION_DATA, b"same")
    second = sealer.seal(APPLICATION_DATA, b"same")
    assert first != second
    assert sealer.sequence == 2
    # Out of order: the second record under sequence 0 fails.
    expect_alert(AlertDescription.bad_record_mac, opener, second)
    assert opener.sequence == 0


def test_round_trips_seal_fragments_through_deframer() -> None:
    sealer, opener = pair(CHACHA)
    message = os.urandom(2 * MAX_PLAINTEXT_LEN + 1000)
    records = sealer.seal_fragments(HANDSHAKE, message)
    assert len(records) == 3
    deframer = RecordDeframer()
    deframer.feed(b"".join(records))
    parts = [opener.open(r.header(), r.fragment) for r in deframer]
    assert [t for t, _ in parts] == [HANDSHAKE] * 3
    assert b"".join(p for _, p in parts) == message


def test_iter_fragments_splits_without_copying() -> None:
    data = bytes(40000)
    chunks = list(iter_fragments(data))
    assert [len(c) for c in chunks] == [16384, 16384, 7232]
    assert all(isinstance(c, memoryview) and c.obj is data for c in chunks)
    assert list(iter_fragments(b"")) == []
    assert [bytes(c) for c in iter_fragments(b"abcde", 2)] == [b"ab", b"cd", b"e"]
    for bad in (0, MAX_PLAINTEXT_LEN + 1):
        with pytest.raises(ConfigError):
            list(iter_fragments(data, bad))


def test_updated_protector_uses_next_traffic_secret() -> None:
    secret = os.urandom(48)
    sealer = RecordProtector(AES256, secret)
    sealer.seal(APPLICATION_DATA, b"old")
    new = sealer.updated()
    assert new.sequence == 0
    opener = RecordProtector(AES256, next_traffic_secret("sha384", secret))
    assert opener.open(*split(new.seal(APPLICATION_DATA, b"new"))) == (APPLICATION_DATA, b"new")


def test_repr_hides_keys() -> None:
    secret = bytes(range(32))
    text = repr(RecordProtector(AES128, secret))
    key, iv = traffic_key_iv(AES128, secret)
    assert "TLS_AES_128_GCM_SHA256" in text
    for value in (secret, key, iv):
        assert value.hex() not in text


# --- receive-side rejections --------------------------------------------------------------


def test_rejects_tampered_tag_with_bad_record_mac() -> None:
    sealer, opener = pair()
    record = bytearray(sealer.seal(APPLICATION_DATA, b"payload"))
    record[-1] ^= 0x01
    expect_alert(AlertDescription.bad_record_mac, opener, bytes(record))


def test_rejects_tampered_header_with_bad_record_mac() -> None:
    sealer, opener = pair()
    record = bytearray(sealer.seal(APPLICATION_DATA, b"payload"))
    record[2] = 0x01  # legacy version is authenticated as part of the AAD
    expect_alert(AlertDescription.bad_record_mac, opener, bytes(record))


def test_rejects_wrong_key_with_bad_record_mac() -> None:
    sealer, _ = pair()
    _, other = pair()
    expect_alert(AlertDescription.bad_record_mac, other, sealer.seal(APPLICATION_DATA, b"x"))


@pytest.mark.parametrize("length", [0, 1, 15, 16])
def test_rejects_too_short_ciphertext(length: int) -> None:
    _, opener = pair()
    record = record_header(APPLICATION_DATA, 0x0303, length) + bytes(length)
    expect_alert(AlertDescription.bad_record_mac, opener, record)


def test_rejects_oversize_ciphertext_before_decrypting() -> None:
    _, opener = pair()
    body = bytes(MAX_CIPHERTEXT_LEN + 1)
    expect_alert(
        AlertDescription.record_overflow,
        opener,
        record_header(APPLICATION_DATA, 0x0303, len(body)) + body,
    )
    assert opener.sequence == 0


def test_rejects_oversize_inner_plaintext_with_record_overflow() -> None:
    secret = os.urandom(32)
    opener = RecordProtector(AES128, secret)
    # 2^14 + 2 octets of TLSInnerPlaintext: authenticates, but is over the §5.4 limit.
    inner = bytes(MAX_PLAINTEXT_LEN) + b"\x17\x00"
    expect_alert(AlertDescription.record_overflow, opener, raw_record(AES128, secret, 0, inner))


def test_accepts_inner_plaintext_at_the_limit() -> None:
    secret = os.urandom(32)
    opener = RecordProtector(AES128, secret)
    inner = bytes(MAX_PLAINTEXT_LEN) + b"\x17"
    record = raw_record(AES128, secret, 0, inner)
    assert opener.open(*split(record)) == (APPLICATION_DATA, bytes(MAX_PLAINTEXT_LEN))


@pytest.mark.parametrize("inner", [b"", b"\x00", bytes(100)], ids=["empty", "one", "hundred"])
def test_rejects_all_zero_inner_plaintext_with_unexpected_message(inner: bytes) -> None:
    secret = os.urandom(32)
    opener = RecordProtector(AES128, secret)
    record = raw_record(AES128, secret, 0, inner)
    expect_alert(AlertDescription.unexpected_message, opener, record)


@pytest.mark.parametrize("inner_type", [20, 24, 99, 255])
def test_rejects_bad_inner_content_type(inner_type: int) -> None:
    secret = os.urandom(32)
    opener = RecordProtector(AES128, secret)
    record = raw_record(AES128, secret, 0, b"\x01" + bytes((inner_type,)) + bytes(3))
    expect_alert(AlertDescription.unexpected_message, opener, record)


@pytest.mark.parametrize("inner_type", [HANDSHAKE, ALERT])
def test_rejects_empty_handshake_or_alert_content(inner_type: int) -> None:
    secret = os.urandom(32)
    opener = RecordProtector(AES128, secret)
    record = raw_record(AES128, secret, 0, bytes((inner_type,)) + bytes(8))
    expect_alert(AlertDescription.unexpected_message, opener, record)


def test_rejects_outer_type_other_than_application_data() -> None:
    sealer, opener = pair()
    record = bytearray(sealer.seal(APPLICATION_DATA, b"x"))
    record[0] = HANDSHAKE
    expect_alert(AlertDescription.unexpected_message, opener, bytes(record))


# --- send-side rules and limits -----------------------------------------------------------


def test_refuses_to_seal_over_2_14() -> None:
    sealer, _ = pair()
    with pytest.raises(LocalProtocolError):
        sealer.seal(APPLICATION_DATA, bytes(MAX_PLAINTEXT_LEN + 1))
    with pytest.raises(LocalProtocolError):
        sealer.seal(APPLICATION_DATA, bytes(MAX_PLAINTEXT_LEN), padding=1)
    assert sealer.sequence == 0


@pytest.mark.parametrize("content_type", [0, 20, 24, 300])
def test_refuses_to_seal_unprotectable_content_types(content_type: int) -> None:
    sealer, _ = pair()
    with pytest.raises(LocalProtocolError):
        sealer.seal(content_type, b"x")


def test_refuses_empty_handshake_and_negative_padding() -> None:
    sealer, _ = pair()
    with pytest.raises(LocalProtocolError):
        sealer.seal(HANDSHAKE, b"")
    with pytest.raises(LocalProtocolError):
        sealer.seal(APPLICATION_DATA, b"x", padding=-1)


def test_refuses_to_wrap_sequence_number() -> None:
    sealer, opener = pair()
    sealer._seq = opener._seq = 2**64 - 1
    record = sealer.seal(APPLICATION_DATA, b"last")
    assert opener.open(*split(record)) == (APPLICATION_DATA, b"last")
    with pytest.raises(LocalProtocolError):
        sealer.seal(APPLICATION_DATA, b"one too many")
    with pytest.raises(LocalProtocolError):
        opener.open(*split(record))


def test_needs_key_update_near_the_confidentiality_limit() -> None:
    sealer, _ = pair(confidentiality_limit=4)
    assert not sealer.needs_key_update()
    sealer.seal(APPLICATION_DATA, b"1")
    assert not sealer.needs_key_update()
    sealer.seal(APPLICATION_DATA, b"2")
    assert sealer.needs_key_update()
    assert not sealer.updated().needs_key_update()


@pytest.mark.parametrize(("params", "limit"), [(AES128, 2**24), (AES256, 2**24), (CHACHA, 2**60)])
def test_needs_key_update_uses_the_suite_limit(params: SuiteParams, limit: int) -> None:
    sealer, _ = pair(params)
    sealer._seq = limit - KEY_UPDATE_MARGIN - 1
    assert not sealer.needs_key_update()
    sealer.seal(APPLICATION_DATA, b"x")
    assert sealer.needs_key_update()


def test_rejects_nonpositive_confidentiality_limit() -> None:
    with pytest.raises(ConfigError):
        RecordProtector(AES128, bytes(32), confidentiality_limit=0)


def test_plaintext_record_checks() -> None:
    assert plaintext_record(21, b"\x02\x28") == b"\x15\x03\x03\x00\x02\x02\x28"
    with pytest.raises(LocalProtocolError):
        plaintext_record(HANDSHAKE, bytes(MAX_PLAINTEXT_LEN + 1))
    with pytest.raises(LocalProtocolError):
        plaintext_record(HANDSHAKE, b"")
    with pytest.raises(LocalProtocolError):
        plaintext_record(256, b"x")


# --- runs of records (the connection's bulk path) ------------------------------------------


def as_run(records: list[bytes]) -> list[tuple[bytes, memoryview]]:
    return [(r[:5], memoryview(r)[5:]) for r in records]


def open_in_runs(opener: RecordProtector, records: list[bytes]) -> list[tuple[int, bytes]]:
    """Everything ``records`` hold, opened with open_data_run as the connection does."""
    run = as_run(records)
    opened: list[tuple[int, bytes]] = []
    i = 0
    while i < len(run):
        data: list[bytes | memoryview] = []
        i, inner_type, content = opener.open_data_run(run, i, data)
        opened += [(APPLICATION_DATA, bytes(d)) for d in data]
        if content is not None:
            opened.append((inner_type, bytes(content)))
    return opened


record_specs = st.lists(
    st.tuples(
        st.sampled_from([APPLICATION_DATA, APPLICATION_DATA, HANDSHAKE, ALERT]),
        st.binary(max_size=40),
        st.integers(min_value=0, max_value=3),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(specs=record_specs)
def test_open_data_run_gives_what_opening_one_record_at_a_time_gives(
    specs: list[tuple[int, bytes, int]],
) -> None:
    sealer, opener = pair()
    one_by_one = RecordProtector(AES128, opener._secret)
    records = [
        sealer.seal(t, content or (b"x" if t != APPLICATION_DATA else b""), padding)
        for t, content, padding in specs
    ]
    expected = [one_by_one.open(*split(r)) for r in records]
    assert open_in_runs(opener, records) == expected
    assert opener.sequence == one_by_one.sequence == len(records)


def test_open_data_run_stops_after_the_first_record_that_is_not_data() -> None:
    sealer, opener = pair()
    records = [
        sealer.seal(APPLICATION_DATA, b"one"),
        sealer.seal(APPLICATION_DATA, b"two"),
        sealer.seal(HANDSHAKE, b"\x18\x00\x00\x01\x00"),  # a KeyUpdate: the key changes after it
        sealer.seal(APPLICATION_DATA, b"three"),
    ]
    data: list[bytes | memoryview] = []
    end, inner_type, content = opener.open_data_run(as_run(records), 0, data)
    assert [bytes(d) for d in data] == [b"one", b"two"]
    assert (end, inner_type, bytes(content or b"")) == (3, HANDSHAKE, b"\x18\x00\x00\x01\x00")
    assert opener.sequence == 3  # the record after the stop is left unopened


def test_open_data_run_stops_at_an_empty_data_record_so_it_is_counted() -> None:
    sealer, opener = pair()
    records = [sealer.seal(APPLICATION_DATA, b"a"), sealer.seal(APPLICATION_DATA, b"")]
    data: list[bytes | memoryview] = []
    end, inner_type, content = opener.open_data_run(as_run(records), 0, data)
    assert end == 2 and inner_type == APPLICATION_DATA and content is not None
    assert bytes(content) == b"" and [bytes(d) for d in data] == [b"a"]


def test_open_data_run_rejects_a_tampered_record_after_keeping_the_ones_before() -> None:
    sealer, opener = pair()
    records = [sealer.seal(APPLICATION_DATA, b"%d" % i) for i in range(4)]
    bad = bytearray(records[2])
    bad[-1] ^= 1
    records[2] = bytes(bad)
    data: list[bytes | memoryview] = []
    with pytest.raises(RemoteProtocolError) as e:
        opener.open_data_run(as_run(records), 0, data)
    assert e.value.alert is AlertDescription.bad_record_mac
    assert [bytes(d) for d in data] == [b"0", b"1"]
    assert opener.sequence == 2


def test_open_data_run_rejects_oversize_and_mislabelled_records() -> None:
    sealer, opener = pair()
    body = bytes(MAX_CIPHERTEXT_LEN + 1)
    oversize = record_header(APPLICATION_DATA, 0x0303, len(body)) + body
    with pytest.raises(RemoteProtocolError) as e:
        opener.open_data_run(as_run([sealer.seal(APPLICATION_DATA, b"ok"), oversize]), 0, [])
    assert e.value.alert is AlertDescription.record_overflow
    assert opener.sequence == 1
    relabelled = bytearray(sealer.seal(APPLICATION_DATA, b"x"))
    relabelled[0] = HANDSHAKE
    with pytest.raises(RemoteProtocolError) as e:
        opener.open_data_run(as_run([bytes(relabelled)]), 0, [])
    assert e.value.alert is AlertDescription.unexpected_message


@pytest.mark.parametrize(
    "inner",
    [bytes(MAX_PLAINTEXT_LEN) + b"\x17\x00", b"\x01\x63", bytes(5)],
    ids=["oversize-inner", "bad-inner-type", "all-zeros"],
)
def test_open_data_run_applies_the_inner_plaintext_checks(inner: bytes) -> None:
    secret = os.urandom(32)
    opener = RecordProtector(AES128, secret)
    records = [raw_record(AES128, secret, 0, b"fine\x17"), raw_record(AES128, secret, 1, inner)]
    data: list[bytes | memoryview] = []
    with pytest.raises(RemoteProtocolError):
        opener.open_data_run(as_run(records), 0, data)
    assert [bytes(d) for d in data] == [b"fine"]


def test_open_data_run_refuses_to_wrap_the_sequence_number() -> None:
    sealer, opener = pair()
    sealer._seq = opener._seq = 2**64 - 1
    last = sealer.seal(APPLICATION_DATA, b"last")
    records = [last, last]  # the second would need sequence number 2^64
    data: list[bytes | memoryview] = []
    with pytest.raises(LocalProtocolError):
        opener.open_data_run(as_run(records), 0, data)
    assert [bytes(d) for d in data] == [b"last"]
