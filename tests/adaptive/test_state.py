"""The per-server state file: round trips, atomic and bounded, and a bad file is survived."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nautilus_tls.adaptive.state import MAX_STATE_FILE_BYTES, ArmStats, ServerRecord, StateFile


def _remember(state: StateFile, key: str, now: float, group: int = 0x11EC) -> None:
    with state.update(key, now) as record:
        record.connections += 1
        record.selected[group] = record.selected.get(group, 0) + 1
        record.evidence(group).accepted += 1.0
        record.arms.setdefault("0x11ec", ArmStats()).add(0.01)
        record.rtt = 0.002
        record.post_quantum_seen = True


def test_round_trips_records_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    _remember(StateFile(path), "example.com:443", 100.0)
    record = StateFile(path).get("example.com:443")
    assert record is not None
    assert record.connections == 1
    assert record.selected == {0x11EC: 1}
    assert record.groups[0x11EC].accepted == 1.0
    assert record.arms["0x11ec"].mean == pytest.approx(0.01)
    assert record.rtt == 0.002
    assert record.post_quantum_seen
    assert record.last_seen == 100.0


def test_keeps_at_most_max_servers_dropping_the_least_recently_used(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = StateFile(path, max_servers=3)
    for i, key in enumerate(["a:1", "b:1", "c:1", "a:1", "d:1"]):
        _remember(state, key, float(i))
    assert set(state.keys()) == {"a:1", "c:1", "d:1"}
    assert set(json.loads(path.read_text())["servers"]) == {"a:1", "c:1", "d:1"}
    assert set(StateFile(path, max_servers=2).keys()) == {"a:1", "d:1"}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"version": 99, "servers": {}}',
        b'{"version": 1, "servers": {"a:1": {"connections": -1}}}',
        b'{"version": 1, "servers": []}',
        b"\xff\xfe",
    ],
)
def test_starts_fresh_with_a_warning_when_the_file_is_corrupt(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    state = StateFile(path)
    with caplog.at_level(logging.WARNING, logger="nautilus_tls.adaptive"):
        assert state.keys() == ()
    assert "unusable" in caplog.text
    assert (tmp_path / "state.json.corrupt").read_bytes() == content
    _remember(state, "a:1", 1.0)  # and the next save writes a good file
    assert StateFile(path).get("a:1") is not None


def test_refuses_to_read_an_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b" " * (MAX_STATE_FILE_BYTES + 1))
    assert StateFile(path).keys() == ()


def test_writes_atomically_leaving_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    state = StateFile(path)
    for i in range(5):
        _remember(state, f"h{i}:443", float(i))
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]


def test_a_read_only_location_does_not_break_updates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    state = StateFile(blocker / "state.json")  # its parent is a file: cannot be created
    with caplog.at_level(logging.WARNING, logger="nautilus_tls.adaptive"):
        _remember(state, "a:1", 1.0)
    assert state.get("a:1") is not None
    assert "cannot write" in caplog.text


def test_memory_only_state_writes_nothing(tmp_path: Path) -> None:
    state = StateFile(None)
    _remember(state, "a:1", 1.0)
    assert state.get("a:1") is not None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rtt", float("nan")),
        ("rtt", 1e300),
        ("connections", True),
        ("connections", 2**60),
        ("last_group", 0x10000),
        ("groups", {str(i): [1, 1] for i in range(100)}),
        ("arms", {"0x11ec+zz": [1, 0.1, 0]}),
        ("selected", {"0x11ec": -1}),
    ],
)
def test_rejects_a_record_with_an_out_of_range_field(
    tmp_path: Path, field: str, value: object
) -> None:
    path = tmp_path / "state.json"
    _remember(StateFile(path), "a:1", 1.0)
    document = json.loads(path.read_text())
    document["servers"]["a:1"][field] = value
    path.write_text(json.dumps(document))
    assert StateFile(path).keys() == ()
    assert (tmp_path / "state.json.corrupt").exists()


def test_an_update_that_fails_keeps_the_record(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "state.json")
    _remember(state, "a:1", 1.0)
    with pytest.raises(RuntimeError), state.update("a:1", 2.0):
        raise RuntimeError("learning failed")
    record = state.get("a:1")
    assert record is not None and record.last_seen == 1.0


_FIELDS = sorted(ServerRecord(key="x").to_json())
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(record=st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=8), _json, max_size=6))
def test_never_raises_on_any_json_record(tmp_path: Path, record: dict[str, object]) -> None:
    path = tmp_path / "state.json"
    _remember(StateFile(path), "a:1", 1.0)
    valid = json.loads(path.read_text())["servers"]["a:1"]
    document = {"version": 1, "servers": {"a:1": {**valid, **record}}}
    path.write_text(json.dumps(document))
    state = StateFile(path)
    found = state.get("a:1")  # parsed, or set aside with a warning: never an exception
    if found is not None:
        _remember(state, "a:1", 2.0)
