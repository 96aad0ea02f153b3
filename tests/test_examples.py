"""Every script in examples/ runs to completion as a user would run it (``python
examples/NAME.py``, its own process, the installed package) and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 120

EXPECTED: dict[str, list[str]] = {
    "https_client_server.py": [
        "HTTP/1.1 200 OK",
        "hello over X25519MLKEM768",
        "group=X25519MLKEM768 suite=TLS_AES_256_GCM_SHA384 signature=mldsa65",
    ],
    "httpx_client.py": [
        "200 hello from a post-quantum server group=X25519MLKEM768 resumed=False",
        "200 hello from a post-quantum server group=X25519MLKEM768 resumed=True",
    ],
    "asgi_app.py": ["scheme=https path=/hello"],
    "sansio_loop.py": [
        "client handshake done: X25519MLKEM768, TLS_AES_256_GCM_SHA384",
        "client reply: HELLO, SANS-I/O",
        "client closed (clean=True)",
        "server handshake done: X25519MLKEM768, TLS_AES_256_GCM_SHA384",
        "server closed (clean=True)",
    ],
    "pq_only_server.py": [
        "default client: X25519MLKEM768 with mldsa65",
        "classical client refused: peer sent alert insufficient_security "
        "(alert: insufficient_security)",
    ],
    "mtls.py": [
        "with a certificate: hello, CN=client.nautilus.test,O=Nautilus TLS (development)",
        "without a certificate: refused (peer sent alert certificate_required "
        "(alert: certificate_required))",
    ],
}


def test_every_example_is_tested() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_prints_what_it_promises(name: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("SSLKEYLOGFILE", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == EXPECTED[name], done.stderr[-3000:]
