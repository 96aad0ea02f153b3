"""Split views (issue 16 item 3): the client remembers each log's newest tree head, asks the
server for a consistency proof from it, and refuses a log that forked; the memory survives in
a file. Real logs (SQLite, in this process) behind real staplers, over the sans-I/O pair."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from certificates import pki
from ledger.helpers import numbered_did
from pairs import client_config, handshake, server_config

from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError
from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.stapler import LocalLog, TransparencyStapler
from nautilus_tls.ledger.sth import LogKey
from nautilus_tls.ledger.store_sqlite import SQLiteStore
from nautilus_tls.ledger.transparency import RequireTransparency, TreeHeadMemory
from nautilus_tls.session_info import TransparencyReport

CHAIN = pki().server.chain


@pytest.fixture
def make_log(tmp_path: Path, log_key: LogKey) -> Iterator[object]:
    """Logs under the one log key, each with its own history (a fork is two of them)."""
    stores: list[SQLiteStore] = []

    def make(*entries: Entry) -> TransparencyLog:
        store = SQLiteStore(tmp_path / f"log{len(stores)}.sqlite")
        stores.append(store)
        log = TransparencyLog(store, log_key)
        for e in entries:
            log.add(e)
        return log

    yield make
    for store in stores:
        store.close()


def _stapler(log: TransparencyLog) -> TransparencyStapler:
    stapler = TransparencyStapler(LocalLog(log), [CHAIN])
    assert stapler.refresh()
    return stapler


def _connect(require: RequireTransparency, stapler: TransparencyStapler) -> TransparencyReport:
    client, _ = handshake(
        client_config(require_transparency=require), server_config(extension_hooks=(stapler,))
    )
    assert client.info is not None and client.info.transparency is not None
    return client.info.transparency


def _refusal(require: RequireTransparency, stapler: TransparencyStapler) -> ProtocolError:
    with pytest.raises(ProtocolError) as err:
        _connect(require, stapler)
    return err.value


def test_a_grown_log_is_checked_with_a_stapled_consistency_proof(
    make_log: object, log_key: LogKey
) -> None:
    log = make_log(numbered_did(0), Entry.x509_chain(CHAIN))  # type: ignore[operator]
    require = RequireTransparency([log_key.public])
    stapler = _stapler(log)
    first = _connect(require, stapler)
    assert (first.tree_size, first.consistent) == (2, None)  # nothing to compare with yet
    log.add(numbered_did(2))
    log.add(numbered_did(3))
    stapler.refresh()
    # The client's ClientHello says it knows size 2; the server has no proof from there yet,
    # so the newer head is accepted for its inclusion proof but not remembered ...
    grown = _connect(require, stapler)
    assert (grown.tree_size, grown.consistent) == (4, None)
    assert require.tree_heads.known_sizes([log_key.public.log_id]) == {log_key.public.log_id: 2}
    # ... and asked for: the stapler fetches 2 -> 4 and staples it from then on.
    stapler.fetch_wanted()
    checked = _connect(require, stapler)
    assert (checked.tree_size, checked.consistent) == (4, True)
    assert require.tree_heads.known_sizes([log_key.public.log_id]) == {log_key.public.log_id: 4}


def test_a_forked_log_is_caught_by_the_consistency_proof(make_log: object, log_key: LogKey) -> None:
    # One log key, two histories that share entry 0 and then differ: a split view.
    seen = make_log(numbered_did(0), numbered_did(1), Entry.x509_chain(CHAIN))  # type: ignore[operator]
    forked = make_log(numbered_did(0), numbered_did(9), Entry.x509_chain(CHAIN), numbered_did(3))  # type: ignore[operator]
    require = RequireTransparency([log_key.public])
    assert _connect(require, _stapler(seen)).tree_size == 3
    other = _stapler(forked)
    _connect(require, other)  # newer head, no proof yet: accepted, not remembered
    other.fetch_wanted()
    err = _refusal(require, other)
    assert err.alert == AlertDescription.bad_certificate
    assert "split view" in str(err)
    # The remembered head is still the one first seen.
    assert require.tree_heads.known_sizes([log_key.public.log_id]) == {log_key.public.log_id: 3}


def test_a_head_of_the_same_size_with_another_root_is_a_fork(
    make_log: object, log_key: LogKey
) -> None:
    seen = make_log(numbered_did(0), Entry.x509_chain(CHAIN))  # type: ignore[operator]
    forked = make_log(numbered_did(7), Entry.x509_chain(CHAIN))  # type: ignore[operator]
    require = RequireTransparency([log_key.public])
    _connect(require, _stapler(seen))
    err = _refusal(require, _stapler(forked))
    assert err.alert == AlertDescription.bad_certificate
    assert "forked" in str(err)


def test_the_memory_file_carries_tree_heads_across_clients(
    make_log: object, log_key: LogKey, tmp_path: Path
) -> None:
    path = tmp_path / "heads.json"
    seen = make_log(numbered_did(0), Entry.x509_chain(CHAIN))  # type: ignore[operator]
    forked = make_log(numbered_did(7), Entry.x509_chain(CHAIN))  # type: ignore[operator]
    _connect(RequireTransparency([log_key.public], TreeHeadMemory(path)), _stapler(seen))
    assert path.stat().st_mode & 0o077 == 0
    # A new client process (a new memory over the same file) still catches the fork.
    later = RequireTransparency([log_key.public], TreeHeadMemory(path))
    assert _refusal(later, _stapler(forked)).alert == AlertDescription.bad_certificate


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"00": "zz"}', json.dumps({"00" * 32: "00" * 90})]
)
def test_a_corrupt_memory_file_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "heads.json"
    path.write_text(text)
    with pytest.raises(LedgerError, match="tree head file"):
        TreeHeadMemory(path)
