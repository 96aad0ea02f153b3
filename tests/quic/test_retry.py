"""Retry tokens (RFC 9000 §8.1): only the client at the address a token was minted for, sending
to the connection ID its Retry chose, within the token's life, gets the original Destination
Connection ID back; anything else, forged or garbled, is None."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nautilus_tls.quic.retry import DEFAULT_LIFETIME, MAX_TOKEN_LEN, RetryTokens

ADDR = ("127.0.0.1", 50000)
ODCID, SCID = os.urandom(8), os.urandom(8)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _tokens(clock: Clock | None = None, key: bytes | None = None) -> RetryTokens:
    return RetryTokens(key, clock=clock or Clock())


def test_a_token_gives_back_the_original_connection_id_to_its_client() -> None:
    tokens = _tokens()
    token = tokens.mint(ADDR, ODCID, SCID)
    assert len(token) <= MAX_TOKEN_LEN
    assert tokens.redeem(ADDR, SCID, token) == ODCID
    assert tokens.redeem(("::1", 443), SCID, tokens.mint(("::1", 443), b"", SCID)) == b""


def test_a_token_is_refused_from_another_address_or_port() -> None:
    tokens = _tokens()
    token = tokens.mint(ADDR, ODCID, SCID)
    assert tokens.redeem(("127.0.0.2", 50000), SCID, token) is None
    assert tokens.redeem(("127.0.0.1", 50001), SCID, token) is None
    assert tokens.redeem(("not an address", 1), SCID, token) is None


def test_a_token_is_refused_when_sent_to_another_connection_id() -> None:
    tokens = _tokens()
    assert tokens.redeem(ADDR, ODCID, tokens.mint(ADDR, ODCID, SCID)) is None


def test_a_token_expires_and_is_refused_from_the_future() -> None:
    clock = Clock()
    tokens = _tokens(clock)
    token = tokens.mint(ADDR, ODCID, SCID)
    clock.now += DEFAULT_LIFETIME
    assert tokens.redeem(ADDR, SCID, token) == ODCID
    clock.now += 0.01
    assert tokens.redeem(ADDR, SCID, token) is None
    clock.now -= DEFAULT_LIFETIME + 2.0  # issued "later" than now, beyond the skew allowed
    assert tokens.redeem(ADDR, SCID, token) is None


def test_another_endpoints_tokens_are_refused_and_a_shared_key_is_accepted() -> None:
    key = os.urandom(32)
    token = _tokens(key=key).mint(ADDR, ODCID, SCID)
    assert _tokens().redeem(ADDR, SCID, token) is None
    assert _tokens(key=key).redeem(ADDR, SCID, token) == ODCID


def test_every_flipped_bit_is_refused() -> None:
    tokens = _tokens()
    token = tokens.mint(ADDR, ODCID, SCID)
    for i in range(len(token) * 8):
        flipped = bytearray(token)
        flipped[i // 8] ^= 1 << (i % 8)
        assert tokens.redeem(ADDR, SCID, bytes(flipped)) is None, i


@given(st.binary(max_size=200))
def test_garbage_tokens_are_refused(garbage: bytes) -> None:
    assert _tokens().redeem(ADDR, SCID, garbage) is None


def test_bad_parameters_are_refused_and_the_key_is_never_shown() -> None:
    with pytest.raises(ValueError):
        RetryTokens(b"short")
    with pytest.raises(ValueError):
        RetryTokens(lifetime=0)
    with pytest.raises(ValueError):
        RetryTokens(lifetime=3600)
    with pytest.raises(ValueError):
        _tokens().mint(ADDR, bytes(21), SCID)
    key = os.urandom(32)
    shown = repr(RetryTokens(key))
    assert key.hex() not in shown and "<key>" in shown
