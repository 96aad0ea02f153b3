"""OPAQUE (RFC 9807) with OPAQUE-3DH, suite ristretto255-SHA512 (OPRF ristretto255-SHA512,
HKDF-SHA512, HMAC-SHA512, SHA-512, a configurable KSF).

The server never sees the password, not even at registration: the client blinds it into the
OPRF (:mod:`.oprf`), the server evaluates with a per-user key derived from ``oprf_seed``, and
the client turns the output into ``randomized_password``, from which it derives its long-term
key pair and seals an envelope binding it to the server's public key. The server stores the
:class:`RegistrationRecord` (client public key, masking key, envelope), nothing a dictionary
attack can use without also running the OPRF against the server.

Registration (RFC 9807 §5)::

    OpaqueRegistrationClient.request()   -> registration_request
    registration_response(setup, ...)    -> registration_response
    OpaqueRegistrationClient.finalize()  -> (record, export_key)

Login (RFC 9807 §6), three messages::

    OpaqueLoginClient.ke1()       ->  KE1 = blinded || client_nonce || client_keyshare
    OpaqueLoginServer.ke2(ke1)    ->  KE2 = evaluated || masking_nonce || masked_response
                                            || server_nonce || server_keyshare || server_mac
    OpaqueLoginClient.finish(ke2) ->  KE3 = client_mac     (and the client's session key)
    OpaqueLoginServer.finish(ke3) ->  the server's session key

An unknown user gets a fake record (RFC 9807 §6.3.2.2, derived per identity from the server
secret, so it is stable): the server does the same work and sends a KE2 of the same shape, and
the login fails at the client's envelope check exactly as a wrong password does. MACs are
compared with :func:`hmac.compare_digest`; no check exits early on a secret-dependent value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from nautilus_tls.pake import _ristretto as group
from nautilus_tls.pake import oprf
from nautilus_tls.pake.errors import (
    MalformedPakeMessage,
    PakeAuthenticationFailed,
    PakeInvalidElement,
    PakeStateError,
)
from nautilus_tls.pake.ksf import Ksf

__all__ = [
    "KE1_LEN",
    "KE2_LEN",
    "KE3_LEN",
    "LoginFixture",
    "OpaqueLoginClient",
    "OpaqueLoginServer",
    "OpaqueRegistrationClient",
    "OpaqueServerSetup",
    "OpaqueSession",
    "RegistrationRecord",
    "fake_record",
    "registration_response",
]

# RFC 9807 §7 for ristretto255-SHA512.
NN = 32  # nonce
NSEED = 32
NH = NM = NX = 64  # hash, MAC and KDF output
NPK = NSK = NOE = NOK = 32  # public key, private key, OPRF element, OPRF key
ENVELOPE_LEN = NN + NM
RECORD_LEN = NPK + NH + ENVELOPE_LEN
KE1_LEN = NOE + NN + NPK
CREDENTIAL_RESPONSE_LEN = NOE + NN + NPK + ENVELOPE_LEN
KE2_LEN = CREDENTIAL_RESPONSE_LEN + NN + NPK + NM
KE3_LEN = NM
_STRETCH_SALT = bytes(16)  # RFC 9807 §4.3.1: Stretch has fixed parameters, no per-user salt


def _expand(key: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA512(), length, info).derive(key)


def _extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2) is HMAC(salt, IKM)."""
    return hmac.digest(salt, ikm, "sha512")


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha512")


