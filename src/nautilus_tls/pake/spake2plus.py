"""SPAKE2+ (RFC 9383), ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256.

An augmented PAKE: the prover (client) knows the password, the verifier (server) stores only
the registration record ``(w0, L = w1*P)``, from which the password cannot be recovered
without an offline dictionary search over the key stretching function. The three messages
(RFC 9383 §3.3-§3.4)::

    prover                                   verifier
    shareP = x*P + w0*M          ------>
                                 <------     shareV = y*P + w0*N, confirmV
    confirmP                     ------>

Both sides derive ``K_shared``; each confirmation MAC proves the peer derived the same
``K_main``. The state machines below check the order of calls, every received element
(on the curve, not the identity) and compare MACs with :func:`hmac.compare_digest`; a wrong
password or unknown user is one :class:`PakeAuthenticationFailed` at the MAC check, after the
same computation as a right one.

Point arithmetic is OpenSSL libcrypto's, constant-time in the scalar
(:mod:`nautilus_tls.pake._p256`); hashing, HKDF and HMAC are hashlib/hmac and pyca/cryptography.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nautilus_tls.pake._p256 import ORDER, POINT_LEN, SCALAR_LEN, P256Point
from nautilus_tls.pake.errors import (
    MalformedPakeMessage,
    PakeAuthenticationFailed,
    PakeInvalidElement,
    PakeStateError,
)
from nautilus_tls.pake.ksf import Ksf

__all__ = [
    "CONFIRM_LEN",
    "SHARED_KEY_LEN",
    "Spake2PlusProver",
    "Spake2PlusRecord",
    "Spake2PlusSecrets",
    "Spake2PlusSession",
    "Spake2PlusVerifier",
    "derive_secrets",
    "fake_record",
]

# RFC 9383 §4: the P-256 constants M and N (compressed SEC1, from the seeds of Appendix B).
_M = P256Point.decode_any(
    bytes.fromhex("02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f")
)
_N = P256Point.decode_any(
    bytes.fromhex("03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49")
)
_P = P256Point.generator()

SHARED_KEY_LEN = 32  # Nh of SHA-256
CONFIRM_LEN = 32  # HMAC-SHA256
# RFC 9383 §3.2: w0s and w1s are ceil(log2(p)/8) + k/8 bytes with k >= 64, so that reducing
# them modulo p is close to uniform.
_WS_LEN = SCALAR_LEN + 8


def _lp(data: bytes) -> bytes:
    """RFC 9383 §3.3: each TT entry is prefixed by its length, 8 bytes little-endian."""
    return len(data).to_bytes(8, "little") + data


def _scalar_bytes(value: int) -> bytes:
    return value.to_bytes(SCALAR_LEN, "big")


@dataclass(frozen=True, slots=True)
class Spake2PlusSecrets:
    """The prover's (w0, w1); never printed."""

    w0: int = field(repr=False)
    w1: int = field(repr=False)

    def record(self) -> Spake2PlusRecord:
        """The verifier's registration record (w0, L = w1*P): what the server stores."""
        return Spake2PlusRecord(_scalar_bytes(self.w0), _P.mul(self.w1).encode())


@dataclass(frozen=True, slots=True)
class Spake2PlusRecord:
    """The verifier's registration record: w0 (32 bytes) and L (uncompressed point)."""

    w0: bytes = field(repr=False)
    L: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.w0) != SCALAR_LEN or len(self.L) != POINT_LEN:
            raise MalformedPakeMessage("a SPAKE2+ record is a 32-byte w0 and a 65-byte L")
        P256Point.decode(self.L)  # refuses a corrupt record early, not in the middle of a login

    def to_bytes(self) -> bytes:
        return self.w0 + self.L

    @classmethod
    def from_bytes(cls, data: bytes) -> Spake2PlusRecord:
        if len(data) != SCALAR_LEN + POINT_LEN:
            raise MalformedPakeMessage("a SPAKE2+ record is 97 bytes")
        return cls(data[:SCALAR_LEN], data[SCALAR_LEN:])


