"""What a server keeps to resume a session (RFC 8446 §4.6.1), and its binary encoding.

A :class:`ResumptionState` travels inside an encrypted ticket (stateless tickets) or sits in
the server's cache (stateful tickets). The encoding is compact, versioned and strict: every
field has a fixed range, flags are exactly 0 or 1 and nothing may follow the last field, so
``encode(decode(b)) == b`` for every ``b`` that decodes::

    uint8   version = 2
    uint16  suite
    opaque  psk<1..255>
    uint8   has_alpn;         opaque alpn<1..255>             (when has_alpn == 1)
    uint8   has_server_name;  opaque server_name<1..2^16-1>   (UTF-8, when == 1)
    opaque  client_chain<0..2^24-1>  = opaque cert<1..2^24-1>*  (DER)
    float64 created_at       (IEEE 754, big-endian; finite)
    uint32  lifetime         (seconds, at most 604800)
    uint32  age_add
    uint32  max_early_data
    opaque  client_auth_binding<0..255>  (ServerConfig.client_auth_binding())

Version 2 added ``client_auth_binding``; a version-1 state does not decode, so its ticket
falls back to a full handshake.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from nautilus_tls.errors import DecodeError
from nautilus_tls.session._util import (
    MAX_TICKET_LIFETIME,
    UINT32_MAX,
    check_finite,
    check_uint,
    secrets_equal,
)
from nautilus_tls.wire.buffer import Reader

__all__ = ["STATE_VERSION", "ResumptionState"]

STATE_VERSION = 2
_DOUBLE = struct.Struct(">d")
_HEAD = struct.Struct(">BHB")  # version, suite, psk length
_TAIL = struct.Struct(">dIIIB")  # created_at .. max_early_data, client_auth_binding length
_MAX_CERT = (1 << 24) - 1


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ResumptionState:
    """Everything a server needs to resume a session.

    ``psk`` is the per-ticket resumption PSK (``resumption_psk(rms, ticket_nonce)``, derived
    by the caller); it never appears in ``repr``. ``created_at`` is when the server issued
    the ticket (seconds, from the caller's clock); the session is good until
    ``created_at + lifetime``. ``client_auth_binding`` is how the issuing server
    authenticated clients (its ``client_auth`` mode and client trust store, hashed); a
    server resumes only tickets bound like itself. Equality compares the PSK in constant
    time.
    """

    psk: bytes = field(repr=False)
    suite: int
    alpn: bytes | None
    server_name: str | None
    client_chain: tuple[bytes, ...] = ()
    created_at: float
    lifetime: int
    age_add: int
    max_early_data: int = 0
    client_auth_binding: bytes = b""

    def __post_init__(self) -> None:
        # Messages name the field, never its value.
        if not isinstance(self.psk, bytes) or not 1 <= len(self.psk) <= 255:
            raise ValueError("psk must be 1..255 bytes")
        check_uint("suite", self.suite, 0xFFFF)
        if self.alpn is not None and (
            not isinstance(self.alpn, bytes) or not 1 <= len(self.alpn) <= 255
        ):
            raise ValueError("alpn must be None or 1..255 bytes")
        if self.server_name is not None:
            if not isinstance(self.server_name, str):
                raise ValueError("server_name must be None or a string")
            try:
                n = len(self.server_name.encode("utf-8"))
            except UnicodeEncodeError:
                raise ValueError("server_name is not encodable as UTF-8") from None
            if not 1 <= n <= 0xFFFF:
                raise ValueError("server_name must be 1..65535 bytes in UTF-8")
        chain = tuple(self.client_chain)
        total = 0
        for cert in chain:
            if not isinstance(cert, bytes) or not 1 <= len(cert) <= _MAX_CERT:
                raise ValueError("each client_chain certificate must be 1..2^24-1 bytes")
            total += 3 + len(cert)
        if total > _MAX_CERT:
            raise ValueError("client_chain too long")
        object.__setattr__(self, "client_chain", chain)
        check_finite("created_at", self.created_at)
        check_uint("lifetime", self.lifetime, MAX_TICKET_LIFETIME)
        check_uint("age_add", self.age_add, UINT32_MAX)
        check_uint("max_early_data", self.max_early_data, UINT32_MAX)
        if not isinstance(self.client_auth_binding, bytes) or len(self.client_auth_binding) > 255:
            raise ValueError("client_auth_binding must be 0..255 bytes")

    # -- equality without timing leaks on the PSK ------------------------------------------

    def _public(self) -> tuple[object, ...]:
        return (
            self.suite,
            self.alpn,
            self.server_name,
            self.client_chain,
            self.created_at,
            self.lifetime,
            self.age_add,
            self.max_early_data,
            self.client_auth_binding,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResumptionState):
            return NotImplemented
        same_psk = secrets_equal(self.psk, other.psk)
        return same_psk and self._public() == other._public()

    def __hash__(self) -> int:
        return hash(self._public())

    # -- time ---------------------------------------------------------------------------------

    @property
    def expires_at(self) -> float:
        """When the ticket stops being accepted (``created_at + lifetime``)."""
        return self.created_at + self.lifetime

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    def client_ticket_age(self, obfuscated_ticket_age: int) -> float:
        """The age in seconds the client claims (RFC 8446 §4.2.11.1: subtract age_add mod 2^32)."""
        return ((obfuscated_ticket_age - self.age_add) & UINT32_MAX) / 1000.0

    def ticket_age_skew(self, obfuscated_ticket_age: int, now: float) -> float:
        """Client's claimed ticket age minus the age we measured, in seconds (RFC 8446 §8.3).

        A server accepting 0-RTT checks ``abs(skew) <= tolerance``.
        """
        return self.client_ticket_age(obfuscated_ticket_age) - (now - self.created_at)

    # -- encoding -----------------------------------------------------------------------------

    def encode(self) -> bytes:
        # __post_init__ checked every range this layout needs (the dataclass is frozen), so the
        # fields are packed directly: the server encodes one state per ticket it issues.
        parts = [_HEAD.pack(STATE_VERSION, self.suite, len(self.psk)), self.psk]
        alpn = self.alpn
        parts.append(b"\x00" if alpn is None else b"\x01" + bytes((len(alpn),)) + alpn)
        if self.server_name is None:
            parts.append(b"\x00")
        else:
            name = self.server_name.encode("utf-8")
            parts += (b"\x01", len(name).to_bytes(2, "big"), name)
        chain = self.client_chain
        parts.append((3 * len(chain) + sum(map(len, chain))).to_bytes(3, "big"))
        for cert in chain:
            parts += (len(cert).to_bytes(3, "big"), cert)
        binding = self.client_auth_binding
        parts.append(
            _TAIL.pack(
                self.created_at, self.lifetime, self.age_add, self.max_early_data, len(binding)
            )
        )
        parts.append(binding)
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ResumptionState:
        """Parse :meth:`encode` output; :class:`DecodeError` on anything else."""
        r = Reader(data)
        version = r.uint8()
        if version != STATE_VERSION:
            raise DecodeError(f"unknown resumption state version {version}")
        suite = r.uint16()
        psk = r.vector(1, min_len=1)
        alpn = _read_optional(r, 1, 255)
        name_bytes = _read_optional(r, 2, 0xFFFF)
        chain_reader = r.sub(3)
        chain: list[bytes] = []
        while not chain_reader.at_end():
            chain.append(chain_reader.vector(3, min_len=1))
        (created_at,) = _DOUBLE.unpack(r.raw(8))
        lifetime = r.uint32()
        age_add = r.uint32()
        max_early_data = r.uint32()
        client_auth_binding = r.vector(1)
        r.expect_end("resumption state")
        try:
            server_name = None if name_bytes is None else name_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("server_name in resumption state is not UTF-8") from None
        try:
            return cls(
                psk=psk,
                suite=suite,
                alpn=alpn,
                server_name=server_name,
                client_chain=tuple(chain),
                created_at=created_at,
                lifetime=lifetime,
                age_add=age_add,
                max_early_data=max_early_data,
                client_auth_binding=client_auth_binding,
            )
        except ValueError as exc:
            # The ValueError messages name fields only, never values.
            raise DecodeError(f"bad resumption state: {exc}") from None


def _read_optional(r: Reader, length_size: int, max_len: int) -> bytes | None:
    flag = r.uint8()
    if flag == 0:
        return None
    if flag != 1:
        raise DecodeError("bad presence flag in resumption state")
    return r.vector(length_size, min_len=1, max_len=max_len)
