"""``nautilus-tls connect --adaptive``: the state file carries what the first connection
learned, so the second one needs no HelloRetryRequest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from certificates import write_pem_files
from test_cli import connect_json, serve

from nautilus_tls.cli import main
from nautilus_tls.cli_adaptive import default_state_file


def _adaptive_args(pem: dict[str, Path], state: Path, *extra: str) -> list[str]:
    return [
        *("--cafile", str(pem["ca_pem"]), "--send", "hi", "--adaptive"),
        *("--adaptive-state", str(state), *extra),
    ]


def test_second_adaptive_connection_needs_no_hello_retry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = write_pem_files(tmp_path)
    state = tmp_path / "adaptive.json"
    args = _adaptive_args(pem, state)
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--groups", "secp256r1"
    ) as server:
        address = f"localhost:{server.port}"
        status, first, err = connect_json(capsys, address, *args)
        assert status == 0, err
        status, second, err = connect_json(capsys, address, *args)
        assert status == 0, err
    assert first["hello_retry"] is True
    assert second["hello_retry"] is False
    assert first["group"] == second["group"] == "secp256r1"
    negotiation = second["negotiation"]
    assert isinstance(negotiation, dict)
    assert "secp256r1" in negotiation["key_shares"]
    assert "secp256r1" in negotiation["reason"] and negotiation["decision"]
    saved = json.loads(state.read_text())
    assert list(saved["servers"]) == [f"localhost:{server.port}"]


def test_without_adaptive_the_json_still_says_whether_hrr_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = write_pem_files(tmp_path)
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]), "--groups", "secp256r1"
    ) as server:
        status, record, err = connect_json(
            capsys, f"localhost:{server.port}", "--cafile", str(pem["ca_pem"]), "--send", "x"
        )
    assert status == 0, err
    assert record["hello_retry"] is True and record["negotiation"] is None


def test_adaptive_state_without_adaptive_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["connect", "localhost:1", "--adaptive-state", str(tmp_path / "s.json")])
    assert status == 2
    assert "need --adaptive" in capsys.readouterr().err


def test_default_state_file_is_under_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_state_file() == tmp_path / "nautilus-tls" / "adaptive.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_file() == tmp_path / "home" / ".cache" / "nautilus-tls" / "adaptive.json"


def test_adaptive_strict_refuses_a_server_that_dropped_post_quantum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = write_pem_files(tmp_path)
    args = _adaptive_args(pem, tmp_path / "adaptive.json", "--adaptive-strict")
    keys = ("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]))
    with serve(*keys) as server:
        port = server.port
        status, first, err = connect_json(capsys, f"localhost:{port}", *args)
    assert status == 0, err
    assert first["group"] == "X25519MLKEM768"
    # The same host:port now speaks classical only: refused, and the alert is named.
    with serve(*keys, "--port", str(port), "--groups", "x25519"):
        status, _, err = connect_json(capsys, f"localhost:{port}", *args)
    assert status == 1
    assert "insufficient_security" in err and "downgrade" in err


def test_serve_adaptive_takes_chacha20_for_a_client_that_lists_it_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = write_pem_files(tmp_path)
    keys = ("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]))
    with serve(*keys, "--adaptive", "--json-log") as server:
        status, record, err = connect_json(
            capsys,
            f"localhost:{server.port}",
            *("--cafile", str(pem["ca_pem"]), "--send", "x"),
            *("--suites", "TLS_CHACHA20_POLY1305_SHA256,TLS_AES_256_GCM_SHA384"),
        )
        logged = server.json_record()
    assert status == 0, err
    assert record["cipher_suite"] == "TLS_CHACHA20_POLY1305_SHA256"
    negotiation = logged["negotiation"]
    assert isinstance(negotiation, dict) and "ChaCha20" in negotiation["reason"]
