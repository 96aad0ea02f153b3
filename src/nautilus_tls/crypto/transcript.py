"""The handshake transcript hash (RFC 8446 §4.4.1).

One running hash object; :meth:`Transcript.digest` hashes a copy, so the transcript is never
re-hashed from the start. Messages are whole handshake messages including the 4-byte header
(type, uint24 length), without record headers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from nautilus_tls.errors import LocalProtocolError
from nautilus_tls.wire.enums import HandshakeType

__all__ = ["Transcript", "message_hash"]

_HASH_NAMES = frozenset({"sha256", "sha384"})

Buffer = bytes | bytearray | memoryview


def _check_hash(hash_name: str) -> None:
    if hash_name not in _HASH_NAMES:
        raise LocalProtocolError(f"unsupported transcript hash {hash_name!r}")


def message_hash(hash_name: str, client_hello_1_hash: bytes) -> bytes:
    """The synthetic ``message_hash`` handshake message that replaces ClientHello1 after a
    HelloRetryRequest: ``0xfe 00 00 Hash.length || Hash(ClientHello1)`` (RFC 8446 §4.4.1).

    A server that keeps no state across HRR rebuilds it from the hash carried in its cookie.
    """
    _check_hash(hash_name)
    if len(client_hello_1_hash) != hashlib.new(hash_name).digest_size:
        raise LocalProtocolError("message_hash: ClientHello1 hash has the wrong length")
    header = bytes((HandshakeType.message_hash, 0, 0, len(client_hello_1_hash)))
    return header + client_hello_1_hash


class Transcript:
    """Transcript-Hash over the handshake messages added so far."""

    __slots__ = ("_count", "_hash", "hash_name")

    def __init__(self, hash_name: str) -> None:
        _check_hash(hash_name)
        self.hash_name = hash_name
        self._hash = hashlib.new(hash_name)
        self._count = 0

    @classmethod
    def from_messages(cls, hash_name: str, messages: Iterable[Buffer]) -> Transcript:
        """A transcript over messages buffered before the hash was known (the suite is chosen
        by the ServerHello, after the ClientHello was sent)."""
        transcript = cls(hash_name)
        for message in messages:
            transcript.update(message)
        return transcript

    def __repr__(self) -> str:
        return f"<Transcript {self.hash_name} messages={self._count}>"

    @property
    def hash_len(self) -> int:
        return self._hash.digest_size

    @property
    def message_count(self) -> int:
        """How many messages were added (``message_hash`` counts as one)."""
        return self._count

    def update(self, handshake_message: Buffer) -> None:
        """Add one whole handshake message (with its 4-byte header)."""
        self._hash.update(handshake_message)
        self._count += 1

    def digest(self) -> bytes:
        """Transcript-Hash of the messages so far (the running hash is not finalized)."""
        return self._hash.copy().digest()

    def hash_of(self, extra: Buffer) -> bytes:
        """Transcript-Hash of the messages so far followed by ``extra``, without adding it
        (PSK binders hash the partial ClientHello, RFC 8446 §4.2.11.2)."""
        h = self._hash.copy()
        h.update(extra)
        return h.digest()

    def copy(self) -> Transcript:
        """An independent transcript with the same contents."""
        other = Transcript.__new__(Transcript)
        other.hash_name = self.hash_name
        other._hash = self._hash.copy()
        other._count = self._count
        return other

    def rewrite_for_hello_retry(self) -> None:
        """Replace ClientHello1 by ``message_hash(ClientHello1)`` (RFC 8446 §4.4.1).

        Call it after adding ClientHello1 and before adding the HelloRetryRequest.
        """
        if self._count != 1:
            raise LocalProtocolError(
                "rewrite_for_hello_retry needs a transcript holding exactly ClientHello1"
            )
        synthetic = message_hash(self.hash_name, self._hash.digest())
        self._hash = hashlib.new(self.hash_name)
        self._count = 0
        self.update(synthetic)
