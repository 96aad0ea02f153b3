"""The algorithm table: every group, cipher suite and signature scheme of a crypto provider
(the default one unless told otherwise), with its
code point, security level, sizes, standing (IANA or private use) and, on request, its
measured cost on this machine. ``nautilus-tls algorithms`` prints it;
``nautilus-tls algorithms --measure --markdown --output docs/algorithms.md`` writes the
document the README links to.

Costs are the best of five timed batches (``time.perf_counter_ns``; the best, not the mean,
because other load on the machine only ever adds time) of the library's own calls: a group's *keygen* is the client's ``Kem.generate``, *encaps* the server's
``Kem.encapsulate`` (with share validation), *decaps* the client's ``decapsulate``; a scheme's
*sign*/*verify* are pure signing and verification of a 130-byte CertificateVerify content; a
suite's *seal*/*open* are one AEAD operation on a full 16 KiB record.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, rsa

from nautilus_tls.crypto import composite, pqclean, signatures, slhdsa
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, CryptoProvider
from nautilus_tls.wire.enums import SignatureScheme

__all__ = ["Row", "measure", "render_json", "render_markdown", "render_text", "rows"]

COMMAND = "nautilus-tls algorithms --measure --markdown --output docs/algorithms.md"


@dataclass(slots=True)
class Row:
    kind: str  # "group" | "cipher suite" | "signature scheme"
    name: str
    code: int | None
    level: int
    post_quantum: str  # "yes" | "hybrid" | "no"
    standard: bool
    sizes: str  # human-readable sizes
    status: str  # "available" | "needs pqcrypto" | "not negotiable: ..." | "certificates only"
    reference: str
    costs: dict[str, float] = field(default_factory=dict)  # operation -> microseconds

    @property
    def code_text(self) -> str:
        return f"0x{self.code:04X}" if self.code is not None else "—"

    @property
    def standing(self) -> str:
        if self.code is None:
            return "—"
        return "IANA" if self.standard else "private use"


# The optional package behind an unavailable group -> the extra that installs it.
_EXTRAS = {"pqcrypto": "pq", "numpy": "frodokem"}


def _group_rows(provider: CryptoProvider) -> list[Row]:
    out = []
    for g in provider.group_infos():
        if not g.available:
            extra = _EXTRAS.get(g.requires or "", "pq")
            status = f"needs {g.requires} (pip install 'nautilus-tls[{extra}]')"
        elif g.limitation is not None:
            status = f"not negotiable: {g.limitation}"
        else:
            status = "available"
        out.append(
            Row(
                kind="group",
                name=g.name,
                code=g.code,
                level=g.level,
                post_quantum="hybrid" if g.hybrid else ("yes" if g.post_quantum else "no"),
                standard=g.standard,
                sizes=(
                    f"client share {g.client_share_len:,} B, server share {g.server_share_len:,} B"
                    if g.code is not None
                    else f"public key {g.client_share_len:,} B, ciphertext {g.server_share_len:,} B"
                ),
                status=status,
                reference=g.reference,
            )
        )
    return out


def _suite_rows(provider: CryptoProvider) -> list[Row]:
    return [
        Row(
            kind="cipher suite",
            name=s.name,
            code=s.code,
            level=s.level,
            post_quantum="no",
            standard=s.standard,
            sizes=f"key {s.key_len * 8} bit, {s.hash_name.upper()}",
            status="available",
            reference=s.reference,
        )
        for s in provider.suite_infos()
    ]


def _scheme_rows(provider: CryptoProvider) -> list[Row]:
    out = []
    for s in provider.scheme_infos():
        if not s.available:
            status = f"needs {s.requires} (pip install 'nautilus-tls[pq]')"
        elif not s.certificate_verify:
            status = "certificate chains only"
        else:
            status = "available"
        sizes = f"public key {s.public_key_len:,} B, signature {s.signature_len:,} B"
        if s.note:
            sizes += f" ({s.note})"
        out.append(
            Row(
                kind="signature scheme",
                name=s.name,
                code=s.code,
                level=s.level,
                post_quantum="yes" if s.post_quantum else "no",
                standard=s.standard,
                sizes=sizes,
                status=status,
                reference=s.reference,
            )
        )
    return out


def rows(provider: CryptoProvider = DEFAULT_PROVIDER) -> list[Row]:
    """``provider``'s table, without costs."""
    return [*_group_rows(provider), *_suite_rows(provider), *_scheme_rows(provider)]


