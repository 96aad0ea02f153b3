"""The client's side of resumption: tickets received, kept per server, each used once.

RFC 8446 Appendix C.4: a client should not reuse a ticket (reuse lets observers link its
connections), so :meth:`ClientSessionStore.take` removes the ticket it returns. Tickets are
kept under a :func:`session_key` (server name, port, ALPN offer) and at most seven days,
whatever lifetime the server announced (§4.6.1).

A ticket records how the server was judged when it was issued: ``verified`` (False for a
connection made with verification off) and ``trust_fingerprint`` (the verifying config's
``server_trust_fingerprint()``). A verifying client resumes only tickets verified under the
same trust, so a ticket never widens trust. Tickets from older files have neither and count
as unverified.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, quote_from_bytes

from nautilus_tls import safe_json
from nautilus_tls.errors import ConfigError
from nautilus_tls.session._util import (
    MAX_TICKET_LIFETIME,
    UINT32_MAX,
    check_finite,
    check_uint,
    secrets_equal,
)

__all__ = [
    "ClientSessionStore",
    "ClientTicket",
    "FileSessionStore",
    "MemorySessionStore",
    "session_key",
]

_MAX_CERT = (1 << 24) - 1
_FINGERPRINT_LEN = 32


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ClientTicket:
    """A NewSessionTicket as the client keeps it, with the PSK already derived.

    ``psk`` never appears in ``repr`` (nor does the ticket, which is long and opaque);
    equality compares the PSK in constant time. ``server_chain`` (optional, DER) is the
    server's certificate chain from the original handshake, for applications that inspect
    the peer certificate of a resumed connection. ``verified`` and ``trust_fingerprint``
    record how that chain was judged (module docstring); a verified ticket has a 32-byte
    fingerprint, an unverified one none.
    """

    ticket: bytes = field(repr=False)
    psk: bytes = field(repr=False)
    suite: int
    lifetime: int
    age_add: int
    received_at: float
    max_early_data: int
    server_name: str | None
    alpn: bytes | None
    server_chain: tuple[bytes, ...] = field(default=(), repr=False)
    verified: bool = False
    trust_fingerprint: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.ticket, bytes) or not 1 <= len(self.ticket) <= 0xFFFF:
            raise ValueError("ticket must be 1..65535 bytes")
        if not isinstance(self.psk, bytes) or not 1 <= len(self.psk) <= 255:
            raise ValueError("psk must be 1..255 bytes")
        check_uint("suite", self.suite, 0xFFFF)
        check_uint("lifetime", self.lifetime, UINT32_MAX)
        check_uint("age_add", self.age_add, UINT32_MAX)
        check_finite("received_at", self.received_at)
        check_uint("max_early_data", self.max_early_data, UINT32_MAX)
        if self.server_name is not None and not isinstance(self.server_name, str):
            raise ValueError("server_name must be None or a string")
        if self.alpn is not None and (
            not isinstance(self.alpn, bytes) or not 1 <= len(self.alpn) <= 255
        ):
            raise ValueError("alpn must be None or 1..255 bytes")
        chain = tuple(self.server_chain)
        if any(not isinstance(c, bytes) or not 1 <= len(c) <= _MAX_CERT for c in chain):
            raise ValueError("each server_chain certificate must be 1..2^24-1 bytes")
        object.__setattr__(self, "server_chain", chain)
        if not isinstance(self.verified, bool):
            raise ValueError("verified must be a bool")
        wanted = _FINGERPRINT_LEN if self.verified else 0
        if not isinstance(self.trust_fingerprint, bytes) or len(self.trust_fingerprint) != wanted:
            raise ValueError("trust_fingerprint must be 32 bytes when verified, else empty")

    def _public(self) -> tuple[object, ...]:
        return (
            self.ticket,
            self.suite,
            self.lifetime,
            self.age_add,
            self.received_at,
            self.max_early_data,
            self.server_name,
            self.alpn,
            self.server_chain,
            self.verified,
            self.trust_fingerprint,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientTicket):
            return NotImplemented
        same_psk = secrets_equal(self.psk, other.psk)
        return same_psk and self._public() == other._public()

    def __hash__(self) -> int:
        return hash(self._public())

    @property
    def expires_at(self) -> float:
        """``received_at`` plus the lifetime, capped at seven days (RFC 8446 §4.6.1)."""
        return self.received_at + min(self.lifetime, MAX_TICKET_LIFETIME)

    def is_usable(self, now: float) -> bool:
        """Within its lifetime (and seven days) at ``now``. A clock that stepped back
        (``now < received_at``) counts as age zero."""
        # expires_at inlined: stores check every ticket of a server on each put and take.
        return now < self.received_at + min(self.lifetime, MAX_TICKET_LIFETIME)

    def obfuscated_age(self, now: float) -> int:
        """``obfuscated_ticket_age`` for the ClientHello (RFC 8446 §4.2.11.1): the age in
        milliseconds plus ``age_add``, modulo 2^32 (a negative age counts as zero)."""
        age_ms = math.floor(max(0.0, now - self.received_at) * 1000)
        return (age_ms + self.age_add) & UINT32_MAX

    # -- JSON (FileSessionStore) --------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict. It contains the PSK (hex): protect it like a private key."""
        return {
            "ticket": self.ticket.hex(),
            "psk": self.psk.hex(),
            "suite": self.suite,
            "lifetime": self.lifetime,
            "age_add": self.age_add,
            "received_at": self.received_at,
            "max_early_data": self.max_early_data,
            "server_name": self.server_name,
            "alpn": None if self.alpn is None else self.alpn.hex(),
            "server_chain": [c.hex() for c in self.server_chain],
            "verified": self.verified,
            "trust_fingerprint": self.trust_fingerprint.hex(),
        }

    @classmethod
    def from_json(cls, obj: object) -> ClientTicket:
        """Inverse of :meth:`to_json`; ``ValueError`` (never naming a secret) if malformed.
        An entry without ``verified`` (an older file) loads as an unverified ticket."""
        if not isinstance(obj, dict):
            raise ValueError("ticket entry is not an object")
        try:
            alpn = obj.get("alpn")
            chain = obj.get("server_chain", [])
            if not isinstance(chain, list):
                raise ValueError("server_chain is not a list")
            received_at = obj["received_at"]
            if isinstance(received_at, bool) or not isinstance(received_at, int | float):
                raise ValueError("received_at is not a number")
            return cls(
                ticket=_unhex(obj["ticket"]),
                psk=_unhex(obj["psk"]),
                suite=obj["suite"],
                lifetime=obj["lifetime"],
                age_add=obj["age_add"],
                received_at=float(received_at),
                max_early_data=obj["max_early_data"],
                server_name=obj.get("server_name"),
                alpn=None if alpn is None else _unhex(alpn),
                server_chain=tuple(_unhex(c) for c in chain),
                verified=obj.get("verified", False),
                trust_fingerprint=_unhex(obj.get("trust_fingerprint", "")),
            )
        except KeyError as exc:
            raise ValueError(f"ticket entry lacks {exc.args[0]!r}") from None
        except TypeError:
            raise ValueError("ticket entry has a field of the wrong type") from None


