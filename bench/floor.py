"""What a handshake can cost at best: the crypto floor, against Python's ssl, in memory.

For each scenario (``full``, ``resumed``) three workloads, alternated round by round in one
process so load hits them alike; each a client/server handshake pair with no sockets and no
event loop:

- ``pyssl``: Python's ssl (its OpenSSL) over ``MemoryBIO``, x25519 + ECDSA P-256, one byte
  each way after the handshake; ``resumed`` resumes the session of a first pair. This is what
  issue 20's handshake targets compare against, minus the asyncio work both stacks pay alike.
- ``floor``: only the pyca/cryptography calls that a Nautilus X25519MLKEM768 + ECDSA P-256 pair
  cannot avoid (:data:`FLOOR_CALLS`): key generation, encapsulation, exchange, signing,
  verification, the HKDF-Expand-Label and HMAC calls of the key schedule, the AEAD keys and
  records. Chain verification is left out: Nautilus caches it per distinct chain.
- ``nautilus``: the sans-I/O core's pair (``bench.core``'s ``full`` and ``resumed``).

``ours - floor`` is what our protocol code costs; ``pyssl / target - floor`` is what it may
cost to meet issue 20's target ratio (:data:`TARGETS`). Run
``python -m bench.floor [--n 300] [--rounds 5] [--scenarios full,resumed]``.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import pstats
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from bench.core import workloads
from bench.pki import make_pki

# Per X25519MLKEM768 + ECDSA P-256 + TLS_AES_256_GCM_SHA384 full pair, both ends, the two
# session tickets included; tests/test_bench_floor.py checks these against a profile of
# bench.core's pair, so the floor cannot drift away from what the handshake calls.
_FULL: dict[str, int] = {
    "mlkem_generate": 1,
    "mlkem_public_key": 1,
    "mlkem_from_public_bytes": 1,
    "mlkem_encapsulate": 1,
    "mlkem_decapsulate": 1,
    "x25519_generate": 2,
    "x25519_exchange": 2,
    "x25519_from_public_bytes": 2,
    "ecdsa_sign": 1,
    "ecdsa_verify": 1,
    "hkdf_expand": 36,
    "hmac": 4,
    "transcript_update": 14,
    "aead_key": 8,
    "aead_seal_or_open": 8,
}
# A resumed pair (hybrid psk_dhe_ke from one of those tickets): no signature, more HKDF
# (binders, early secrets), the ticket opened, two new tickets issued.
_RESUMED: dict[str, int] = {
    **_FULL,
    "ecdsa_sign": 0,
    "ecdsa_verify": 0,
    "hkdf_expand": 44,
    "hmac": 6,
    "transcript_update": 12,
    "aead_seal_or_open": 9,
}
FLOOR_CALLS: dict[str, dict[str, int]] = {"full": _FULL, "resumed": _RESUMED}
# Issue 20's handshake targets: our rate over Python ssl's (x25519 + ECDSA, and its resumption).
TARGETS: dict[str, float] = {"full": 1.0, "resumed": 1.2}

# How each floor call shows in a cProfile of the pair: (kind, substring of the function's name).
_PROFILED_AS: dict[str, tuple[str, ...]] = {
    "mlkem_generate": ("generate_mlkem768_key",),
    "mlkem_public_key": ("'public_key' of 'cryptography.hazmat.bindings._rust.openssl.mlkem.",),
    "mlkem_from_public_bytes": ("from_mlkem768_public_bytes",),
    "mlkem_encapsulate": ("'encapsulate' of",),
    "mlkem_decapsulate": ("'decapsulate' of",),
    "x25519_generate": ("x25519.generate_key",),
    "x25519_exchange": ("'exchange' of 'cryptography.hazmat.bindings._rust.openssl.x25519.",),
    "x25519_from_public_bytes": ("x25519.from_public_bytes",),
    "ecdsa_sign": ("'sign' of 'cryptography.hazmat.bindings._rust.openssl.ec.",),
    "ecdsa_verify": ("'verify' of 'cryptography.hazmat.bindings._rust.openssl.ec.",),
    "hkdf_expand": ("'derive' of 'cryptography.hazmat.primitives.kdf.hkdf.HKDFExpand'",),
    "hmac": ("_hashlib.hmac_digest",),
    "transcript_update": ("'update' of '_hashlib.HASH'",),
    "aead_key": ("new_aead",),
    "aead_seal_or_open": ("'encrypt' of 'cryptography.hazmat.bindings._rust.openssl.aead.",
                          "'decrypt' of 'cryptography.hazmat.bindings._rust.openssl.aead."),
}  # fmt: skip


def profiled_calls(run: Callable[[], None], n: int = 20) -> dict[str, float]:
    """How often one call of ``run`` makes each :data:`FLOOR_CALLS` call, from cProfile."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        run()
    profile.disable()
    counts = dict.fromkeys(_PROFILED_AS, 0.0)
    for (_, _, name), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        for key, patterns in _PROFILED_AS.items():
            if any(p in name for p in patterns):
                counts[key] += row[1] / n
    return counts


_SIGNED = b"\x20" * 64 + b"TLS 1.3, server CertificateVerify\x00" + b"\x5a" * 48


