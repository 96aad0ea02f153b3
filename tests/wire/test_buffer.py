"""Reader / Writer: the presentation-language primitives (RFC 8446 §3)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nautilus_tls.errors import DecodeError
from nautilus_tls.wire.buffer import Reader, Writer, take_front


@given(
    a=st.integers(0, 0xFF),
    b=st.integers(0, 0xFFFF),
    c=st.integers(0, 0xFFFFFF),
    d=st.integers(0, 0xFFFFFFFF),
    raw=st.binary(max_size=20),
)
def test_round_trips_integers_and_raw(a: int, b: int, c: int, d: int, raw: bytes) -> None:
    w = Writer()
    w.uint8(a)
    w.uint16(b)
    w.uint24(c)
    w.uint32(d)
    w.raw(raw)
    data = w.getvalue()
    assert len(w) == len(data) == 10 + len(raw)
    r = Reader(data)
    assert (r.uint8(), r.uint16(), r.uint24(), r.uint32()) == (a, b, c, d)
    assert r.remaining == len(raw)
    assert r.raw(len(raw)) == raw
    assert r.at_end()
    r.expect_end()


@given(size=st.sampled_from([1, 2, 3]), payload=st.binary(max_size=300))
def test_round_trips_vectors(size: int, payload: bytes) -> None:
    if size == 1:
        payload = payload[:255]
    w = Writer()
    w.vector(size, payload)
    data = w.getvalue()
    assert data[:size] == len(payload).to_bytes(size, "big")
    r = Reader(data)
    assert r.vector(size) == payload
    r.expect_end()


@given(values=st.lists(st.integers(0, 0xFFFF), max_size=50))
def test_round_trips_uint16_lists(values: list[int]) -> None:
    w = Writer()
    w.uint16_list(2, values)
    r = Reader(w.getvalue())
    assert r.uint16_list(2) == tuple(values)
    r.expect_end()


@given(payload=st.binary(max_size=100))
def test_prefixed_fills_in_the_length(payload: bytes) -> None:
    w = Writer()
    w.uint8(7)
    with w.prefixed(2):
        w.raw(payload)
        with w.prefixed(1):
            w.uint16(0xABCD)
    data = w.getvalue()
    r = Reader(data)
    assert r.uint8() == 7
    inner = r.sub(2)
    r.expect_end()
    assert inner.raw(len(payload)) == payload
    assert inner.vector(1) == b"\xab\xcd"
    inner.expect_end()


def test_rejects_reads_past_the_end() -> None:
    short = b"\x00\x05\x01"  # a length of 5 followed by one byte
    past_short: list[Callable[[Reader], object]] = [
        lambda r: r.uint32(),
        lambda r: r.raw(4),
        lambda r: r.vector(2),
        lambda r: r.sub(2),
        lambda r: r.uint16_list(2),
    ]
    for read in past_short:
        with pytest.raises(DecodeError):
            read(Reader(short))
    past_empty: list[Callable[[Reader], object]] = [
        lambda r: r.uint8(),
        lambda r: r.uint16(),
        lambda r: r.uint24(),
        lambda r: r.vector(1),
    ]
    for read in past_empty:
        with pytest.raises(DecodeError):
            read(Reader(b""))


def test_rejects_vectors_outside_their_bounds() -> None:
    with pytest.raises(DecodeError):
        Reader(b"\x00").vector(1, min_len=1)
    with pytest.raises(DecodeError):
        Reader(b"\x03abc").vector(1, max_len=2)
    with pytest.raises(DecodeError):
        Reader(b"\x00\x00").sub(2, min_len=1)
    assert Reader(b"\x02ab").vector(1, min_len=2, max_len=2) == b"ab"


def test_rejects_odd_or_short_uint16_lists() -> None:
    with pytest.raises(DecodeError):
        Reader(b"\x00\x03\x00\x01\x02").uint16_list(2)
    with pytest.raises(DecodeError):
        Reader(b"\x00\x00").uint16_list(2, min_len=2)


def test_rejects_trailing_bytes() -> None:
    r = Reader(b"\x01\x02")
    r.uint8()
    with pytest.raises(DecodeError, match="1 trailing"):
        r.expect_end("thing")


def test_sub_reader_is_bounded_and_consumed() -> None:
    r = Reader(b"\x00\x02\x01\x02\x03")
    inner = r.sub(2)
    assert r.uint8() == 3
    assert inner.uint16() == 0x0102
    with pytest.raises(DecodeError):
        inner.uint8()


def test_reader_accepts_memoryview_and_bytearray() -> None:
    assert Reader(memoryview(b"\x01\x02")).uint16() == 0x0102
    assert Reader(bytearray(b"\x00\x01x")).vector(2) == b"x"
    assert isinstance(Reader(memoryview(b"\x01x")).vector(1), bytes)


def test_writer_refuses_oversized_vectors() -> None:
    w = Writer()
    with pytest.raises(ValueError):
        w.vector(1, bytes(256))
    with pytest.raises(ValueError), w.prefixed(1):
        w.raw(bytes(256))


@given(data=st.binary(max_size=64), ops=st.lists(st.integers(0, 7), max_size=20))
def test_random_reads_raise_only_decode_error(data: bytes, ops: list[int]) -> None:
    r = Reader(data)
    try:
        for op in ops:
            if op == 0:
                r.uint8()
            elif op == 1:
                r.uint16()
            elif op == 2:
                r.uint24()
            elif op == 3:
                r.uint32()
            elif op == 4:
                r.vector(1)
            elif op == 5:
                r.vector(2, min_len=1)
            elif op == 6:
                r = r.sub(2)
            else:
                r.uint16_list(1)
    except DecodeError:
        pass


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=300)), max_size=8))
def test_type_length_values_reads_what_the_writer_wrote(entries: list[tuple[int, bytes]]) -> None:
    w = Writer()
    for entry_type, data in entries:
        w.uint16(entry_type)
        w.vector(2, data)
    r = Reader(b"\x07" + w.getvalue())
    assert r.uint8() == 7
    assert r.type_length_values() == entries
    assert r.at_end()


@pytest.mark.parametrize(
    "block",
    [b"\x00", b"\x00\x01\x00", b"\x00\x01\x00\x02\xaa", b"\x00\x01\x00\x00\x00\x02\x00\x05"],
)
def test_type_length_values_rejects_a_truncated_entry(block: bytes) -> None:
    with pytest.raises(DecodeError, match="truncated"):
        Reader(block).type_length_values()


def test_writer_uint16_list_refuses_values_outside_uint16() -> None:
    for bad in ([1, 0x10000], [-1]):
        with pytest.raises(ValueError, match="uint16"):
            Writer().uint16_list(2, bad)


def test_take_front_removes_and_returns_the_head_or_everything() -> None:
    buffer = bytearray(b"abcdef")
    assert take_front(buffer, 2) == b"ab" and buffer == bytearray(b"cdef")
    head = take_front(buffer, 10)
    assert type(head) is bytes and head == b"cdef" and buffer == bytearray()
    assert take_front(buffer, 3) == b""