# --- measuring ----------------------------------------------------------------------------------


def _time_us(op: Callable[[], object], budget: float) -> float:
    """Microseconds per call: the best of 5 batches sized to take about ``budget`` seconds."""
    start = time.perf_counter()
    op()
    once = max(time.perf_counter() - start, 1e-7)
    per_batch = max(1, int(budget / 5 / once))
    samples = []
    for _ in range(5 if once * per_batch < budget else 3):
        t0 = time.perf_counter_ns()
        for _ in range(per_batch):
            op()
        samples.append((time.perf_counter_ns() - t0) / per_batch / 1000)
    return min(samples)


def _measure_group(provider: CryptoProvider, row: Row, budget: float) -> None:
    k = provider.kem_for_group(row.code) if row.code is not None else None
    if k is not None:
        client = k.generate()
        server_share, _ = k.encapsulate(client.share)
        row.costs["keygen"] = _time_us(k.generate, budget)
        row.costs["encaps"] = _time_us(lambda: k.encapsulate(client.share), budget)
        row.costs["decaps"] = _time_us(lambda: client.decapsulate(server_share), budget)
        return
    prim = provider.unnegotiable_primitive(row.name)
    if prim is not None:
        pk, sk = prim.keygen()
        ct, _ = prim.encaps(pk)
        row.costs["keygen"] = _time_us(prim.keygen, budget)
        row.costs["encaps"] = _time_us(lambda: prim.encaps(pk), budget)
        row.costs["decaps"] = _time_us(lambda: prim.decaps(sk, ct), budget)


_KEYS: dict[int, Callable[[], signatures.PrivateKey]] = {
    SignatureScheme.mldsa44: mldsa.MLDSA44PrivateKey.generate,
    SignatureScheme.mldsa65: mldsa.MLDSA65PrivateKey.generate,
    SignatureScheme.mldsa87: mldsa.MLDSA87PrivateKey.generate,
    SignatureScheme.ecdsa_secp256r1_sha256: lambda: ec.generate_private_key(ec.SECP256R1()),
    SignatureScheme.ecdsa_secp384r1_sha384: lambda: ec.generate_private_key(ec.SECP384R1()),
    SignatureScheme.ecdsa_secp521r1_sha512: lambda: ec.generate_private_key(ec.SECP521R1()),
    SignatureScheme.ed25519: ed25519.Ed25519PrivateKey.generate,
    SignatureScheme.ed448: ed448.Ed448PrivateKey.generate,
}


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _measure_scheme(
    provider: CryptoProvider, row: Row, budget: float, rsa_key: list[rsa.RSAPrivateKey]
) -> None:
    assert row.code is not None
    message = bytes(130)  # 64 spaces + context + 0 + a 48-byte transcript hash, roughly
    signer = provider.signer_for(row.code)
    if isinstance(signer, slhdsa.SlhDsaScheme):
        key = slhdsa.SlhDsaPrivateKey.generate(signer.params)
        sig = key.sign(message)
        public = key.public_key_bytes
        slh = signer
        row.costs["sign"] = _time_us(lambda: key.sign(message), budget)
        row.costs["verify"] = _time_us(lambda: slh.verify(public, sig, message), budget)
        return
    if isinstance(signer, composite.CompositeScheme):
        _measure_composite(row, signer, message, budget)
        return
    entry = signatures._SCHEMES.get(row.code)
    if entry is None:
        return  # PKCS#1 v1.5: certificates only, not something we sign with
    if row.code in _KEYS:
        private = _KEYS[row.code]()
    else:
        if not rsa_key:
            rsa_key.append(_rsa_key())
        private = rsa_key[0]
    public_key: object = private.public_key()  # type: ignore[union-attr]
    signature = entry.sign(private, message)
    row.costs["sign"] = _time_us(lambda: entry.sign(private, message), budget)
    row.costs["verify"] = _time_us(lambda: entry.verify(public_key, signature, message), budget)