def crypto_floor(scenario: str) -> Callable[[], None]:
    """One pair's unavoidable crypto, as :data:`FLOOR_CALLS` counts it for ``scenario``."""
    signer = ec.generate_private_key(ec.SECP256R1())
    verifier = signer.public_key()
    ecdsa = ec.ECDSA(hashes.SHA256())
    sha384 = hashes.SHA384()
    secret = bytes(range(48))
    label = b"\x00\x30\x12tls13 c hs traffic\x30" + bytes(48)
    nonce, record = bytes(12), bytes(300)
    c = FLOOR_CALLS[scenario]

    def run() -> None:
        for _ in range(c["mlkem_generate"]):
            kem_key = mlkem.MLKEM768PrivateKey.generate()
        for _ in range(c["mlkem_public_key"]):
            share = kem_key.public_key().public_bytes_raw()
        for _ in range(c["mlkem_from_public_bytes"]):
            peer = mlkem.MLKEM768PublicKey.from_public_bytes(share)
        for _ in range(c["mlkem_encapsulate"]):
            _, ciphertext = peer.encapsulate()
        for _ in range(c["mlkem_decapsulate"]):
            kem_key.decapsulate(ciphertext)
        ours = [x25519.X25519PrivateKey.generate() for _ in range(c["x25519_generate"])]
        shares = [key.public_key().public_bytes_raw() for key in ours]
        peers = [
            x25519.X25519PublicKey.from_public_bytes(shares[i % len(shares)])
            for i in range(c["x25519_from_public_bytes"])
        ]
        for i in range(c["x25519_exchange"]):
            ours[i % len(ours)].exchange(peers[(i + 1) % len(peers)])
        for _ in range(c["ecdsa_sign"]):
            signature = signer.sign(_SIGNED, ecdsa)
        for _ in range(c["ecdsa_verify"]):
            verifier.verify(signature, _SIGNED, ecdsa)
        for _ in range(c["hkdf_expand"]):
            HKDFExpand(sha384, 48, label).derive(secret)
        for _ in range(c["hmac"]):
            hmac.digest(secret, secret, "sha384")
        transcript = hashlib.sha384()
        for _ in range(c["transcript_update"]):
            transcript.update(record)
            transcript.copy().digest()
        aeads = [AESGCM(secret[:32]) for _ in range(c["aead_key"])]
        for i in range(c["aead_seal_or_open"]):
            aeads[i % len(aeads)].encrypt(nonce, record, b"\x17\x03\x03\x01\x3d")

    return run


def python_ssl_pair(directory: Path, scenario: str) -> Callable[[], None]:
    """One Python ssl x25519 + ECDSA P-256 handshake pair over memory BIOs: a full one, or
    one resumed (x25519 psk_dhe_ke) from the session of a first full pair."""
    bundle = make_pki(directory)["ecdsa-p256"]
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    server_ctx.load_cert_chain(bundle.server_pem, bundle.server_key)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    client_ctx.load_verify_locations(bundle.ca_pem)

    def step(conn: ssl.SSLObject) -> bool:
        try:
            conn.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def pair(session: ssl.SSLSession | None) -> ssl.SSLObject:
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost", session=session)
        server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
        client_done = server_done = False
        for _ in range(8):
            client_done = client_done or step(client)
            s_in.write(c_out.read())
            server_done = server_done or step(server)
            c_in.write(s_out.read())
            if client_done and server_done:
                break
        else:
            raise RuntimeError("Python ssl pair did not finish its handshake")
        client.write(b"x")
        s_in.write(c_out.read())
        server.write(server.read(1))
        c_in.write(s_out.read())
        if client.read(1) != b"x":
            raise RuntimeError("Python ssl pair lost the echo")
        if client.session_reused != (session is not None):
            raise RuntimeError("Python ssl pair did not resume as asked")
        return client

    session = pair(None).session if scenario == "resumed" else None

    def run() -> None:
        pair(session)

    return run


def cpu_ms(run: Callable[[], None], n: int) -> float:
    """CPU milliseconds per call over ``n`` calls."""
    t0 = time.process_time()
    for _ in range(n):
        run()
    return (time.process_time() - t0) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scenarios", default="full,resumed")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="nautilus-floor-"))
    ours = workloads("pq-ecdsa")
    for scenario in args.scenarios.split(","):
        loads = {
            "pyssl": python_ssl_pair(directory, scenario),
            "floor": crypto_floor(scenario),
            "nautilus": ours[scenario],
        }
        report(scenario, loads, args.n, args.rounds)


def report(scenario: str, loads: dict[str, Callable[[], None]], n: int, rounds: int) -> None:
    """Time the three workloads of ``scenario`` round by round and print the budget."""
    for run in loads.values():
        for _ in range(5):
            run()
    figures: dict[str, list[float]] = {name: [] for name in loads}
    for _ in range(rounds):
        for name, run in loads.items():
            figures[name].append(cpu_ms(run, n))
    best = {name: min(values) for name, values in figures.items()}
    drift = {
        key: count
        for key, count in profiled_calls(loads["nautilus"]).items()
        if count != FLOOR_CALLS[scenario][key]
    }
    if drift:
        print(f"WARNING: the pair's crypto calls differ from FLOOR_CALLS: {drift}")
    print(f"{scenario}: CPU ms per pair, in memory (min / median / max of rounds)")
    for name, values in figures.items():
        print(
            f"  {name:9s} {min(values):6.3f} / {statistics.median(values):6.3f} / {max(values):6.3f}"
        )
    pyssl, floor, ours = best["pyssl"], best["floor"], best["nautilus"]
    print(
        f"Nautilus / Python ssl time        {ours / pyssl:5.2f}x  (ratio of rates {pyssl / ours:4.2f}x)"
    )
    print(f"crypto floor / Python ssl time    {floor / pyssl:5.2f}x")
    print(f"our protocol code (ours - floor)  {ours - floor:6.3f} ms")
    target = TARGETS[scenario]
    budget = pyssl / target - floor
    if budget <= 0:
        print(f"its budget at {target}x: none, the crypto floor alone misses the target")
    else:
        share = 100 * (1 - budget / (ours - floor))
        print(f"its budget at {target}x  {budget:6.3f} ms  -> {share:.0f}% of it would have to go")


if __name__ == "__main__":
    main()
