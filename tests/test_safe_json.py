"""Bounded JSON parsing (safe_json.py): deep nesting is refused before the recursive decoder
runs, even in a process that raised the recursion limit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nautilus_tls import safe_json


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[[[[[[", "b": "\\"[[["}', 1),  # brackets in strings do not nest
        (b"[" * 40 + b"]" * 40, 40),
        (b"1", 0),
    ],
)
def test_measures_nesting_outside_strings(text: bytes, depth: int) -> None:
    assert safe_json.nesting_depth(text) == depth


def test_parses_ordinary_documents_like_json() -> None:
    assert safe_json.loads('{"a": [1, 2, {"b": "[{"}]}') == {"a": [1, 2, {"b": "[{"}]}
    assert safe_json.loads(bytearray(b"[1]")) == [1]


@pytest.mark.parametrize("doc", [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 33 + b"]" * 33])
def test_refuses_documents_nested_too_deep(doc: bytes) -> None:
    with pytest.raises(ValueError, match="nested deeper"):
        safe_json.loads(doc)


def test_survives_a_deep_document_when_the_recursion_limit_was_raised() -> None:
    # Plain json.loads overflows the C stack here (web3/py-evm raise the limit on import);
    # the bounded parser refuses before recursing.
    code = (
        "import sys; sys.setrecursionlimit(1_000_000)\n"
        "from nautilus_tls import safe_json\n"
        "try:\n    safe_json.loads(b'[' * 1_000_000)\n"
        "except ValueError as e:\n    print('refused', e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused")
