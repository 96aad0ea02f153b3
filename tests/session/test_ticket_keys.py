"""Ticket keys, rotation and destruction, stateless and stateful tickets."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from session.helpers import PSK, FakeClock, counting_random, make_state

from nautilus_tls.errors import ConfigError, LocalProtocolError
from nautilus_tls.session.ticket_keys import (
    KEY_ID_LEN,
    NONCE_LEN,
    MemoryTicketKeyStore,
    StatefulTickets,
    StatelessTickets,
    TicketKey,
    TicketKeyManager,
    TicketKeyStore,
)

HOUR = 3600.0
DAY = 24 * HOUR
PERIOD = 12 * HOUR
LIFETIME = 7 * DAY


def manager(clock: FakeClock, store: MemoryTicketKeyStore | None = None) -> TicketKeyManager:
    return TicketKeyManager(
        store, rotation_period=PERIOD, max_ticket_lifetime=LIFETIME, clock=clock
    )


def stored(store: TicketKeyStore) -> list[TicketKey]:
    return store.keys()


# -- TicketKey ------------------------------------------------------------------------------


def test_ticket_key_secret_not_in_repr() -> None:
    key = TicketKey.generate(5.0)
    assert len(key.key_id) == 16 and len(key.secret) == 32
    assert key.secret.hex() not in repr(key) and repr(key.secret) not in repr(key)
    assert key.key_id.hex() in repr(key) or repr(key.key_id) in repr(key)


def test_ticket_key_equality_and_validation() -> None:
    key = TicketKey(key_id=b"i" * 16, secret=b"s" * 32, created_at=1.0)
    assert key == TicketKey(key_id=b"i" * 16, secret=b"s" * 32, created_at=1.0)
    assert key != TicketKey(key_id=b"i" * 16, secret=b"t" * 32, created_at=1.0)
    with pytest.raises(ValueError):
        TicketKey(key_id=b"i" * 15, secret=b"s" * 32, created_at=1.0)
    with pytest.raises(ValueError):
        TicketKey(key_id=b"i" * 16, secret=b"s" * 31, created_at=1.0)


# -- sealing and opening --------------------------------------------------------------------


def test_round_trips_a_sealed_ticket(clock: FakeClock) -> None:
    keys = manager(clock)
    ticket = keys.seal(b"hello")
    assert keys.open(ticket) == b"hello"
    key = keys.store.keys()[0]
    assert ticket[:KEY_ID_LEN] == key.key_id
    assert len(ticket) == 16 + 12 + 5 + 16


def test_nonces_differ_between_tickets(clock: FakeClock) -> None:
    keys = manager(clock)
    a, b = keys.seal(b"same"), keys.seal(b"same")
    assert a[: KEY_ID_LEN + NONCE_LEN] != b[: KEY_ID_LEN + NONCE_LEN]
    assert a != b


def test_rejects_tampered_ticket_at_every_byte(clock: FakeClock) -> None:
    keys = manager(clock)
    ticket = keys.seal(b"resumption state")
    for i in range(len(ticket)):
        mutated = bytearray(ticket)
        mutated[i] ^= 0x01
        assert keys.open(bytes(mutated)) is None, i


def test_rejects_truncated_and_extended_tickets(clock: FakeClock) -> None:
    keys = manager(clock)
    ticket = keys.seal(b"resumption state")
    for n in range(len(ticket)):
        assert keys.open(ticket[:n]) is None, n
    assert keys.open(ticket + b"\x00") is None


def test_rejects_unknown_key_id(clock: FakeClock) -> None:
    ours, theirs = manager(clock), manager(clock)
    assert ours.open(theirs.seal(b"x")) is None
    ticket = ours.seal(b"x")
    assert ours.open(b"\xee" * KEY_ID_LEN + ticket[KEY_ID_LEN:]) is None


@given(st.binary(max_size=200))
def test_open_never_raises_for_random_bytes(data: bytes) -> None:
    keys = manager(FakeClock())
    keys.seal(b"make a key")
    assert keys.open(data) is None


def test_open_never_raises_for_odd_input(clock: FakeClock) -> None:
    keys = manager(clock)
    for bad in (None, "text", 42, b"", bytearray(100), memoryview(b"\x00" * 60)):
        assert keys.open(bad) is None  # type: ignore[arg-type]


def test_opens_bytearray_and_memoryview(clock: FakeClock) -> None:
    keys = manager(clock)
    ticket = keys.seal(b"x")
    assert keys.open(bytearray(ticket)) == b"x"
    assert keys.open(memoryview(ticket)) == b"x"


def test_open_on_an_empty_store_makes_no_key(clock: FakeClock) -> None:
    keys = manager(clock)
    assert keys.open(b"\x00" * 60) is None
    assert keys.store.keys() == []


# -- rotation -------------------------------------------------------------------------------


def test_current_key_encrypts_and_earlier_keys_still_decrypt(clock: FakeClock) -> None:
    keys = manager(clock)
    first = keys.seal(b"first")
    clock.advance(PERIOD - 1)
    assert keys.seal(b"still first key")[:KEY_ID_LEN] == first[:KEY_ID_LEN]
    assert len(keys.store.keys()) == 1

    clock.advance(1)  # the key is now rotation_period old: the next seal rotates
    second = keys.seal(b"second")
    assert second[:KEY_ID_LEN] != first[:KEY_ID_LEN]
    stored = keys.store.keys()
    assert [k.key_id for k in stored] == [second[:KEY_ID_LEN], first[:KEY_ID_LEN]]  # newest first
    assert keys.open(first) == b"first"
    assert keys.open(second) == b"second"


def test_earlier_key_destroyed_after_rotation_period_plus_max_lifetime(clock: FakeClock) -> None:
    keys = manager(clock)
    t0 = clock.now
    first = keys.seal(b"first")
    clock.advance(PERIOD)
    second = keys.seal(b"second")

    clock.now = t0 + PERIOD + LIFETIME - 1  # the last ticket of the first key may still be valid
    assert keys.open(first) == b"first"
    assert len(keys.store.keys()) == 2

    clock.now = t0 + PERIOD + LIFETIME + 1
    assert keys.open(first) is None
    assert [k.key_id for k in stored(keys.store)] == [second[:KEY_ID_LEN]]  # destroyed, not hidden
    assert keys.open(second) == b"second"


@pytest.mark.parametrize("operation", ["seal", "open", "rotate"])
def test_every_operation_destroys_expired_keys(clock: FakeClock, operation: str) -> None:
    store = MemoryTicketKeyStore()
    keys = manager(clock, store)
    old = keys.seal(b"old")
    clock.advance(PERIOD + LIFETIME + 1)
    # A newer key made by someone else keeps "seal" from needing to rotate in this test.
    store.add_if_current_is_older_than(TicketKey.generate(clock.now - 1), clock.now)
    getattr(keys, operation)(*([old] if operation != "rotate" else []))
    assert all(k.key_id != old[:KEY_ID_LEN] for k in stored(store))


def test_idle_server_makes_a_fresh_key(clock: FakeClock) -> None:
    keys = manager(clock)
    old = keys.seal(b"old")
    clock.advance(30 * DAY)
    new = keys.seal(b"new")
    assert keys.open(old) is None
    assert keys.open(new) == b"new"
    assert len(keys.store.keys()) == 1


def test_rotate_by_hand(clock: FakeClock) -> None:
    keys = manager(clock)
    before = keys.seal(b"before")
    new_key = keys.rotate()
    after = keys.seal(b"after")
    assert after[:KEY_ID_LEN] == new_key.key_id != before[:KEY_ID_LEN]
    assert keys.open(before) == b"before"
    assert keys.current_key() == new_key


def test_rotate_by_hand_twice_at_the_same_instant_adds_two_keys(clock: FakeClock) -> None:
    keys = manager(clock)
    a, b = keys.rotate(), keys.rotate()
    assert [k.key_id for k in stored(keys.store)] == [b.key_id, a.key_id]
    assert keys.current_key() == b and b.created_at > a.created_at


def test_two_managers_rotating_at_the_same_time_add_one_key(clock: FakeClock) -> None:
    store = MemoryTicketKeyStore()
    one, two = manager(clock, store), manager(clock, store)
    t1 = one.seal(b"from one")
    t2 = two.seal(b"from two")
    assert len(store.keys()) == 1
    assert t1[:KEY_ID_LEN] == t2[:KEY_ID_LEN]
    assert two.open(t1) == b"from one" and one.open(t2) == b"from two"

    clock.advance(PERIOD)
    one.seal(b"x")
    two.seal(b"y")
    assert len(store.keys()) == 2
    assert one.current_key() == two.current_key()


def test_many_threads_rotating_at_once_add_one_key(clock: FakeClock) -> None:
    store = MemoryTicketKeyStore()
    managers = [manager(clock, store) for _ in range(16)]
    barrier = threading.Barrier(len(managers))
    tickets: list[bytes] = []

    def work(m: TicketKeyManager) -> None:
        barrier.wait()
        tickets.append(m.seal(b"t"))

    threads = [threading.Thread(target=work, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.keys()) == 1
    assert len({t[:KEY_ID_LEN] for t in tickets}) == 1


def test_memory_store_semantics() -> None:
    store = MemoryTicketKeyStore(max_keys=3)
    k1 = TicketKey.generate(10.0)
    store.add_if_current_is_older_than(k1, 0.0)
    assert store.keys() == [k1]
    store.add_if_current_is_older_than(TicketKey.generate(20.0), 5.0)  # k1 (10) is newer than 5
    assert store.keys() == [k1]
    k2 = TicketKey.generate(20.0)
    store.add_if_current_is_older_than(k2, 10.0)  # k1 is not newer than 10
    assert store.keys() == [k2, k1]
    for t in (30.0, 40.0):
        store.add_if_current_is_older_than(TicketKey.generate(t), float("inf"))
    assert [k.created_at for k in stored(store)] == [40.0, 30.0, 20.0]  # bounded: newest kept
    store.remove_older_than(30.0)
    assert [k.created_at for k in stored(store)] == [40.0, 30.0]
    assert "secret" not in repr(store)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rotation_period": 0},
        {"rotation_period": -1},
        {"max_ticket_lifetime": 0},
        {"max_ticket_lifetime": 8 * DAY},
        {"rotation_period": float("nan")},
    ],
)
def test_rejects_bad_manager_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        TicketKeyManager(**kwargs)  # type: ignore[arg-type]


def test_manager_repr_has_no_secrets(clock: FakeClock) -> None:
    keys = manager(clock)
    keys.seal(b"x")
    secret = keys.store.keys()[0].secret
    assert secret.hex() not in repr(keys) and repr(secret) not in repr(keys)


def test_injected_randomness_makes_sealing_reproducible() -> None:
    def sealed() -> bytes:
        return TicketKeyManager(clock=FakeClock(), random=counting_random()).seal(b"same")

    assert sealed() == sealed()


# -- StatelessTickets -------------------------------------------------------------------------


def test_stateless_round_trip(clock: FakeClock) -> None:
    tickets = StatelessTickets(manager(clock))
    state = make_state(created_at=clock.now)
    ticket = tickets.issue(state)
    assert PSK not in ticket
    assert tickets.redeem(ticket) == state
    assert tickets.redeem(ticket) == state  # stateless: anti-replay is the caller's business


def test_stateless_rejects_tampered_and_unknown(clock: FakeClock) -> None:
    tickets = StatelessTickets(manager(clock))
    ticket = tickets.issue(make_state(created_at=clock.now))
    assert tickets.redeem(ticket[:-1]) is None
    assert tickets.redeem(ticket[:-1] + bytes([ticket[-1] ^ 1])) is None
    assert tickets.redeem(b"") is None
    assert StatelessTickets(manager(clock)).redeem(ticket) is None


def test_stateless_rejects_expired_state(clock: FakeClock) -> None:
    tickets = StatelessTickets(manager(clock))
    ticket = tickets.issue(make_state(created_at=clock.now, lifetime=60))
    assert tickets.redeem(ticket, now=clock.now + 59) is not None
    assert tickets.redeem(ticket, now=clock.now + 60) is None
    clock.advance(61)
    assert tickets.redeem(ticket) is None


def test_stateless_rejects_sealed_garbage(clock: FakeClock) -> None:
    keys = manager(clock)
    assert StatelessTickets(keys).redeem(keys.seal(b"not a state")) is None


def test_stateless_refuses_lifetime_beyond_key_retention(clock: FakeClock) -> None:
    keys = TicketKeyManager(rotation_period=HOUR, max_ticket_lifetime=HOUR, clock=clock)
    tickets = StatelessTickets(keys)
    assert tickets.max_lifetime == HOUR
    with pytest.raises(ConfigError):
        tickets.issue(make_state(lifetime=7200))


def test_stateless_refuses_state_too_big_for_a_ticket(clock: FakeClock) -> None:
    tickets = StatelessTickets(manager(clock))
    with pytest.raises(LocalProtocolError):
        tickets.issue(make_state(client_chain=(b"c" * 70000,)))


# -- StatefulTickets ------------------------------------------------------------------------


def test_stateful_ticket_is_single_use(clock: FakeClock) -> None:
    cache = StatefulTickets(clock=clock)
    state = make_state(created_at=clock.now)
    ticket = cache.issue(state)
    assert len(ticket) == 32 and PSK not in ticket
    assert cache.redeem(ticket) == state
    assert cache.redeem(ticket) is None
    assert len(cache) == 0


def test_stateful_peek_leaves_the_ticket_and_consume_takes_it_once(clock: FakeClock) -> None:
    cache = StatefulTickets(clock=clock)
    state = make_state(created_at=clock.now)
    ticket = cache.issue(state)
    assert cache.peek(ticket) == state and cache.peek(ticket) == state  # e.g. across an HRR
    assert cache.consume(ticket) is True
    assert cache.consume(ticket) is False  # a second connection cannot take it again
    assert cache.peek(ticket) is None and len(cache) == 0
    assert cache.consume(b"x" * 32) is False


def test_stateless_peek_opens_and_consume_always_succeeds(clock: FakeClock) -> None:
    tickets = StatelessTickets(TicketKeyManager(clock=clock, random=counting_random()))
    state = make_state(created_at=clock.now)
    ticket = tickets.issue(state)
    assert tickets.peek(ticket) == state and tickets.consume(ticket)
    assert tickets.peek(ticket[:-1]) is None


def test_stateful_ticket_expires(clock: FakeClock) -> None:
    cache = StatefulTickets(clock=clock)
    ticket = cache.issue(make_state(created_at=clock.now, lifetime=100))
    clock.advance(100)
    assert cache.redeem(ticket) is None
    ticket = cache.issue(make_state(created_at=clock.now, lifetime=100))
    assert cache.redeem(ticket, now=clock.now + 99.5) is not None


def test_stateful_cache_is_lru_bounded(clock: FakeClock) -> None:
    cache = StatefulTickets(max_entries=3, clock=clock)
    issued = [cache.issue(make_state(created_at=clock.now, age_add=i)) for i in range(5)]
    assert len(cache) == 3
    assert cache.redeem(issued[0]) is None and cache.redeem(issued[1]) is None
    assert [cache.redeem(t).age_add for t in issued[2:]] == [2, 3, 4]  # type: ignore[union-attr]


def test_stateful_cache_drops_expired_entries_when_issuing(clock: FakeClock) -> None:
    cache = StatefulTickets(max_entries=100, clock=clock)
    for _ in range(10):
        cache.issue(make_state(created_at=clock.now, lifetime=10))
    clock.advance(11)
    cache.issue(make_state(created_at=clock.now, lifetime=10))
    assert len(cache) == 1


def test_stateful_rejects_unknown_and_odd_tickets(clock: FakeClock) -> None:
    cache = StatefulTickets(clock=clock)
    cache.issue(make_state(created_at=clock.now))
    for bad in (b"", b"\x00" * 32, b"\x00" * 31, "x" * 32, None):
        assert cache.redeem(bad) is None  # type: ignore[arg-type]
    assert len(cache) == 1
    assert "psk" not in repr(cache)
