"""OPAQUE (RFC 9807) ristretto255-SHA512: the Appendix C vectors (registration, login and
the fake KE2 for an unknown user), full runs with a real KSF, and every way a login fails."""

from __future__ import annotations

from typing import Any

import pytest
from vectors import load_vector

from nautilus_tls.pake import opaque
from nautilus_tls.pake.errors import (
    MalformedPakeMessage,
    PakeAuthenticationFailed,
    PakeInvalidElement,
    PakeStateError,
)
from nautilus_tls.pake.ksf import Ksf
from nautilus_tls.pake.opaque import (
    LoginFixture,
    OpaqueLoginClient,
    OpaqueLoginServer,
    OpaqueRegistrationClient,
    OpaqueServerSetup,
    OpaqueSession,
    RegistrationRecord,
    registration_response,
)

IDENTITY = Ksf("identity")
FAST = Ksf("argon2id", cost=1, memory=8192)
CTX = OpaqueSession(b"nautilus test")


def _vectors(fake: bool) -> list[dict[str, Any]]:
    data = load_vector("rfc9807_opaque_ristretto255.json")
    return [v for v in data["vectors"] if v["config"]["Fake"] == str(fake)]


def _hex(section: dict[str, str]) -> dict[str, bytes]:
    return {k: bytes.fromhex(v) for k, v in section.items()}


def _ids(i: dict[str, bytes]) -> dict[str, bytes]:
    return {
        "server_identity": i.get("server_identity", b""),
        "client_identity": i.get("client_identity", b""),
    }


def _session(vector: dict[str, Any], i: dict[str, bytes]) -> OpaqueSession:
    return OpaqueSession(bytes.fromhex(vector["config"]["Context"]), **_ids(i))


def _setup(i: dict[str, bytes]) -> OpaqueServerSetup:
    return OpaqueServerSetup(i["server_private_key"], i["server_public_key"], i["oprf_seed"])


@pytest.mark.parametrize("vector", _vectors(fake=False), ids=["C.1.1", "C.1.2"])
def test_rfc9807_real_vector_registration_and_login(vector: dict[str, Any]) -> None:
    i, mid, out = _hex(vector["inputs"]), _hex(vector["intermediates"]), _hex(vector["outputs"])
    setup = _setup(i)
    cred_id = i["credential_identifier"]

    reg = OpaqueRegistrationClient(i["password"], ksf=IDENTITY, blind=i["blind_registration"])
    assert reg.request() == out["registration_request"]
    response = registration_response(setup, reg.request(), cred_id)
    assert response == out["registration_response"]
    record, export_key = reg.finalize(response, envelope_nonce=i["envelope_nonce"], **_ids(i))
    assert record.to_bytes() == out["registration_upload"]
    assert record.envelope == mid["envelope"]
    assert export_key == out["export_key"]

    client = OpaqueLoginClient(
        i["password"],
        _session(vector, i),
        ksf=IDENTITY,
        fixture=LoginFixture(i["blind_login"], i["client_nonce"], i["client_keyshare_seed"]),
    )
    assert client.ke1() == out["KE1"]
    server = OpaqueLoginServer(
        setup,
        RegistrationRecord.from_bytes(out["registration_upload"]),
        cred_id,
        _session(vector, i),
        fixture=LoginFixture(
            None, i["server_nonce"], i["server_keyshare_seed"], i["masking_nonce"]
        ),
    )
    ke2 = server.ke2(client.ke1())
    assert ke2 == out["KE2"]
    ke3 = client.finish(ke2)
    assert ke3 == out["KE3"]
    assert client.session_key == server.finish(ke3) == out["session_key"]
    assert client.export_key == out["export_key"]


def test_rfc9807_fake_vector_ke2_for_an_unknown_user() -> None:
    (vector,) = _vectors(fake=True)
    i, out = _hex(vector["inputs"]), _hex(vector["outputs"])
    fake = RegistrationRecord(i["client_public_key"], i["masking_key"], bytes(opaque.ENVELOPE_LEN))
    server = OpaqueLoginServer(
        _setup(i),
        fake,
        i["credential_identifier"],
        _session(vector, i),
        fixture=LoginFixture(
            None, i["server_nonce"], i["server_keyshare_seed"], i["masking_nonce"]
        ),
    )
    assert server.ke2(i["KE1"]) == out["KE2"]


