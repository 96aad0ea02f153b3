"""Both stores (SQLite file, real PostgreSQL server): gapless indexes under concurrent
writers on separate connections, duplicates keep their first index, ranges checked."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nautilus_tls.ledger.errors import StoreError
from nautilus_tls.ledger.merkle import leaf_hash
from nautilus_tls.ledger.store import LogStore, open_store

WRITERS = 4
PER_WRITER = 40
JOIN_TIMEOUT = 120.0


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_location: str) -> Iterator[LogStore]:
    opened = open_store(store_location)
    yield opened
    opened.close()


def _leaf(writer: int, n: int) -> bytes:
    return f"writer {writer} leaf {n}".encode()


def test_round_trips_leaves_and_finds_them_by_hash(store: LogStore) -> None:
    assert store.size() == 0
    for i in range(5):
        assert store.append(_leaf(0, i), leaf_hash(_leaf(0, i))) == (i, True)
    assert store.size() == 5
    assert store.entries(1, 3) == [_leaf(0, 1), _leaf(0, 2)]
    assert store.leaf_hashes(0, 5) == [leaf_hash(_leaf(0, i)) for i in range(5)]
    assert store.index_of(leaf_hash(_leaf(0, 3))) == 3
    assert store.index_of(b"\x00" * 32) is None


def test_adding_a_leaf_twice_keeps_its_first_index(store: LogStore) -> None:
    store.append(b"a", leaf_hash(b"a"))
    store.append(b"b", leaf_hash(b"b"))
    assert store.append(b"a", leaf_hash(b"a")) == (0, False)
    assert store.size() == 2


def test_rejects_ranges_beyond_the_stored_leaves(store: LogStore) -> None:
    store.append(b"a", leaf_hash(b"a"))
    for start, end in ((0, 2), (3, 1), (-1, 1)):
        with pytest.raises(StoreError):
            store.entries(start, end)


def _run_writers(location: str, work: Callable[[LogStore, int], list[int]]) -> list[list[int]]:
    results: list[list[int]] = [[] for _ in range(WRITERS)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        store = open_store(location)  # its own connection, as a separate process would have
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            results[w] = work(store, w)
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not errors, errors
    return results


def test_concurrent_writers_get_distinct_gapless_indexes(store_location: str) -> None:
    open_store(store_location).close()  # create the schema before the race

    def work(store: LogStore, w: int) -> list[int]:
        out = []
        for n in range(PER_WRITER):
            index, new = store.append(_leaf(w, n), leaf_hash(_leaf(w, n)))
            assert new
            out.append(index)
            # Every writer also adds the same shared leaf: exactly one of them creates it.
            if n == PER_WRITER // 2:
                store.append(b"shared", leaf_hash(b"shared"))
        return out

    results = _run_writers(store_location, work)
    store = open_store(store_location)
    try:
        total = WRITERS * PER_WRITER + 1
        assert store.size() == total
        shared = store.index_of(leaf_hash(b"shared"))
        assert shared is not None
        assert sorted([shared, *(i for r in results for i in r)]) == list(range(total))
        for w, mine in enumerate(results):
            assert mine == sorted(mine)  # one writer's leaves keep their order
            assert store.entries(mine[0], mine[0] + 1) == [_leaf(w, 0)]
    finally:
        store.close()


def test_open_store_reports_an_unreachable_postgres_without_the_password() -> None:
    pytest.importorskip("psycopg")
    url = "postgresql://user:s3cret@/nodb?host=/nonexistent-socket-dir&connect_timeout=2"
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert "s3cret" not in str(info.value)
