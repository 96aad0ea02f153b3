"""What the client and server handshakes share: encryption levels, the actions a handshake
asks its transport to carry out, injected time and randomness, and the key log.

The handshake never touches records. Its input is ``(level, bytes)``
(:meth:`~nautilus_tls.handshake.engine.ClientHandshake.receive`): handshake bytes as they
arrived at one encryption level (:class:`Epoch`, named after RFC 9001 §4), reassembled per
level and checked to arrive at the level the handshake reads at. Its output is actions:

- :class:`SendHandshake` — bytes to send at a level;
- :class:`InstallSecret` — a secret per level and direction (QUIC's set-read/write-secret);
- :class:`CompleteHandshake`;
- after the handshake, :class:`TicketReceived` (the handshake processed a NewSessionTicket)
  and :class:`PeerKeyUpdate` (TLS over TCP only; QUIC refuses KeyUpdate, RFC 9001 §6);
- middlebox compatibility (RFC 8446 §D.4) is the TCP transport's: the handshake says only
  whether the connection is in that mode (:attr:`HandshakeContext.middlebox_compatibility`),
  and connection.py places the ChangeCipherSpec records;
- 0-RTT: :class:`SendEarlyData` (the bytes to send under the early key), and
  :class:`DropEarlyWriteKey`, :class:`ExpectEarlyData` (accepted, or rejected with a
  budget). How early data travels — records, which records to skip and the skip budget —
  is the TCP transport's policy; QUIC carries it in 0-RTT packets.

TLS over TCP (connection.py) maps levels to record epochs; QUIC maps them to packet number
spaces and CRYPTO frames (``quic=True`` on the engine: no CCS, no compatibility-mode session
id, no EndOfEarlyData).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import Literal, TypeVar

from nautilus_tls.auth.raw_key import is_raw_public_key
from nautilus_tls.crypto.certnames import names_of
from nautilus_tls.crypto.keyschedule import finished_verify_data

# Clock and Entropy live with the provider (which supplies the defaults); re-exported here.
from nautilus_tls.crypto.provider import Clock as Clock
from nautilus_tls.crypto.provider import CryptoProvider
from nautilus_tls.crypto.provider import Entropy as Entropy
from nautilus_tls.crypto.suites import SuiteParams
from nautilus_tls.crypto.transcript import Transcript
from nautilus_tls.crypto.x509 import subject_of
from nautilus_tls.errors import (
    AlertDescription,
    DecodeError,
    LocalProtocolError,
    PeerMisbehaved,
    RemoteProtocolError,
)
from nautilus_tls.handshake.hooks import ExtensionHooks
from nautilus_tls.proofs import FinishedVerified, finished_verified
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import CipherSuite, HandshakeType, display_name
from nautilus_tls.wire.messages import Finished, HandshakeMessage, decode_handshake

logger = logging.getLogger("nautilus_tls.keylog")


class Epoch(IntEnum):
    """Encryption levels, named as in RFC 9001 §4 so QUIC can map them one to one."""

    INITIAL = 0
    EARLY = 1
    HANDSHAKE = 2
    APPLICATION = 3


@dataclass(frozen=True, slots=True)
class SendHandshake:
    epoch: Epoch
    data: bytes


@dataclass(frozen=True, slots=True)
class InstallSecret:
    direction: Literal["read", "write"]
    epoch: Epoch
    params: SuiteParams
    secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class CompleteHandshake:
    """The handshake is done: the transport reports ``info`` to the application (as the
    :class:`~nautilus_tls.events.HandshakeCompleted` event over TCP). Actions are imperative
    (send, install, complete); events are past tense."""

    info: SessionInfo


@dataclass(frozen=True, slots=True)
class SendEarlyData:
    """Client: 0-RTT application data to send now, under the early traffic key.

    ``data`` is what fits the ticket's max_early_data; ``rest`` is the remainder of what the
    application asked to send early. The transport sends ``rest`` as ordinary data right
    after the handshake if the server accepts the 0-RTT (so no byte is silently lost); if it
    rejects it, the application sends everything again (RFC 8446 §4.2.10)."""

    data: bytes = field(repr=False)
    rest: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class DropEarlyWriteKey:
    """Client: stop writing under the early traffic key (after a HelloRetryRequest the 0-RTT
    attempt is over, RFC 8446 §4.1.4); until the next write key, records go in plaintext."""


@dataclass(frozen=True, slots=True)
class ExpectEarlyData:
    """Server: what to do with the client's 0-RTT records (RFC 8446 §4.2.10).

    ``accept``: they arrive under the early key and are delivered as early (replayable) data,
    at most ``max_bytes``. Otherwise they are skipped: records that do not decrypt under the
    handshake key (or, after a HelloRetryRequest, any application_data record before the
    second ClientHello) are dropped, up to ``max_bytes`` in total.
    """

    accept: bool
    max_bytes: int


@dataclass(frozen=True, slots=True)
class PeerKeyUpdate:
    """The peer sent KeyUpdate (RFC 8446 §4.6.3), at a message boundary. The transport
    moves its read key on (and, when ``update_requested``, answers with its own)."""

    update_requested: bool


@dataclass(frozen=True, slots=True)
class TicketReceived:
    """Client: a NewSessionTicket was processed (and stored, when a store is configured)."""

    lifetime: int
    max_early_data: int


Action = (
    SendHandshake
    | InstallSecret
    | CompleteHandshake
    | SendEarlyData
    | DropEarlyWriteKey
    | ExpectEarlyData
    | PeerKeyUpdate
    | TicketReceived
)


class KeyLog:
    """Writes NSS key log lines (the SSLKEYLOGFILE format) to a file and/or a callback."""

    __slots__ = ("_callback", "_path")

    def __init__(self, path: str | None, callback: Callable[[str], None] | None) -> None:
        self._path = path
        self._callback = callback

    @property
    def enabled(self) -> bool:
        return self._path is not None or self._callback is not None

    def log(self, label: str, client_random: bytes, secret: bytes) -> None:
        if not self.enabled:
            return
        line = f"{label} {client_random.hex()} {secret.hex()}"
        if self._callback is not None:
            self._callback(line)
        if self._path is not None:
            _warn_once(self._path)
            # Opened per line so that several connections can share one file; created
            # owner-only (0600): the lines decrypt every logged connection.
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with open(fd, "a", encoding="ascii") as f:
                f.write(line + "\n")


_warned_keylog_paths: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(path: str) -> None:
    """One warning per key log file per process: anyone who can read it decrypts the traffic."""
    with _warned_lock:
        if path in _warned_keylog_paths:
            return
        _warned_keylog_paths.add(path)
    logger.warning(
        "writing TLS secrets to the key log %s: it decrypts the logged connections", path
    )


def session_info(
    ctx: HandshakeContext,
    *,
    provider: CryptoProvider,
    suite: int,
    group: int | None,
    scheme: int | None,
    alpn: bytes | None,
    server_name: str | None,
    peer_chain: tuple[bytes, ...],
    client_scheme: int | None,
    resumed: bool,
    early_data: str,
    early_data_sent: int = 0,
    peer_identity: str | None = None,
    local_certificate: bytes | None = None,
) -> SessionInfo:
    """What the finished handshake settled, by the names users read (IANA, or the
    provider's name of a plugin algorithm). ``peer_identity``: what the peer's verifier
    accepted it as (a DID is reported as ``peer_did``)."""
    # RFC 7250: a raw public key has no subject or names.
    raw = bool(peer_chain) and is_raw_public_key(peer_chain[0])
    x509_chain = peer_chain if not raw else ()
    return SessionInfo(
        cipher_suite=display_name(CipherSuite, suite),
        group=provider.group_name(group) if group is not None else None,
        signature_scheme=provider.scheme_name(scheme) if scheme is not None else None,
        alpn=alpn.decode("ascii", "replace") if alpn else None,
        server_name=server_name,
        peer_certificates=peer_chain,
        local_certificate=local_certificate,
        peer_certificate_subject=subject_of(x509_chain[0]) if x509_chain else None,
        peer_certificate_names=names_of(x509_chain[0]) if x509_chain else (),
        certificate_type=("raw_public_key" if raw else "x509") if peer_chain else None,
        peer_did=peer_identity if peer_identity and peer_identity.startswith("did:") else None,
        client_certificate_scheme=provider.scheme_name(client_scheme) if client_scheme else None,
        hello_retry=ctx.hello_retry,
        resumed=resumed,
        early_data=early_data,
        early_data_sent=early_data_sent,
        peer_extensions=MappingProxyType(ctx.peer_extensions),
    )


M = TypeVar("M")


def expect_message(msg_type: int, body: bytes, cls: type[M], state: str) -> M:
    """``body`` decoded as ``cls``, the one message ``state`` accepts; anything else is
    unexpected_message (RFC 8446 §4: handshake messages come in a fixed order)."""
    if msg_type != getattr(cls, "msg_type", None):
        raise unexpected(msg_type, state)
    message = decode_handshake(msg_type, body)
    if not isinstance(message, cls):
        raise unexpected(msg_type, state)
    return message


@dataclass(slots=True, kw_only=True)
class HandshakeContext:
    """What every state of one handshake shares, client or server: injected time,
    randomness and key log, and the actions collected for the transport."""

    entropy: Entropy
    clock: Clock
    keylog: KeyLog
    actions: list[Action] = field(default_factory=list)
    client_random: bytes = b""
    # RFC 8446 §D.4: the client asked for middlebox compatibility (a non-empty legacy session
    # id); the TCP transport then sends the ChangeCipherSpec records. Never over QUIC.
    middlebox_compatibility: bool = False
    hello_retry: bool = False
    # QUIC carries the handshake (RFC 9001): no ChangeCipherSpec, no compatibility-mode
    # session id and no EndOfEarlyData (RFC 9001 §8.3, §8.4).
    quic: bool = False
    hooks: ExtensionHooks = field(default_factory=ExtensionHooks)
    # What the extension plug-ins' receive() returned for the peer's extensions, by code point.
    peer_extensions: dict[int, object] = field(default_factory=dict)
    # RFC 8446 §4.4.2: a Certificate's extensions answer the message that asked for it (the
    # server's the ClientHello, the client's the CertificateRequest): the code points the
    # peer's Certificate may carry, and those ours may.
    peer_certificate_may_carry: frozenset[int] = frozenset()
    our_certificate_may_carry: frozenset[int] = frozenset()
    # RFC 7250: what the server's and the client's Certificate hold (0 X.509, 2 raw public
    # key), as EncryptedExtensions settled it (handshake/certificate_types.py).
    server_certificate_type: int = 0
    client_certificate_type: int = 0

    def send(self, epoch: Epoch, message: HandshakeMessage, transcript: Transcript | None) -> bytes:
        """Queue ``message`` at ``epoch`` (and add it to ``transcript``); its encoding."""
        raw = message.encode()
        if transcript is not None:
            transcript.update(raw)
        actions = self.actions
        if epoch != Epoch.INITIAL and actions:
            last = actions[-1]
            if type(last) is SendHandshake and last.epoch == epoch:
                # RFC 8446 §5.1: handshake messages may share a record while the key stays.
                # A flight (EncryptedExtensions..Finished, or the tickets) becomes one record
                # instead of one per message: fewer seals here, fewer records for the peer to
                # deframe and open. The plaintext hellos (INITIAL) stay one per record.
                actions[-1] = SendHandshake(epoch, last.data + raw)
                return raw
        actions.append(SendHandshake(epoch, raw))
        return raw

    def install(
        self, direction: Literal["read", "write"], epoch: Epoch, params: SuiteParams, secret: bytes
    ) -> None:
        self.actions.append(InstallSecret(direction, epoch, params, secret))


def check_finished(
    fin: Finished, params: SuiteParams, base_key: bytes, transcript_hash: bytes, peer: str
) -> FinishedVerified:
    """The peer's Finished (RFC 8446 §4.4.4) against ``base_key`` and the transcript so far;
    the proof is what the traffic state requires."""
    # RFC 8446 §4.4.4, §6.2: verify_data is Hash.length bytes; any other length does not
    # decode (decode_error), it is not a wrong MAC.
    if len(fin.verify_data) != params.hash_len:
        raise DecodeError(
            f"{peer} Finished has {len(fin.verify_data)} bytes of verify_data, "
            f"not {params.hash_len}"
        )
    expected = finished_verify_data(params.hash_name, base_key, transcript_hash)
    # RFC 8446 §4.4.4: a wrong verify_data is decrypt_error.
    if not hmac.compare_digest(expected, fin.verify_data):
        raise PeerMisbehaved(
            f"{peer} Finished does not verify", alert=AlertDescription.decrypt_error
        )
    return finished_verified()


def unexpected(msg_type: int, state: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"unexpected {display_name(HandshakeType, msg_type)} message while {state}",
        alert=AlertDescription.unexpected_message,
    )


def internal(message: str) -> LocalProtocolError:
    return LocalProtocolError(message, alert=AlertDescription.internal_error)


# RFC 8446 §4.1.3: the last 8 bytes of ServerHello.random when a TLS 1.3 server negotiates
# an older version; a TLS 1.3 client must reject them.
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"