@pytest.fixture(scope="module")
def setup() -> OpaqueServerSetup:
    return OpaqueServerSetup.generate()


def _register(
    setup: OpaqueServerSetup, password: bytes, user: bytes = b"alice"
) -> RegistrationRecord:
    reg = OpaqueRegistrationClient(password, ksf=FAST)
    record, _ = reg.finalize(registration_response(setup, reg.request(), user))
    return record


def _login(
    setup: OpaqueServerSetup,
    record: RegistrationRecord | None,
    password: bytes,
    user: bytes = b"alice",
) -> tuple[OpaqueLoginClient, OpaqueLoginServer, bytes]:
    client = OpaqueLoginClient(password, CTX, ksf=FAST)
    server = OpaqueLoginServer(setup, record, user, CTX)
    return client, server, server.ke2(client.ke1())


def test_right_password_with_argon2id_agrees_on_fresh_keys(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"correct horse")
    keys = set()
    for _ in range(2):
        client, server, ke2 = _login(setup, record, b"correct horse")
        assert server.finish(client.finish(ke2)) == client.session_key
        keys.add(client.session_key)
    assert len(keys) == 2


def test_record_does_not_contain_the_password_and_is_stable_in_storage(
    setup: OpaqueServerSetup,
) -> None:
    record = _register(setup, b"hunter2hunter2")
    assert b"hunter2" not in record.to_bytes()
    assert RegistrationRecord.from_bytes(record.to_bytes()) == record
    assert OpaqueServerSetup.from_bytes(setup.to_bytes()) == setup


def test_wrong_password_fails_at_the_client(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"right")
    client, _, ke2 = _login(setup, record, b"wrong")
    with pytest.raises(PakeAuthenticationFailed) as info:
        client.finish(ke2)
    assert info.value.alert.name == "decrypt_error"
    with pytest.raises(PakeStateError):
        _ = client.session_key


def test_unknown_user_looks_like_a_wrong_password(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"right")
    _, _, real_ke2 = _login(setup, record, b"wrong")
    client, _, fake_ke2 = _login(setup, None, b"wrong", user=b"nobody")
    assert len(fake_ke2) == len(real_ke2) == opaque.KE2_LEN
    with pytest.raises(PakeAuthenticationFailed) as info:
        client.finish(fake_ke2)
    assert str(info.value) == str(_wrong_password_error(setup, record))


def _wrong_password_error(setup: OpaqueServerSetup, record: RegistrationRecord) -> Exception:
    client, _, ke2 = _login(setup, record, b"wrong")
    try:
        client.finish(ke2)
    except PakeAuthenticationFailed as exc:
        return exc
    raise AssertionError("a wrong password logged in")


def test_fake_record_is_stable_per_identity(setup: OpaqueServerSetup) -> None:
    assert opaque.fake_record(setup, b"bob") == opaque.fake_record(setup, b"bob")
    assert opaque.fake_record(setup, b"bob") != opaque.fake_record(setup, b"eve")


def test_unknown_user_never_logs_in_even_with_the_server_side_mac(setup: OpaqueServerSetup) -> None:
    client, server, ke2 = _login(setup, None, b"anything", user=b"nobody")
    with pytest.raises(PakeAuthenticationFailed):
        client.finish(ke2)
    with pytest.raises(PakeAuthenticationFailed):
        server.finish(bytes(opaque.KE3_LEN))


def test_server_refuses_a_forged_ke3(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"pw")
    client, server, ke2 = _login(setup, record, b"pw")
    ke3 = bytearray(client.finish(ke2))
    ke3[-1] ^= 1
    with pytest.raises(PakeAuthenticationFailed):
        server.finish(bytes(ke3))


