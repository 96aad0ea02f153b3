"""OPAQUE and SPAKE2+ inside the TLS 1.3 handshake, as extension plug-ins (docs/pake.md).

The ``pake`` extension (private-use code point :data:`PAKE_EXTENSION`) carries, in the
ClientHello, the user name and one share per offered method (draft-ietf-tls-pake's
PAKEClientHello), and in the ServerHello the server's answer to one of them (PAKEServerHello):

* SPAKE2+: shareP -> shareV || confirmV;
* OPAQUE-3DH: KE1 -> KE2.

The client checks the server's proof (confirmV, or KE2's envelope and server MAC) when the
ServerHello arrives, before any handshake key exists: a wrong password, an unknown user or a
server without the record fails there with decrypt_error. The PAKE key (SPAKE2+ K_shared,
OPAQUE session_key) is then appended to the key exchange's shared secret in the
handshake-secret extract (the handshake asks the plug-ins' results for it through
``handshake_secret_input``), and the client's Finished, keyed from that secret, is its proof
(SPAKE2+'s confirmP and OPAQUE's KE3 are not sent).

:class:`PakeClientHook` holds one login's state: make one per connection
(``ClientConnection(..., extension_hooks=[PakeClientHook(...)])``). :class:`PakeServerHook` is
shared (``ServerConfig(extension_hooks=...)``); each handshake's state lives in the object its
``receive`` returns. The server counts every login as a failure when it starts and clears the
count when the client's Finished verifies (``handshake_confirmed``), so an abandoned or failed
login counts and the rate limit applies before any PAKE work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nautilus_tls.errors import (
    AlertDescription,
    ConfigError,
    DecodeError,
    PeerIncompatible,
    PeerMisbehaved,
)
from nautilus_tls.pake import spake2plus
from nautilus_tls.pake.errors import PakeStateError
from nautilus_tls.pake.ksf import Ksf
from nautilus_tls.pake.opaque import OpaqueLoginClient, OpaqueSession
from nautilus_tls.pake.server import PakeServer, spake2plus_identities, spake2plus_salt
from nautilus_tls.pake.spake2plus import Spake2PlusProver, Spake2PlusSession
from nautilus_tls.pake.store import Method, check_user
from nautilus_tls.proofs import PeerVerified, peer_verified_by_key_exchange
from nautilus_tls.wire.buffer import Reader, Writer
from nautilus_tls.wire.enums import HandshakeType

__all__ = [
    "NAMED_PAKES",
    "OPAQUE_3DH_RISTRETTO255",
    "OPAQUE_CONTEXT",
    "PAKE_EXTENSION",
    "SPAKE2PLUS_CONTEXT",
    "SPAKE2PLUS_P256",
    "PakeClient",
    "PakeClientHook",
    "PakeOutcome",
    "PakeServerHook",
    "decode_client_hello",
    "decode_server_hello",
    "encode_client_hello",
    "encode_server_hello",
]

PAKE_EXTENSION = 0xFFA0  # ExtensionType, private use until draft-ietf-tls-pake has one
SPAKE2PLUS_P256 = 0xFE01  # NamedPAKE, private use
OPAQUE_3DH_RISTRETTO255 = 0xFE02  # NamedPAKE, private use
NAMED_PAKES: dict[Method, int] = {"spake2plus": SPAKE2PLUS_P256, "opaque": OPAQUE_3DH_RISTRETTO255}
_METHOD_OF = {code: method for method, code in NAMED_PAKES.items()}
_MESSAGES = frozenset({HandshakeType.client_hello, HandshakeType.server_hello})
# The protocol context both PAKEs put in their transcripts: binds them to this use.
OPAQUE_CONTEXT = b"nautilus-tls OPAQUE-3DH v1"
SPAKE2PLUS_CONTEXT = b"nautilus-tls SPAKE2+ v1"
_SPAKE_SERVER_LEN = 65 + spake2plus.CONFIRM_LEN


# -- wire format -------------------------------------------------------------------------


def encode_client_hello(user: str, shares: list[tuple[int, bytes]]) -> bytes:
    """PAKEClientHello: client_identity<1..255>, server_identity<0..255> (empty), shares."""
    w = Writer()
    w.vector(1, user.encode())
    w.vector(1, b"")
    with w.prefixed(2):
        for named, message in shares:
            w.uint16(named)
            w.vector(2, message)
    return w.getvalue()


def decode_client_hello(data: bytes) -> tuple[str, dict[int, bytes]]:
    """(user, {named_pake: pake_message}); decode_error / illegal_parameter on bad input."""
    r = Reader(data)
    raw_user = r.vector(1, min_len=1)
    r.vector(1)  # server_identity: not an input here (docs/pake.md)
    block = r.sub(2, min_len=4)
    r.expect_end("pake")
    shares: dict[int, bytes] = {}
    while not block.at_end():
        named = block.uint16()
        message = block.vector(2, min_len=1)
        if named in shares:
            raise PeerMisbehaved(f"pake: two shares for NamedPAKE 0x{named:04x}")
        if len(shares) == len(NAMED_PAKES) + 8:
            raise DecodeError("pake: too many client shares")
        shares[named] = message
    try:
        user = raw_user.decode("utf-8")
        check_user(user)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PeerMisbehaved("pake: the client identity is not a valid user name") from exc
    return user, shares


def encode_server_hello(named: int, message: bytes) -> bytes:
    """PAKEServerHello: the NamedPAKE the server chose and its message for it."""
    w = Writer()
    w.uint16(named)
    w.vector(2, message)
    return w.getvalue()


def decode_server_hello(data: bytes) -> tuple[int, bytes]:
    """(named_pake, pake_message); decode_error on bad input."""
    r = Reader(data)
    named = r.uint16()
    message = r.vector(2, min_len=1)
    r.expect_end("pake")
    return named, message


# -- results -----------------------------------------------------------------------------


@dataclass(slots=True)
class PakeOutcome:
    """What the ``pake`` plug-in leaves in ``peer_extensions``: who logged in, and how.

    ``key`` goes into the handshake secret; ``confirmed`` is set once the handshake proved
    the peer derived it too (on the server, the client's Finished).
    """

    method: Method
    user: str
    key: bytes = field(repr=False)
    server: PakeServer | None = field(default=None, repr=False)
    confirmed: bool = False
    # On the client, once the server's PAKE proof verified: what lets the server leave its
    # Certificate out (ServerVerification in wire/extension_hook.py).
    proof: PeerVerified | None = field(default=None, repr=False)

    @property
    def pake_method(self) -> Method:
        """What :attr:`SessionInfo.auth <nautilus_tls.session_info.SessionInfo.auth>` reports."""
        return self.method

    def handshake_secret_input(self) -> bytes:
        return self.key

    def handshake_confirmed(self) -> None:
        self.confirmed = True
        if self.server is not None:
            self.server.finished(self.user, ok=True)

    def server_verified(self) -> PeerVerified | None:
        return self.proof


# -- client ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PakeClient:
    """A password login, as configuration: ``ClientConfig(pake=PakeClient("alice", pw))``.

    Every connection made with the config logs in as ``user`` with ``method`` ("opaque" or
    "spake2plus"); each gets its own :class:`PakeClientHook` (:meth:`login_hook`), so one
    config serves many connections. ``ksf``: the key stretching the user registered with
    (default Argon2id, "interactive"). ``require_certificate``: refuse a server that presents
    no certificate even when the login verified it. The password is never in repr.
    """

    user: str
    password: bytes = field(repr=False)
    method: Method = "opaque"
    ksf: Ksf | None = None
    # True: the server must also present a certificate, verified as configured (PAKE plus
    # certificate); False: a server the login verified may send none (PAKE alone).
    require_certificate: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.password, str):
            object.__setattr__(self, "password", self.password.encode("utf-8"))
        if not isinstance(self.password, bytes) or not self.password:
            raise ConfigError("PakeClient: the password must be non-empty bytes or str")
        if self.method not in NAMED_PAKES:
            raise ConfigError(f"PakeClient: method must be one of {', '.join(NAMED_PAKES)}")
        if not isinstance(self.user, str):
            raise ConfigError("PakeClient: the user name must be a str")
        check_user(self.user)

    def login_hook(self) -> PakeClientHook:
        """A fresh plug-in for one connection's login."""
        return PakeClientHook(self.user, self.password, method=self.method, ksf=self.ksf)


class PakeClientHook:
    """The client's ``pake`` plug-in: one login (make one per connection)."""

    messages = _MESSAGES

    def __init__(
        self, user: str, password: bytes, *, method: Method = "opaque", ksf: Ksf | None = None
    ) -> None:
        check_user(user)
        if method not in NAMED_PAKES:
            raise PakeStateError(f"unknown PAKE method {method!r}")
        self.user, self.method = user, method
        self._password = password
        self._ksf = ksf or Ksf()
        self._opaque: OpaqueLoginClient | None = None
        self._spake: Spake2PlusProver | None = None
        self._offer: bytes | None = None
        self.outcome: PakeOutcome | None = None  # set once the server's proof verified

    def __repr__(self) -> str:
        return f"PakeClientHook(user={self.user!r}, method={self.method!r})"

    @property
    def ext_type(self) -> int:
        return PAKE_EXTENSION

    def offer(self, message: int, peer: object | None) -> bytes | None:
        if message != HandshakeType.client_hello:
            return None
        if self._offer is None:  # a second ClientHello (after HelloRetryRequest) repeats it
            if self.method == "opaque":
                self._opaque = OpaqueLoginClient(
                    self._password, OpaqueSession(OPAQUE_CONTEXT), ksf=self._ksf
                )
                share = self._opaque.ke1()
            else:
                id_p, id_v = spake2plus_identities(self.user)
                secrets_ = spake2plus.derive_secrets(
                    self._password, id_p, id_v, salt=spake2plus_salt(self.user), ksf=self._ksf
                )
                self._spake = Spake2PlusProver(
                    secrets_, Spake2PlusSession(SPAKE2PLUS_CONTEXT, id_p, id_v)
                )
                share = self._spake.share()
            self._offer = encode_client_hello(self.user, [(NAMED_PAKES[self.method], share)])
        return self._offer

    def receive(self, message: int, data: bytes | None) -> object:
        if data is None:
            # We asked for a password login; a server that ignores it is not one we can use.
            raise PeerIncompatible(
                "the server did not accept the PAKE login", alert=AlertDescription.missing_extension
            )
        named, server_message = decode_server_hello(data)
        if named != NAMED_PAKES[self.method]:
            raise PeerMisbehaved(f"pake: the server answered NamedPAKE 0x{named:04x}")
        if self._opaque is not None:
            self._opaque.finish(server_message)  # KE3 is replaced by our Finished
            key = self._opaque.session_key
        elif self._spake is not None:
            if len(server_message) != _SPAKE_SERVER_LEN:
                raise DecodeError("pake: a SPAKE2+ answer is shareV || confirmV (97 bytes)")
            self._spake.finish(server_message[:65], server_message[65:])
            key = self._spake.shared_key
        else:
            raise PakeStateError("pake: a ServerHello answer before our ClientHello")
        # The server proved it holds our record (confirmV, or KE2's MAC): it may leave its
        # Certificate out (a Certificate it sends is still verified as configured).
        proof = peer_verified_by_key_exchange(f"{self.method} login as {self.user}")
        self.outcome = PakeOutcome(self.method, self.user, key, proof=proof)
        return self.outcome


# -- server ------------------------------------------------------------------------------


@dataclass(slots=True)
class _ServerLogin:
    """One handshake's login on the server: parsed from the ClientHello, run when the
    ServerHello is built (so a HelloRetryRequest in between neither runs nor counts it twice)."""

    user: str
    method: Method
    share: bytes = field(repr=False)
    answer: bytes | None = field(default=None, repr=False)
    outcome: PakeOutcome | None = None

    def handshake_secret_input(self) -> bytes:
        if self.outcome is None:
            raise PakeStateError("pake: the key schedule asked before the ServerHello")
        return self.outcome.handshake_secret_input()

    def handshake_confirmed(self) -> None:
        if self.outcome is not None:
            self.outcome.handshake_confirmed()

    @property
    def pake_method(self) -> Method | None:
        """The method, once the client's Finished proved the login (SessionInfo.auth)."""
        return self.method if self.outcome is not None and self.outcome.confirmed else None

    def authenticates_server(self) -> bool:
        """The login's answer (in the ServerHello) proves us to the client, so a server
        without a certificate sends none (AuthenticatesServer in wire/extension_hook.py)."""
        return True


class PakeServerHook:
    """The server's ``pake`` plug-in over a :class:`PakeServer` (shared by all handshakes).

    ``required``: refuse clients that do not offer a PAKE login (missing_extension);
    otherwise they fall back to the certificate handshake alone.
    """

    messages = _MESSAGES
    made_by_config = False  # True when ServerConfig(pake_store=...) made it (and replaces it)

    def __init__(self, server: PakeServer, *, required: bool = True) -> None:
        self.server = server
        self.required = required

    @property
    def replaces_server_certificate(self) -> bool:
        """Every client logs in (``required``), so a server may run without a certificate."""
        return self.required

    def __repr__(self) -> str:
        return f"PakeServerHook({self.server!r}, required={self.required})"

    @property
    def ext_type(self) -> int:
        return PAKE_EXTENSION

    def receive(self, message: int, data: bytes | None) -> object:
        if data is None:
            if self.required:
                raise PeerIncompatible(
                    "this server needs a PAKE login", alert=AlertDescription.missing_extension
                )
            return None
        user, shares = decode_client_hello(data)
        # Our preference: OPAQUE (the server never learns the password), then SPAKE2+.
        for method in ("opaque", "spake2plus"):
            share = shares.get(NAMED_PAKES[method])
            if share is not None:
                self.server.limiter.check(user)  # before any PAKE work: access_denied, a log line
                return _ServerLogin(user, method, share)
        raise PeerIncompatible("pake: no PAKE in common", alert=AlertDescription.handshake_failure)

    def _run(self, login: _ServerLogin) -> None:
        server, user = self.server, login.user
        if login.method == "opaque":
            opaque_login = server.opaque_login(user, OpaqueSession(OPAQUE_CONTEXT))
            answer = opaque_login.ke2(login.share)
            key = opaque_login.session_key_unconfirmed()
        else:
            id_p, id_v = spake2plus_identities(user)
            spake = server.spake2plus_login(user, Spake2PlusSession(SPAKE2PLUS_CONTEXT, id_p, id_v))
            share_v, confirm_v = spake.verifier.respond(login.share)
            answer = share_v + confirm_v
            key = spake.verifier.shared_key_unconfirmed()
        server.started(user)  # counted now, cleared when the client's Finished verifies
        login.answer = encode_server_hello(NAMED_PAKES[login.method], answer)
        login.outcome = PakeOutcome(login.method, user, key, server)

    def offer(self, message: int, peer: object | None) -> bytes | None:
        if message != HandshakeType.server_hello or not isinstance(peer, _ServerLogin):
            return None
        if peer.answer is None:
            self._run(peer)
        return peer.answer
