"""Key exchange for every group, KEM-shaped: keygen → encapsulate → decapsulate.

The client calls :meth:`Kem.generate` and sends :attr:`KeyExchange.share`; the server calls
:meth:`Kem.encapsulate` on it and sends back its share; the client calls
:meth:`KeyExchange.decapsulate`. ECDH fits this shape (the server's "ciphertext" is its
ephemeral public key), ML-KEM is a KEM, and a hybrid is its components side by side.

* ECDH (RFC 8446 §4.2.8.2, §7.4): x25519 shares are 32 bytes and an all-zero shared secret is
  refused; P-256/P-384 shares are uncompressed points ``0x04 || X || Y`` that must be on the
  curve; the shared secret is the x-coordinate.
* ML-KEM (draft-ietf-tls-mlkem): the client share is the encapsulation key, the server share the
  ciphertext; fixed lengths; the server runs the FIPS 203 §7.2 encapsulation key check.
* Hybrids (draft-ietf-tls-ecdhe-mlkem): shares and secrets are the concatenation of the
  components' in a fixed order — ML-KEM first for X25519MLKEM768, ECDH first for the NIST
  curve hybrids. The order is data (``pq_first``). :class:`HybridKem` is a generic combiner:
  any classical KEM with any post-quantum one.
* Any other KEM (a :class:`KemPrimitive`: raw ``keygen``/``encaps``/``decaps``) becomes a group
  through :class:`PrimitiveKem`; HQC and sntrup761 from PQClean (optional ``pqcrypto``
  package) come in that way, alone and as hybrids with X25519, on private-use code points, and
  so does FrodoKEM (:mod:`nautilus_tls.crypto.frodokem`, the ``frodokem_provider()`` add-on).

Which groups a connection can use is not decided here: a
:class:`~nautilus_tls.crypto.provider.CryptoProvider` (the config's ``provider``) maps code
points to these KEMs and describes each group with a :class:`GroupInfo` (security level,
post-quantum or not, standard or private-use, sizes); the handshake looks groups up with
``provider.kem_for_group`` only. A group must fit a KeyShareEntry (``key_exchange<1..2^16-1>``,
RFC 8446 §4.2.8): Classic McEliece (public keys of 261,120 bytes and more) cannot, so the
pqcrypto provider lists it as unnegotiable — listed, measured, never offered or accepted.

A malformed peer share is :class:`PeerMisbehaved` (``illegal_parameter``); an ML-KEM
decapsulation failure other than a length mismatch is ``internal_error``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519

from nautilus_tls.crypto import pqclean
from nautilus_tls.errors import AlertDescription, LocalProtocolError, PeerMisbehaved
from nautilus_tls.wire.enums import NamedGroup, first_name

__all__ = [
    "MAX_KEY_SHARE_LEN",
    "PRIVATE_USE_GROUPS",
    "BikeGroup",
    "EcdhKem",
    "FrodoGroup",
    "GroupInfo",
    "HybridKem",
    "Kem",
    "KemPrimitive",
    "KeyExchange",
    "MlKem",
    "PrimitiveKem",
    "PrivateGroup",
    "group_label",
]

MAX_KEY_SHARE_LEN = 0xFFFF
"""KeyShareEntry.key_exchange<1..2^16-1> (RFC 8446 §4.2.8): the largest share that can travel."""

PRIVATE_USE_GROUPS = range(0xFE00, 0xFF00)
"""NamedGroup code points reserved for private use (RFC 8446 §4.2.7, ecdhe_private_use)."""


class PrivateGroup(IntEnum):
    """Our private-use group code points (RFC 8446 §4.2.7). Not IANA-assigned: they are
    negotiated only between peers whose providers both have them (Nautilus peers with ``pqcrypto``).
    Hybrids put the post-quantum share first (as X25519MLKEM768 does)."""

    HQC128 = 0xFE30
    HQC192 = 0xFE31
    HQC256 = 0xFE32
    X25519HQC128 = 0xFE33
    X25519HQC192 = 0xFE34
    X25519HQC256 = 0xFE35
    SNTRUP761 = 0xFE40
    X25519SNTRUP761 = 0xFE41


class FrodoGroup(IntEnum):
    """The FrodoKEM add-on's private-use group code points (RFC 8446 §4.2.7), negotiated only
    between peers whose providers both include ``frodokem_provider()``. X25519 hybrids put the
    FrodoKEM share first (as X25519MLKEM768 does); the P-256 hybrids put the ECDH share first
    (as SecP256r1MLKEM768 does)."""

    FrodoKEM640AES = 0xFE50
    FrodoKEM640SHAKE = 0xFE51
    FrodoKEM976AES = 0xFE52
    FrodoKEM976SHAKE = 0xFE53
    FrodoKEM1344AES = 0xFE54
    FrodoKEM1344SHAKE = 0xFE55
    X25519FrodoKEM640AES = 0xFE56
    X25519FrodoKEM640SHAKE = 0xFE57
    X25519FrodoKEM976AES = 0xFE58
    X25519FrodoKEM976SHAKE = 0xFE59
    X25519FrodoKEM1344AES = 0xFE5A
    X25519FrodoKEM1344SHAKE = 0xFE5B
    SecP256r1FrodoKEM640AES = 0xFE5C
    SecP256r1FrodoKEM640SHAKE = 0xFE5D


class BikeGroup(IntEnum):
    """The BIKE add-on's private-use group code points (RFC 8446 §4.2.7), negotiated only
    between peers whose providers both include ``bike_provider()``; the X25519 hybrids put the
    BIKE share first. NIST did not select BIKE (see :mod:`nautilus_tls.crypto.bike`)."""

    BIKEL1 = 0xFE60
    BIKEL3 = 0xFE61
    BIKEL5 = 0xFE62
    X25519BIKEL1 = 0xFE63
    X25519BIKEL3 = 0xFE64
    X25519BIKEL5 = 0xFE65


class KeyExchange(Protocol):
    """The client's half of a key exchange, after key generation."""

    @property
    def group(self) -> int: ...

    @property
    def share(self) -> bytes:
        """What goes into ``KeyShareEntry.key_exchange``."""
        ...

    def decapsulate(self, server_share: bytes) -> bytes:
        """The shared secret; a bad server share raises ``PeerMisbehaved(illegal_parameter)``."""
        ...


