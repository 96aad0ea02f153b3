"""Reading and writing the TLS presentation language (RFC 8446 §3).

``Reader`` walks a memoryview without copying until a value is taken out; every read that
would run past the end raises :class:`~nautilus_tls.errors.DecodeError`. ``Writer`` builds
bytes and fills in length prefixes with ``with w.prefixed(2): ...``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

from nautilus_tls.errors import DecodeError

_UINT16_PAIR = struct.Struct(">HH").unpack_from


class Reader:
    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._end = len(self._data)

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def expect_end(self, what: str = "message") -> None:
        if self._pos != self._end:
            raise DecodeError(f"{self._end - self._pos} trailing bytes after {what}")

    def _take(self, n: int) -> memoryview:
        pos = self._pos
        if n < 0 or pos + n > self._end:
            raise DecodeError("message truncated")
        self._pos = pos + n
        return self._data[pos : pos + n]

    def uint8(self) -> int:
        if self._pos >= self._end:
            raise DecodeError("message truncated")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def uint16(self) -> int:
        pos = self._pos
        if pos + 2 > self._end:
            raise DecodeError("message truncated")
        self._pos = pos + 2
        data = self._data
        return (data[pos] << 8) | data[pos + 1]

    def uint24(self) -> int:
        return int.from_bytes(self._take(3), "big")

    def uint32(self) -> int:
        return int.from_bytes(self._take(4), "big")

    def raw(self, n: int) -> bytes:
        return bytes(self._take(n))

    def rest(self) -> bytes:
        return bytes(self._take(self._end - self._pos))

    def vector(self, length_size: int, *, min_len: int = 0, max_len: int | None = None) -> bytes:
        """An opaque vector ``<min_len..max_len>`` with a ``length_size``-byte length prefix."""
        # _take inlined twice (the hottest read): same checks, same errors.
        pos = self._pos
        end = self._end
        if length_size < 0 or pos + length_size > end:
            raise DecodeError("message truncated")
        data = self._data
        start = pos + length_size
        n = int.from_bytes(data[pos:start], "big")
        self._pos = start
        if n < min_len or (max_len is not None and n > max_len):
            raise DecodeError(f"vector length {n} outside {min_len}..{max_len}")
        if start + n > end:
            raise DecodeError("message truncated")
        self._pos = start + n
        return bytes(data[start : start + n])

    def sub(self, length_size: int, *, min_len: int = 0) -> Reader:
        """A reader over the next length-prefixed block (the block is consumed here)."""
        n = int.from_bytes(self._take(length_size), "big")
        if n < min_len:
            raise DecodeError(f"vector length {n} below minimum {min_len}")
        return Reader(self._take(n))

    def type_length_values(self) -> list[tuple[int, bytes]]:
        """The rest as ``uint16 type; opaque data<0..2^16-1>`` entries (the shape of an
        extensions block), all consumed; a truncated entry is a DecodeError.

        One loop here instead of three reader calls per entry: ClientHello and the server's
        messages carry a dozen or more extensions per handshake.
        """
        data = self._data
        pos = self._pos
        end = self._end
        out: list[tuple[int, bytes]] = []
        while pos < end:
            if pos + 4 > end:
                raise DecodeError("message truncated")
            entry_type, n = _UINT16_PAIR(data, pos)
            start = pos + 4
            pos = start + n
            if pos > end:
                raise DecodeError("message truncated")
            out.append((entry_type, bytes(data[start:pos])))
        self._pos = pos
        return out

    def uint16_list(
        self, length_size: int, *, min_len: int = 0, max_count: int | None = None
    ) -> tuple[int, ...]:
        """A vector of uint16 values (groups, suites, schemes, versions); more than
        ``max_count`` values is a DecodeError, raised before any value is decoded."""
        block = self._take(int.from_bytes(self._take(length_size), "big"))
        if len(block) % 2 or len(block) < min_len:
            raise DecodeError("bad uint16 list length")
        if max_count is not None and len(block) // 2 > max_count:
            raise DecodeError(f"list of {len(block) // 2} values; at most {max_count} accepted")
        # One C call for the whole list instead of a generator step per value.
        return struct.unpack(f">{len(block) // 2}H", block)


class Writer:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def __len__(self) -> int:
        return len(self._buf)

    def overwrite(self, offset: int, data: bytes) -> None:
        """Replace ``len(data)`` bytes already written at ``offset`` (a placeholder)."""
        if offset < 0 or offset + len(data) > len(self._buf):
            raise ValueError("overwrite outside the written bytes")
        self._buf[offset : offset + len(data)] = data

    def uint8(self, v: int) -> None:
        self._buf.append(v)

    def uint16(self, v: int) -> None:
        self._buf += v.to_bytes(2, "big")

    def uint24(self, v: int) -> None:
        self._buf += v.to_bytes(3, "big")

    def uint32(self, v: int) -> None:
        self._buf += v.to_bytes(4, "big")

    def raw(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    def vector(self, length_size: int, data: bytes | bytearray | memoryview) -> None:
        if len(data) >= 1 << (8 * length_size):
            raise ValueError("vector too long for its length prefix")
        self._buf += len(data).to_bytes(length_size, "big")
        self._buf += data

    def uint16_list(self, length_size: int, values: tuple[int, ...] | list[int]) -> None:
        """The values as uint16 after a ``length_size``-byte length; a value outside
        0..65535 is a ValueError (callers check with their own message first)."""
        buf = self._buf
        buf += (2 * len(values)).to_bytes(length_size, "big")
        try:
            buf += struct.pack(f">{len(values)}H", *values)
        except struct.error as exc:
            raise ValueError(f"uint16 list value out of range: {exc}") from None

    @contextmanager
    def prefixed(self, length_size: int) -> Iterator[None]:
        """Write a length prefix that covers whatever the ``with`` block writes."""
        start = len(self._buf)
        self._buf += bytes(length_size)
        yield
        n = len(self._buf) - start - length_size
        if n >= 1 << (8 * length_size):
            raise ValueError("block too long for its length prefix")
        self._buf[start : start + length_size] = n.to_bytes(length_size, "big")


def take_front(buffer: bytearray, n: int) -> bytes:
    """The first ``n`` bytes of ``buffer`` (all of it if shorter), removed from it, with one
    copy: a bytearray slice would copy twice. The view is released before the array is
    trimmed (an exported bytearray cannot be resized)."""
    if n >= len(buffer):
        data = bytes(buffer)
        buffer.clear()
        return data
    with memoryview(buffer) as view, view[:n] as head:
        data = bytes(head)
    del buffer[:n]
    return data
