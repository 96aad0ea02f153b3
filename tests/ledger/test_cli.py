"""``nautilus-tls ledger serve|add|monitor`` as separate processes: a real uvicorn server on
loopback, entries of each kind added, the monitor reporting them, two servers sharing one
PostgreSQL log, and bad input reported with a non-zero exit."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ledger.helpers import LedgerServer
from test_cli import connect_json, serve

from nautilus_tls.cli import main
from nautilus_tls.ledger.client import LedgerClient
from nautilus_tls.ledger.sth import LogPublicKey


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``nautilus-tls ledger ARGS`` in this process (the servers are separate processes)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["ledger", *args])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LedgerServer]:
    srv = LedgerServer(str(tmp_path / "ledger.sqlite"), tmp_path / "log.key")
    yield srv
    srv.stop()


def test_serve_creates_the_key_and_log_pub_and_add_prints_indexes(
    server: LedgerServer, tmp_path: Path, tls_pem_dir: dict[str, Path]
) -> None:
    assert (tmp_path / "log.key").stat().st_mode & 0o077 == 0
    log_pub = tmp_path / "log.pub"
    LogPublicKey.from_pem(log_pub.read_bytes())
    raw_key = tmp_path / "raw.pub"
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw_key.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    adds = [
        ("--cert", str(tls_pem_dir["server_pem"])),
        ("--raw-key", str(raw_key)),
        ("--did", "did:example:alice"),
        ("--cert", str(tls_pem_dir["server_pem"])),  # again: the first index
    ]
    outputs = []
    for flag, value in adds:
        done = _cli("add", "--log", server.url, flag, value, "--log-key", str(log_pub))
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.strip())
    assert outputs == ["0", "1", "2", "0"]

    done = _cli("monitor", "--log", server.url, "--log-key", str(log_pub), "--name", "localhost",
                "--watch-key", str(raw_key), "--count", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["event"] == "tree_head" and events[0]["tree_size"] == 3
    assert [(e["index"], e["reason"]) for e in events[1:]] == [(0, "name localhost"), (1, "key")]


def test_restart_keeps_the_log_and_its_key(tmp_path: Path) -> None:
    first = LedgerServer(str(tmp_path / "l.sqlite"), tmp_path / "log.key")
    try:
        assert _cli("add", "--log", first.url, "--did", "did:example:one").stdout.strip() == "0"
    finally:
        first.stop()
    key_before = (tmp_path / "log.pub").read_bytes()
    second = LedgerServer(str(tmp_path / "l.sqlite"), tmp_path / "log.key")
    try:
        assert (tmp_path / "log.pub").read_bytes() == key_before
        assert _cli("add", "--log", second.url, "--did", "did:example:two").stdout.strip() == "1"
    finally:
        second.stop()


def test_two_servers_share_one_postgres_log(tmp_path: Path, postgres_url: str) -> None:
    servers = [LedgerServer(postgres_url, tmp_path / "log.key") for _ in range(2)]
    try:
        keys = [LogPublicKey.from_pem((tmp_path / "log.pub").read_bytes())]
        for i in range(6):
            done = _cli("add", "--log", servers[i % 2].url, "--did", f"did:example:{i}")
            assert done.stdout.strip() == str(i), done.stderr
        heads = []
        for srv in servers:
            with LedgerClient(srv.url, keys) as client:
                heads.append(client.get_sth())
        assert heads[0].tree_size == heads[1].tree_size == 6
        assert heads[0].root_hash == heads[1].root_hash
    finally:
        for srv in servers:
            srv.stop()


def test_add_rejects_a_bad_did_and_an_unreachable_log(
    server: LedgerServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "add", "--log", server.url, "--did", "not-a-did"]) == 1
    assert "not a DID" in capsys.readouterr().err
    assert main(["ledger", "add", "--log", "http://127.0.0.1:9", "--did", "did:a:b"]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_monitor_exits_non_zero_when_the_tree_head_is_not_signed_by_the_given_key(
    server: LedgerServer, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    from nautilus_tls.ledger.sth import LogKey

    (other / "log.pub").write_bytes(LogKey.generate().public.to_pem())
    _cli("add", "--log", server.url, "--did", "did:example:x")
    done = _cli("monitor", "--log", server.url, "--log-key", str(other / "log.pub"), "--count", "1")
    assert done.returncode == 1
    assert json.loads(done.stdout)["event"] == "inconsistent"


# --- serve --transparency-log / connect --require-transparency --------------------------------


def _connect_args(port: int, pem: dict[str, Path], *extra: str) -> list[str]:
    return [f"127.0.0.1:{port}", "--servername", "localhost", "--cafile", str(pem["ca_pem"]),
            "--send", "ping", *extra]  # fmt: skip


Connect = Callable[..., tuple[int, dict[str, object], str]]


@pytest.fixture
def connect_requiring(
    server: LedgerServer,
    tmp_path: Path,
    tls_pem_dir: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> Connect:
    """``connect --require-transparency log.pub EXTRA`` to a ``serve --transparency-log URL``
    of the test's log."""
    pem = tls_pem_dir

    def run(*extra: str) -> tuple[int, dict[str, object], str]:
        with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
                   "--transparency-log", server.url) as tls:  # fmt: skip
            log_pub = str(tmp_path / "log.pub")
            args = _connect_args(tls.port, pem, "--require-transparency", log_pub, *extra)
            return connect_json(capsys, *args)

    return run


