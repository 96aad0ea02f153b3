"""``nautilus-tls pake register|remove``: the password comes from NAUTILUS_PASSWORD (never
stored or printed), the record lands in the store and logs in; errors are one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nautilus_tls.cli import main
from nautilus_tls.pake.errors import PakeAuthenticationFailed
from nautilus_tls.pake.opaque import OpaqueLoginClient, OpaqueSession
from nautilus_tls.pake.server import PakeServer
from nautilus_tls.pake.store_sqlite import SQLiteRecordStore

SECRET = "cli-test password ünïcode"


def _login(db: Path, user: str, password: str) -> bytes:
    store = SQLiteRecordStore(db)
    try:
        stored = store.get(user, "opaque")
        assert stored is not None
        session = OpaqueSession(b"cli")
        server = PakeServer(store).opaque_login(user, session)
        client = OpaqueLoginClient(password.encode(), session, ksf=stored.ksf)
        return server.finish(client.finish(server.ke2(client.ke1())))
    finally:
        store.close()


def test_register_from_the_environment_then_log_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "users.db"
    monkeypatch.setenv("NAUTILUS_PASSWORD", SECRET)
    assert main(["pake", "register", "--store", str(db), "--user", "alice"]) == 0
    out = capsys.readouterr()
    assert "registered 'alice' for opaque (argon2id)" in out.out
    assert SECRET not in out.out + out.err
    assert SECRET.encode() not in db.read_bytes()
    assert len(_login(db, "alice", SECRET)) == 64
    with pytest.raises(PakeAuthenticationFailed):
        _login(db, "alice", "not it")


def test_register_spake2plus_with_scrypt_and_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "users.db")
    monkeypatch.setenv("NAUTILUS_PASSWORD", SECRET)
    args = ["--store", db, "--user", "bob", "--method", "spake2plus"]
    assert main(["pake", "register", *args, "--ksf", "scrypt"]) == 0
    store = SQLiteRecordStore(db)
    stored = store.get("bob", "spake2plus")
    store.close()
    assert stored is not None and stored.ksf.method == "scrypt"
    assert main(["pake", "remove", *args]) == 0
    assert main(["pake", "remove", *args]) == 1
    assert "no spake2plus record for 'bob'" in capsys.readouterr().err


def test_no_password_and_no_terminal_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NAUTILUS_PASSWORD"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nautilus_tls",
            "pake",
            "register",
            "--store",
            str(tmp_path / "u.db"),
            "--user",
            "a",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: no password: set NAUTILUS_PASSWORD or run from a terminal"


@pytest.mark.parametrize(("user", "password"), [("", "pw"), ("bad\nname", "pw"), ("alice", "")])
def test_bad_user_or_empty_password_is_one_error_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    user: str,
    password: str,
) -> None:
    monkeypatch.setenv("NAUTILUS_PASSWORD", password)
    assert main(["pake", "register", "--store", str(tmp_path / "u.db"), "--user", user]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.parametrize("method", ["opaque", "spake2plus"])
def test_serve_with_a_pake_store_and_connect_with_a_password(
    tls_pem_dir: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    method: str,
) -> None:
    from test_cli import connect_json, serve

    pem, db = tls_pem_dir, str(tmp_path / "users.db")
    monkeypatch.setenv("NAUTILUS_PASSWORD", SECRET)
    assert main(["pake", "register", "--store", db, "--user", "alice", "--method", method]) == 0
    target = ["--servername", "localhost", "--cafile", str(pem["ca_pem"])]
    login = ["--pake-user", "alice", "--pake", method, "--send", "hello"]
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--pake-store", db
    ) as server:
        address = f"127.0.0.1:{server.port}"
        status, record, _ = connect_json(capsys, address, *target, *login)
        assert status == 0
        assert record["auth"] == method and record["reply"] == "hello"
        assert record["group"] == "X25519MLKEM768"

        monkeypatch.setenv("NAUTILUS_PASSWORD", "wrong password")
        status, record, err = connect_json(capsys, address, *target, *login)
        assert status == 1 and record == {}  # no session, no application data
        assert err.count("\n") == 1 and "decrypt_error" in err, err

        status, _, err = connect_json(capsys, address, *target, "--send", "no login")
        assert status == 1 and "missing_extension" in err


def test_serve_with_only_a_pake_store_runs_without_a_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_cli import connect_json, serve

    db = str(tmp_path / "users.db")
    monkeypatch.setenv("NAUTILUS_PASSWORD", SECRET)
    assert main(["pake", "register", "--store", db, "--user", "alice"]) == 0
    login = ["--servername", "localhost", "--pake-user", "alice", "--send", "hello"]
    with serve("--pake-store", db) as server:
        assert any("password logins only" in line for line in server.preamble)
        address = f"127.0.0.1:{server.port}"
        status, record, _ = connect_json(capsys, address, *login)  # no --cafile: no cert
        assert status == 0
        assert record["auth"] == "opaque" and record["reply"] == "hello"
        assert record["server_certificate"] is None and record["peer_chain"] == []

        monkeypatch.setenv("NAUTILUS_PASSWORD", "wrong password")
        status, record, err = connect_json(capsys, address, *login)
        assert status == 1 and record == {}
        assert err.count("\n") == 1 and "decrypt_error" in err, err


def test_pake_optional_without_a_store_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--pake-optional"]) == 2
    assert "--pake-optional needs --pake-store" in capsys.readouterr().err