def derive_secrets(
    password: bytes, id_prover: bytes, id_verifier: bytes, *, salt: bytes, ksf: Ksf
) -> Spake2PlusSecrets:
    """RFC 9383 §3.2: w0s || w1s = PBKDF(len(pw)||pw||len(idP)||idP||len(idV)||idV)."""
    material = _lp(password) + _lp(id_prover) + _lp(id_verifier)
    if ksf.method == "identity":
        raise PakeStateError("SPAKE2+ needs a stretching function that outputs 80 bytes")
    ws = ksf.stretch(material, salt, 2 * _WS_LEN)
    w0 = int.from_bytes(ws[:_WS_LEN], "big") % ORDER
    w1 = int.from_bytes(ws[_WS_LEN:], "big") % ORDER
    return Spake2PlusSecrets(w0, w1)


def _random_scalar() -> int:
    return secrets.randbelow(ORDER - 1) + 1


@dataclass(frozen=True, slots=True)
class Spake2PlusSession:
    """What both sides must agree on besides the password (RFC 9383 §3.3): the protocol
    context (for TLS, a label binding the exchange to this handshake) and both identities."""

    context: bytes
    id_prover: bytes = b""
    id_verifier: bytes = b""


@dataclass(frozen=True, slots=True)
class _Keys:
    confirm_p: bytes = field(repr=False)
    confirm_v: bytes = field(repr=False)
    shared: bytes = field(repr=False)


def _key_schedule(
    session: Spake2PlusSession,
    share_p: bytes,
    share_v: bytes,
    z: P256Point,
    v: P256Point,
    w0: int,
) -> _Keys:
    """RFC 9383 §3.4: TT, K_main, the confirmation keys and K_shared."""
    tt = b"".join(
        _lp(part)
        for part in (
            session.context,
            session.id_prover,
            session.id_verifier,
            _M.encode(),
            _N.encode(),
            share_p,
            share_v,
            z.encode(),
            v.encode(),
            _scalar_bytes(w0),
        )
    )
    k_main = hashlib.sha256(tt).digest()
    confirm = HKDF(hashes.SHA256(), 2 * CONFIRM_LEN, None, b"ConfirmationKeys").derive(k_main)
    shared = HKDF(hashes.SHA256(), SHARED_KEY_LEN, None, b"SharedKey").derive(k_main)
    k_confirm_p, k_confirm_v = confirm[:CONFIRM_LEN], confirm[CONFIRM_LEN:]
    return _Keys(
        confirm_p=hmac.digest(k_confirm_p, share_v, "sha256"),
        confirm_v=hmac.digest(k_confirm_v, share_p, "sha256"),
        shared=shared,
    )


def _check_confirm(received: bytes, expected: bytes) -> None:
    if len(received) != CONFIRM_LEN:
        raise MalformedPakeMessage("a SPAKE2+ confirmation MAC is 32 bytes")
    if not hmac.compare_digest(received, expected):
        raise PakeAuthenticationFailed("SPAKE2+ key confirmation failed")


