"""The ledger stays outside the protocol core: the TLS modules never import it, and the
command line loads the HTTP and database packages only when a ledger command runs."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import nautilus_tls, nautilus_tls.connection, nautilus_tls.handshake.engine
import nautilus_tls.aio, nautilus_tls.sync, nautilus_tls.config
core = sorted(m for m in sys.modules if m.startswith("nautilus_tls.ledger"))
import nautilus_tls.cli
heavy = sorted(m for m in ("uvicorn", "starlette", "httpx", "psycopg") if m in sys.modules)
print(core, heavy)
"""


def test_protocol_core_and_cli_import_no_ledger_backends() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[] []"
