"""The TLS 1.3 key schedule (RFC 8446 §7).

::

                 0
                 |
                 v
       PSK ->  HKDF-Extract = Early Secret        -> binder_key, c e traffic, e exp master
                 |
           Derive-Secret(., "derived", "")
                 v
    (EC)DHE -> HKDF-Extract = Handshake Secret    -> c hs traffic, s hs traffic
                 |
           Derive-Secret(., "derived", "")
                 v
       0 ->  HKDF-Extract = Master Secret         -> c ap traffic, s ap traffic,
                                                     exp master, res master

:class:`KeySchedule` is one object advanced stage by stage; asking for a secret of a stage it
has not reached (or has left) is a :class:`LocalProtocolError`. Secrets never appear in
``repr``/``str`` or in error messages.

For the hybrid groups the (EC)DHE input is the concatenated hybrid shared secret; for pure
ML-KEM it is the 32-byte ML-KEM shared secret (see ``kem.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from nautilus_tls.crypto.suites import SuiteParams, constant_time_equal
from nautilus_tls.errors import LocalProtocolError

__all__ = [
    "KeySchedule",
    "Stage",
    "constant_time_equal",
    "derive_secret",
    "empty_hash",
    "export_keying_material",
    "finished_key",
    "finished_verify_data",
    "hash_len",
    "hkdf_expand_label",
    "hkdf_extract",
    "hkdf_label",
    "next_traffic_secret",
    "resumption_psk",
    "traffic_key_iv",
]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}
_HASH_LEN: dict[str, int] = {"sha256": 32, "sha384": 48}
_EMPTY_HASH: dict[str, bytes] = {name: hashlib.new(name).digest() for name in _HASH_LEN}
_LABEL_PREFIX = b"tls13 "


# One instance per hash, reused: cryptography's hash algorithm objects are immutable
# descriptors (name, digest size) with no per-use state.
_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {name: cls() for name, cls in _HASHES.items()}

# The HkdfLabel bytes that depend only on (label, length): uint16 length || label<7..255>
# (with its "tls13 " prefix). Filled on first use; the labels are a small fixed set.
_LABEL_HEADS: dict[tuple[bytes, int], bytes] = {}
_LABEL_HEADS_MAX = 256  # callers may pass arbitrary exporter labels: keep the cache bounded
_EMPTY_CONTEXT = b"\x00"


def _algorithm(hash_name: str) -> hashes.HashAlgorithm:
    try:
        return _ALGORITHMS[hash_name]
    except KeyError:
        raise LocalProtocolError(f"unsupported key schedule hash {hash_name!r}") from None


def hash_len(hash_name: str) -> int:
    """Hash.length for ``hash_name`` (``"sha256"`` → 32, ``"sha384"`` → 48)."""
    try:
        return _HASH_LEN[hash_name]
    except KeyError:
        raise LocalProtocolError(f"unsupported key schedule hash {hash_name!r}") from None


def empty_hash(hash_name: str) -> bytes:
    """Transcript-Hash("") — the hash of the empty string."""
    hash_len(hash_name)
    return _EMPTY_HASH[hash_name]


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, IKM) (RFC 5869 §2.2); an empty salt means Hash.length zeros."""
    return HKDF.extract(_algorithm(hash_name), salt or None, ikm)


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel struct (RFC 8446 §7.1) for ``label`` without its ``"tls13 "`` prefix."""
    head = _LABEL_HEADS.get((label, length)) if type(label) is bytes else None
    if head is None:
        head = _label_head(label, context, length)
    elif len(context) > 255:
        raise LocalProtocolError("HKDF label context must be at most 255 bytes")
    if not context:
        return head + _EMPTY_CONTEXT
    return b"".join((head, bytes((len(context),)), context))


def _label_head(label: bytes, context: bytes, length: int) -> bytes:
    """``uint16 length || opaque label<7..255>`` of an HkdfLabel, checked (and cached)."""
    full_label = _LABEL_PREFIX + label
    # RFC 8446 §7.1: opaque label<7..255>; opaque context<0..255>; uint16 length.
    if not 7 <= len(full_label) <= 255:
        raise LocalProtocolError("HKDF label must be 1..249 bytes")
    if len(context) > 255:
        raise LocalProtocolError("HKDF label context must be at most 255 bytes")
    if not 0 < length <= 0xFFFF:
        raise LocalProtocolError("HKDF-Expand-Label length out of range")
    head = length.to_bytes(2, "big") + bytes((len(full_label),)) + full_label
    if type(label) is bytes and len(_LABEL_HEADS) < _LABEL_HEADS_MAX:
        _LABEL_HEADS[(label, length)] = head
    return head


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1).

    ``label`` is given without the ``"tls13 "`` prefix.
    """
    # The hot path (~20 calls per handshake and end): a cached head, a context of at most
    # Hash.length bytes and a length of at most Hash.length need none of the checks below, and
    # inlining hkdf_label and _algorithm halves the Python calls per derivation.
    head = _LABEL_HEADS.get((label, length)) if type(label) is bytes else None
    algorithm = _ALGORITHMS.get(hash_name)
    if head is None or algorithm is None or len(context) > 64 or length > 64:
        info = hkdf_label(label, context, length)
        algorithm = _algorithm(hash_name)
        if length > 255 * _HASH_LEN[hash_name]:
            raise LocalProtocolError("HKDF-Expand-Label length out of range")
    elif context:
        info = b"".join((head, bytes((len(context),)), context))
    else:
        info = head + _EMPTY_CONTEXT
    return HKDFExpand(algorithm, length, info).derive(secret)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages), given Transcript-Hash(Messages) (RFC 8446 §7.1)."""
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, hash_len(hash_name))


def traffic_key_iv(params: SuiteParams, secret: bytes) -> tuple[bytes, bytes]:
    """The write key and IV for a traffic secret (RFC 8446 §7.3)."""
    key = hkdf_expand_label(params.hash_name, secret, b"key", b"", params.key_len)
    iv = hkdf_expand_label(params.hash_name, secret, b"iv", b"", params.iv_len)
    return key, iv


def next_traffic_secret(hash_name: str, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 (RFC 8446 §7.2, KeyUpdate)."""
    return hkdf_expand_label(hash_name, secret, b"traffic upd", b"", hash_len(hash_name))


