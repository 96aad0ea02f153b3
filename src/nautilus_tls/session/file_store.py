"""Ticket keys in a file, shared by the processes of one machine (``serve --workers N``).

A :class:`~nautilus_tls.session.ticket_keys.TicketKeyStore` whose keys live in one JSON file,
so that every pre-forked worker seals with the same current key and opens the tickets the
others sealed. Writers hold an exclusive ``flock`` on the file and readers a shared one, so
a rotation by one worker is seen whole by the rest. The file holds secrets: it is created
``0600`` and a file that others can read is refused. Reads are cached until the file's
inode, size or modification time changes, so a handshake usually costs one ``stat``.

The file is ``{"keys": [{"id": HEX, "secret": HEX, "created_at": SECONDS}, ...]}``, newest
first. POSIX only (``fcntl``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from nautilus_tls import safe_json
from nautilus_tls.errors import ConfigError
from nautilus_tls.session._util import SessionStoreError
from nautilus_tls.session.ticket_keys import MAX_TICKET_KEYS, TicketKey

__all__ = ["FileTicketKeyStore"]

MAX_FILE_SIZE = 64 * 1024
"""A key takes ~150 bytes in the file; anything much larger is not ours."""


class FileTicketKeyStore:
    """Ticket keys in ``path`` (created ``0600`` if missing; at most ``max_keys``, newest)."""

    def __init__(self, path: str | os.PathLike[str], *, max_keys: int = MAX_TICKET_KEYS) -> None:
        if max_keys < 1:
            raise ConfigError("max_keys must be at least 1")
        self._path = Path(path)
        self._max_keys = max_keys
        self._cached: list[TicketKey] = []
        self._cached_stamp: tuple[int, int, int] | None = None
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"ticket key file {self._path}: cannot open: {exc.strerror}"
            ) from None
        try:
            mode = os.fstat(fd).st_mode
        finally:
            os.close(fd)
        if not stat.S_ISREG(mode):
            raise ConfigError(f"ticket key file {self._path}: not a regular file")
        if mode & 0o077:
            raise ConfigError(
                f"ticket key file {self._path}: readable by other users (mode "
                f"{stat.S_IMODE(mode):o}); it holds secrets: chmod 600 it"
            )

    def __repr__(self) -> str:
        return f"FileTicketKeyStore({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[IO[str]]:
        try:
            with open(self._path, "r+", encoding="ascii") as file:
                fcntl.flock(file, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield file
        except OSError as exc:
            raise SessionStoreError(f"ticket key file {self._path}: {exc.strerror}") from exc

    def _read(self, file: IO[str]) -> list[TicketKey]:
        text = file.read(MAX_FILE_SIZE + 1)
        if not text.strip():
            return []
        if len(text) > MAX_FILE_SIZE:
            raise SessionStoreError(f"ticket key file {self._path}: larger than {MAX_FILE_SIZE}")
        try:
            rows = safe_json.loads(text)["keys"]
            keys = [
                TicketKey(
                    key_id=bytes.fromhex(row["id"]),
                    secret=bytes.fromhex(row["secret"]),
                    created_at=float(row["created_at"]),
                )
                for row in rows
            ]
        except (ValueError, KeyError, TypeError) as exc:
            # The message names the file only: the text may hold secrets.
            raise SessionStoreError(f"ticket key file {self._path}: not a key file") from exc
        keys.sort(key=lambda k: k.created_at, reverse=True)
        return keys[: self._max_keys]

    def _write(self, file: IO[str], keys: list[TicketKey]) -> None:
        rows = [
            {"id": k.key_id.hex(), "secret": k.secret.hex(), "created_at": k.created_at}
            for k in keys
        ]
        file.seek(0)
        file.truncate()
        file.write(json.dumps({"keys": rows}))
        file.flush()
        os.fsync(file.fileno())
        self._cached_stamp = None

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def keys(self) -> list[TicketKey]:
        """Every key, newest first (re-read only when the file changed)."""
        stamp = self._stamp()
        if stamp is not None and stamp == self._cached_stamp:
            return list(self._cached)
        with self._locked(exclusive=False) as file:
            stamp = self._stamp()
            keys = self._read(file)
        self._cached, self._cached_stamp = keys, stamp
        return list(keys)

    def add_if_current_is_older_than(self, key: TicketKey, cutoff: float) -> None:
        with self._locked(exclusive=True) as file:
            keys = self._read(file)
            if any(k.created_at > cutoff for k in keys) or any(
                k.key_id == key.key_id for k in keys
            ):
                return  # another worker rotated first: its key is the current one
            keys = sorted([key, *keys], key=lambda k: k.created_at, reverse=True)
            self._write(file, keys[: self._max_keys])

    def remove_older_than(self, cutoff: float) -> None:
        with self._locked(exclusive=True) as file:
            keys = self._read(file)
            kept = [k for k in keys if not k.created_at < cutoff]
            if len(kept) != len(keys):
                self._write(file, kept)