class Kem(Protocol):
    """One named group as a KEM."""

    @property
    def group(self) -> int: ...

    @property
    def client_share_len(self) -> int: ...

    @property
    def server_share_len(self) -> int: ...

    @property
    def shared_secret_len(self) -> int: ...

    @property
    def private_len(self) -> int:
        """Length of ``private_bytes`` accepted by :meth:`generate`."""
        ...

    def generate(self, *, private_bytes: bytes | None = None) -> KeyExchange:
        """A fresh client key pair (``private_bytes`` only for reproducible tests)."""
        ...

    def encapsulate(
        self, client_share: bytes, *, private_bytes: bytes | None = None
    ) -> tuple[bytes, bytes]:
        """Server side: ``(server_share, shared_secret)`` for ``client_share``."""
        ...


def group_label(group: int) -> str:
    """A group's name for messages, without a provider: our private-use name, else the IANA
    name, else its hex value (a provider's own name is ``CryptoProvider.group_name``)."""
    return first_name(group, PrivateGroup, FrodoGroup, BikeGroup, NamedGroup)


def _bad_share(group: int, what: str) -> PeerMisbehaved:
    # RFC 8446 §4.2.8 / draft-ietf-tls-ecdhe-mlkem §4: illegal_parameter.
    return PeerMisbehaved(f"{group_label(group)}: {what}", alert=AlertDescription.illegal_parameter)


def _check_private_len(kem: Kem, private_bytes: bytes) -> None:
    if len(private_bytes) != kem.private_len:
        raise LocalProtocolError(
            f"{group_label(kem.group)}: private_bytes must be {kem.private_len} bytes"
        )


# --- ECDH ------------------------------------------------------------------------------------


class _Curve(Protocol):
    """What differs between x25519 and the NIST curves: encoding and validation."""

    share_len: int
    secret_len: int
    private_len: int

    def new_private(self, private_bytes: bytes | None) -> tuple[object, bytes]: ...

    def exchange(self, group: int, private: object, peer_share: bytes) -> bytes: ...


