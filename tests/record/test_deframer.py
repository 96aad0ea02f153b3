"""RecordDeframer: reassembly from any chunking, and the header checks of RFC 8446 §5.1-5.2."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import load_vector

from nautilus_tls.errors import (
    AlertDescription,
    ConfigError,
    DecodeError,
    LocalProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.record import (
    MAX_CIPHERTEXT_LEN,
    MAX_PLAINTEXT_LEN,
    MAX_RECORD_SIZE,
    Record,
    RecordDeframer,
    record_header,
)

HANDSHAKE = 22
APPLICATION_DATA = 23


def rec(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return record_header(content_type, version, len(body)) + body


def drain(d: RecordDeframer) -> list[tuple[int, int, bytes]]:
    return [(ct, v, bytes(frag)) for ct, v, frag in d]


def rfc8448_stream() -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """Every record of RFC 8448 §3 in wire order, and what the deframer should return."""
    records = load_vector("rfc8448/section3_simple_1rtt_handshake.json")["records"]
    wire = [bytes.fromhex(r["complete_record"]) for r in records]
    expected = [(w[0], (w[1] << 8) | w[2], w[5:]) for w in wire]
    return b"".join(wire), expected


def test_returns_whole_records_from_one_feed() -> None:
    d = RecordDeframer()
    d.feed(rec(HANDSHAKE, b"abc") + rec(APPLICATION_DATA, b"x" * 40))
    assert drain(d) == [(HANDSHAKE, 0x0303, b"abc"), (APPLICATION_DATA, 0x0303, b"x" * 40)]
    assert d.next_record() is None
    assert d.buffered == 0


def test_round_trips_rfc8448_flight_fed_byte_at_a_time() -> None:
    wire, expected = rfc8448_stream()
    d = RecordDeframer()
    got = []
    for i in range(len(wire)):
        d.feed(wire[i : i + 1])
        while (r := d.next_record()) is not None:
            got.append((r.content_type, r.legacy_version, bytes(r.fragment)))
    assert got == expected
    # The first ClientHello uses legacy_record_version 0x0301 (RFC 8446 §5.1).
    assert got[0][1] == 0x0301


def test_accepts_byte_at_a_time_maximum_size_record() -> None:
    body = bytes(range(256)) * (MAX_CIPHERTEXT_LEN // 256)
    wire = rec(APPLICATION_DATA, body)
    d = RecordDeframer()
    for i in range(len(wire) - 1):
        d.feed(wire[i : i + 1])
        assert d.next_record() is None
    d.feed(wire[-1:])
    r = d.next_record()
    assert r is not None and bytes(r.fragment) == body


def rfc8448_cut_at(
    cuts: list[int], take: Callable[[RecordDeframer], list[tuple[int, int, bytes]]]
) -> list[tuple[int, int, bytes]]:
    """The RFC 8448 stream fed in pieces cut at ``cuts``, drained by ``take`` after each."""
    wire, _ = rfc8448_stream()
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    d = RecordDeframer()
    got = []
    for a, b in itertools.pairwise(points):
        d.feed(wire[a:b])
        got.extend(take(d))
    return got


@given(cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40))
def test_round_trips_any_chunking(cuts: list[int]) -> None:
    assert rfc8448_cut_at(cuts, drain) == rfc8448_stream()[1]


def test_fragments_stay_valid_after_more_feeding() -> None:
    a, b, c = rec(HANDSHAKE, b"first"), rec(HANDSHAKE, b"second"), rec(HANDSHAKE, b"third")
    d = RecordDeframer()
    d.feed(bytearray(a + b[:3]))
    first = d.next_record()
    assert first is not None
    d.feed(b[3:] + c[:2])  # would resize the array a view points into, if we let it
    second = d.next_record()
    assert second is not None
    d.feed(c[2:])
    third = d.next_record()
    assert third is not None
    assert [bytes(x.fragment) for x in (first, second, third)] == [b"first", b"second", b"third"]


def test_copies_only_the_record_that_straddles_two_reads() -> None:
    records = [rec(APPLICATION_DATA, bytes([i]) * 1000) for i in range(6)]
    wire = b"".join(records)
    first, second = wire[:1500], wire[1500:]  # the second record straddles the two reads
    d = RecordDeframer()
    d.feed(first)
    assert drain(d) == [(APPLICATION_DATA, 0x0303, b"\x00" * 1000)]
    d.feed(second)
    assert d.buffered == len(wire) - 1005
    got = list(d)
    assert [bytes(r.fragment) for r in got] == [bytes([i]) * 1000 for i in range(1, 6)]
    # The stitched record is a copy; the records after it are views of the read itself.
    assert got[0].fragment.obj is not second
    assert all(r.fragment.obj is second for r in got[1:])
    assert d.buffered == 0


@given(
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40),
    take=st.lists(st.integers(min_value=0, max_value=3), min_size=41, max_size=41),
)
def test_round_trips_any_chunking_when_not_drained_between_feeds(
    cuts: list[int], take: list[int]
) -> None:
    wire, expected = rfc8448_stream()
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    d = RecordDeframer()
    got = []
    for (a, b), n in zip(itertools.pairwise(points), take, strict=False):
        d.feed(wire[a:b])
        for _ in range(n):  # read only some of the records before the next feed
            r = d.next_record()
            if r is None:
                break
            got.append((r.content_type, r.legacy_version, bytes(r.fragment)))
        assert d.buffered == b - sum(5 + len(g[2]) for g in got)
    got.extend(drain(d))
    assert got == expected


def test_copies_mutable_input() -> None:
    data = bytearray(rec(HANDSHAKE, b"hello"))
    d = RecordDeframer()
    d.feed(data)
    data[5:] = b"XXXXX"
    r = d.next_record()
    assert r is not None and bytes(r.fragment) == b"hello"


def test_header_is_the_received_header() -> None:
    wire = rec(HANDSHAKE, b"hi", version=0x0301)
    d = RecordDeframer()
    d.feed(wire)
    r = d.next_record()
    assert isinstance(r, Record)
    assert r.header() == wire[:5]
    ct, version, fragment = r  # still unpacks as (content type, version, fragment)
    assert (ct, version, bytes(fragment)) == (HANDSHAKE, 0x0301, b"hi")


@pytest.mark.parametrize("content_type", [0, 19, 24, 0x47, 255])
def test_rejects_unknown_content_type_from_header_alone(content_type: int) -> None:
    d = RecordDeframer()
    d.feed(bytes((content_type, 3, 3, 0, 10)))
    with pytest.raises(RemoteProtocolError) as e:
        d.next_record()
    assert e.value.alert is AlertDescription.unexpected_message


def test_rejects_non_tls_stream_with_decode_error() -> None:
    d = RecordDeframer()
    d.feed(b"\x16\x02\x00\x00\x10")  # content type ok, major byte not 3
    with pytest.raises(DecodeError) as e:
        d.next_record()
    assert e.value.alert is AlertDescription.decode_error


@pytest.mark.parametrize("minor", [0x00, 0x01, 0x03, 0x04, 0xFF])
def test_accepts_any_legacy_minor_version(minor: int) -> None:
    d = RecordDeframer()
    d.feed(rec(HANDSHAKE, b"x", version=0x0300 | minor))
    r = d.next_record()
    assert r is not None and r.legacy_version == 0x0300 | minor


def test_rejects_oversize_ciphertext_from_header_alone() -> None:
    d = RecordDeframer()
    d.feed(record_header(APPLICATION_DATA, 0x0303, MAX_CIPHERTEXT_LEN + 1))
    with pytest.raises(RemoteProtocolError) as e:
        d.next_record()
    assert e.value.alert is AlertDescription.record_overflow


@pytest.mark.parametrize("content_type", [20, 21, 22])
def test_rejects_plaintext_record_over_2_14(content_type: int) -> None:
    d = RecordDeframer()
    d.feed(record_header(content_type, 0x0303, MAX_PLAINTEXT_LEN + 1))
    with pytest.raises(RemoteProtocolError) as e:
        d.next_record()
    assert e.value.alert is AlertDescription.record_overflow


def test_accepts_records_at_the_limits() -> None:
    d = RecordDeframer()
    d.feed(rec(HANDSHAKE, bytes(MAX_PLAINTEXT_LEN)))
    d.feed(rec(APPLICATION_DATA, bytes(MAX_CIPHERTEXT_LEN)))
    lengths = [len(f) for _, _, f in drain(d)]
    assert lengths == [MAX_PLAINTEXT_LEN, MAX_CIPHERTEXT_LEN]


@pytest.mark.parametrize("content_type", [20, 21, 22])
def test_rejects_zero_length_plaintext_records(content_type: int) -> None:
    d = RecordDeframer()
    d.feed(record_header(content_type, 0x0303, 0))
    with pytest.raises(RemoteProtocolError) as e:
        d.next_record()
    assert e.value.alert is AlertDescription.unexpected_message


def test_accepts_zero_length_application_data_record() -> None:
    d = RecordDeframer()
    d.feed(record_header(APPLICATION_DATA, 0x0303, 0) + rec(HANDSHAKE, b"z"))
    assert drain(d) == [(APPLICATION_DATA, 0x0303, b""), (HANDSHAKE, 0x0303, b"z")]


def test_stays_failed_after_an_error() -> None:
    d = RecordDeframer()
    d.feed(rec(HANDSHAKE, b"ok") + bytes((99, 3, 3, 0, 1)))
    assert d.next_record() is not None
    with pytest.raises(RemoteProtocolError) as first:
        d.next_record()
    with pytest.raises(RemoteProtocolError) as again:
        d.next_record()
    assert again.value is first.value
    with pytest.raises(RemoteProtocolError):
        d.feed(rec(HANDSHAKE, b"more"))


def test_rejects_feeding_past_max_buffer_and_keeps_state() -> None:
    d = RecordDeframer(max_buffer=MAX_RECORD_SIZE)
    whole = rec(APPLICATION_DATA, bytes(MAX_CIPHERTEXT_LEN))
    d.feed(whole[:100])
    assert d.space == MAX_RECORD_SIZE - 100
    with pytest.raises(LocalProtocolError):
        d.feed(bytes(MAX_RECORD_SIZE))
    assert d.buffered == 100
    d.feed(whole[100:])
    assert d.space == 0
    r = d.next_record()
    assert r is not None and len(r.fragment) == MAX_CIPHERTEXT_LEN
    assert d.space == MAX_RECORD_SIZE


def test_rejects_max_buffer_smaller_than_a_record() -> None:
    with pytest.raises(ConfigError):
        RecordDeframer(max_buffer=MAX_RECORD_SIZE - 1)


def test_waits_for_incomplete_header_and_body() -> None:
    d = RecordDeframer()
    d.feed(b"\x16\x03")
    assert d.next_record() is None
    d.feed(b"\x03\x00\x02a")
    assert d.next_record() is None
    assert d.buffered == 6
    d.feed(b"b")
    assert drain(d) == [(HANDSHAKE, 0x0303, b"ab")]


def test_ignores_empty_feed() -> None:
    d = RecordDeframer()
    d.feed(b"")
    assert d.next_record() is None


# --- application_data_run: the bulk path's many-records-per-call ---------------------------


def drain_mixed(d: RecordDeframer) -> list[tuple[int, int, bytes]]:
    """Everything buffered, taking runs first as the connection does."""
    got: list[tuple[int, int, bytes]] = []
    while True:
        for header, fragment in d.application_data_run():
            assert header == record_header(header[0], (header[1] << 8) | header[2], len(fragment))
            got.append((header[0], (header[1] << 8) | header[2], bytes(fragment)))
        record = d.next_record()
        if record is None:
            return got
        got.append((record.content_type, record.legacy_version, bytes(record.fragment)))


def test_run_returns_consecutive_application_data_records_and_stops_at_another_type() -> None:
    d = RecordDeframer()
    d.feed(
        rec(APPLICATION_DATA, b"one")
        + rec(APPLICATION_DATA, b"two", 0x0301)
        + rec(HANDSHAKE, b"hs")
        + rec(APPLICATION_DATA, b"three")
    )
    run = d.application_data_run()
    assert [(bytes(h), bytes(f)) for h, f in run] == [
        (record_header(APPLICATION_DATA, 0x0303, 3), b"one"),
        (record_header(APPLICATION_DATA, 0x0301, 3), b"two"),
    ]
    assert d.application_data_run() == []  # a handshake record is next: next_record's
    r = d.next_record()
    assert r is not None and (r.content_type, bytes(r.fragment)) == (HANDSHAKE, b"hs")
    assert [bytes(f) for _, f in d.application_data_run()] == [b"three"]
    assert d.buffered == 0


def test_run_leaves_an_incomplete_record_buffered() -> None:
    d = RecordDeframer()
    whole, partial = rec(APPLICATION_DATA, b"a" * 10), rec(APPLICATION_DATA, b"b" * 10)
    d.feed(whole + partial[:7])
    assert [bytes(f) for _, f in d.application_data_run()] == [b"a" * 10]
    assert d.application_data_run() == []
    assert d.buffered == 7
    d.feed(partial[7:])
    assert [bytes(f) for _, f in d.application_data_run()] == [b"b" * 10]


def test_run_leaves_a_bad_header_to_next_record_which_names_it() -> None:
    d = RecordDeframer()
    oversize = record_header(APPLICATION_DATA, 0x0303, MAX_CIPHERTEXT_LEN + 1)
    d.feed(rec(APPLICATION_DATA, b"ok") + oversize)
    assert [bytes(f) for _, f in d.application_data_run()] == [b"ok"]
    assert d.application_data_run() == []
    with pytest.raises(RemoteProtocolError) as info:
        d.next_record()
    assert info.value.alert == AlertDescription.record_overflow
    with pytest.raises(RemoteProtocolError):  # and stays failed, runs included
        d.application_data_run()


def test_run_leaves_a_non_tls_major_version_to_next_record() -> None:
    d = RecordDeframer()
    d.feed(bytes((APPLICATION_DATA, 0x02, 0x00, 0x00, 0x01, 0x00)))
    assert d.application_data_run() == []
    with pytest.raises(DecodeError):
        d.next_record()


def test_run_views_stay_valid_after_more_feeding() -> None:
    d = RecordDeframer()
    first, second = rec(APPLICATION_DATA, b"first"), rec(APPLICATION_DATA, b"second")
    d.feed(bytearray(first + second[:4]))
    ((_, view),) = d.application_data_run()
    d.feed(second[4:] + rec(APPLICATION_DATA, b"third"))
    assert [bytes(f) for _, f in d.application_data_run()] == [b"second", b"third"]
    assert bytes(view) == b"first"


@given(cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40))
def test_runs_and_single_records_together_round_trip_any_chunking(cuts: list[int]) -> None:
    assert rfc8448_cut_at(cuts, drain_mixed) == rfc8448_stream()[1]
