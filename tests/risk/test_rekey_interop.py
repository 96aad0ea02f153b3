"""Our rotations by policy are accepted by a TLS stack we did not write (openssl s_server)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from certificates import write_pem_files
from interop.procs import LineProcess

from nautilus_tls.aio import connect
from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.wire.enums import NamedGroup

pytestmark = pytest.mark.interop
WAIT_S = 20.0
LINES = [f"line {i} under key {i}" for i in range(5)]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_s_server_reads_every_record_after_our_policy_key_updates(tmp_path: Path) -> None:
    pem = write_pem_files(tmp_path, "ecdsa-p256")
    argv = [
        "openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3",
        "-cert", pem["server_pem"], "-key", pem["server_key"], "-groups", "X25519",
    ]  # fmt: skip
    config = ClientConfig(
        trust_store=TrustStore.from_file(pem["ca_pem"]),
        policy="compat",
        groups=(NamedGroup.x25519,),
        keylog_file=None,
        rekey_records=1,  # a new key for every record after the first
        rekey_request_peer=True,  # and s_server is asked to rotate its own
    )
    with LineProcess(argv, stdin=True) as server:
        port = int(server.wait_for(r"^ACCEPT .*:(\d+)$", WAIT_S).group(1))

        async def talk() -> dict[str, int]:
            reader, writer = await connect(
                "127.0.0.1", port, config=config, server_name="localhost"
            )
            for line in LINES:
                writer.write(f"{line}\n".encode())
                await writer.drain()
                # Wait until s_server printed it: one record each, so one key each.
                await asyncio.to_thread(server.wait_for, rf"{line}$", WAIT_S)
            server.write("pong from openssl\n")
            reply = await asyncio.wait_for(reader.readuntil(b"\n"), WAIT_S)
            assert reply == b"pong from openssl\n"
            counts: dict[str, int] = writer.get_extra_info("key_updates")
            writer.close()
            return counts

        counts = asyncio.run(asyncio.wait_for(talk(), 60))
        assert "error" not in server.text().lower()
    assert counts["sent"] == len(LINES) - 1
    # s_server answered update_requested with its own KeyUpdate before its reply.
    assert counts["received"] >= 1
