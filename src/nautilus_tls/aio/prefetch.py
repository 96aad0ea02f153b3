"""Blocking look-ups of a verifier made in a worker thread, ahead of the handshakes that need
them (:class:`~nautilus_tls.auth.api.PrefetchingVerifier`, e.g. did:web documents).

The handshake judges the peer where its bytes arrive, here on the event loop: a verifier
that fetched a document over the network there would stall every connection of the loop.
A client prefetches before its TCP connect; a server before it listens, then again as often
as the verifier asks, for as long as the server is serving. What prefetching cannot foresee
(a did:web DID that only the peer names, a host whose last fetch failed) would still be
looked up inside the handshake: for a verifier that says it may (:func:`blocks_in_handshake`)
the adapter hands the handshake's received bytes to the core in a worker thread instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from nautilus_tls.auth.api import PrefetchingVerifier
from nautilus_tls.config import ServerConfig
from nautilus_tls.errors import HandshakeTimeout

__all__ = [
    "Serving",
    "blocks_in_handshake",
    "client_judge",
    "keep_prefetched",
    "prefetch",
    "prefetch_within",
]

_REFRESHERS: set[asyncio.Task[None]] = set()  # asyncio holds tasks weakly


def client_judge(config: ServerConfig) -> object | None:
    """The verifier a server judges clients with, when it asks for client certificates."""
    return config.client_verifier if config.client_auth != "none" else None


def blocks_in_handshake(verifier: object) -> bool:
    """Whether ``verifier`` may still make a blocking look-up inside a handshake: a
    :class:`~nautilus_tls.auth.api.PrefetchingVerifier`, unless its
    ``may_block_in_handshake()`` says no."""
    if not isinstance(verifier, PrefetchingVerifier):
        return False
    may_block = getattr(verifier, "may_block_in_handshake", None)
    return bool(may_block()) if callable(may_block) else True


async def prefetch(verifier: object) -> float | None:
    """Run ``verifier.prefetch()`` in the loop's default executor when it has one; its
    answer (seconds until the next call), else None."""
    if not isinstance(verifier, PrefetchingVerifier):
        return None
    return await asyncio.get_running_loop().run_in_executor(None, verifier.prefetch)


class Serving(Protocol):
    """A server that says whether it is still serving (asyncio's, or a QUIC endpoint)."""

    def is_serving(self) -> bool: ...


async def prefetch_within(verifier: object, seconds: float) -> None:
    """:func:`prefetch` for a client, bounded by its handshake timeout."""
    try:
        async with asyncio.timeout(seconds):
            await prefetch(verifier)
    except TimeoutError as exc:
        raise HandshakeTimeout(
            f"the verifier's look-ups did not finish within {seconds:g} s"
        ) from exc


def keep_prefetched(server: Serving, verifier: object, interval: float | None) -> None:
    """Prefetch again every ``interval`` seconds (as the verifier last said) while ``server``
    is serving."""
    if interval is None or interval <= 0:
        return
    task = asyncio.get_running_loop().create_task(_refresh(server, verifier, interval))
    _REFRESHERS.add(task)
    task.add_done_callback(_REFRESHERS.discard)


async def _refresh(server: Serving, verifier: object, interval: float) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            await asyncio.sleep(interval)
            if not server.is_serving():
                return
            next_interval = await prefetch(verifier)
            if next_interval is None or next_interval <= 0:
                return
            interval = next_interval
