"""Child processes of the benchmark (``python -m bench.worker ...``).

``serve``: a server of one stack on 127.0.0.1:0 for the two-process variant. It prints
``{"listening": PORT}``, then answers lines on stdin: ``rss`` prints ``{"rss": BYTES}`` (after a
garbage collection), ``quit`` or end of input ends it. It also exits after ``--lifetime``.

``rss``: resident memory per idle established connection. Without ``--port`` both ends live
here and the result is per end (``{"both": BYTES}``); with ``--port`` this is only the client
of a ``serve`` worker, and it steps with the parent: prints ``{"phase": "warm"}``, waits for
``go``, opens the connections, prints ``{"phase": "open", "client": BYTES}``, waits for ``done``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import sys
import threading
from pathlib import Path
from typing import Any

from bench.pki import CONFIGS, load_pki
from bench.stacks import NautilusStack, Opened, PlainStack, PySslStack, Stack, port_of
from bench.wire import ECHO_REQUEST, PING, serve_connection

WARM_CONNECTIONS = 32
IN_FLIGHT = 32
SETTLE_SECONDS = 0.3


def rss_bytes() -> int:
    """This process's resident set size (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def settled_rss() -> int:
    gc.collect()
    return rss_bytes()


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def make_stack(name: str, config: str, pki: Path) -> Stack:
    bundles = load_pki(pki)
    cfg = CONFIGS[config]
    bundle = bundles[cfg.cert_alg]
    if name == "nautilus":
        return NautilusStack(bundle, cfg)
    if name == "pyssl":
        return PySslStack(bundle)
    if name == "plain":
        return PlainStack()
    raise SystemExit(f"unknown stack {name}")


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# --- serve ----------------------------------------------------------------------------------


def _stdin_commands(on_line: Any) -> None:
    for line in sys.stdin:
        if on_line(line.strip()) is False:
            return
    on_line("quit")


async def _serve_async(stack: Stack, early: bool, lifetime: float) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    server = await stack.serve(serve_connection, early=early)
    emit({"listening": port_of(server)})

    def command(line: str) -> bool:
        if line == "rss":
            loop.call_soon_threadsafe(lambda: emit({"rss": settled_rss()}))
            return True
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))
        return False

    threading.Thread(target=_stdin_commands, args=(command,), daemon=True).start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop, lifetime)
    server.close()


def serve(args: argparse.Namespace) -> None:
    raise_fd_limit()
    if args.stack == "tlslite":
        from bench.tlslite_stack import TlsliteServer

        bundle = load_pki(args.pki)[CONFIGS[args.config].cert_alg]
        server = TlsliteServer(bundle).start()
        emit({"listening": server.port})
        done = threading.Event()

        def command(line: str) -> bool:
            if line == "rss":
                emit({"rss": settled_rss()})
                return True
            done.set()
            return False

        threading.Thread(target=_stdin_commands, args=(command,), daemon=True).start()
        done.wait(args.lifetime)
        server.stop()
        return
    stack = make_stack(args.stack, args.config, args.pki)
    asyncio.run(_serve_async(stack, args.early, args.lifetime))


# --- rss --------------------------------------------------------------------------------------


async def _open_idle(stack: Stack, port: int, n: int) -> list[Opened]:
    """``n`` established connections, each having echoed once, left open."""
    client = stack.client()
    opened: list[Opened] = []

    async def one() -> None:
        o = await client.open(port)
        o.writer.write(ECHO_REQUEST)
        if await o.reader.readexactly(len(PING)) != PING:
            raise RuntimeError("bad echo")
        opened.append(o)

    for start in range(0, n, IN_FLIGHT):
        await asyncio.gather(*(one() for _ in range(min(IN_FLIGHT, n - start))))
    return opened


async def _warm(stack: Stack, port: int) -> None:
    client = stack.client()
    for o in await _open_idle(stack, port, WARM_CONNECTIONS):
        await client.close(o)


async def _rss_both(stack: Stack, n: int) -> dict[str, Any]:
    server = await stack.serve(serve_connection)
    port = port_of(server)
    await _warm(stack, port)
    await asyncio.sleep(SETTLE_SECONDS)
    before = settled_rss()
    opened = await _open_idle(stack, port, n)
    await asyncio.sleep(SETTLE_SECONDS)
    after = settled_rss()
    result = {"both": (after - before) / (2 * n), "connections": len(opened)}
    for o in opened:
        o.writer.transport.abort()
    server.close()
    return result


def _wait_line(expected: str) -> None:
    for line in sys.stdin:
        if line.strip() == expected:
            return
    raise SystemExit(f"parent went away before {expected!r}")


async def _rss_client(stack: Stack, port: int, n: int) -> None:
    await _warm(stack, port)
    await asyncio.sleep(SETTLE_SECONDS)
    before = settled_rss()
    emit({"phase": "warm"})
    await asyncio.to_thread(_wait_line, "go")
    opened = await _open_idle(stack, port, n)
    await asyncio.sleep(SETTLE_SECONDS)
    after = settled_rss()
    emit({"phase": "open", "client": (after - before) / n, "connections": len(opened)})
    await asyncio.to_thread(_wait_line, "done")
    for o in opened:
        o.writer.transport.abort()


def rss(args: argparse.Namespace) -> None:
    raise_fd_limit()
    stack = make_stack(args.stack, args.config, args.pki)
    if args.port:
        asyncio.run(_rss_client(stack, args.port, args.n))
    else:
        emit(asyncio.run(_rss_both(stack, args.n)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("serve", "rss"):
        p = sub.add_parser(name)
        p.add_argument("--stack", required=True)
        p.add_argument("--config", default="pq-ecdsa", choices=sorted(CONFIGS))
        p.add_argument("--pki", type=Path, required=True)
    sp = sub.choices["serve"]
    sp.add_argument("--early", action="store_true", help="accept 0-RTT (Nautilus)")
    sp.add_argument("--lifetime", type=float, default=1800.0)
    rp = sub.choices["rss"]
    rp.add_argument("--n", type=int, default=1000)
    rp.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.what == "serve":
        serve(args)
    else:
        rss(args)


if __name__ == "__main__":
    main()
