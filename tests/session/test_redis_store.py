"""Redis ticket keys and anti-replay against a real redis-server (see conftest.py)."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pairs import client_config, server_config
from session.helpers import FakeClock, RedisServer, make_state

from nautilus_tls.aio import TLSReader, TLSWriter, connect, start_server
from nautilus_tls.session import SessionStoreError
from nautilus_tls.session.redis_store import (
    DEFAULT_KEY_CACHE_SECONDS,
    RedisAntiReplay,
    RedisTicketKeyStore,
)
from nautilus_tls.session.ticket_keys import (
    KEY_ID_LEN,
    StatelessTickets,
    TicketKey,
    TicketKeyManager,
    TicketKeyStore,
)

PERIOD = 12 * 3600.0
LIFETIME = 7 * 86400.0


@pytest.fixture
def clients(redis_server: RedisServer) -> Iterator[list[Any]]:
    """Separate connections to one Redis, as separate servers of a fleet would have."""
    made: list[Any] = []
    yield made
    for c in made:
        c.close()


def new_client(server: RedisServer, made: list[Any], **kw: Any) -> Any:
    import redis

    client = redis.Redis(unix_socket_path=str(server.socket_path), **kw)
    made.append(client)
    return client


def manager(store: TicketKeyStore, clock: FakeClock) -> TicketKeyManager:
    return TicketKeyManager(
        store, rotation_period=PERIOD, max_ticket_lifetime=LIFETIME, clock=clock
    )


def stored(store: TicketKeyStore) -> list[TicketKey]:
    return store.keys()


def test_two_servers_share_ticket_keys(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str, clock: FakeClock
) -> None:
    one = manager(
        RedisTicketKeyStore(new_client(redis_server, clients), prefix=redis_prefix, clock=clock),
        clock,
    )
    two = manager(
        RedisTicketKeyStore(new_client(redis_server, clients), prefix=redis_prefix, clock=clock),
        clock,
    )
    ticket = one.seal(b"sealed by one")
    assert two.open(ticket) == b"sealed by one"
    assert one.open(two.seal(b"sealed by two")) == b"sealed by two"
    assert len(stored(one.store)) == 1

    # After a rotation by one, two seals with the new key once its cached ring is stale
    # (key_cache_seconds), and both open the old tickets.
    new_key = one.rotate()
    assert two.seal(b"cached")[:KEY_ID_LEN] != new_key.key_id
    clock.advance(DEFAULT_KEY_CACHE_SECONDS)
    later = two.seal(b"later")
    assert later[:KEY_ID_LEN] == new_key.key_id
    assert one.open(later) == b"later" and two.open(ticket) == b"sealed by one"


def test_stateless_tickets_resume_on_another_server(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str, clock: FakeClock
) -> None:
    a = StatelessTickets(
        manager(RedisTicketKeyStore(new_client(redis_server, clients), prefix=redis_prefix), clock)
    )
    b = StatelessTickets(
        manager(RedisTicketKeyStore(new_client(redis_server, clients), prefix=redis_prefix), clock)
    )
    state = make_state(created_at=clock.now)
    assert b.redeem(a.issue(state)) == state


def test_concurrent_rotation_adds_one_key(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str, clock: FakeClock
) -> None:
    managers = [
        manager(RedisTicketKeyStore(new_client(redis_server, clients), prefix=redis_prefix), clock)
        for _ in range(8)
    ]
    for round_ in range(3):
        tickets = seal_concurrently(managers)
        assert len({t[:KEY_ID_LEN] for t in tickets}) == 1
        assert len(stored(managers[0].store)) == round_ + 1
        clock.advance(PERIOD)


def seal_concurrently(managers: list[TicketKeyManager]) -> list[bytes]:
    """Every manager seals at the same moment (threads released by a barrier)."""
    barrier = threading.Barrier(len(managers))
    tickets: list[bytes] = []
    errors: list[BaseException] = []

    def work(m: TicketKeyManager) -> None:
        try:
            barrier.wait()
            tickets.append(m.seal(b"t"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(tickets) == len(managers)
    return tickets


def test_old_keys_destroyed_in_redis(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str, clock: FakeClock
) -> None:
    keys = manager(
        RedisTicketKeyStore(new_client(redis_server, clients), prefix=redis_prefix), clock
    )
    old = keys.seal(b"old")
    clock.advance(PERIOD)
    new = keys.seal(b"new")
    clock.advance(LIFETIME + 1)
    assert keys.open(old) is None
    assert [k.key_id for k in stored(keys.store)] == [new[:KEY_ID_LEN]]


def test_store_semantics_match_the_memory_store(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str
) -> None:
    client = new_client(redis_server, clients)
    store = RedisTicketKeyStore(client, prefix=redis_prefix, max_keys=3, key_ttl=600)
    assert store.keys() == []
    k1 = TicketKey.generate(10.0)
    store.add_if_current_is_older_than(k1, 0.0)
    assert store.keys() == [k1]
    store.add_if_current_is_older_than(TicketKey.generate(20.0), 5.0)
    assert store.keys() == [k1]
    k2 = TicketKey.generate(20.0)
    store.add_if_current_is_older_than(k2, 10.0)
    assert store.keys() == [k2, k1]
    for t in (30.0, 40.0):
        store.add_if_current_is_older_than(TicketKey.generate(t), math.inf)
    assert [k.created_at for k in stored(store)] == [40.0, 30.0, 20.0]
    store.remove_older_than(30.0)
    assert [k.created_at for k in stored(store)] == [40.0, 30.0]
    store.remove_older_than(math.inf)
    assert store.keys() == []
    # The whole ring carries a TTL, refreshed by every add.
    store.add_if_current_is_older_than(TicketKey.generate(50.0), math.inf)
    assert 0 < client.pttl(redis_prefix + "ring") <= 600_000


def test_fractional_and_negative_times_survive(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str
) -> None:
    store = RedisTicketKeyStore(new_client(redis_server, clients), prefix=redis_prefix)
    key = TicketKey.generate(1_700_000_000.123456789)
    store.add_if_current_is_older_than(key, -1e300)
    assert store.keys() == [key]
    just_below = math.nextafter(key.created_at, -math.inf)
    store.add_if_current_is_older_than(TicketKey.generate(2e9), just_below)
    assert store.keys() == [key]  # the stored key is newer than the cutoff, by one ulp
    newer = TicketKey.generate(2e9)
    store.add_if_current_is_older_than(newer, key.created_at)
    assert store.keys() == [newer, key]  # no key is newer than a cutoff equal to its time


def test_ignores_foreign_members(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str
) -> None:
    client = new_client(redis_server, clients)
    store = RedisTicketKeyStore(client, prefix=redis_prefix)
    client.zadd(redis_prefix + "ring", {"garbage": 1.0, "v1:zz:zz:1.0": 2.0, b"\xff\xfe": 3.0})
    key = TicketKey.generate(4.0)
    store.add_if_current_is_older_than(key, math.inf)
    assert store.keys() == [key]


def test_works_with_decode_responses_and_urls(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str, clock: FakeClock
) -> None:
    text_client = new_client(redis_server, clients, decode_responses=True)
    a = manager(RedisTicketKeyStore(text_client, prefix=redis_prefix), clock)
    url_store = RedisTicketKeyStore(redis_server.url, prefix=redis_prefix)
    try:
        b = manager(url_store, clock)
        assert b.open(a.seal(b"x")) == b"x"
    finally:
        url_store.close()
    replay = RedisAntiReplay(text_client, prefix=redis_prefix)
    assert replay.first_use(b"k", 5) and not replay.first_use(b"k", 5)


def test_anti_replay_exactly_once_across_clients(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str
) -> None:
    one = RedisAntiReplay(new_client(redis_server, clients), prefix=redis_prefix)
    two = RedisAntiReplay(new_client(redis_server, clients), prefix=redis_prefix)
    assert one.first_use(b"binder", 10)
    assert not two.first_use(b"binder", 10)
    assert not one.first_use(b"binder", 10)
    assert two.first_use(b"other binder", 10)


def test_anti_replay_race_has_one_winner(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str
) -> None:
    replays = [
        RedisAntiReplay(new_client(redis_server, clients), prefix=redis_prefix) for _ in range(16)
    ]
    barrier = threading.Barrier(len(replays))
    results: list[bool] = []

    def work(r: RedisAntiReplay) -> None:
        barrier.wait()
        results.append(r.first_use(b"one hello", 10))

    threads = [threading.Thread(target=work, args=(r,)) for r in replays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results.count(True) == 1 and len(results) == 16


def test_anti_replay_entries_expire(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str
) -> None:
    client = new_client(redis_server, clients)
    replay = RedisAntiReplay(client, prefix=redis_prefix)
    assert replay.first_use(b"k", 2.5)
    names = client.keys(redis_prefix + "*")
    assert len(names) == 1 and 0 < client.pttl(names[0]) <= 2500
    client.pexpire(names[0], 1)  # let it lapse without sleeping
    for _ in range(200):
        if not client.exists(names[0]):
            break
        threading.Event().wait(0.005)
    assert replay.first_use(b"k", 2.5)


def test_unreachable_redis_fails_safe(tmp_path: Any, clock: FakeClock) -> None:
    pytest.importorskip("redis")
    url = f"unix://{tmp_path}/no-such.sock"
    store = RedisTicketKeyStore(url)
    keys = manager(store, clock)
    assert keys.open(b"\x00" * 100) is None  # no ticket: full handshake
    with pytest.raises(SessionStoreError):
        keys.seal(b"x")  # the server sends no ticket
    assert RedisAntiReplay(url).first_use(b"k", 10) is False  # 0-RTT rejected


def test_repr_never_shows_the_url() -> None:
    pytest.importorskip("redis")
    url = "redis://:hunter2@localhost:1/0"
    for obj in (RedisTicketKeyStore(url), RedisAntiReplay(url)):
        assert "hunter2" not in repr(obj)


# --- a Redis that does not answer (issue 11 item 7) --------------------------------------------


def redis_down(*args: object) -> object:
    """Stands in for a Redis command while Redis is unreachable."""
    import redis

    raise redis.exceptions.ConnectionError("down")


def test_black_holed_redis_costs_one_timeout_then_fails_fast(
    black_hole: int, clock: FakeClock
) -> None:
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{black_hole}/0"
    keys = manager(RedisTicketKeyStore(url, timeout=0.2), clock)
    replay = RedisAntiReplay(url, timeout=0.2)
    start = time.monotonic()
    assert keys.open(b"\x00" * 100) is None  # the timeout: no ticket, a full handshake
    assert replay.first_use(b"k", 10) is False  # 0-RTT rejected
    assert time.monotonic() - start < 2.0
    start = time.monotonic()
    for _ in range(20):  # the breaker is open: Redis is not asked again
        assert keys.open(b"\x00" * 100) is None
        with pytest.raises(SessionStoreError):
            keys.seal(b"x")
        assert replay.first_use(b"k", 10) is False
    assert time.monotonic() - start < 0.2


def test_redis_is_asked_again_after_retry_after(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str, clock: FakeClock
) -> None:
    client = new_client(redis_server, clients)
    store = RedisTicketKeyStore(client, prefix=redis_prefix, retry_after=5.0, clock=clock)
    real = client.zrevrange
    client.zrevrange = redis_down
    with pytest.raises(SessionStoreError):
        store.keys()
    client.zrevrange = real
    with pytest.raises(SessionStoreError):
        store.keys()  # within retry_after: not asked
    clock.advance(5.0)
    assert store.keys() == []


def test_cached_key_ring_opens_tickets_while_redis_is_away(
    redis_server: RedisServer, clients: list[Any], redis_prefix: str, clock: FakeClock
) -> None:
    client = new_client(redis_server, clients)
    keys = manager(RedisTicketKeyStore(client, prefix=redis_prefix, clock=clock), clock)
    ticket = keys.seal(b"before the outage")
    client.zrevrange = redis_down
    clock.advance(60.0)  # the cache is stale: Redis is asked, fails, the last ring serves
    assert keys.open(ticket) == b"before the outage"


async def echo_line(reader: TLSReader, writer: TLSWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()


async def echo_once(port: int) -> None:
    reader, writer = await connect(
        "127.0.0.1", port, config=client_config(session_store=None), server_name="localhost"
    )
    writer.write(b"hello\n")
    assert await reader.readline() == b"hello\n"
    writer.close()


async def longest_stall(stop: asyncio.Event, tick: float = 0.01) -> float:
    """The longest time the event loop did not run this task, beyond its tick."""
    loop = asyncio.get_running_loop()
    longest, last = 0.0, loop.time()
    while not stop.is_set():
        await asyncio.sleep(tick)
        now = loop.time()
        longest, last = max(longest, now - last - tick), now
    return longest


def test_asyncio_handshakes_proceed_while_redis_is_black_holed(black_hole: int) -> None:
    """A server whose ticket keys and anti-replay live in a Redis that never answers (default
    settings): the first ticket costs one short timeout; the other handshakes go through."""
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{black_hole}/0"
    server_cfg = server_config(
        tickets=StatelessTickets(TicketKeyManager(RedisTicketKeyStore(url))),
        anti_replay=RedisAntiReplay(url),
    )
    results: list[float] = []

    async def main() -> None:
        server = await start_server(echo_line, "127.0.0.1", 0, config=server_cfg)
        port = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        stall = asyncio.create_task(longest_stall(stop))
        start = time.monotonic()
        await asyncio.gather(*(echo_once(port) for _ in range(6)))
        results.append(time.monotonic() - start)
        stop.set()
        results.append(await stall)
        server.close()
        await server.wait_closed()

    # In a thread with a deadline: a blocked event loop cannot time itself out. The fixture
    # then closes the black hole, which frees a loop stuck in a read.
    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the event loop stalled on Redis"
    elapsed, stall = results
    assert elapsed < 5.0 and stall < 1.5, (elapsed, stall)
