"""The algorithm table (``nautilus_tls.tools.catalog``): its rows, measurements, renderings,
the ``nautilus-tls algorithms`` command, and the documents generated from it (docs/algorithms.md
and the README's tables)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nautilus_tls import cli
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, with_composite
from nautilus_tls.tools import catalog

pytest.importorskip("pqcrypto", reason="the pq extra (pqcrypto) is not installed")

ROOT = Path(__file__).resolve().parent.parent.parent


def test_table_lists_every_registered_algorithm() -> None:
    table = catalog.rows()
    by_name = {r.name: r for r in table}
    assert len(by_name) == len(table)
    assert {g.name for g in DEFAULT_PROVIDER.group_infos()} <= set(by_name)
    assert {s.name for s in DEFAULT_PROVIDER.scheme_infos()} <= set(by_name)
    assert {s.name for s in DEFAULT_PROVIDER.suite_infos()} <= set(by_name)
    hqc = by_name["X25519HQC256"]
    assert (hqc.code_text, hqc.level, hqc.post_quantum, hqc.standing) == (
        "0xFE35",
        256,
        "hybrid",
        "private use",
    )
    assert hqc.sizes == "client share 7,269 B, server share 14,453 B"
    mce = by_name["ClassicMcEliece348864"]
    assert mce.code_text == "—" and mce.status.startswith("not negotiable: 261,120-byte public key")
    assert by_name["mldsa65"].standing == "IANA"
    assert by_name["rsa_pkcs1_sha256"].status == "certificate chains only"


def test_measure_fills_in_costs() -> None:
    wanted = {
        "x25519",
        "X25519HQC128",
        "ClassicMcEliece348864",
        "TLS_AES_128_GCM_SHA256",
        "mldsa44",
        "rsa_pss_pss_sha256",
        "slhdsa_sha2_128f",
        "rsa_pkcs1_sha256",
    }
    table = catalog.measure([r for r in catalog.rows() if r.name in wanted], budget=0.001)
    costs = {r.name: r.costs for r in table}
    assert set(costs["X25519HQC128"]) == {"keygen", "encaps", "decaps"}
    assert set(costs["ClassicMcEliece348864"]) == {"keygen", "encaps", "decaps"}
    assert set(costs["TLS_AES_128_GCM_SHA256"]) == {"seal 16 KiB", "open 16 KiB"}
    assert set(costs["slhdsa_sha2_128f"]) == set(costs["mldsa44"]) == {"sign", "verify"}
    assert set(costs["rsa_pss_pss_sha256"]) == {"sign", "verify"}
    assert costs["rsa_pkcs1_sha256"] == {}  # certificates only
    assert all(v > 0 for c in costs.values() for v in c.values())
    markdown = catalog.render_markdown(table)
    assert "| Cost (keygen / encaps / decaps) |" in markdown and " µs" in markdown
    assert "Classic McEliece is registered but cannot be negotiated" in markdown


def test_algorithms_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["algorithms"]) == 0
    text = capsys.readouterr().out
    assert "GROUPS (41)" in text and "X25519HQC256" in text and "0xFE35" in text
    # The FrodoKEM add-on is listed though no config gets it without asking (14 groups).
    assert "X25519FrodoKEM1344SHAKE" in text and "0xFE5B" in text
    assert "cannot be negotiated" in text
    # So are BIKE (six groups) and composite ML-DSA, with what the reader must know about BIKE.
    assert "X25519BIKEL5" in text and "0xFE65" in text and "mldsa65_ed25519_sha512" in text
    assert "NIST did not select BIKE" in text and "2^-128" in text
    assert cli.main(["algorithms", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pqcrypto_available"] is True
    names = {a["name"]: a for a in data["algorithms"]}
    assert names["slhdsa_sha2_128s"]["code"] == "0xFE00"
    assert names["slhdsa_sha2_128s"]["standing"] == "private use"
    out = tmp_path / "algorithms.md"
    assert cli.main(["algorithms", "--markdown", "--output", str(out)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert doc.startswith("# Algorithms\n") and catalog.COMMAND in doc
    assert "| `X25519MLKEM768` | 0x11EC | 192 | hybrid | IANA |" in doc


def test_checked_in_algorithm_document_is_current() -> None:
    """docs/algorithms.md comes from the tool: its rows (without costs) match the table."""
    doc = (ROOT / "docs" / "algorithms.md").read_text(encoding="utf-8")
    for row in catalog.rows():
        assert f"| `{row.name}` | {row.code_text} | {row.level} | {row.post_quantum} |" in doc


def test_readme_algorithm_tables_come_from_the_tool() -> None:
    """The README's tables are the tool's (``nautilus-tls algorithms --measure --readme``)."""
    from nautilus_tls.cli import README_BEGIN, README_END

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_BEGIN) : readme.index(README_END)]
    for row in catalog.rows():
        assert f"| `{row.name}` | {row.code_text} | {row.level} | {row.post_quantum} |" in block


def test_the_composite_schemes_are_listed_and_measured() -> None:
    provider = with_composite(DEFAULT_PROVIDER)
    table = [r for r in catalog.rows(provider) if r.name.startswith("mldsa65_e")]
    assert [(r.name, r.code_text, r.level, r.standing) for r in table] == [
        ("mldsa65_ecdsa_secp256r1_sha512", "0xFE10", 192, "private use"),
        ("mldsa65_ed25519_sha512", "0xFE11", 192, "private use"),
    ]
    catalog.measure(table, budget=0.001, provider=provider)
    assert all(set(r.costs) == {"sign", "verify"} and r.costs["sign"] > 0 for r in table)
