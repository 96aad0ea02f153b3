"""RFC 7250 §4.1 certificate type extensions (src/nautilus_tls/wire/certificate_type.py)."""

from __future__ import annotations

import pytest

from nautilus_tls.errors import AlertDescription, DecodeError, LocalProtocolError, PeerMisbehaved
from nautilus_tls.wire.certificate_type import (
    RAW_PUBLIC_KEY,
    X509,
    decode_certificate_type_list,
    decode_chosen_certificate_type,
    encode_certificate_type_list,
    encode_chosen_certificate_type,
    select_certificate_type,
)


def test_round_trips_the_client_hello_list() -> None:
    data = encode_certificate_type_list([RAW_PUBLIC_KEY, X509])
    assert data == b"\x02\x02\x00"
    assert decode_certificate_type_list(data) == (RAW_PUBLIC_KEY, X509)


def test_keeps_unknown_types_as_ints() -> None:
    assert decode_certificate_type_list(b"\x02\x01\x02") == (1, RAW_PUBLIC_KEY)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x02\x02", b"\x01\x02\x00"])
def test_rejects_malformed_lists(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_certificate_type_list(data)


def test_refuses_to_offer_an_empty_list() -> None:
    with pytest.raises(LocalProtocolError):
        encode_certificate_type_list([])


def test_chosen_type_must_be_one_we_offered() -> None:
    assert decode_chosen_certificate_type(encode_chosen_certificate_type(2), (2, 0)) == 2
    with pytest.raises(PeerMisbehaved) as err:
        decode_chosen_certificate_type(b"\x00", (RAW_PUBLIC_KEY,))
    assert err.value.alert == AlertDescription.illegal_parameter
    with pytest.raises(DecodeError):
        decode_chosen_certificate_type(b"\x02\x00", (RAW_PUBLIC_KEY,))


@pytest.mark.parametrize(
    ("offered", "ours", "chosen"),
    [
        ((RAW_PUBLIC_KEY, X509), (X509, RAW_PUBLIC_KEY), RAW_PUBLIC_KEY),  # the peer's order
        ((X509, RAW_PUBLIC_KEY), (RAW_PUBLIC_KEY,), RAW_PUBLIC_KEY),
        (None, (X509,), X509),  # no extension: X.509 (RFC 7250 §4.1)
        (None, (RAW_PUBLIC_KEY,), None),
        ((RAW_PUBLIC_KEY,), (X509,), None),
    ],
)
def test_selects_the_first_offered_type_we_have(
    offered: tuple[int, ...] | None, ours: tuple[int, ...], chosen: int | None
) -> None:
    assert select_certificate_type(offered, ours) == chosen
