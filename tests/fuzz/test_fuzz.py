"""Fuzzing in CI: every target runs for a bounded time, and every past finding stays fixed.

``test_fuzz_target`` (marked ``fuzz``) runs tests/fuzz/run.py for each target in parallel
subprocesses (libFuzzer exits the process it runs in) for ``NAUTILUS_FUZZ_SECONDS`` each:
40 under CI, 5 otherwise. The other tests here are quick and always run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz import pake_world, targets, world
from nautilus_tls.defaults import MAX_LIST_ENTRIES
from nautilus_tls.errors import AlertDescription, DecodeError, ProtocolError
from nautilus_tls.pake.server import PakeServer
from nautilus_tls.wire.messages import decode_handshake

HERE = Path(__file__).resolve().parent
REGRESSIONS = sorted((HERE / "corpus" / "regressions").glob("*.bin"))
SECONDS = float(os.environ.get("NAUTILUS_FUZZ_SECONDS", "40" if os.environ.get("CI") else "5"))
NAMES = tuple(targets.TARGETS)


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_fuzz_regression(path: Path) -> None:
    """Each input the fuzzer once broke the library with: it must now pass every check."""
    target = path.name.split("-", 1)[0]
    targets.TARGETS[target].one_input(path.read_bytes())


# The scenario each regression input was found in. The scenario byte is taken modulo the
# number of scenarios, so appending scenarios can move an input: rewrite its first byte then.
REGRESSION_SCENARIOS = {
    "server-keyupdate-after-close-notify": "full",
    "server-client-certificate-invalid-x509-version": "mtls",
    "server-client-certificate-issuer-bitstring-attribute": "mtls",
    "server-client-certificate-malformed-subject": "mtls",
    "server-pake-locked-out-user": "pake-opaque",
}


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_regression_replays_in_the_scenario_it_was_found_in(path: Path) -> None:
    scenarios = world.scenarios()
    assert scenarios[path.read_bytes()[0] % len(scenarios)].name == REGRESSION_SCENARIOS[path.stem]


@pytest.mark.parametrize("name", NAMES)
def test_seeds_pass_every_check(name: str) -> None:
    target = targets.TARGETS[name]
    seeds = target.seeds()
    assert seeds
    for seed in seeds:
        target.one_input(seed)


@pytest.mark.parametrize("role", ["server", "client"])
def test_recorded_sessions_replay_to_the_end(role: str) -> None:
    """The fuzzer's seeds go deep: a fresh peer takes the whole recorded stream (except
    what ML-KEM's randomized encapsulation makes unrepeatable on the server side)."""
    for index, sc in enumerate(world.scenarios()):
        c2s, s2c = targets.recorded()[sc.name]
        replay = sc.name == "full-pq" and role == "server"
        try:
            with world.pake_randomness(sc, role).active():
                conn = targets._new(role, sc)
                conn.receive_data(c2s if role == "server" else s2c)
        except Exception:
            assert replay, f"{sc.name} ({index}) does not replay on the {role} side"
            continue
        assert conn.handshake_complete and conn.peer_closed, sc.name


PAKE_SCENARIOS = {"pake-opaque": "opaque", "pake-spake2plus": "spake2plus", "pake-cert": "opaque"}


@pytest.mark.parametrize("name", sorted(PAKE_SCENARIOS))
@pytest.mark.parametrize("role", ["server", "client"])
def test_pake_sessions_log_in_and_replay_only_with_pinned_randomness(name: str, role: str) -> None:
    """The recorded PAKE sessions really are password logins (alone, or next to the server
    certificate), and they replay because fuzz.pake_world pins the PAKE randomness: without
    it the fresh peer's own random values fail the proof at the first PAKE message."""
    sc = next(s for s in world.scenarios() if s.name == name)
    c2s, s2c = targets.recorded()[name]
    stream = c2s if role == "server" else s2c
    with world.pake_randomness(sc, role).active():
        conn = targets._new(role, sc)
        conn.receive_data(stream)
    assert conn.info is not None and conn.info.auth == PAKE_SCENARIOS[name]
    if role == "client":
        assert bool(conn.info.peer_certificates) == (name == "pake-cert")
    unpinned = targets._new(role, sc)
    with pytest.raises(ProtocolError) as info:
        unpinned.receive_data(stream)
    expected = (
        AlertDescription.bad_record_mac if role == "server" else AlertDescription.decrypt_error
    )
    assert info.value.alert == expected