def _lp2(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _derive_dh_key_pair(seed: bytes) -> tuple[bytes, bytes]:
    return oprf.derive_key_pair(seed, b"OPAQUE-DeriveDiffieHellmanKeyPair")


def _oprf_key(setup: OpaqueServerSetup, credential_identifier: bytes) -> bytes:
    seed = _expand(setup.oprf_seed, credential_identifier + b"OprfKey", NOK)
    return oprf.derive_key_pair(seed, b"OPAQUE-DeriveKeyPair")[0]


def _split(data: bytes, *lengths: int, what: str) -> list[bytes]:
    if len(data) != sum(lengths):
        raise MalformedPakeMessage(f"OPAQUE {what} must be {sum(lengths)} bytes, not {len(data)}")
    out, pos = [], 0
    for n in lengths:
        out.append(data[pos : pos + n])
        pos += n
    return out


@dataclass(frozen=True, slots=True)
class OpaqueServerSetup:
    """The server's long-term OPAQUE secrets: its AKE key pair and the OPRF seed.

    Shared by every record; losing ``oprf_seed`` invalidates every registration.
    """

    server_private_key: bytes = field(repr=False)
    server_public_key: bytes
    oprf_seed: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> OpaqueServerSetup:
        sk, pk = _derive_dh_key_pair(os.urandom(NSEED))
        return cls(sk, pk, os.urandom(NH))

    def to_bytes(self) -> bytes:
        return self.server_private_key + self.server_public_key + self.oprf_seed

    @classmethod
    def from_bytes(cls, data: bytes) -> OpaqueServerSetup:
        sk, pk, seed = _split(data, NSK, NPK, NH, what="server setup")
        if group.base_mul(sk) != pk:
            raise MalformedPakeMessage("OPAQUE server setup: the key pair does not match")
        return cls(sk, pk, seed)


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    """RFC 9807 §5.1 RegistrationRecord: what the server stores per user."""

    client_public_key: bytes
    masking_key: bytes = field(repr=False)
    envelope: bytes = field(repr=False)

    def to_bytes(self) -> bytes:
        return self.client_public_key + self.masking_key + self.envelope

    @classmethod
    def from_bytes(cls, data: bytes) -> RegistrationRecord:
        pk, masking_key, envelope = _split(data, NPK, NH, ENVELOPE_LEN, what="record")
        return cls(group.check_element(pk), masking_key, envelope)


def fake_record(setup: OpaqueServerSetup, credential_identifier: bytes) -> RegistrationRecord:
    """RFC 9807 §6.3.2.2: a random-looking record for an unknown user, stable per identity.

    Derived from ``oprf_seed`` under its own labels, so the same unknown user always gets the
    same record (as the RFC recommends, a stored one) without the server storing anything.
    """
    base = _expand(setup.oprf_seed, credential_identifier + b"NautilusFakeRecord", NSEED + NH)
    _, public_key = _derive_dh_key_pair(base[:NSEED])
    return RegistrationRecord(public_key, base[NSEED:], bytes(ENVELOPE_LEN))


def _cleartext_credentials(
    server_public_key: bytes,
    client_public_key: bytes,
    server_identity: bytes,
    client_identity: bytes,
) -> tuple[bytes, bytes, bytes]:
    """RFC 9807 §4.1.1: (encoded credentials, server identity, client identity); an empty
    identity means "the public key"."""
    sid = server_identity or server_public_key
    cid = client_identity or client_public_key
    return server_public_key + _lp2(sid) + _lp2(cid), sid, cid


@dataclass(frozen=True, slots=True)
class _Recovered:
    client_private_key: bytes = field(repr=False)
    client_public_key: bytes
    export_key: bytes = field(repr=False)
    auth_tag: bytes = field(repr=False)
    credentials: bytes


def _envelope_keys(
    randomized_password: bytes,
    nonce: bytes,
    server_public_key: bytes,
    server_identity: bytes,
    client_identity: bytes,
) -> _Recovered:
    """RFC 9807 §4.1.2-§4.1.3, the part Store and Recover share: keys and the expected tag."""
    auth_key = _expand(randomized_password, nonce + b"AuthKey", NH)
    export_key = _expand(randomized_password, nonce + b"ExportKey", NH)
    seed = _expand(randomized_password, nonce + b"PrivateKey", NSEED)
    client_private_key, client_public_key = _derive_dh_key_pair(seed)
    credentials, _, _ = _cleartext_credentials(
        server_public_key, client_public_key, server_identity, client_identity
    )
    return _Recovered(
        client_private_key,
        client_public_key,
        export_key,
        _mac(auth_key, nonce + credentials),
        credentials,
    )


def _randomized_password(password: bytes, blind_scalar: bytes, evaluated: bytes, ksf: Ksf) -> bytes:
    """RFC 9807 §5.2.3/§6.4.2: Extract("", oprf_output || Stretch(oprf_output))."""
    oprf_output = oprf.finalize(password, blind_scalar, evaluated)
    stretched = ksf.stretch(oprf_output, _STRETCH_SALT, NH)
    return _extract(b"", oprf_output + stretched)


class OpaqueRegistrationClient:
    """Client side of registration: ``request()``, then ``finalize(response)``."""

    def __init__(self, password: bytes, *, ksf: Ksf, blind: bytes | None = None) -> None:
        self._password, self._ksf = password, ksf
        self._blind, self._request = oprf.blind(password, blind)

    def __repr__(self) -> str:
        return "OpaqueRegistrationClient(<secret>)"

    def request(self) -> bytes:
        """RegistrationRequest: the blinded password."""
        return self._request

    def finalize(
        self,
        response: bytes,
        *,
        server_identity: bytes = b"",
        client_identity: bytes = b"",
        envelope_nonce: bytes | None = None,  # fixed only by the test vectors
    ) -> tuple[RegistrationRecord, bytes]:
        """RFC 9807 §5.2.3: (record to upload, export_key)."""
        evaluated, server_public_key = _split(response, NOE, NPK, what="registration response")
        group.check_element(server_public_key)
        rwd = _randomized_password(self._password, self._blind, evaluated, self._ksf)
        nonce = os.urandom(NN) if envelope_nonce is None else envelope_nonce
        keys = _envelope_keys(rwd, nonce, server_public_key, server_identity, client_identity)
        masking_key = _expand(rwd, b"MaskingKey", NH)
        record = RegistrationRecord(keys.client_public_key, masking_key, nonce + keys.auth_tag)
        return record, keys.export_key


def registration_response(
    setup: OpaqueServerSetup, request: bytes, credential_identifier: bytes
) -> bytes:
    """RFC 9807 §5.2.2 CreateRegistrationResponse: evaluated element || server public key."""
    if len(request) != NOE:
        raise MalformedPakeMessage(f"OPAQUE registration request must be {NOE} bytes")
    evaluated = oprf.blind_evaluate(_oprf_key(setup, credential_identifier), request)
    return evaluated + setup.server_public_key


def _preamble(
    context: bytes,
    client_identity: bytes,
    ke1: bytes,
    server_identity: bytes,
    credential_response: bytes,
    server_nonce: bytes,
    server_keyshare: bytes,
) -> bytes:
    """RFC 9807 §6.4.2 Preamble."""
    return b"".join(
        (
            b"OPAQUEv1-",
            _lp2(context),
            _lp2(client_identity),
            ke1,
            _lp2(server_identity),
            credential_response,
            server_nonce,
            server_keyshare,
        )
    )


def _expand_label(secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """RFC 9807 §6.4.1 Expand-Label (TLS 1.3's HkdfLabel with the "OPAQUE-" prefix)."""
    full = b"OPAQUE-" + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return _expand(secret, info, length)


@dataclass(frozen=True, slots=True)
class _AkeKeys:
    server_mac: bytes = field(repr=False)
    client_mac: bytes = field(repr=False)
    session_key: bytes = field(repr=False)


def _derive_keys(ikm: bytes, preamble: bytes) -> _AkeKeys:
    """RFC 9807 §6.4.2 DeriveKeys, with both MACs computed once."""
    prk = _extract(b"", ikm)
    preamble_hash = hashlib.sha512(preamble).digest()
    handshake_secret = _expand_label(prk, b"HandshakeSecret", preamble_hash, NX)
    session_key = _expand_label(prk, b"SessionKey", preamble_hash, NX)
    km2 = _expand_label(handshake_secret, b"ServerMAC", b"", NX)
    km3 = _expand_label(handshake_secret, b"ClientMAC", b"", NX)
    server_mac = _mac(km2, preamble_hash)
    client_mac = _mac(km3, hashlib.sha512(preamble + server_mac).digest())
    return _AkeKeys(server_mac, client_mac, session_key)


@dataclass(frozen=True, slots=True)
class OpaqueSession:
    """What both sides of a login must agree on besides the password: the RFC 9807 §6.4.2
    ``context`` (for TLS, bound to the handshake) and the optional identities (empty means
    "the public key", RFC 9807 §4.1.1; they must match what was used at registration)."""

    context: bytes
    server_identity: bytes = b""
    client_identity: bytes = b""


@dataclass(frozen=True, slots=True)
class LoginFixture:
    """The random values of one login, fixed only by the test vectors (else all random)."""

    blind: bytes | None = None
    nonce: bytes | None = None
    keyshare_seed: bytes | None = None
    masking_nonce: bytes | None = None


class OpaqueLoginClient:
    """Client side of login: ``ke1()``, then ``finish(ke2)`` -> KE3; then ``session_key``."""

    def __init__(
        self,
        password: bytes,
        session: OpaqueSession,
        *,
        ksf: Ksf,
        fixture: LoginFixture | None = None,
    ) -> None:
        self._password, self._ksf, self._session = password, ksf, session
        fixture = fixture or LoginFixture()
        self._blind, blinded = oprf.blind(password, fixture.blind)
        nonce = os.urandom(NN) if fixture.nonce is None else fixture.nonce
        seed = os.urandom(NSEED) if fixture.keyshare_seed is None else fixture.keyshare_seed
        self._keyshare_secret, keyshare = _derive_dh_key_pair(seed)
        self._ke1 = blinded + nonce + keyshare
        self._result: tuple[bytes, bytes] | None = None
        self._finished = False

    def __repr__(self) -> str:
        return "OpaqueLoginClient(<secret>)"

    def ke1(self) -> bytes:
        return self._ke1

    def finish(self, ke2: bytes) -> bytes:
        """Check KE2 (envelope, then server MAC); returns KE3. Raises PakeAuthenticationFailed."""
        if self._finished:
            raise PakeStateError("OPAQUE client: finish() called twice")
        self._finished = True
        evaluated, masking_nonce, masked, server_nonce, server_keyshare, server_mac = _split(
            ke2, NOE, NN, NPK + ENVELOPE_LEN, NN, NPK, NM, what="KE2"
        )
        group.check_element(server_keyshare)
        rwd = _randomized_password(self._password, self._blind, evaluated, self._ksf)
        masking_key = _expand(rwd, b"MaskingKey", NH)
        pad = _expand(masking_key, masking_nonce + b"CredentialResponsePad", len(masked))
        unmasked = bytes(a ^ b for a, b in zip(pad, masked, strict=True))
        server_public_key, envelope_nonce, auth_tag = _split(
            unmasked, NPK, NN, NM, what="credential response"
        )
        # A wrong password unmasks garbage; the envelope check below is where it is caught, so
        # an invalid "server public key" must fail the same way, not as a malformed message.
        key_ok = self._valid_element(server_public_key)
        if not key_ok:
            server_public_key = group.base_mul(bytes([1]) + bytes(31))  # any valid stand-in
        keys = _envelope_keys(
            rwd,
            envelope_nonce,
            server_public_key,
            self._session.server_identity,
            self._session.client_identity,
        )
        envelope_ok = hmac.compare_digest(auth_tag, keys.auth_tag) and key_ok
        _, sid, cid = _cleartext_credentials(
            server_public_key,
            keys.client_public_key,
            self._session.server_identity,
            self._session.client_identity,
        )
        ikm = (
            group.scalar_mul(self._keyshare_secret, server_keyshare)
            + group.scalar_mul(self._keyshare_secret, server_public_key)
            + group.scalar_mul(keys.client_private_key, server_keyshare)
        )
        preamble = _preamble(
            self._session.context,
            cid,
            self._ke1,
            sid,
            ke2[:CREDENTIAL_RESPONSE_LEN],
            server_nonce,
            server_keyshare,
        )
        ake = _derive_keys(ikm, preamble)
        mac_ok = hmac.compare_digest(server_mac, ake.server_mac)
        if not (envelope_ok and mac_ok):
            raise PakeAuthenticationFailed("OPAQUE login failed (wrong password or server)")
        self._result = (ake.session_key, keys.export_key)
        return ake.client_mac

    @staticmethod
    def _valid_element(data: bytes) -> bool:
        try:
            group.check_element(data)
        except (MalformedPakeMessage, PakeInvalidElement):
            return False
        return True

    @property
    def session_key(self) -> bytes:
        if self._result is None:
            raise PakeStateError("OPAQUE client: no session key before a successful finish()")
        return self._result[0]

    @property
    def export_key(self) -> bytes:
        if self._result is None:
            raise PakeStateError("OPAQUE client: no export key before a successful finish()")
        return self._result[1]


class OpaqueLoginServer:
    """Server side of login: ``ke2(ke1)``, then ``finish(ke3)`` -> session key.

    ``record`` is None for an unknown user: the fake record takes its place (no user
    enumeration), and ``finish`` fails like a wrong password.
    """

    def __init__(
        self,
        setup: OpaqueServerSetup,
        record: RegistrationRecord | None,
        credential_identifier: bytes,
        session: OpaqueSession,
        *,
        fixture: LoginFixture | None = None,
    ) -> None:
        self._setup = setup
        self._known = record is not None
        self._record = record if record is not None else fake_record(setup, credential_identifier)
        self._credential_identifier = credential_identifier
        self._session = session
        self._fixture = fixture or LoginFixture()
        self._expected_client_mac: bytes | None = None
        self._session_key: bytes | None = None
        self._finished = False

    def __repr__(self) -> str:
        return "OpaqueLoginServer(<secret>)"

    def ke2(self, ke1: bytes) -> bytes:
        if self._expected_client_mac is not None:
            raise PakeStateError("OPAQUE server: ke2() called twice")
        blinded, _client_nonce, client_keyshare = _split(ke1, NOE, NN, NPK, what="KE1")
        group.check_element(client_keyshare)
        fx = self._fixture
        evaluated = oprf.blind_evaluate(
            _oprf_key(self._setup, self._credential_identifier), blinded
        )
        masking_nonce = os.urandom(NN) if fx.masking_nonce is None else fx.masking_nonce
        pad = _expand(
            self._record.masking_key,
            masking_nonce + b"CredentialResponsePad",
            NPK + ENVELOPE_LEN,
        )
        plain = self._setup.server_public_key + self._record.envelope
        masked = bytes(a ^ b for a, b in zip(pad, plain, strict=True))
        credential_response = evaluated + masking_nonce + masked

        server_nonce = os.urandom(NN) if fx.nonce is None else fx.nonce
        seed = os.urandom(NSEED) if fx.keyshare_seed is None else fx.keyshare_seed
        keyshare_secret, server_keyshare = _derive_dh_key_pair(seed)
        _, sid, cid = _cleartext_credentials(
            self._setup.server_public_key,
            self._record.client_public_key,
            self._session.server_identity,
            self._session.client_identity,
        )
        preamble = _preamble(
            self._session.context, cid, ke1, sid, credential_response, server_nonce, server_keyshare
        )
        ikm = (
            group.scalar_mul(keyshare_secret, client_keyshare)
            + group.scalar_mul(self._setup.server_private_key, client_keyshare)
            + group.scalar_mul(keyshare_secret, self._record.client_public_key)
        )
        ake = _derive_keys(ikm, preamble)
        self._expected_client_mac, self._session_key = ake.client_mac, ake.session_key
        return credential_response + server_nonce + server_keyshare + ake.server_mac

    def session_key_unconfirmed(self) -> bytes:
        """The session key before KE3, for a carrier whose own check replaces KE3.

        TLS (:mod:`nautilus_tls.pake.tls`) mixes this key into the handshake secret, so the
        client's Finished proves it holds the key, as KE3 would. For an unknown user this is
        random bytes: nothing the client sends can match it.
        """
        if self._session_key is None:
            raise PakeStateError("OPAQUE server: no session key before ke2()")
        return self._session_key if self._known else os.urandom(len(self._session_key))

    def finish(self, ke3: bytes) -> bytes:
        """Check the client's MAC; returns the session key. Raises PakeAuthenticationFailed."""
        if self._expected_client_mac is None or self._session_key is None or self._finished:
            raise PakeStateError("OPAQUE server: finish() before ke2() or twice")
        self._finished = True
        if len(ke3) != KE3_LEN:
            raise MalformedPakeMessage(f"OPAQUE KE3 must be {KE3_LEN} bytes")
        mac_ok = hmac.compare_digest(ke3, self._expected_client_mac)
        # An unknown user can never succeed, even if the fake record's MAC somehow matched.
        if not (mac_ok and self._known):
            raise PakeAuthenticationFailed("OPAQUE login failed (wrong password or unknown user)")
        return self._session_key