def _measure_composite(
    row: Row, signer: composite.CompositeScheme, message: bytes, budget: float
) -> None:
    """Both components: ML-DSA-65 and the classical signature over the representative."""
    key = composite.CompositePrivateKey.generate(signer.algorithm)
    public, sig = key.public_key_bytes, key.sign(message)
    row.costs["sign"] = _time_us(lambda: key.sign(message), budget)
    row.costs["verify"] = _time_us(lambda: signer.verify(public, sig, message), budget)


def _measure_suite(provider: CryptoProvider, row: Row, budget: float) -> None:
    assert row.code is not None
    params = provider.suite_params(row.code)
    if params is None:
        return
    aead = params.new_aead(bytes(params.key_len))
    nonce, aad, record = bytes(params.iv_len), bytes(5), bytes(16384)
    sealed = aead.encrypt(nonce, record, aad)
    row.costs["seal 16 KiB"] = _time_us(lambda: aead.encrypt(nonce, record, aad), budget)
    row.costs["open 16 KiB"] = _time_us(lambda: aead.decrypt(nonce, sealed, aad), budget)


def measure(
    table: list[Row], *, budget: float = 0.2, provider: CryptoProvider = DEFAULT_PROVIDER
) -> list[Row]:
    """Fill in ``costs`` for every available row of ``provider``'s table (``budget`` seconds per
    operation, roughly; slow operations such as SLH-DSA-128s signing run once per batch)."""
    rsa_key: list[rsa.RSAPrivateKey] = []
    for row in table:
        if row.status.startswith("needs"):
            continue
        if row.kind == "group":
            _measure_group(provider, row, budget)
        elif row.kind == "cipher suite":
            _measure_suite(provider, row, budget)
        else:
            _measure_scheme(provider, row, budget, rsa_key)
    return table


# --- rendering ----------------------------------------------------------------------------------


def _cost_text(row: Row) -> str:
    if not row.costs:
        return "—"
    return ", ".join(f"{op} {_us(v)}" for op, v in row.costs.items())


def _us(value: float) -> str:
    return f"{value:,.0f} µs" if value >= 10 else f"{value:.1f} µs"


def render_text(table: list[Row]) -> str:
    lines = []
    for kind in ("group", "cipher suite", "signature scheme"):
        part = [r for r in table if r.kind == kind]
        lines.append(f"{kind}s ({len(part)})".upper())
        header = ["name", "code", "level", "pq", "standing", "sizes", "status"]
        cells = [
            [r.name, r.code_text, str(r.level), r.post_quantum, r.standing, r.sizes, r.status]
            for r in part
        ]
        if any(r.costs for r in part):
            header.append("cost")
            for c, r in zip(cells, part, strict=True):
                c.append(_cost_text(r))
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        for c in cells:
            lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        lines.append("")
    lines += _notes(plain=True)
    return "\n".join(lines).rstrip() + "\n"


def _environment() -> str:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"Python {platform.python_version()}, cryptography {version('cryptography')}, "
        f"pqcrypto {version('pqcrypto')}, {cpu}, {os.cpu_count()} cores, one thread, "
        f"{datetime.date.today().isoformat()}"
    )


