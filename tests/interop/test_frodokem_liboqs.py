"""FrodoKEM against an independent implementation: liboqs compiled to WebAssembly (npm
``@oqs/liboqs-js``) under the Node 24 test dependency. For every parameter set, liboqs's
encapsulation to our public key is decapsulated by us, and ours to liboqs's public key by
liboqs (and by us with liboqs's secret key: the key formats are the same).

The npm package is installed once into a test-owned cache directory
(``NAUTILUS_LIBOQS_JS_DIR``, default ``<tmp>/nautilus-tls-test-cache/liboqs-js-<version>``);
when it cannot be installed (no network, no npm) the test is skipped saying exactly why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("numpy", reason="the frodokem extra (numpy) is not installed")

from nautilus_tls.crypto.frodokem import PARAMETER_SETS, FrodoKem

pytestmark = pytest.mark.interop

LIBOQS_JS = "@oqs/liboqs-js@0.15.1"
SCRIPT = Path(__file__).parent / "peers" / "liboqs_frodokem.mjs"
INSTALL_TIMEOUT = 300
RUN_TIMEOUT = 120


def _cache_dir() -> Path:
    explicit = os.environ.get("NAUTILUS_LIBOQS_JS_DIR")
    if explicit:
        return Path(explicit)
    version = LIBOQS_JS.rsplit("@", 1)[1]
    return Path(tempfile.gettempdir()) / "nautilus-tls-test-cache" / f"liboqs-js-{version}"


def _installed(prefix: Path) -> bool:
    return (prefix / "node_modules" / "@oqs" / "liboqs-js" / "package.json").is_file()


def _install(node: Path, prefix: Path) -> str | None:
    """Install the package into ``prefix`` (through a scratch directory renamed into place, so
    that an interrupted install never looks complete); None on success, else why not."""
    npm = node.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not npm.is_file():
        return f"npm not found next to {node} (looked for {npm})"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liboqs-js-", dir=prefix.parent))
    cmd = [str(node), str(npm), "install", "--prefix", str(scratch), "--no-audit", "--no-fund"]
    try:
        done = subprocess.run(
            [*cmd, LIBOQS_JS], capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(scratch, ignore_errors=True)
        return f"npm install {LIBOQS_JS} took over {INSTALL_TIMEOUT} s"
    if done.returncode != 0 or not _installed(scratch):
        shutil.rmtree(scratch, ignore_errors=True)
        return f"npm install {LIBOQS_JS} failed: {done.stderr.strip()[-400:]}"
    try:
        scratch.rename(prefix)
    except OSError:  # another run installed it first
        shutil.rmtree(scratch, ignore_errors=True)
    return None


@pytest.fixture(scope="module")
def liboqs(node: Path) -> Path:
    """The install prefix of @oqs/liboqs-js, installed on first use; skip loudly without it."""
    prefix = _cache_dir()
    if not _installed(prefix):
        why = _install(node, prefix)
        if why is not None:
            pytest.skip(f"LIBOQS-JS NOT AVAILABLE - FrodoKEM interop not run: {why}")
    return prefix


def _run(node: Path, prefix: Path, requests: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(node), str(SCRIPT), str(prefix)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_agrees_with_liboqs_in_both_directions_for_every_parameter_set(
    node: Path, liboqs: Path
) -> None:
    kems = {name: FrodoKem(p) for name, p in PARAMETER_SETS.items()}
    ours = {name: kem.keygen() for name, kem in kems.items()}
    theirs = _run(
        node,
        liboqs,
        {name: {"op": "keygen_encaps", "peer_pk": pk.hex()} for name, (pk, _) in ours.items()},
    )
    our_cts: dict[str, tuple[bytes, bytes]] = {}
    for name, kem in kems.items():
        got = theirs[name]
        # liboqs encapsulated to our key: we must recover its secret.
        assert kem.decaps(ours[name][1], bytes.fromhex(got["ct"])) == bytes.fromhex(got["ss"])
        our_cts[name] = kem.encaps(bytes.fromhex(got["pk"]))
        # Same secret key format: our decapsulation with liboqs's key agrees too.
        ct, ss = our_cts[name]
        assert kem.decaps(bytes.fromhex(got["sk"]), ct) == ss
    back = _run(
        node,
        liboqs,
        {
            name: {"op": "decaps", "sk": theirs[name]["sk"], "ct": ct.hex()}
            for name, (ct, _) in our_cts.items()
        },
    )
    for name, (_, ss) in our_cts.items():
        assert bytes.fromhex(back[name]["ss"]) == ss, name


def test_liboqs_rejects_our_forged_ciphertext_the_same_way_we_do(node: Path, liboqs: Path) -> None:
    # Implicit rejection is deterministic: a forged ciphertext gives the same pseudorandom
    # secret in both implementations (SHAKE(ct || s)), not an error.
    name = "FrodoKEM-640-SHAKE"
    kem = FrodoKem(PARAMETER_SETS[name])
    theirs = _run(node, liboqs, {name: {"op": "keygen_encaps", "peer_pk": kem.keygen()[0].hex()}})
    sk = bytes.fromhex(theirs[name]["sk"])
    ct, ss = kem.encaps(bytes.fromhex(theirs[name]["pk"]))
    forged = bytes([ct[0] ^ 0x01]) + ct[1:]
    back = _run(node, liboqs, {name: {"op": "decaps", "sk": sk.hex(), "ct": forged.hex()}})
    rejected = bytes.fromhex(back[name]["ss"])
    assert rejected != ss
    assert kem.decaps(sk, forged) == rejected