class _X25519Curve:
    share_len = 32
    secret_len = 32
    private_len = 32

    def new_private(self, private_bytes: bytes | None) -> tuple[object, bytes]:
        key = (
            x25519.X25519PrivateKey.generate()
            if private_bytes is None
            else x25519.X25519PrivateKey.from_private_bytes(private_bytes)
        )
        return key, key.public_key().public_bytes_raw()

    def exchange(self, group: int, private: object, peer_share: bytes) -> bytes:
        if not isinstance(private, x25519.X25519PrivateKey):
            raise LocalProtocolError("x25519: wrong private key type")
        try:
            peer = x25519.X25519PublicKey.from_public_bytes(peer_share)
            secret = private.exchange(peer)
        except ValueError:
            # OpenSSL refuses low-order points (the all-zero result) itself.
            raise _bad_share(group, "all-zero shared secret") from None
        # RFC 8446 §7.4.2: abort if the X25519 output is all zeros.
        if hmac.compare_digest(secret, bytes(len(secret))):
            raise _bad_share(group, "all-zero shared secret")
        return secret


class _NistCurve:
    def __init__(self, curve: ec.EllipticCurve, coordinate_len: int) -> None:
        self.curve = curve
        self.secret_len = coordinate_len
        self.private_len = coordinate_len
        self.share_len = 1 + 2 * coordinate_len

    def new_private(self, private_bytes: bytes | None) -> tuple[object, bytes]:
        key = (
            ec.generate_private_key(self.curve)
            if private_bytes is None
            else ec.derive_private_key(int.from_bytes(private_bytes, "big"), self.curve)
        )
        share = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return key, share

    def exchange(self, group: int, private: object, peer_share: bytes) -> bytes:
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise LocalProtocolError("ECDH: wrong private key type")
        # RFC 8446 §4.2.8.2: only the uncompressed form; the point must be on the curve.
        if peer_share[:1] != b"\x04":
            raise _bad_share(group, "share is not an uncompressed point")
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(self.curve, peer_share)
            return private.exchange(ec.ECDH(), peer)
        except ValueError:
            raise _bad_share(group, "share is not a point on the curve") from None


_CURVES: dict[NamedGroup, _Curve] = {
    NamedGroup.x25519: _X25519Curve(),
    NamedGroup.secp256r1: _NistCurve(ec.SECP256R1(), 32),
    NamedGroup.secp384r1: _NistCurve(ec.SECP384R1(), 48),
}


class _EcdhKeyExchange:
    __slots__ = ("_curve", "_private", "group", "share")

    def __init__(self, group: NamedGroup, curve: _Curve, private: object, share: bytes) -> None:
        self.group = group
        self.share = share
        self._curve = curve
        self._private = private

    def __repr__(self) -> str:
        return f"<KeyExchange {self.group.name}>"

    def decapsulate(self, server_share: bytes) -> bytes:
        if len(server_share) != self._curve.share_len:
            raise _bad_share(self.group, "server share has the wrong length")
        return self._curve.exchange(self.group, self._private, server_share)


class EcdhKem:
    """(EC)DHE over x25519, secp256r1 or secp384r1, shaped as a KEM."""

    __slots__ = ("_curve", "group")

    def __init__(self, group: NamedGroup) -> None:
        try:
            self._curve = _CURVES[group]
        except KeyError:
            raise LocalProtocolError(f"no ECDH implementation for {group!r}") from None
        self.group = group

    def __repr__(self) -> str:
        return f"EcdhKem({self.group.name})"

    @property
    def client_share_len(self) -> int:
        return self._curve.share_len

    @property
    def server_share_len(self) -> int:
        return self._curve.share_len

    @property
    def shared_secret_len(self) -> int:
        return self._curve.secret_len

    @property
    def private_len(self) -> int:
        return self._curve.private_len

    def generate(self, *, private_bytes: bytes | None = None) -> KeyExchange:
        if private_bytes is not None:
            _check_private_len(self, private_bytes)
        private, share = self._curve.new_private(private_bytes)
        return _EcdhKeyExchange(self.group, self._curve, private, share)

    def encapsulate(
        self, client_share: bytes, *, private_bytes: bytes | None = None
    ) -> tuple[bytes, bytes]:
        if len(client_share) != self._curve.share_len:
            raise _bad_share(self.group, "client share has the wrong length")
        ours = self.generate(private_bytes=private_bytes)
        return ours.share, ours.decapsulate(client_share)


