"""``nautilus-tls ticket-keys list|rotate`` against a real Redis: dates, an empty store said
as such, an unreachable store as a one-line error; ``serve`` warns when it cannot issue
tickets."""

from __future__ import annotations

import re

import pytest
from interop.procs import LineProcess
from interop.serve import command
from session.helpers import RedisServer

from nautilus_tls.cli import main

DEFAULT_RING = "nautilus:ticketkeys:ring"  # the CLI's store uses the default prefix


def _clear(server: RedisServer) -> None:
    import redis

    client = redis.Redis(unix_socket_path=str(server.socket_path))
    client.delete(DEFAULT_RING)
    client.close()


def test_list_says_when_the_store_is_empty_and_dates_each_key(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _clear(redis_server)
    assert main(["ticket-keys", "list", "--ticket-store", redis_server.url]) == 0
    empty = capsys.readouterr().out
    assert empty.startswith(f"no ticket keys in unix://{redis_server.socket_path}")

    assert main(["ticket-keys", "rotate", "--ticket-store", redis_server.url]) == 0
    assert main(["ticket-keys", "rotate", "--ticket-store", redis_server.url]) == 0
    capsys.readouterr()
    assert main(["ticket-keys", "list", "--ticket-store", redis_server.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    _clear(redis_server)
    assert len(lines) == 2
    pattern = r"key [0-9a-f]{32}  created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(0 h 0 min ago\)  "
    assert re.fullmatch(pattern + "current", lines[0]), lines[0]
    assert re.fullmatch(pattern + "opens older tickets", lines[1]), lines[1]


def test_an_unreachable_store_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["ticket-keys", "list", "--ticket-store", "redis://:hunter2@127.0.0.1:1/0"])
    err = capsys.readouterr().err
    assert status == 1
    assert err == "error: cannot reach the ticket store at redis://127.0.0.1:1\n"


def test_serve_warns_that_it_cannot_issue_tickets() -> None:
    argv = [*command(), "serve", "--port", "0", "--ticket-store", "redis://:hunter2@127.0.0.1:1"]
    with LineProcess(argv) as server:
        warning = server.wait_for(r"^warning: .*", 60, stream="stderr").group(0)
        server.wait_for(r"^listening on ", 60, stream="stdout")
    assert warning.startswith("warning: cannot reach redis://127.0.0.1:1 ")
    assert "no session tickets will be issued" in warning
    assert "hunter2" not in warning
