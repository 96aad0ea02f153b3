"""SPAKE2+ (RFC 9383) P256-SHA256: the Appendix C vector, a full exchange, and every way a
login fails (wrong password, unknown user, tampered or malformed messages, misuse)."""

from __future__ import annotations

import pytest
from vectors import load_vector

from nautilus_tls.pake.errors import (
    MalformedPakeMessage,
    PakeAuthenticationFailed,
    PakeInvalidElement,
    PakeStateError,
)
from nautilus_tls.pake.ksf import Ksf
from nautilus_tls.pake.spake2plus import (
    Spake2PlusProver,
    Spake2PlusRecord,
    Spake2PlusSecrets,
    Spake2PlusSession,
    Spake2PlusVerifier,
    derive_secrets,
    fake_record,
)

FAST = Ksf("scrypt", cost=10, memory=8)  # the tests' cheap stretching; real records use argon2id
CTX = b"nautilus test"


def _p256_vector() -> dict[str, str]:
    data = load_vector("rfc9383_spake2plus.json")
    (suite,) = [
        v for v in data["test_vectors"] if v["ciphersuite"] == "P256-SHA256-HKDF-SHA256-HMAC-SHA256"
    ]
    values: dict[str, str] = dict(suite["values"])
    for key in ("Context", "idProver", "idVerifier"):
        values[key] = suite[key]
    return values


def _h(v: dict[str, str], key: str) -> bytes:
    return bytes.fromhex(v[key])


def test_rfc9383_p256_vector_reproduces_every_message_and_key() -> None:
    v = _p256_vector()
    secrets_ = Spake2PlusSecrets(int(v["w0"], 16), int(v["w1"], 16))
    record = secrets_.record()
    assert _h(v, "L") == record.L
    session = Spake2PlusSession(
        v["Context"].encode(), v["idProver"].encode(), v["idVerifier"].encode()
    )
    prover = Spake2PlusProver(secrets_, session, x=int(v["x"], 16))
    verifier = Spake2PlusVerifier(record, session, y=int(v["y"], 16))

    share_p = prover.share()
    assert share_p == _h(v, "shareP")
    share_v, confirm_v = verifier.respond(share_p)
    assert share_v == _h(v, "shareV")
    assert confirm_v == _h(v, "HMAC(K_confirmV, shareP)")
    confirm_p = prover.finish(share_v, confirm_v)
    assert confirm_p == _h(v, "HMAC(K_confirmP, shareV)")
    assert verifier.finish(confirm_p) == prover.shared_key == _h(v, "K_shared")


def _register(password: bytes, salt: bytes = b"salt") -> tuple[Spake2PlusSecrets, Spake2PlusRecord]:
    secrets_ = derive_secrets(password, b"alice", b"server", salt=salt, ksf=FAST)
    return secrets_, secrets_.record()


def _pair(
    prover_secrets: Spake2PlusSecrets, record: Spake2PlusRecord
) -> tuple[Spake2PlusProver, Spake2PlusVerifier]:
    session = Spake2PlusSession(CTX, b"alice", b"server")
    return Spake2PlusProver(prover_secrets, session), Spake2PlusVerifier(record, session)


def test_right_password_agrees_on_a_fresh_key_each_time() -> None:
    secrets_, record = _register(b"correct horse")
    keys = []
    for _ in range(2):
        prover, verifier = _pair(
            derive_secrets(b"correct horse", b"alice", b"server", salt=b"salt", ksf=FAST), record
        )
        share_v, confirm_v = verifier.respond(prover.share())
        assert verifier.finish(prover.finish(share_v, confirm_v)) == prover.shared_key
        keys.append(prover.shared_key)
    assert keys[0] != keys[1]
    assert secrets_.w0 != 0


def test_record_holds_no_w1_and_depends_on_salt() -> None:
    secrets_, record = _register(b"pw")
    assert secrets_.w1.to_bytes(32, "big") not in record.to_bytes()
    assert _register(b"pw", salt=b"other")[1] != record
    assert Spake2PlusRecord.from_bytes(record.to_bytes()) == record


