"""Client tickets and stores: newest first, single use, expiry, bounds, the JSON file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from session.helpers import FakeClock

from nautilus_tls.errors import ConfigError
from nautilus_tls.session.client_store import (
    ClientTicket,
    FileSessionStore,
    MemorySessionStore,
    session_key,
)

PSK = b"\x77" * 32
DAY = 86400.0


def ticket(received_at: float, *, lifetime: int = 3600, n: int = 0, **kw: object) -> ClientTicket:
    fields: dict[str, object] = {
        "ticket": b"T" + n.to_bytes(4, "big"),
        "psk": PSK,
        "suite": 0x1301,
        "lifetime": lifetime,
        "age_add": 12345,
        "received_at": received_at,
        "max_early_data": 0,
        "server_name": "example.com",
        "alpn": b"h2",
    }
    fields.update(kw)
    return ClientTicket(**fields)  # type: ignore[arg-type]


# -- ClientTicket ---------------------------------------------------------------------------


def test_is_usable_within_lifetime() -> None:
    t = ticket(1000.0, lifetime=60)
    assert t.is_usable(1000.0) and t.is_usable(1059.9)
    assert not t.is_usable(1060.0)
    assert t.is_usable(990.0)  # the clock stepped back: age counts as zero


def test_is_usable_never_beyond_seven_days() -> None:
    t = ticket(0.0, lifetime=2**32 - 1)
    assert t.is_usable(7 * DAY - 1)
    assert not t.is_usable(7 * DAY)


def test_zero_lifetime_is_never_usable() -> None:
    assert not ticket(0.0, lifetime=0).is_usable(0.0)


def test_obfuscated_age() -> None:
    t = ticket(1000.0, age_add=2**32 - 1000)
    assert t.obfuscated_age(1000.0) == 2**32 - 1000
    assert t.obfuscated_age(1002.5) == 1500  # (2500 + age_add) mod 2^32
    assert t.obfuscated_age(999.0) == 2**32 - 1000  # negative age counts as zero


@given(st.floats(0, 7 * DAY), st.integers(0, 2**32 - 1))
def test_obfuscated_age_formula(age: float, age_add: int) -> None:
    t = ticket(5000.0, age_add=age_add)
    assert t.obfuscated_age(5000.0 + age) == (int((5000.0 + age - 5000.0) * 1000) + age_add) % 2**32


def test_client_ticket_repr_has_no_psk() -> None:
    t = ticket(0.0)
    assert PSK.hex() not in repr(t) and repr(PSK) not in repr(t) and "psk" not in repr(t)


def test_client_ticket_equality_covers_psk() -> None:
    assert ticket(1.0) == ticket(1.0)
    assert ticket(1.0) != ticket(1.0, psk=b"\x01" * 32)


@pytest.mark.parametrize(
    "field,value",
    [("ticket", b""), ("psk", b""), ("suite", -1), ("lifetime", 2**32), ("alpn", b"")],
)
def test_client_ticket_rejects_bad_fields(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        ticket(0.0, **{field: value})  # type: ignore[arg-type]


def test_client_ticket_json_round_trip() -> None:
    t = ticket(1.5, server_chain=(b"\x30\x01a", b"\x30\x01b"), alpn=None, server_name=None)
    assert ClientTicket.from_json(json.loads(json.dumps(t.to_json()))) == t


def test_verified_ticket_json_round_trip() -> None:
    t = ticket(1.5, server_chain=(b"\x30\x01a",), verified=True, trust_fingerprint=b"\x42" * 32)
    back = ClientTicket.from_json(json.loads(json.dumps(t.to_json())))
    assert back == t and back.verified and back.trust_fingerprint == b"\x42" * 32


@pytest.mark.parametrize(
    ("verified", "fingerprint"),
    [(True, b""), (True, b"\x42" * 31), (False, b"\x42" * 32), (1, b"\x42" * 32)],
)
def test_rejects_inconsistent_verification_record(verified: object, fingerprint: bytes) -> None:
    with pytest.raises(ValueError):
        ticket(0.0, verified=verified, trust_fingerprint=fingerprint)


def test_version_1_file_loads_its_tickets_as_unverified(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    entry = ticket(0.0).to_json()
    del entry["verified"], entry["trust_fingerprint"]  # what version 1 wrote
    path.write_text(
        json.dumps({"format": "nautilus-tls-sessions", "version": 1, "sessions": {"k": [entry]}})
    )
    loaded = FileSessionStore(path).take("k", 0.0)
    assert loaded is not None and not loaded.verified and loaded.trust_fingerprint == b""


# -- session_key ----------------------------------------------------------------------------


def test_session_key_shapes() -> None:
    assert session_key("Example.COM.") == "example.com"
    assert session_key("example.com", 443) == "example.com:443"
    assert session_key("example.com", 443, (b"h2", b"http/1.1")) == "example.com:443#h2,http/1.1"
    assert session_key("::1", 8443) == "[::1]:8443"
    assert session_key(None) == ""


def test_session_keys_are_distinct() -> None:
    keys = {
        session_key("a", None, ()),
        session_key("a", 1, ()),
        session_key("a", None, (b"h2",)),
        session_key("a", None, (b"h2,x",)),
        session_key("a", None, (b"h2", b"x")),
        session_key("a:1"),
        session_key("a#h2"),
        session_key(None, 1),
    }
    assert len(keys) == 8


# -- stores ---------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemorySessionStore | FileSessionStore:
    if request.param == "memory":
        return MemorySessionStore(max_per_key=3, max_keys=2)
    return FileSessionStore(tmp_path / "sessions.json", max_per_key=3, max_keys=2)


def test_take_returns_newest_first_and_removes_it(
    store: MemorySessionStore | FileSessionStore,
) -> None:
    for n, at in enumerate((10.0, 30.0, 20.0)):
        store.put("k", ticket(at, n=n))
    taken = [store.take("k", 40.0) for _ in range(4)]
    assert [t.received_at if t else None for t in taken] == [30.0, 20.0, 10.0, None]


def test_take_drops_expired_tickets(store: MemorySessionStore | FileSessionStore) -> None:
    store.put("k", ticket(0.0, lifetime=10, n=1))
    store.put("k", ticket(5.0, lifetime=100, n=2))
    got = store.take("k", 20.0)
    assert got is not None and got.received_at == 5.0
    assert store.take("k", 20.0) is None
    store.put("k", ticket(0.0, lifetime=10))
    assert store.take("k", 10.0) is None


def test_keys_are_separate(store: MemorySessionStore | FileSessionStore) -> None:
    store.put("a", ticket(1.0, n=1))
    assert store.take("b", 2.0) is None
    assert store.take("a", 2.0) is not None


def test_per_key_bound_keeps_newest(store: MemorySessionStore | FileSessionStore) -> None:
    for n in range(5):
        store.put("k", ticket(float(n), n=n))
    got = [store.take("k", 10.0) for _ in range(4)]
    assert [t.received_at if t else None for t in got] == [4.0, 3.0, 2.0, None]


def test_key_bound_drops_least_recently_used(
    store: MemorySessionStore | FileSessionStore,
) -> None:
    store.put("a", ticket(1.0, n=1))
    store.put("b", ticket(2.0, n=2))
    store.put("a", ticket(3.0, n=3))  # "a" is now the most recently used
    store.put("c", ticket(4.0, n=4))  # evicts "b"
    assert store.take("b", 5.0) is None
    assert store.take("a", 5.0) is not None
    assert store.take("c", 5.0) is not None


def test_expired_ticket_is_not_stored(store: MemorySessionStore | FileSessionStore) -> None:
    store.put("k", ticket(0.0, lifetime=0))
    assert store.take("k", 0.0) is None


def test_memory_store_repr_and_len() -> None:
    store = MemorySessionStore()
    store.put("k", ticket(0.0))
    assert len(store) == 1
    assert PSK.hex() not in repr(store)


# -- the file -------------------------------------------------------------------------------


def test_file_round_trips_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "sess.json"
    original = ticket(100.0, server_chain=(b"\x30\x00",), max_early_data=1024)
    FileSessionStore(path).put(session_key("example.com", 443), original)
    assert FileSessionStore(path).take(session_key("example.com", 443), 101.0) == original
    assert FileSessionStore(path).take(session_key("example.com", 443), 101.0) is None


def test_file_is_written_0600(tmp_path: Path) -> None:
    path = tmp_path / "sess.json"
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        FileSessionStore(path).put("k", ticket(0.0))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # replaced atomically: no temporary files are left behind
    assert [p.name for p in tmp_path.iterdir()] == ["sess.json"]


def test_file_holds_psk_in_hex(tmp_path: Path) -> None:
    path = tmp_path / "sess.json"
    FileSessionStore(path).put("k", ticket(0.0))
    doc = json.loads(path.read_text())
    assert doc["format"] == "nautilus-tls-sessions" and doc["version"] == 2
    assert doc["sessions"]["k"][0]["psk"] == PSK.hex()


def test_missing_file_is_an_empty_store(tmp_path: Path) -> None:
    assert FileSessionStore(tmp_path / "none.json").take("k", 0.0) is None
    assert not (tmp_path / "none.json").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"format": "other", "version": 1, "sessions": {}}',
        b'{"format": "nautilus-tls-sessions", "version": 9, "sessions": {}}',
        b'{"format": "nautilus-tls-sessions", "version": 1, "sessions": {"k": [{"psk": "zz"}]}}',
        b'{"format": "nautilus-tls-sessions", "version": 1, "sessions": {"k": {}}}',
        b"[" * 100_000,
    ],
)
def test_rejects_files_that_are_not_session_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        FileSessionStore(path).take("k", 0.0)
    assert "zz" not in str(info.value)


def test_bad_entry_error_does_not_show_the_psk(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    entry = ticket(0.0).to_json()
    entry["suite"] = "not a number"
    path.write_text(
        json.dumps({"format": "nautilus-tls-sessions", "version": 1, "sessions": {"k": [entry]}})
    )
    with pytest.raises(ConfigError) as info:
        FileSessionStore(path).take("k", 0.0)
    assert PSK.hex() not in str(info.value)


def test_rejects_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2000)
    with pytest.raises(ConfigError):
        FileSessionStore(path, max_file_size=1000).take("k", 0.0)


def test_unwritable_directory_is_a_config_error(tmp_path: Path) -> None:
    store = FileSessionStore(tmp_path / "missing-dir" / "sess.json")
    with pytest.raises(ConfigError):
        store.put("k", ticket(0.0))


def test_fake_clock_fixture_is_shared(clock: FakeClock) -> None:
    store = MemorySessionStore()
    store.put("k", ticket(clock(), lifetime=10))
    clock.advance(10)
    assert store.take("k", clock()) is None