# --- ML-KEM ----------------------------------------------------------------------------------


_MLKEM_PARAMS: dict[int, tuple[NamedGroup, int, int]] = {
    # parameter set: (group, encapsulation key length, ciphertext length) — FIPS 203 Table 3
    768: (NamedGroup.MLKEM768, 1184, 1088),
    1024: (NamedGroup.MLKEM1024, 1568, 1568),
}

_MlKemPrivate = mlkem.MLKEM768PrivateKey | mlkem.MLKEM1024PrivateKey
_MlKemPublic = mlkem.MLKEM768PublicKey | mlkem.MLKEM1024PublicKey


class _MlKemKeyExchange:
    __slots__ = ("_ct_len", "_private", "group", "share")

    def __init__(self, group: NamedGroup, private: _MlKemPrivate, ct_len: int) -> None:
        self.group = group
        self.share = private.public_key().public_bytes_raw()
        self._private = private
        self._ct_len = ct_len

    def __repr__(self) -> str:
        return f"<KeyExchange {self.group.name}>"

    def decapsulate(self, server_share: bytes) -> bytes:
        # draft-ietf-tls-mlkem: the client checks the ciphertext length (illegal_parameter);
        # any other decapsulation failure is internal_error.
        if len(server_share) != self._ct_len:
            raise _bad_share(self.group, "ciphertext has the wrong length")
        try:
            return self._private.decapsulate(server_share)
        except ValueError:
            raise LocalProtocolError(
                f"{self.group.name}: decapsulation failed", alert=AlertDescription.internal_error
            ) from None


class MlKem:
    """Pure ML-KEM-768 or ML-KEM-1024 (FIPS 203; draft-ietf-tls-mlkem)."""

    __slots__ = ("_ct_len", "_ek_len", "_private_cls", "_public_cls", "group", "parameter_set")

    def __init__(self, parameter_set: int) -> None:
        try:
            group, ek_len, ct_len = _MLKEM_PARAMS[parameter_set]
        except KeyError:
            raise LocalProtocolError(f"unsupported ML-KEM parameter set {parameter_set}") from None
        self.parameter_set = parameter_set
        self.group = group
        self._ek_len = ek_len
        self._ct_len = ct_len
        self._private_cls: type[mlkem.MLKEM768PrivateKey] | type[mlkem.MLKEM1024PrivateKey] = (
            mlkem.MLKEM768PrivateKey if parameter_set == 768 else mlkem.MLKEM1024PrivateKey
        )
        self._public_cls: type[mlkem.MLKEM768PublicKey] | type[mlkem.MLKEM1024PublicKey] = (
            mlkem.MLKEM768PublicKey if parameter_set == 768 else mlkem.MLKEM1024PublicKey
        )

    def __repr__(self) -> str:
        return f"MlKem({self.parameter_set})"

    @property
    def client_share_len(self) -> int:
        return self._ek_len

    @property
    def server_share_len(self) -> int:
        return self._ct_len

    @property
    def shared_secret_len(self) -> int:
        return 32

    @property
    def private_len(self) -> int:
        """The 64-byte seed ``d || z`` of FIPS 203 ML-KEM.KeyGen_internal."""
        return 64

    def generate(self, *, private_bytes: bytes | None = None) -> KeyExchange:
        if private_bytes is None:
            private: _MlKemPrivate = self._private_cls.generate()
        else:
            _check_private_len(self, private_bytes)
            private = self._private_cls.from_seed_bytes(private_bytes)
        return _MlKemKeyExchange(self.group, private, self._ct_len)

    def encapsulate(
        self, client_share: bytes, *, private_bytes: bytes | None = None
    ) -> tuple[bytes, bytes]:
        if private_bytes is not None:
            # The backend draws the encapsulation randomness itself (and it must never be
            # reused); there is no deterministic encapsulation to reproduce.
            raise LocalProtocolError(
                f"{self.group.name}: encapsulation cannot be made deterministic"
            )
        if len(client_share) != self._ek_len:
            raise _bad_share(self.group, "encapsulation key has the wrong length")
        try:
            # FIPS 203 §7.2 encapsulation key check (type and modulus) happens on load.
            public: _MlKemPublic = self._public_cls.from_public_bytes(client_share)
        except ValueError:
            raise _bad_share(self.group, "encapsulation key fails the FIPS 203 check") from None
        shared_secret, ciphertext = public.encapsulate()
        return ciphertext, shared_secret


