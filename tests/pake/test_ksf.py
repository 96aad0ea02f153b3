"""The key stretching functions: deterministic per (password, salt), stored and reloaded with
their parameters, and the identity KSF refused outside the test vectors."""

from __future__ import annotations

import pytest

from nautilus_tls.errors import ConfigError
from nautilus_tls.pake.ksf import Ksf, ksf_from_record

CHEAP = (Ksf("argon2id", cost=1, memory=8192), Ksf("scrypt", cost=10, memory=8))


@pytest.mark.parametrize("ksf", CHEAP, ids=lambda k: k.method)
def test_stretch_is_deterministic_and_salted(ksf: Ksf) -> None:
    out = ksf.stretch(b"password", b"salt-1", 64)
    assert len(out) == 64
    assert out == ksf.stretch(b"password", b"salt-1", 64)
    assert out != ksf.stretch(b"password", b"salt-2", 64)
    assert out != ksf.stretch(b"passwore", b"salt-1", 64)


def test_argon2id_and_scrypt_differ() -> None:
    a, s = (k.stretch(b"pw", b"salt", 32) for k in CHEAP)
    assert a != s


@pytest.mark.parametrize("ksf", CHEAP, ids=lambda k: k.method)
def test_record_round_trip(ksf: Ksf) -> None:
    assert ksf_from_record(ksf.to_record()) == ksf


def test_identity_is_refused_from_a_record_unless_allowed() -> None:
    text = Ksf("identity").to_record()
    with pytest.raises(ConfigError, match="without key stretching"):
        ksf_from_record(text)
    assert ksf_from_record(text, allow_identity=True).stretch(b"x", b"", 64) == b"x"


@pytest.mark.parametrize(
    "text", ["", "{}", '{"method": "md5", "cost": 1, "memory": 1}', '{"method": "scrypt"}']
)
def test_unparsable_or_unknown_parameters_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        ksf_from_record(text)


def test_weak_parameters_are_refused() -> None:
    with pytest.raises(ConfigError):
        Ksf("scrypt", cost=4, memory=8)
    with pytest.raises(ConfigError):
        Ksf("argon2id", cost=0, memory=8192)
