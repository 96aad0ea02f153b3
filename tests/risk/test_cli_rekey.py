"""``serve``/``connect --rekey-*``: rotation by policy from the command line, reported in JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import connect_json, serve

from nautilus_tls.cli import build_parser

MESSAGE = "k" * 40_000  # three records of at most 16 KiB each way


def test_connect_json_reports_key_updates_sent_and_received(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve(
        "--cert", str(pem["server_pem"]), "--key", str(pem["server_key"]),
        "--rekey-bytes", "10000", "--rekey-seconds", "3600",
    ) as server:  # fmt: skip
        status, record, err = connect_json(
            capsys,
            f"127.0.0.1:{server.port}",
            "--servername", "localhost",
            "--cafile", str(pem["ca_pem"]),
            "--rekey-bytes", "10000",
            "--send", MESSAGE,
        )  # fmt: skip
    assert status == 0, err
    assert record["reply"] == MESSAGE
    updates = record["key_updates"]
    assert isinstance(updates, dict)
    # 16384 + 16384 + 7232 bytes: a new key before the 2nd and the 3rd record.
    assert updates["sent"] == 2
    # The echo server's writes of the same 40 000 bytes cross its 10 000-byte budget too.
    assert updates["received"] >= 1


def test_connect_json_without_rekey_flags_reports_no_key_updates(
    tls_pem_dir: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pem = tls_pem_dir
    with serve("--cert", str(pem["server_pem"]), "--key", str(pem["server_key"])) as server:
        status, record, err = connect_json(
            capsys,
            f"127.0.0.1:{server.port}",
            "--servername", "localhost",
            "--cafile", str(pem["ca_pem"]),
            "--send", MESSAGE,
        )  # fmt: skip
    assert status == 0, err
    assert record["key_updates"] == {"sent": 0, "received": 0}


@pytest.mark.parametrize("flag", ["--rekey-bytes", "--rekey-records", "--rekey-seconds"])
@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_rejects_a_non_positive_rekey_flag(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["connect", "localhost:1", flag, value])
    assert info.value.code == 2
    assert flag in capsys.readouterr().err
