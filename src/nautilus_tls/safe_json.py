"""JSON from files and peers, parsed with a bound on nesting.

CPython's JSON decoder recurses once per nested array or object. Under the default recursion
limit a deep document raises RecursionError, but a process that raised the limit (web3's and
py-evm's imports do) lets ``"[" * 100_000`` overflow the C stack and kill the process. Session
files, did:web documents, ledger answers and state files come from disk or the network, so
their nesting is checked before the decoder sees them.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A JSON string (with escapes): brackets inside strings do not nest.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

MAX_DEPTH = 32


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (outside strings)."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif byte in _CLOSE:
            depth -= 1
    return deepest


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that first refuses documents nested deeper than ``max_depth``
    (ValueError, like any other malformed document)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") > max_depth and nesting_depth(raw) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(data)