def test_a_relayed_ke2_from_another_session_fails(setup: OpaqueServerSetup) -> None:
    # A man in the middle replaying the server's answer to another login: the client's nonce
    # and keyshare are in the preamble, so the server MAC does not verify.
    record = _register(setup, b"pw")
    _, _, other_ke2 = _login(setup, record, b"pw")
    client, _, _ = _login(setup, record, b"pw")
    with pytest.raises(PakeAuthenticationFailed):
        client.finish(other_ke2)


def test_different_context_fails(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"pw")
    client = OpaqueLoginClient(b"pw", OpaqueSession(b"A"), ksf=FAST)
    server = OpaqueLoginServer(setup, record, b"alice", OpaqueSession(b"B"))
    with pytest.raises(PakeAuthenticationFailed):
        client.finish(server.ke2(client.ke1()))


@pytest.mark.parametrize("length", [0, opaque.KE1_LEN - 1, opaque.KE1_LEN + 1])
def test_ke1_of_the_wrong_length_is_a_decode_error(setup: OpaqueServerSetup, length: int) -> None:
    server = OpaqueLoginServer(setup, None, b"alice", CTX)
    with pytest.raises(MalformedPakeMessage) as info:
        server.ke2(bytes(length))
    assert info.value.alert.name == "decode_error"


def test_ke1_with_an_invalid_element_is_illegal_parameter(setup: OpaqueServerSetup) -> None:
    client = OpaqueLoginClient(b"pw", CTX, ksf=FAST)
    ke1 = client.ke1()
    for bad in (bytes(32), b"\xff" * 32):  # the identity, a non-canonical encoding
        for pos in (0, opaque.NOE + opaque.NN):  # blinded element, client keyshare
            server = OpaqueLoginServer(setup, None, b"alice", CTX)
            with pytest.raises(PakeInvalidElement) as info:
                server.ke2(ke1[:pos] + bad + ke1[pos + 32 :])
            assert info.value.alert.name == "illegal_parameter"


def test_truncated_or_corrupt_ke2_is_refused_cleanly(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"pw")
    client, _, ke2 = _login(setup, record, b"pw")
    with pytest.raises(MalformedPakeMessage):
        client.finish(ke2[:-1])
    client, _, ke2 = _login(setup, record, b"pw")
    with pytest.raises(PakeInvalidElement):
        client.finish(bytes(32) + ke2[32:])


def test_flipped_masked_response_fails_authentication(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"pw")
    client, _, ke2 = _login(setup, record, b"pw")
    pos = opaque.NOE + opaque.NN  # first byte of the masked server public key
    with pytest.raises(PakeAuthenticationFailed):
        client.finish(ke2[:pos] + bytes([ke2[pos] ^ 1]) + ke2[pos + 1 :])


def test_registration_messages_are_checked(setup: OpaqueServerSetup) -> None:
    with pytest.raises(MalformedPakeMessage):
        registration_response(setup, b"\x01" * 31, b"alice")
    with pytest.raises(PakeInvalidElement):
        registration_response(setup, bytes(32), b"alice")
    reg = OpaqueRegistrationClient(b"pw", ksf=FAST)
    with pytest.raises(MalformedPakeMessage):
        reg.finalize(b"\x00" * 10)
    with pytest.raises(MalformedPakeMessage):
        RegistrationRecord.from_bytes(b"\x00" * 10)


def test_state_machines_refuse_calls_out_of_order(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"pw")
    client, server, ke2 = _login(setup, record, b"pw")
    with pytest.raises(PakeStateError):
        server.ke2(client.ke1())
    ke3 = client.finish(ke2)
    with pytest.raises(PakeStateError):
        client.finish(ke2)
    server.finish(ke3)
    with pytest.raises(PakeStateError):
        server.finish(ke3)
    fresh = OpaqueLoginServer(setup, record, b"alice", CTX)
    with pytest.raises(PakeStateError):
        fresh.finish(ke3)


def test_secrets_never_appear_in_repr(setup: OpaqueServerSetup) -> None:
    record = _register(setup, b"pw")
    client, server, _ = _login(setup, record, b"pw")
    texts = [repr(x) for x in (setup, record, client, server)]
    for secret in (setup.server_private_key, setup.oprf_seed, record.masking_key):
        assert not any(secret.hex() in t or repr(secret) in t for t in texts)
