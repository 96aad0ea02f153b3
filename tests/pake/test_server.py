"""Registration and login through a record store, for both methods: the password is never
stored, right passwords log in, wrong ones and unknown users fail the same way, and failures
hit the rate limit."""

from __future__ import annotations

import pytest
from pake.helpers import KSF, PASSWORD

from nautilus_tls.pake import spake2plus
from nautilus_tls.pake.errors import PakeAuthenticationFailed, PakeRateLimited, PakeStateError
from nautilus_tls.pake.opaque import OpaqueLoginClient, OpaqueSession
from nautilus_tls.pake.ratelimit import FailedLoginLimiter
from nautilus_tls.pake.server import (
    PakeServer,
    opaque_setup,
    register,
    spake2plus_identities,
    spake2plus_salt,
)
from nautilus_tls.pake.spake2plus import Spake2PlusProver, Spake2PlusSession
from nautilus_tls.pake.store import Method, PakeStore


def _opaque_login(server: PakeServer, user: str, password: bytes) -> bytes:
    session = OpaqueSession(b"test")
    login = server.opaque_login(user, session)
    client = OpaqueLoginClient(password, session, ksf=KSF)
    ke2 = login.ke2(client.ke1())
    try:
        ke3 = client.finish(ke2)
    except PakeAuthenticationFailed:
        server.finished(user, ok=False)
        raise
    key = login.finish(ke3)
    server.finished(user, ok=True)
    assert key == client.session_key
    return key


def _spake_login(server: PakeServer, user: str, password: bytes) -> bytes:
    session = Spake2PlusSession(b"test", *spake2plus_identities(user))
    login = server.spake2plus_login(user, session)
    id_p, id_v = spake2plus_identities(user)
    secrets_ = spake2plus.derive_secrets(password, id_p, id_v, salt=login.salt, ksf=login.ksf)
    prover = Spake2PlusProver(secrets_, session)
    share_v, confirm_v = login.verifier.respond(prover.share())
    try:
        confirm_p = prover.finish(share_v, confirm_v)
    except PakeAuthenticationFailed:
        server.finished(user, ok=False)
        raise
    key = login.verifier.finish(confirm_p)
    server.finished(user, ok=True)
    return key


LOGINS = {"opaque": _opaque_login, "spake2plus": _spake_login}


def _server_with_alice(store: PakeStore, method: Method, **options: object) -> PakeServer:
    register(store, "alice", PASSWORD, method=method, ksf=KSF)
    return PakeServer(store, default_ksf=KSF, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["opaque", "spake2plus"])
def test_registered_user_logs_in_and_the_password_is_not_stored(
    store: PakeStore, method: Method
) -> None:
    register(store, "alice", PASSWORD, method=method, ksf=KSF)
    stored = store.get("alice", method)
    assert stored is not None and PASSWORD not in stored.record and b"horse" not in stored.salt
    server = PakeServer(store, default_ksf=KSF)
    assert len(LOGINS[method](server, "alice", PASSWORD)) in (32, 64)


@pytest.mark.parametrize("method", ["opaque", "spake2plus"])
def test_wrong_password_and_unknown_user_fail_identically(
    sqlite_store: PakeStore, method: Method
) -> None:
    server = _server_with_alice(sqlite_store, method)
    errors = []
    for user, password in (("alice", b"wrong"), ("nobody", PASSWORD)):
        with pytest.raises(PakeAuthenticationFailed) as info:
            LOGINS[method](server, user, password)
        errors.append((type(info.value), str(info.value), info.value.alert))
    assert errors[0] == errors[1]


def test_spake2plus_salt_is_per_user_and_the_same_for_unknown_users(
    sqlite_store: PakeStore,
) -> None:
    server = _server_with_alice(sqlite_store, "spake2plus")
    s = Spake2PlusSession(b"t")
    known, ghost = server.spake2plus_login("alice", s), server.spake2plus_login("ghost", s)
    assert known.salt == spake2plus_salt("alice") and ghost.salt == spake2plus_salt("ghost")
    assert len(ghost.salt) == 16 and ghost.salt != known.salt
    assert ghost.ksf == known.ksf == KSF


@pytest.mark.parametrize("method", ["opaque", "spake2plus"])
def test_failed_logins_hit_the_rate_limit_before_any_pake_work(
    sqlite_store: PakeStore, method: Method
) -> None:
    limiter = FailedLoginLimiter(sqlite_store, max_failures=2)
    server = _server_with_alice(sqlite_store, method, limiter=limiter)
    for _ in range(2):
        with pytest.raises(PakeAuthenticationFailed):
            LOGINS[method](server, "alice", b"guess")
    with pytest.raises(PakeRateLimited):
        LOGINS[method](server, "alice", PASSWORD)  # even the right password is refused now


def test_opaque_setup_is_shared_by_the_store(store: PakeStore) -> None:
    assert opaque_setup(store) == opaque_setup(store)


def test_re_registration_replaces_the_old_password(sqlite_store: PakeStore) -> None:
    register(sqlite_store, "alice", b"old password", method="opaque", ksf=KSF)
    register(sqlite_store, "alice", b"new password", method="opaque", ksf=KSF)
    server = PakeServer(sqlite_store, default_ksf=KSF)
    _opaque_login(server, "alice", b"new password")
    with pytest.raises(PakeAuthenticationFailed):
        _opaque_login(server, "alice", b"old password")


def test_empty_password_is_refused(sqlite_store: PakeStore) -> None:
    with pytest.raises(PakeStateError):
        register(sqlite_store, "alice", b"", method="spake2plus", ksf=KSF)


@pytest.mark.parametrize("method", ["opaque", "spake2plus"])
def test_server_time_for_unknown_and_known_users_is_alike(
    sqlite_store: PakeStore, method: Method
) -> None:
    # The server's part of a login (lookup, fake record, first reply) for a known and an
    # unknown user; medians of interleaved runs, with a bound loose enough for a shared CI
    # machine but far below what a skipped computation (e.g. no OPRF/DH for the fake) gives.
    import statistics
    import time

    server = _server_with_alice(sqlite_store, method)
    first = OpaqueLoginClient(PASSWORD, OpaqueSession(b"t"), ksf=KSF).ke1()
    share = Spake2PlusProver(
        spake2plus.derive_secrets(PASSWORD, b"x", b"", salt=b"s", ksf=KSF), Spake2PlusSession(b"t")
    ).share()

    def serve(user: str) -> float:
        start = time.perf_counter()
        if method == "opaque":
            server.opaque_login(user, OpaqueSession(b"t")).ke2(first)
        else:
            server.spake2plus_login(user, Spake2PlusSession(b"t")).verifier.respond(share)
        return time.perf_counter() - start

    known, unknown = [], []
    for _ in range(25):
        known.append(serve("alice"))
        unknown.append(serve("nobody"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, ratio