# --- hybrids ---------------------------------------------------------------------------------


def _split(data: bytes, lengths: tuple[int, ...]) -> list[bytes]:
    parts = []
    offset = 0
    for length in lengths:
        parts.append(data[offset : offset + length])
        offset += length
    return parts


class _HybridKeyExchange:
    __slots__ = ("_parts", "_server_lens", "group", "share")

    def __init__(
        self, group: int, parts: tuple[KeyExchange, ...], server_lens: tuple[int, ...]
    ) -> None:
        self.group = group
        self._parts = parts
        self._server_lens = server_lens
        self.share = b"".join(p.share for p in parts)

    def __repr__(self) -> str:
        return f"<KeyExchange {group_label(self.group)}>"

    def decapsulate(self, server_share: bytes) -> bytes:
        if len(server_share) != sum(self._server_lens):
            raise _bad_share(self.group, "server share has the wrong length")
        pieces = _split(server_share, self._server_lens)
        return b"".join(p.decapsulate(s) for p, s in zip(self._parts, pieces, strict=True))


class HybridKem:
    """A classical KEM and a post-quantum KEM side by side — the generic hybrid combiner
    (draft-ietf-tls-ecdhe-mlkem §4, draft-ietf-tls-hybrid-design §3.3).

    Shares and shared secrets are the components' concatenated in one order for both:
    ``pq || classical`` when ``pq_first`` else ``classical || pq``. Works for any pair of
    :class:`Kem` objects (ECDH + ML-KEM, X25519 + HQC, ...).
    """

    __slots__ = ("_parts", "classical", "group", "pq", "pq_first")

    def __init__(self, classical: Kem, pq: Kem, pq_first: bool, *, group: int) -> None:
        self.classical = classical
        self.pq = pq
        self.pq_first = pq_first
        self.group = group
        self._parts: tuple[Kem, ...] = (pq, classical) if pq_first else (classical, pq)

    def __repr__(self) -> str:
        return f"HybridKem({group_label(self.group)}: {' || '.join(repr(p) for p in self._parts)})"

    @property
    def client_share_len(self) -> int:
        return sum(p.client_share_len for p in self._parts)

    @property
    def server_share_len(self) -> int:
        return sum(p.server_share_len for p in self._parts)

    @property
    def shared_secret_len(self) -> int:
        return sum(p.shared_secret_len for p in self._parts)

    @property
    def private_len(self) -> int:
        """The components' ``private_bytes`` concatenated in share order."""
        return sum(p.private_len for p in self._parts)

    def generate(self, *, private_bytes: bytes | None = None) -> KeyExchange:
        if private_bytes is None:
            halves: list[bytes | None] = [None] * len(self._parts)
        else:
            _check_private_len(self, private_bytes)
            halves = list(_split(private_bytes, tuple(p.private_len for p in self._parts)))
        parts = tuple(p.generate(private_bytes=h) for p, h in zip(self._parts, halves, strict=True))
        return _HybridKeyExchange(self.group, parts, tuple(p.server_share_len for p in self._parts))

    def encapsulate(
        self, client_share: bytes, *, private_bytes: bytes | None = None
    ) -> tuple[bytes, bytes]:
        """Server side. ``private_bytes`` (tests only) is the classical component's ephemeral
        private key; ML-KEM encapsulation is always randomized by the backend."""
        if len(client_share) != self.client_share_len:
            raise _bad_share(self.group, "client share has the wrong length")
        pieces = _split(client_share, tuple(p.client_share_len for p in self._parts))
        shares: list[bytes] = []
        secrets: list[bytes] = []
        for part, piece in zip(self._parts, pieces, strict=True):
            pb = private_bytes if part is self.classical else None
            share, secret = part.encapsulate(piece, private_bytes=pb)
            shares.append(share)
            secrets.append(secret)
        return b"".join(shares), b"".join(secrets)


# --- any KEM primitive as a group ------------------------------------------------------------


