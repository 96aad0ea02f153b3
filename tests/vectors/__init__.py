"""The test vectors vendored in this folder, and the loader the vector tests use.

The files sit next to this module (see README.md here for where each comes from), so a
fresh clone runs every byte-exact test. A missing file is a test *failure*, never a skip:
a vector test that silently skips proves nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

VECTORS_DIR = Path(__file__).resolve().parent


def vector_path(relpath: str) -> Path:
    """The path of one vector file (relative to this folder); fails the calling test when missing."""
    path = VECTORS_DIR / relpath
    if not path.is_file():
        pytest.fail(f"vector file {relpath} is missing from {VECTORS_DIR}", pytrace=False)
    return path


def load_vector(relpath: str) -> Any:
    """Load a JSON vector file (``relpath`` is relative to this folder)."""
    with vector_path(relpath).open(encoding="utf-8") as f:
        return json.load(f)