def _notes(*, plain: bool) -> list[str]:
    bullet = "* " if plain else "- "
    return [
        "Notes" if plain else "## Notes",
        "",
        bullet + "level: security in bits — classical strength for ECDH/ECDSA/EdDSA/AES, 112 "
        "for RSA-2048, the NIST category as AES key bits for post-quantum algorithms (1 = 128, "
        "3 = 192, 5 = 256); a hybrid counts as its stronger half. `min_security_level` filters "
        "on it.",
        bullet + "private use: code points 0xFE00-0xFEFF (groups, RFC 8446 §4.2.7) and "
        "0xFE00-0xFFFF (signature schemes, §4.2.3) that IANA never assigns; negotiated only "
        "between peers that both register the algorithm (Nautilus peers with pqcrypto). "
        "Hybrids put the post-quantum share first and concatenate the shared secrets.",
        bullet + "Classic McEliece is registered but cannot be negotiated: its public key "
        "(261,120 bytes and up) does not fit a TLS 1.3 KeyShareEntry (at most 65,535 bytes). "
        "It is listed and measured, never offered or accepted.",
        bullet + "SLH-DSA: pyca/cryptography has no SLH-DSA, so the key is bound to an ordinary "
        "X.509 certificate (ML-DSA-44 companion key in the SubjectPublicKeyInfo) by a "
        "non-critical extension; CertificateVerify is checked against the bound key. "
        "Certificates with an SLH-DSA SubjectPublicKeyInfo, SLH-DSA-signed chains and raw "
        "public keys (RFC 7250) are not supported. SHA2-192s/256s are not registered "
        "(0.4-0.6 s per signature).",
        bullet + "Composite ML-DSA (mldsa65_ecdsa_secp256r1_sha512, mldsa65_ed25519_sha512; "
        "draft-ietf-lamps-pq-composite-sigs): ML-DSA-65 and a classical signature over one "
        "message representative, valid only if both verify; the certificate's "
        "SubjectPublicKeyInfo is the composite key, and composite chains are validated by "
        "the library itself (pyca/cryptography's verifier does not know the OIDs). In the "
        "add-on provider `with_composite(...)`, Nautilus peers only.",
        bullet + "BIKE (BIKEL1/L3/L5, alone and with X25519; round 4, our numpy implementation, "
        "`with_bike(...)`): NIST did not select BIKE — in 2025 it chose HQC as its code-based "
        "KEM. BIKE's decoder fails with an estimated probability of 2^-128, 2^-192 and 2^-256 "
        "per decapsulation at L1, L3 and L5 (extrapolated from simulations, not proven); a failure makes the two "
        "sides derive different secrets, so the handshake fails at Finished and is retried, "
        "with no secret exposed. Ephemeral TLS key shares keep reaction attacks, which need "
        "many decapsulations under one key, out of reach.",
        bullet + "HQC, sntrup761, Classic McEliece and SLH-DSA need the optional package "
        "pqcrypto (`pip install 'nautilus-tls[pq]'`); without it they are listed as "
        "unavailable and cannot be configured.",
    ]


def render_markdown(table: list[Row]) -> str:
    measured = any(r.costs for r in table)
    out = [
        "# Algorithms",
        "",
        f"Generated by `{COMMAND}`" + (f" on {_environment()}." if measured else "."),
        "Do not edit by hand.",
        "",
    ]
    titles = {
        "group": ("Key exchange groups", "keygen / encaps / decaps"),
        "cipher suite": ("Cipher suites", "seal / open, one 16 KiB record"),
        "signature scheme": ("Signature schemes", "sign / verify"),
    }
    for kind, (title, ops) in titles.items():
        part = [r for r in table if r.kind == kind]
        out += [f"## {title}", ""]
        header = ["Name", "Code point", "Level", "PQ", "Standing", "Sizes", "Status"]
        if measured:
            header.append(f"Cost ({ops})")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for r in part:
            cells = [
                f"`{r.name}`",
                r.code_text,
                str(r.level),
                r.post_quantum,
                r.standing,
                r.sizes,
                r.status,
            ]
            if measured:
                cells.append(" / ".join(_us(v) for v in r.costs.values()) if r.costs else "—")
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    out += _notes(plain=False)
    return "\n".join(out).rstrip() + "\n"


def render_json(table: list[Row]) -> str:
    def encode(r: Row) -> dict[str, Any]:
        d = asdict(r)
        d["code"] = r.code_text if r.code is not None else None
        d["standing"] = r.standing
        d["costs_us"] = d.pop("costs")
        return d

    return json.dumps(
        {"pqcrypto_available": pqclean.available(), "algorithms": [encode(r) for r in table]},
        indent=2,
        ensure_ascii=False,
    )
