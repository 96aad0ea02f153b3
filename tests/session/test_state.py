"""ResumptionState: round trips, strict decoding, no secrets in repr."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from session.helpers import PSK, make_state

from nautilus_tls.errors import DecodeError
from nautilus_tls.session.state import ResumptionState

states = st.builds(
    ResumptionState,
    psk=st.binary(min_size=1, max_size=255),
    suite=st.integers(0, 0xFFFF),
    alpn=st.none() | st.binary(min_size=1, max_size=255),
    server_name=st.none() | st.text(min_size=1, max_size=80),
    client_chain=st.lists(st.binary(min_size=1, max_size=300), max_size=4).map(tuple),
    created_at=st.floats(allow_nan=False, allow_infinity=False),
    lifetime=st.integers(0, 604800),
    age_add=st.integers(0, 2**32 - 1),
    max_early_data=st.integers(0, 2**32 - 1),
    client_auth_binding=st.binary(max_size=255),
)


def test_round_trips_a_typical_state() -> None:
    state = make_state()
    assert ResumptionState.decode(state.encode()) == state


def test_round_trips_minimal_state() -> None:
    state = make_state(alpn=None, server_name=None, client_chain=(), max_early_data=0)
    assert ResumptionState.decode(state.encode()) == state


@given(states)
def test_round_trips_any_valid_state(state: ResumptionState) -> None:
    data = state.encode()
    again = ResumptionState.decode(data)
    assert again == state
    assert again.encode() == data


@given(st.binary(max_size=400))
def test_random_bytes_never_decode_except_to_decode_error(data: bytes) -> None:
    try:
        state = ResumptionState.decode(data)
    except DecodeError:
        return
    assert state.encode() == data  # whatever decodes is canonical


@given(states, st.data())
def test_rejects_every_strict_prefix(state: ResumptionState, data: st.DataObject) -> None:
    encoded = state.encode()
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(DecodeError):
        ResumptionState.decode(encoded[:cut])


@given(states, st.binary(min_size=1, max_size=8))
def test_rejects_trailing_bytes(state: ResumptionState, extra: bytes) -> None:
    with pytest.raises(DecodeError):
        ResumptionState.decode(state.encode() + extra)


def test_rejects_unknown_version() -> None:
    data = bytearray(make_state().encode())
    data[0] = 3
    with pytest.raises(DecodeError):
        ResumptionState.decode(bytes(data))


def test_rejects_version_1_state() -> None:
    """A ticket sealed by the previous release (no client-auth binding) does not decode, so
    the server falls back to a full handshake."""
    v2 = make_state(client_auth_binding=b"").encode()
    v1 = b"\x01" + v2[1:-1]  # version 1 had no trailing binding vector
    with pytest.raises(DecodeError):
        ResumptionState.decode(v1)


def test_rejects_non_canonical_flag() -> None:
    data = bytearray(make_state().encode())
    flag_at = 1 + 2 + 1 + len(PSK)  # version, suite, psk
    assert data[flag_at] == 1
    data[flag_at] = 2
    with pytest.raises(DecodeError):
        ResumptionState.decode(bytes(data))


def test_rejects_lifetime_over_seven_days_when_decoding() -> None:
    data = bytearray(make_state(lifetime=604800, client_auth_binding=b"").encode())
    data[-13:-9] = (604801).to_bytes(4, "big")
    with pytest.raises(DecodeError) as info:
        ResumptionState.decode(bytes(data))
    assert PSK.hex() not in str(info.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_rejects_non_finite_created_at(bad: float) -> None:
    with pytest.raises(ValueError):
        make_state(created_at=bad)
    import struct

    data = bytearray(make_state(client_auth_binding=b"").encode())
    data[-21:-13] = struct.pack(">d", bad)
    with pytest.raises(DecodeError):
        ResumptionState.decode(bytes(data))


def test_rejects_non_utf8_server_name() -> None:
    state = make_state(server_name="ab", alpn=None)
    data = bytearray(state.encode())
    at = data.index(b"ab")
    data[at] = 0xFF
    with pytest.raises(DecodeError):
        ResumptionState.decode(bytes(data))


@pytest.mark.parametrize(
    "field,value",
    [
        ("psk", b""),
        ("psk", b"x" * 256),
        ("suite", 0x10000),
        ("alpn", b""),
        ("server_name", ""),
        ("client_chain", (b"",)),
        ("lifetime", 604801),
        ("lifetime", -1),
        ("age_add", 2**32),
        ("max_early_data", -1),
        ("suite", True),
        ("client_auth_binding", b"x" * 256),
        ("client_auth_binding", "text"),
    ],
)
def test_rejects_out_of_range_fields(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        make_state(**{field: value})


def test_psk_is_not_in_repr_or_str() -> None:
    state = make_state()
    for text in (repr(state), str(state)):
        assert PSK.hex() not in text
        assert repr(PSK) not in text
        assert "psk" not in text


def test_equality_covers_the_psk() -> None:
    assert make_state() == make_state()
    assert make_state() != make_state(psk=b"\x01" * 48)
    assert make_state() != make_state(lifetime=1)
    assert hash(make_state()) == hash(make_state())


def test_expiry_and_ticket_age() -> None:
    state = make_state(created_at=1000.0, lifetime=100, age_add=2**32 - 500)
    assert not state.is_expired(1099.9)
    assert state.is_expired(1100.0)
    # The client saw the ticket 2.5 s after issue: obfuscated = 2500 + age_add mod 2^32.
    obfuscated = (2500 + state.age_add) % 2**32
    assert state.client_ticket_age(obfuscated) == 2.5
    assert state.ticket_age_skew(obfuscated, now=1003.0) == pytest.approx(-0.5)


@given(states, st.data())
def test_mutated_encodings_decode_canonically_or_not_at_all(
    state: ResumptionState, data: st.DataObject
) -> None:
    encoded = bytearray(state.encode())
    at = data.draw(st.integers(0, len(encoded) - 1))
    encoded[at] = data.draw(st.integers(0, 255))
    try:
        again = ResumptionState.decode(bytes(encoded))
    except DecodeError:
        return
    assert again.encode() == bytes(encoded)
