"""What one asyncio connection costs in event-loop work: load-independent counts per connection.

``python -m bench.aio_counts [--n 200] [--stacks nautilus,pyssl,plain] [--mode full|resumed]``

Runs N connections of ``bench``'s handshake scenario (connect, handshake, 4-byte echo,
close; client and server in this process, on one loop) under cProfile and prints, per
connection with both ends: Python function calls, event-loop iterations, transport writes,
socket sends and receives, futures created and callbacks scheduled. Next to
:mod:`bench.core` (the sans-I/O core alone) it says what the asyncio adapter adds, and
whether a change saves loop round trips, on a machine too busy for wall-clock A/B tests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
from pathlib import Path

from bench.pki import CONFIGS, make_pki
from bench.scenarios import _echo_once, in_process
from bench.stacks import Client, NautilusStack, PlainStack, PySslStack, Stack

# (label, file name ending, function names) of what is counted. asyncio's ssl transport reads
# with recv_into (a buffered protocol), the others with recv.
_COUNTED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("loop iterations", "base_events.py", ("_run_once",)),
    ("transport writes", "selector_events.py", ("write",)),
    ("socket sends", "~", ("<method 'send' of '_socket.socket' objects>",)),
    (
        "socket receives",
        "~",
        (
            "<method 'recv' of '_socket.socket' objects>",
            "<method 'recv_into' of '_socket.socket' objects>",
        ),
    ),
    ("futures created", "base_events.py", ("create_future",)),
    ("callbacks scheduled", "base_events.py", ("call_soon",)),
)


def _stack(name: str, tmp: Path) -> Stack:
    if name == "plain":
        return PlainStack()
    if name == "nautilus":
        cfg = CONFIGS["pq-ecdsa"]
        return NautilusStack(make_pki(tmp)[cfg.cert_alg], cfg)
    return PySslStack(make_pki(tmp)[CONFIGS["x25519-ecdsa"].cert_alg])


def counts(stack: Stack, n: int, *, resume: bool = False) -> dict[str, float]:
    """Per-connection counts over ``n`` profiled connections (after 5 unprofiled ones)."""
    client: Client = stack.client(resume=resume)

    async def body(port: int) -> pstats.Stats:
        for _ in range(5):
            await _echo_once(client, port)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            await _echo_once(client, port)
        profile.disable()
        return pstats.Stats(profile)

    stats = asyncio.run(in_process(stack, body))
    raw = stats.stats  # type: ignore[attr-defined]
    result = {"Python calls": stats.total_calls / n}  # type: ignore[attr-defined]
    for label, file_end, functions in _COUNTED:
        calls = sum(
            row[1]
            for (file, _, name), row in raw.items()
            if name in functions and file.endswith(file_end)
        )
        result[label] = calls / n
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--stacks", default="nautilus,pyssl,plain")
    parser.add_argument("--mode", default="full", choices=("full", "resumed"))
    args = parser.parse_args()
    names = args.stacks.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="nautilus-aio-counts-"))
    table = {
        name: counts(_stack(name, tmp), args.n, resume=args.mode == "resumed") for name in names
    }
    print(f"per connection ({args.mode}, both ends) " + "".join(f"{n:>12s}" for n in names))
    for label in table[names[0]]:
        print(f"{label:32s}" + "".join(f"{table[n][label]:12.1f}" for n in names))


if __name__ == "__main__":
    main()