def test_wrong_password_fails_at_the_prover_with_decrypt_error() -> None:
    _, record = _register(b"right")
    wrong, _ = _register(b"wrong")
    prover, verifier = _pair(wrong, record)
    share_v, confirm_v = verifier.respond(prover.share())
    with pytest.raises(PakeAuthenticationFailed) as info:
        prover.finish(share_v, confirm_v)
    assert info.value.alert.name == "decrypt_error"
    with pytest.raises(PakeStateError):
        _ = prover.shared_key


def test_verifier_refuses_a_forged_confirmation() -> None:
    secrets_, record = _register(b"pw")
    prover, verifier = _pair(secrets_, record)
    share_v, confirm_v = verifier.respond(prover.share())
    confirm_p = bytearray(prover.finish(share_v, confirm_v))
    confirm_p[0] ^= 1
    with pytest.raises(PakeAuthenticationFailed):
        verifier.finish(bytes(confirm_p))


def test_unknown_user_gets_a_stable_fake_record_shaped_like_a_real_one() -> None:
    key = b"k" * 32
    fake = fake_record(key, b"mallory")
    assert fake == fake_record(key, b"mallory")
    assert fake != fake_record(key, b"trudy")
    secrets_, record = _register(b"pw")
    prover, verifier = _pair(secrets_, fake)
    share_v, confirm_v = verifier.respond(prover.share())
    assert len(share_v) == 65 and len(confirm_v) == 32
    with pytest.raises(PakeAuthenticationFailed):
        prover.finish(share_v, confirm_v)
    assert len(fake.to_bytes()) == len(record.to_bytes())


@pytest.mark.parametrize(
    ("share", "error"),
    [
        (b"", MalformedPakeMessage),
        (b"\x04" + b"\x00" * 63, MalformedPakeMessage),
        (
            bytes.fromhex("02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f"),
            MalformedPakeMessage,
        ),
        (b"\x04" + b"\x01" * 64, PakeInvalidElement),
        (b"\x04" + b"\xff" * 64, PakeInvalidElement),
    ],
)
def test_malformed_or_off_curve_shares_are_refused(share: bytes, error: type[Exception]) -> None:
    secrets_, record = _register(b"pw")
    prover, verifier = _pair(secrets_, record)
    with pytest.raises(error):
        verifier.respond(share)
    prover.share()
    with pytest.raises(error):
        prover.finish(share, b"\x00" * 32)


def test_share_that_cancels_w0_m_is_refused() -> None:
    # X = w0*M makes Z the identity: only someone who knows w0 can send it, but it must still
    # not produce an encodable transcript.
    secrets_, record = _register(b"pw")
    from nautilus_tls.pake.spake2plus import _M  # the RFC constant, to build the attack share

    _, verifier = _pair(secrets_, record)
    with pytest.raises(PakeInvalidElement):
        verifier.respond(_M.mul(secrets_.w0).encode())


def test_confirmation_of_the_wrong_length_is_a_decode_error() -> None:
    secrets_, record = _register(b"pw")
    prover, verifier = _pair(secrets_, record)
    share_v, _ = verifier.respond(prover.share())
    with pytest.raises(MalformedPakeMessage) as info:
        prover.finish(share_v, b"\x00" * 31)
    assert info.value.alert.name == "decode_error"


def test_state_machines_refuse_calls_out_of_order() -> None:
    secrets_, record = _register(b"pw")
    prover, verifier = _pair(secrets_, record)
    with pytest.raises(PakeStateError):
        prover.finish(b"", b"")
    with pytest.raises(PakeStateError):
        verifier.finish(b"\x00" * 32)
    share_p = prover.share()
    with pytest.raises(PakeStateError):
        prover.share()
    verifier.respond(share_p)
    with pytest.raises(PakeStateError):
        verifier.respond(share_p)


def test_secrets_never_appear_in_repr() -> None:
    secrets_, record = _register(b"pw")
    prover, verifier = _pair(secrets_, record)
    for obj in (secrets_, record, prover, verifier):
        text = repr(obj)
        assert str(secrets_.w0) not in text and record.w0.hex() not in text


def test_corrupt_record_is_refused_when_loaded() -> None:
    with pytest.raises(MalformedPakeMessage):
        Spake2PlusRecord.from_bytes(b"\x00" * 10)
    with pytest.raises(PakeInvalidElement):
        Spake2PlusRecord(b"\x00" * 32, b"\x04" + b"\x01" * 64)