class KemPrimitive(Protocol):
    """A raw KEM on byte strings — what a researcher implements to add one."""

    @property
    def name(self) -> str: ...

    @property
    def public_key_len(self) -> int: ...

    @property
    def ciphertext_len(self) -> int: ...

    @property
    def shared_secret_len(self) -> int: ...

    def keygen(self) -> tuple[bytes, bytes]:
        """``(public_key, secret_key)``."""
        ...

    def encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
        """``(ciphertext, shared_secret)``; ValueError for a public key it rejects."""
        ...

    def decaps(self, secret_key: bytes, ciphertext: bytes) -> bytes: ...


class _PrimitiveKeyExchange:
    __slots__ = ("_primitive", "_secret_key", "group", "share")

    def __init__(
        self, group: int, primitive: KemPrimitive, public_key: bytes, secret_key: bytes
    ) -> None:
        self.group = group
        self.share = public_key
        self._primitive = primitive
        self._secret_key = secret_key

    def __repr__(self) -> str:
        return f"<KeyExchange {group_label(self.group)}>"

    def decapsulate(self, server_share: bytes) -> bytes:
        if len(server_share) != self._primitive.ciphertext_len:
            raise _bad_share(self.group, "ciphertext has the wrong length")
        try:
            return self._primitive.decaps(self._secret_key, server_share)
        except ValueError:
            raise LocalProtocolError(
                f"{group_label(self.group)}: decapsulation failed",
                alert=AlertDescription.internal_error,
            ) from None


class PrimitiveKem:
    """A :class:`KemPrimitive` as a TLS group: the client share is the public key, the server
    share the ciphertext, both of fixed length (checked: ``illegal_parameter``).

    Key generation and encapsulation use the primitive's own randomness, so ``private_bytes``
    (reproducible tests) is refused with ``LocalProtocolError``; :attr:`private_len` is 0.
    """

    __slots__ = ("group", "primitive")

    def __init__(self, primitive: KemPrimitive, *, group: int) -> None:
        self.primitive = primitive
        self.group = group

    def __repr__(self) -> str:
        return f"PrimitiveKem({self.primitive.name})"

    @property
    def client_share_len(self) -> int:
        return self.primitive.public_key_len

    @property
    def server_share_len(self) -> int:
        return self.primitive.ciphertext_len

    @property
    def shared_secret_len(self) -> int:
        return self.primitive.shared_secret_len

    @property
    def private_len(self) -> int:
        return 0

    def _no_determinism(self) -> LocalProtocolError:
        return LocalProtocolError(
            f"{group_label(self.group)}: the backend draws its own randomness; "
            "key generation and encapsulation cannot be made deterministic"
        )

    def generate(self, *, private_bytes: bytes | None = None) -> KeyExchange:
        if private_bytes is not None:
            raise self._no_determinism()
        public_key, secret_key = self.primitive.keygen()
        return _PrimitiveKeyExchange(self.group, self.primitive, public_key, secret_key)

    def encapsulate(
        self, client_share: bytes, *, private_bytes: bytes | None = None
    ) -> tuple[bytes, bytes]:
        if private_bytes is not None:
            raise self._no_determinism()
        if len(client_share) != self.primitive.public_key_len:
            raise _bad_share(self.group, "public key has the wrong length")
        try:
            return self.primitive.encaps(client_share)
        except ValueError:
            raise _bad_share(self.group, "public key rejected") from None


# --- what the algorithm table says about a group -------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """What the algorithm table says about one key exchange group.

    ``level`` is the security level in bits: the classical strength for ECDH (x25519 and
    P-256 128, P-384 192), the NIST category as AES key bits for post-quantum KEMs (category 1
    128, 3 192, 5 256), and for a hybrid the stronger component's (breaking the hybrid means
    breaking both). ``code`` is ``None`` for a KEM that cannot be negotiated (``limitation``
    says why).
    """

    name: str
    code: int | None
    level: int
    post_quantum: bool
    hybrid: bool
    standard: bool
    client_share_len: int
    server_share_len: int
    shared_secret_len: int
    requires: str | None = None
    limitation: str | None = None
    reference: str = ""

    @property
    def negotiable(self) -> bool:
        return self.code is not None and self.limitation is None

    @property
    def available(self) -> bool:
        """Implemented here and now (its optional package, if any, is installed)."""
        return self.requires is None or pqclean.module_available(self.requires)