def test_one_input_cannot_change_the_next_inputs_pake_limiter() -> None:
    """A login that starts (counted as failed until the client's Finished) or a locked-out
    user does not carry over: every fuzz input's server starts with no failures."""
    sc = next(s for s in world.scenarios() if s.name == "pake-opaque")
    c2s, _ = targets.recorded()[sc.name]
    first_record = c2s[: 5 + int.from_bytes(c2s[3:5], "big")]  # the ClientHello alone
    server = sc.server.pake_store
    assert isinstance(server, PakeServer)
    for _ in range(6):  # past the limit of 5 failures if they were kept
        targets.server_one_input(bytes((world.scenarios().index(sc), 0)) + first_record)
    assert server.store.failures(pake_world.USER, world.FIXED_NOW, 300.0) == 1
    world.new_server(sc)
    assert server.store.failures(pake_world.USER, world.FIXED_NOW, 300.0) == 0
    targets.server_one_input(bytes((world.scenarios().index(sc), 0)) + c2s)  # logs in
    assert server.store.failures(pake_world.USER, world.FIXED_NOW, 300.0) == 0


def test_world_is_deterministic() -> None:
    again = {sc.name: world.record_session(sc) for sc in world.scenarios()}
    for name, (c2s, s2c) in targets.recorded().items():
        if name != "full-pq":  # the server's ML-KEM encapsulation is randomized
            assert again[name] == (c2s, s2c), name


@pytest.mark.fuzz
def test_fuzz_targets_for_a_bounded_time(tmp_path: Path) -> None:
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                str(HERE / "run.py"),
                "--target",
                name,
                "--seconds",
                str(SECONDS),
                "--artifacts",
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in NAMES
    }
    failures = []
    for name, proc in procs.items():
        try:
            out, _ = proc.communicate(timeout=SECONDS + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            failures.append(f"{name}: did not stop\n{out[-3000:]}")
            continue
        execs = re.findall(r"(?:stat::number_of_executed_units:|execs=)\s*(\d+)", out)
        print(f"fuzz {name}: {execs[-1] if execs else '?'} executions in {SECONDS:g} s")
        if proc.returncode != 0 or not execs:
            artifacts = sorted(p.name for p in tmp_path.iterdir())
            failures.append(f"{name}: exit {proc.returncode}, artifacts {artifacts}\n{out[-4000:]}")
    assert not failures, "\n\n".join(failures)


def test_seeds_reach_the_list_caps() -> None:
    """Issue 11 item 4: the fuzzers start from lists at and past MAX_LIST_ENTRIES (suites,
    groups, schemes, key shares), so the cap and the refusal paths get mutated."""
    codec = set(targets.codec_seeds())
    oversized = targets.oversized_codec_seeds()
    assert set(oversized) <= codec
    capped = 0
    for seed in oversized:
        kind, sel, body = seed[0], seed[1], seed[2:]
        try:
            if kind == 0:
                decode_handshake(sel, body)
            else:
                targets.EXTENSION_CODECS[sel][1](body)
        except DecodeError as exc:
            capped += f"at most {MAX_LIST_ENTRIES}" in str(exc)
    assert capped >= 4
    server = targets.connection_seeds("server")
    hellos = targets.oversized_client_hellos()
    assert all(bytes((0, 0)) + targets.as_records(h.encode()) in server for h in hellos)


@pytest.mark.parametrize(
    ("role", "alerts"),
    [
        (
            "server",
            {"missing_extension", "access_denied", "decrypt_error", "illegal_parameter"}
            | {"decode_error"},
        ),
        ("client", {"missing_extension", "illegal_parameter", "decode_error"}),
    ],
)
def test_pake_hello_seeds_start_from_the_refusal_paths(role: str, alerts: set[str]) -> None:
    """The changed-hello seeds end where the PAKE plug-in refuses: no extension, the
    locked-out user, an unknown user (the fake record: the Finished fails), a duplicate share,
    too many shares, the wrong or a short answer."""
    seen = set()
    scenarios = world.scenarios()
    for seed in targets.pake_hello_seeds(role):
        sc = scenarios[seed[0] % len(scenarios)]
        with world.pake_randomness(sc, role).active():
            conn = targets._new(role, sc)
            with pytest.raises(ProtocolError) as info:
                for frame in targets.parse_frames(seed[2:]):
                    conn.receive_data(targets.frame_bytes(conn, frame))
        seen.add(info.value.alert.name)
    assert seen == alerts