def finished_key(hash_name: str, base_key: bytes) -> bytes:
    """finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (RFC 8446 §4.4.4)."""
    return hkdf_expand_label(hash_name, base_key, b"finished", b"", hash_len(hash_name))


def finished_verify_data(hash_name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, transcript_hash) (RFC 8446 §4.4.4).

    Also the PSK binder value when ``base_key`` is a binder_key (RFC 8446 §4.2.11.2).
    Compare the result with :func:`constant_time_equal`.
    """
    return hmac.digest(finished_key(hash_name, base_key), transcript_hash, hash_name)


def resumption_psk(hash_name: str, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """The PSK of a NewSessionTicket (RFC 8446 §4.6.1)."""
    return hkdf_expand_label(
        hash_name, resumption_master_secret, b"resumption", ticket_nonce, hash_len(hash_name)
    )


def export_keying_material(
    hash_name: str, exporter_master: bytes, label: bytes, context: bytes | None, length: int
) -> bytes:
    """TLS-Exporter(label, context_value, key_length) (RFC 8446 §7.5).

    TLS 1.3 makes no difference between no context and an empty context.
    """
    secret = derive_secret(hash_name, exporter_master, label, empty_hash(hash_name))
    context_hash = hashlib.new(hash_name, context or b"").digest()
    return hkdf_expand_label(hash_name, secret, b"exporter", context_hash, length)


# hash name -> (Early Secret without a PSK, Derive-Secret(that, "derived", "")): both depend
# on the hash alone (RFC 8446 §7.1), so every full handshake would derive the same two values.
_NO_PSK: dict[str, tuple[bytes, bytes]] = {}


def _no_psk_secrets(hash_name: str) -> tuple[bytes, bytes]:
    secrets = _NO_PSK.get(hash_name)
    if secrets is None:
        zeros = bytes(hash_len(hash_name))
        early = hkdf_extract(hash_name, zeros, zeros)
        derived = derive_secret(hash_name, early, b"derived", _EMPTY_HASH[hash_name])
        secrets = _NO_PSK[hash_name] = (early, derived)
    return secrets


class Stage(Enum):
    """Where a :class:`KeySchedule` is: which Extract it last did."""

    EARLY = "early"
    HANDSHAKE = "handshake"
    MASTER = "master"


class KeySchedule:
    """The RFC 8446 §7.1 key schedule for one connection, advanced stage by stage.

    ``th`` arguments are transcript hashes (``Transcript.digest()``) at the point the RFC
    names: ClientHello for early secrets, ClientHello..ServerHello for handshake traffic,
    ClientHello..server Finished for application traffic and exporter, ClientHello..client
    Finished for resumption.
    """

    __slots__ = ("_current", "_hash_len", "_no_psk", "_stage", "early_secret", "hash_name")

    def __init__(self, hash_name: str, psk: bytes | None = None) -> None:
        self.hash_name = hash_name
        self._hash_len = hash_len(hash_name)
        self._no_psk = not psk
        if psk:
            self.early_secret = hkdf_extract(hash_name, bytes(self._hash_len), psk)
        else:
            # Without a PSK the Early Secret is HKDF-Extract(0, 0): a constant per hash.
            self.early_secret = _no_psk_secrets(hash_name)[0]
        self._current = self.early_secret
        self._stage = Stage.EARLY

    def __repr__(self) -> str:
        return f"<KeySchedule {self.hash_name} stage={self._stage.value}>"

    # No `__str__ = __repr__` alias: str() falls back to __repr__ anyway, and mypyc cannot
    # compile a class attribute bound to a method (KeyError '__repr__' when the class is used).

    @property
    def stage(self) -> Stage:
        return self._stage

    def _require(self, stage: Stage, what: str) -> bytes:
        if self._stage is not stage:
            raise LocalProtocolError(
                f"{what} needs the {stage.value} secret; the key schedule is at {self._stage.value}"
            )
        return self._current

    def _derive(self, secret: bytes, label: bytes, th: bytes) -> bytes:
        return hkdf_expand_label(self.hash_name, secret, label, th, self._hash_len)

    def _derived_salt(self) -> bytes:
        return self._derive(self._current, b"derived", _EMPTY_HASH[self.hash_name])

    # -- early secret -------------------------------------------------------------------
    def binder_key(self, external: bool) -> bytes:
        """binder_key: Derive-Secret(Early Secret, "ext binder" | "res binder", "")."""
        secret = self._require(Stage.EARLY, "binder_key")
        label = b"ext binder" if external else b"res binder"
        return self._derive(secret, label, _EMPTY_HASH[self.hash_name])

    def client_early_traffic_secret(self, th: bytes) -> bytes:
        """client_early_traffic_secret: "c e traffic" over ClientHello."""
        return self._derive(self._require(Stage.EARLY, "c e traffic"), b"c e traffic", th)

    def early_exporter_master_secret(self, th: bytes) -> bytes:
        """early_exporter_master_secret: "e exp master" over ClientHello."""
        return self._derive(self._require(Stage.EARLY, "e exp master"), b"e exp master", th)

    # -- handshake secret ---------------------------------------------------------------
    def enter_handshake(self, shared_secret: bytes | None) -> None:
        """Handshake Secret = HKDF-Extract(Derive-Secret(early, "derived", ""), (EC)DHE).

        ``shared_secret`` is ``None`` (Hash.length zeros) only for psk_ke resumption.
        """
        self._require(Stage.EARLY, "enter_handshake")
        ikm = shared_secret if shared_secret is not None else bytes(self._hash_len)
        salt = _no_psk_secrets(self.hash_name)[1] if self._no_psk else self._derived_salt()
        self._current = hkdf_extract(self.hash_name, salt, ikm)
        self._stage = Stage.HANDSHAKE

    def handshake_traffic_secrets(self, th: bytes) -> tuple[bytes, bytes]:
        """(client, server) handshake traffic secrets over ClientHello..ServerHello."""
        secret = self._require(Stage.HANDSHAKE, "handshake traffic secrets")
        return self._derive(secret, b"c hs traffic", th), self._derive(secret, b"s hs traffic", th)

    # -- master secret ------------------------------------------------------------------
    def enter_master(self) -> None:
        """Master Secret = HKDF-Extract(Derive-Secret(handshake, "derived", ""), 0)."""
        self._require(Stage.HANDSHAKE, "enter_master")
        zeros = bytes(self._hash_len)
        self._current = hkdf_extract(self.hash_name, self._derived_salt(), zeros)
        self._stage = Stage.MASTER

    def application_traffic_secrets(self, th: bytes) -> tuple[bytes, bytes]:
        """(client, server) application_traffic_secret_0 over ClientHello..server Finished."""
        secret = self._require(Stage.MASTER, "application traffic secrets")
        return self._derive(secret, b"c ap traffic", th), self._derive(secret, b"s ap traffic", th)

    def exporter_master_secret(self, th: bytes) -> bytes:
        """exporter_master_secret over ClientHello..server Finished."""
        return self._derive(self._require(Stage.MASTER, "exp master"), b"exp master", th)

    def resumption_master_secret(self, th: bytes) -> bytes:
        """resumption_master_secret over ClientHello..client Finished."""
        return self._derive(self._require(Stage.MASTER, "res master"), b"res master", th)