def test_connect_requires_a_stapled_proof_and_reports_it_in_json(
    server: LedgerServer, tmp_path: Path, tls_pem_dir: dict[str, Path], connect_requiring: Connect
) -> None:
    _cli("add", "--log", server.url, "--did", "did:example:first")
    added = _cli("add", "--log", server.url, "--cert", str(tls_pem_dir["server_pem"]))
    assert added.returncode == 0, added.stderr
    state = tmp_path / "heads.json"
    status, record, err = connect_requiring("--transparency-state", str(state))
    assert status == 0, err
    transparency = record["transparency"]
    assert isinstance(transparency, dict)
    assert transparency["index"] == int(added.stdout) == 1
    assert transparency["tree_size"] == 2
    assert transparency["verified"] is True
    assert record["reply"] == "ping"
    # The newest tree head is remembered for split-view checks on later connections.
    assert json.loads(state.read_text()).keys() == {transparency["log_id"]}


def test_connect_refuses_a_certificate_that_is_not_in_the_log(
    server: LedgerServer, connect_requiring: Connect
) -> None:
    _cli("add", "--log", server.url, "--did", "did:example:only")
    status, _record, err = connect_requiring()
    assert status != 0
    assert "certificate_unknown" in err
    assert "not in a trusted log" in err


def test_serve_starts_when_its_log_is_down(
    tmp_path: Path, tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
               "--transparency-log", "http://127.0.0.1:9") as tls:  # fmt: skip
        status, record, err = connect_json(capsys, *_connect_args(tls.port, pem))
    assert status == 0, err
    assert "transparency" not in record


def test_connect_with_an_unreadable_log_key_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "log.pub"
    bad.write_text("not a key")
    status = main(["connect", "127.0.0.1:9", "--require-transparency", str(bad)])
    assert status != 0
    assert "--require-transparency" in capsys.readouterr().err


def test_anchor_through_an_unreachable_node_fails_with_the_reason(
    server: LedgerServer, tmp_path: Path
) -> None:
    pytest.importorskip("web3")
    pytest.importorskip("vyper")
    _cli("add", "--log", server.url, "--did", "did:example:anchored")
    done = _cli("anchor", "--log", server.url, "--log-key", str(tmp_path / "log.pub"),
                "--rpc", "http://127.0.0.1:9", "--deploy")  # fmt: skip
    assert done.returncode == 1
    assert "cannot anchor through http://127.0.0.1:9" in done.stderr