class Spake2PlusProver:
    """The client side: ``share()``, then ``finish(shareV, confirmV)`` -> confirmP."""

    def __init__(
        self,
        secrets_: Spake2PlusSecrets,
        session: Spake2PlusSession,
        *,
        x: int | None = None,  # fixed only by the test vectors
    ) -> None:
        self._secrets = secrets_
        self._session = session
        self._x = _random_scalar() if x is None else x
        self._share_p: bytes | None = None
        self._shared: bytes | None = None

    def __repr__(self) -> str:
        return "Spake2PlusProver(<secret>)"

    def share(self) -> bytes:
        if self._share_p is not None:
            raise PakeStateError("SPAKE2+ prover: share() called twice")
        self._share_p = (_P.mul(self._x) + _M.mul(self._secrets.w0)).encode()
        return self._share_p

    def finish(self, share_v: bytes, confirm_v: bytes) -> bytes:
        """Check the verifier's reply; returns confirmP. Raises PakeAuthenticationFailed."""
        if self._share_p is None or self._shared is not None:
            raise PakeStateError("SPAKE2+ prover: finish() before share() or twice")
        y_point = P256Point.decode(share_v)
        w0 = self._secrets.w0
        base = y_point - _N.mul(w0)
        # h = 1 on P-256. Y = w0*N makes both identities: only a peer that knows w0 can send it.
        z, v = base.mul(self._x), base.mul(self._secrets.w1)
        if z.is_identity() or v.is_identity():
            raise PakeInvalidElement("SPAKE2+ share gives the identity")
        keys = _key_schedule(self._session, self._share_p, share_v, z, v, w0)
        _check_confirm(confirm_v, keys.confirm_v)
        self._shared = keys.shared
        return keys.confirm_p

    @property
    def shared_key(self) -> bytes:
        if self._shared is None:
            raise PakeStateError("SPAKE2+ prover: no shared key before a successful finish()")
        return self._shared


class Spake2PlusVerifier:
    """The server side: ``respond(shareP)`` -> (shareV, confirmV), then ``finish(confirmP)``."""

    def __init__(
        self,
        record: Spake2PlusRecord,
        session: Spake2PlusSession,
        *,
        y: int | None = None,  # fixed only by the test vectors
    ) -> None:
        self._w0 = int.from_bytes(record.w0, "big") % ORDER
        self._l = P256Point.decode(record.L)
        self._session = session
        self._y = _random_scalar() if y is None else y
        self._keys: _Keys | None = None
        self._done = False

    def __repr__(self) -> str:
        return "Spake2PlusVerifier(<secret>)"

    def respond(self, share_p: bytes) -> tuple[bytes, bytes]:
        if self._keys is not None:
            raise PakeStateError("SPAKE2+ verifier: respond() called twice")
        x_point = P256Point.decode(share_p)
        share_v = (_P.mul(self._y) + _N.mul(self._w0)).encode()
        z = (x_point - _M.mul(self._w0)).mul(self._y)
        v = self._l.mul(self._y)
        if z.is_identity():
            raise PakeInvalidElement("SPAKE2+ share gives the identity")
        self._keys = _key_schedule(self._session, share_p, share_v, z, v, self._w0)
        return share_v, self._keys.confirm_v

    def shared_key_unconfirmed(self) -> bytes:
        """K_shared before confirmP, for a carrier whose own check replaces confirmP.

        TLS (:mod:`nautilus_tls.pake.tls`) mixes it into the handshake secret, so the client's
        Finished proves it holds K_shared, as confirmP would (draft-ietf-tls-pake).
        """
        if self._keys is None:
            raise PakeStateError("SPAKE2+ verifier: no shared key before respond()")
        return self._keys.shared

    def finish(self, confirm_p: bytes) -> bytes:
        """Check confirmP; returns K_shared. Raises PakeAuthenticationFailed."""
        if self._keys is None or self._done:
            raise PakeStateError("SPAKE2+ verifier: finish() before respond() or twice")
        self._done = True
        _check_confirm(confirm_p, self._keys.confirm_p)
        return self._keys.shared


def fake_record(key: bytes, identity: bytes) -> Spake2PlusRecord:
    """A record for an identity that has none, stable per identity (no user enumeration).

    Derived from a server secret ``key`` so that asking twice for the same unknown user gets
    the same record (a random one each time would tell the users apart), while nobody without
    ``key`` can tell it from a real record. The login then fails at confirmV, like a wrong
    password.
    """
    okm = HKDF(hashes.SHA256(), 2 * _WS_LEN, None, b"nautilus spake2+ fake record").derive(
        hmac.digest(key, identity, "sha256")
    )
    w0 = int.from_bytes(okm[:_WS_LEN], "big") % ORDER
    w1 = int.from_bytes(okm[_WS_LEN:], "big") % ORDER
    return Spake2PlusSecrets(w0, w1).record()
