"""The RFC 9497 OPRF (ristretto255-SHA512, mode 0x00): the Appendix A.1.1 vectors, and the
element checks on what the other side sends."""

from __future__ import annotations

from typing import Any

import pytest
from vectors import load_vector

from nautilus_tls.pake import oprf
from nautilus_tls.pake._ristretto import expand_message_xmd
from nautilus_tls.pake.errors import MalformedPakeMessage, PakeInvalidElement


def _suite() -> dict[str, Any]:
    suite: dict[str, Any] = load_vector("rfc9497_oprf_ristretto255.json")["suite"]
    return suite


def test_derive_key_pair_matches_rfc9497() -> None:
    s = _suite()
    sk, pk = oprf.derive_key_pair(bytes.fromhex(s["seed"]), bytes.fromhex(s["keyInfo"]))
    assert sk.hex() == s["skSm"]
    assert len(pk) == 32


@pytest.mark.parametrize("index", [0, 1])
def test_blind_evaluate_finalize_match_rfc9497(index: int) -> None:
    s = _suite()
    v = {k: bytes.fromhex(x) for k, x in s["vectors"][index].items() if isinstance(x, str)}
    blind, blinded = oprf.blind(v["Input"], v["Blind"])
    assert blinded == v["BlindedElement"]
    evaluated = oprf.blind_evaluate(bytes.fromhex(s["skSm"]), blinded)
    assert evaluated == v["EvaluationElement"]
    assert oprf.finalize(v["Input"], blind, evaluated) == v["Output"]


def test_random_blinds_give_the_same_output() -> None:
    sk, _ = oprf.derive_key_pair(b"\x01" * 32, b"info")
    outputs = set()
    for _ in range(3):
        blind, blinded = oprf.blind(b"password")
        outputs.add(oprf.finalize(b"password", blind, oprf.blind_evaluate(sk, blinded)))
    assert len(outputs) == 1


@pytest.mark.parametrize(
    ("element", "error"),
    [
        (b"", MalformedPakeMessage),
        (bytes(32), PakeInvalidElement),
        (b"\xff" * 32, PakeInvalidElement),
    ],
)
def test_bad_elements_are_refused_on_both_sides(element: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        oprf.blind_evaluate(b"\x01" + bytes(31), element)
    with pytest.raises(error):
        oprf.finalize(b"x", b"\x01" + bytes(31), element)


def test_expand_message_xmd_matches_rfc9380_k3() -> None:
    data = load_vector("rfc9380_expand_message_xmd_sha512.json")
    for v in data["vectors"]:
        out = expand_message_xmd(v["msg"].encode(), data["dst"].encode(), v["len_in_bytes"])
        assert out.hex() == v["uniform_bytes"]


def test_expand_message_xmd_length_and_domain_separation() -> None:
    a = expand_message_xmd(b"msg", b"DST-A", 100)
    assert len(a) == 100
    assert a[:64] != expand_message_xmd(b"msg", b"DST-B", 100)[:64]
    with pytest.raises(ValueError):
        expand_message_xmd(b"msg", b"D" * 256, 64)
