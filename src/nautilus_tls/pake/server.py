"""The server side of both PAKEs over a record store: registration and the start of a login.

:func:`register` runs both halves of a registration in one process (the CLI's ``pake
register``, an admin tool): the password is used and forgotten, only the record is stored.
For OPAQUE that means this process briefly sees the password, which the protocol's remote
registration avoids; an application that registers users over the network drives
:class:`~nautilus_tls.pake.opaque.OpaqueRegistrationClient` on the client and
:func:`~nautilus_tls.pake.opaque.registration_response` here instead, then :meth:`PakeStore.put`.

:class:`PakeServer` starts logins: it applies the failed-login limit first, looks the user up,
and for an unknown user builds the fake record (OPAQUE RFC 9807 §6.3.2.2; SPAKE2+ the keyed
record of :func:`~nautilus_tls.pake.spake2plus.fake_record`, with the same name-derived salt
and the default KSF), so both cases run the same code and send the same message shapes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from nautilus_tls.pake import opaque, spake2plus
from nautilus_tls.pake.errors import PakeStateError
from nautilus_tls.pake.ksf import Ksf
from nautilus_tls.pake.opaque import OpaqueLoginServer, OpaqueServerSetup, OpaqueSession
from nautilus_tls.pake.ratelimit import FailedLoginLimiter
from nautilus_tls.pake.spake2plus import Spake2PlusRecord, Spake2PlusSession, Spake2PlusVerifier
from nautilus_tls.pake.store import Method, PakeStore, StoredRecord, check_user

__all__ = [
    "PakeServer",
    "Spake2PlusLogin",
    "opaque_setup",
    "register",
    "spake2plus_identities",
    "spake2plus_salt",
]

SALT_LEN = 16
_OPAQUE_SETUP = "opaque-setup-ristretto255"
_FAKE_KEY = "spake2plus-fake-record-key"


def spake2plus_identities(user: str) -> tuple[bytes, bytes]:
    """(idProver, idVerifier) for SPAKE2+: the user name, and no verifier name (RFC 9383
    allows empty identities; the TLS binding already ties the exchange to the handshake)."""
    return user.encode(), b""


def spake2plus_salt(user: str) -> bytes:
    """The SPAKE2+ KSF salt of ``user``: derived from the name, not random.

    In TLS the client sends shareP in its first flight, before the server could tell it a
    random salt (RFC 9383 leaves the PBKDF's salt to the application; Matter, for one, spends
    an extra exchange on it). A per-user salt still stops one precomputed dictionary from
    serving every user; it does not stop one per user name across deployments, which the
    memory-hard KSF makes expensive. Unknown users get the same formula, so the salt does not
    tell them apart.
    """
    return hashlib.sha256(b"nautilus-tls SPAKE2+ salt v1\x00" + user.encode()).digest()[:SALT_LEN]


def opaque_setup(store: PakeStore) -> OpaqueServerSetup:
    """The store's OPAQUE server key pair and OPRF seed (made on first use)."""
    raw = store.server_secret(_OPAQUE_SETUP, lambda: OpaqueServerSetup.generate().to_bytes())
    return OpaqueServerSetup.from_bytes(raw)


def register(
    store: PakeStore, user: str, password: bytes, *, method: Method, ksf: Ksf | None = None
) -> None:
    """Register (or re-register) ``user`` for ``method``; only the record is stored."""
    check_user(user)
    if not password:
        raise PakeStateError("an empty password cannot be registered")
    ksf = ksf or Ksf()
    if method == "opaque":
        setup = opaque_setup(store)
        client = opaque.OpaqueRegistrationClient(password, ksf=ksf)
        response = opaque.registration_response(setup, client.request(), user.encode())
        record, _export_key = client.finalize(response)
        store.put(StoredRecord(user, "opaque", record.to_bytes(), ksf))
    else:
        salt = spake2plus_salt(user)
        id_p, id_v = spake2plus_identities(user)
        secrets_ = spake2plus.derive_secrets(password, id_p, id_v, salt=salt, ksf=ksf)
        store.put(StoredRecord(user, "spake2plus", secrets_.record().to_bytes(), ksf, salt))


@dataclass(frozen=True, slots=True)
class Spake2PlusLogin:
    """A started SPAKE2+ login: the verifier, and what the client needs to derive w0/w1."""

    verifier: Spake2PlusVerifier
    salt: bytes = field(repr=False)
    ksf: Ksf


class PakeServer:
    """Starts logins against ``store``, behind the failed-login ``limiter``."""

    def __init__(
        self,
        store: PakeStore,
        *,
        limiter: FailedLoginLimiter | None = None,
        default_ksf: Ksf | None = None,
    ) -> None:
        self.store = store
        self.limiter = limiter if limiter is not None else FailedLoginLimiter(store)
        # The KSF announced for unknown SPAKE2+ users: register everyone with it, or the
        # parameters would tell real users from fake ones.
        self.default_ksf = default_ksf or Ksf()

    def __repr__(self) -> str:
        return f"PakeServer({self.store!r})"

    def opaque_login(self, user: str, session: OpaqueSession) -> OpaqueLoginServer:
        self.limiter.check(user)
        stored = self.store.get(user, "opaque")
        record = opaque.RegistrationRecord.from_bytes(stored.record) if stored else None
        return OpaqueLoginServer(opaque_setup(self.store), record, user.encode(), session)

    def spake2plus_login(self, user: str, session: Spake2PlusSession) -> Spake2PlusLogin:
        self.limiter.check(user)
        stored = self.store.get(user, "spake2plus")
        if stored is not None:
            record, salt, ksf = Spake2PlusRecord.from_bytes(stored.record), stored.salt, stored.ksf
        else:
            key = self.store.server_secret(_FAKE_KEY, lambda: os.urandom(32))
            record = spake2plus.fake_record(key, user.encode())
            salt = spake2plus_salt(user)
            ksf = self.default_ksf
        return Spake2PlusLogin(Spake2PlusVerifier(record, session), salt, ksf)

    def started(self, user: str) -> None:
        """A login whose result comes later: counted as failed until ``finished(ok=True)``."""
        self.limiter.attempted(user)

    def finished(self, user: str, *, ok: bool) -> None:
        """Report the outcome of a login (counts failures, clears them on success)."""
        if ok:
            self.limiter.succeeded(user)
        else:
            self.limiter.failed(user)