def _unhex(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError("bad hex string") from None


def session_key(
    server_name: str | None, port: int | None = None, alpn: Iterable[bytes] = ()
) -> str:
    """The store key for tickets usable with one server: ``host[:port][#alpn,...]``.

    The host is lower-cased without a trailing dot, percent-encoded where needed and
    bracketed when it contains ``:`` (IPv6); ALPN names are percent-encoded, so distinct
    inputs give distinct keys. ``None`` (no SNI) gives an empty host.
    """
    host = "" if server_name is None else server_name.rstrip(".").lower()
    host = quote(host, safe=":-._~")
    if ":" in host:
        host = f"[{host}]"
    key = host if port is None else f"{host}:{port}"
    protocols = tuple(alpn)
    if protocols:
        key += "#" + ",".join(quote_from_bytes(p, safe="/") for p in protocols)
    return key


class ClientSessionStore(Protocol):
    """Where a client keeps the tickets servers sent it, by :func:`session_key` (server name,
    port, ALPN): in memory, or in a file shared by runs of a program."""

    def put(self, key: str, ticket: ClientTicket) -> None:
        """Keep ``ticket`` for ``key``."""
        ...

    def take(self, key: str, now: float) -> ClientTicket | None:
        """The newest ticket for ``key`` usable at ``now``, removed (single use); expired
        tickets are dropped."""
        ...


# The shared logic of the memory and file stores, over an ordered mapping (least recently
# used key first) of key -> tickets (oldest first).


def _put(
    table: OrderedDict[str, list[ClientTicket]],
    key: str,
    ticket: ClientTicket,
    max_per_key: int,
    max_keys: int,
) -> None:
    tickets = [t for t in table.pop(key, []) if t.is_usable(ticket.received_at)]
    if ticket.is_usable(ticket.received_at):
        tickets.append(ticket)
        if len(tickets) > 1 and tickets[-2].received_at > ticket.received_at:
            tickets.sort(key=lambda t: t.received_at)  # stable: later put wins ties
    tickets = tickets[-max_per_key:]
    if tickets:
        table[key] = tickets
    while len(table) > max_keys:
        table.popitem(last=False)


def _take(table: OrderedDict[str, list[ClientTicket]], key: str, now: float) -> ClientTicket | None:
    tickets = table.pop(key, None)
    if tickets is None:
        return None
    usable = [t for t in tickets if t.is_usable(now)]
    if not usable:
        return None
    ticket = usable.pop()
    if usable:
        table[key] = usable
    return ticket


def _check_limits(max_per_key: int, max_keys: int) -> None:
    if max_per_key < 1 or max_keys < 1:
        raise ConfigError("max_per_key and max_keys must be at least 1")


class MemorySessionStore:
    """Tickets in memory: at most ``max_per_key`` per server (newest kept) and ``max_keys``
    servers (least recently used dropped). Thread-safe."""

    def __init__(self, max_per_key: int = 8, max_keys: int = 1000) -> None:
        _check_limits(max_per_key, max_keys)
        self._max_per_key = max_per_key
        self._max_keys = max_keys
        self._table: OrderedDict[str, list[ClientTicket]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemorySessionStore(keys={len(self._table)})"

    def __len__(self) -> int:
        """The number of tickets held."""
        with self._lock:
            return sum(len(v) for v in self._table.values())

    def put(self, key: str, ticket: ClientTicket) -> None:
        with self._lock:
            _put(self._table, key, ticket, self._max_per_key, self._max_keys)

    def take(self, key: str, now: float) -> ClientTicket | None:
        with self._lock:
            return _take(self._table, key, now)


_FILE_FORMAT = "nautilus-tls-sessions"
_FILE_VERSION = 2  # 2 added verified/trust_fingerprint to each ticket
_READABLE_VERSIONS = (1, 2)  # version 1 tickets load as unverified
DEFAULT_MAX_FILE_SIZE = 16 * 1024 * 1024


class FileSessionStore:
    """Tickets in a JSON file, for the CLI (``--sess-out`` / ``--sess-in``).

    **The file holds secrets**: each ticket's resumption PSK is stored in hex, and anyone who
    reads it can resume the sessions it holds (and decrypt their 0-RTT data). It is written
    with mode 0600 by atomic replacement (a temporary file in the same directory, fsync,
    ``os.replace``), so readers never see a half-written file. Within one process access is
    serialized; two processes writing the same file at once may lose a ticket (never corrupt
    the file). The same limits as :class:`MemorySessionStore` apply, and a file larger than
    ``max_file_size`` is refused. A missing file is an empty store; a file that is not a
    session file raises ``ConfigError``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_per_key: int = 8,
        max_keys: int = 1000,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    ) -> None:
        _check_limits(max_per_key, max_keys)
        self._path = Path(path)
        self._max_per_key = max_per_key
        self._max_keys = max_keys
        self._max_file_size = max_file_size
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileSessionStore({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    def put(self, key: str, ticket: ClientTicket) -> None:
        with self._lock:
            table = self._load()
            _put(table, key, ticket, self._max_per_key, self._max_keys)
            self._save(table)

    def take(self, key: str, now: float) -> ClientTicket | None:
        with self._lock:
            table = self._load()
            if key not in table:
                return None
            ticket = _take(table, key, now)
            self._save(table)
            return ticket

    def _load(self) -> OrderedDict[str, list[ClientTicket]]:
        table: OrderedDict[str, list[ClientTicket]] = OrderedDict()
        try:
            with open(self._path, "rb") as f:
                if os.fstat(f.fileno()).st_size > self._max_file_size:
                    raise ConfigError(f"session file {self._path} is larger than allowed")
                raw = f.read(self._max_file_size + 1)
        except FileNotFoundError:
            return table
        except OSError as exc:
            raise ConfigError(f"cannot read session file {self._path}: {exc.strerror}") from None
        if len(raw) > self._max_file_size:
            raise ConfigError(f"session file {self._path} is larger than allowed")
        try:
            doc = safe_json.loads(raw)
            if not isinstance(doc, dict) or doc.get("format") != _FILE_FORMAT:
                raise ValueError("not a session file")
            version = doc.get("version")
            if isinstance(version, bool) or version not in _READABLE_VERSIONS:
                raise ValueError("unknown session file version")
            sessions = doc.get("sessions")
            if not isinstance(sessions, dict):
                raise ValueError("no sessions object")
            for key, entries in sessions.items():
                if not isinstance(entries, list):
                    raise ValueError("sessions entry is not a list")
                tickets = [ClientTicket.from_json(e) for e in entries]
                tickets.sort(key=lambda t: t.received_at)
                table[key] = tickets[-self._max_per_key :]
        except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
            # Our own messages never contain field values; the decoders' might, so they are
            # replaced by a fixed text.
            if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError | RecursionError):
                reason = "not valid JSON"
            else:
                reason = str(exc)
            raise ConfigError(
                f"{self._path} is not a Nautilus TLS session file ({reason})"
            ) from None
        while len(table) > self._max_keys:
            table.popitem(last=False)
        return table

    def _save(self, table: OrderedDict[str, list[ClientTicket]]) -> None:
        doc = {
            "format": _FILE_FORMAT,
            "version": _FILE_VERSION,
            "sessions": {k: [t.to_json() for t in v] for k, v in table.items()},
        }
        data = json.dumps(doc, indent=1).encode("utf-8")
        try:
            # mkstemp creates the file with mode 0600 (owner read/write only).
            fd, tmp = tempfile.mkstemp(
                dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise ConfigError(f"cannot write session file {self._path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                if hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), 0o600)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise ConfigError(
                    f"cannot write session file {self._path}: {exc.strerror}"
                ) from None
            raise
