"""Find the shared test vectors (``/work/shared/vectors``, i.e. ``<repo>/../shared/vectors``).

Vector tests skip, loudly, when the folder is not there (for example in an sdist build).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve()


def vectors_dir() -> Path | None:
    """The shared vectors folder, or ``None`` when it cannot be found."""
    candidates = []
    env = os.environ.get("NAUTILUS_TLS_VECTORS")
    if env:
        candidates.append(Path(env))
    # tests/vectors.py -> parents[1] is the repository; its sibling ``shared`` holds the vectors.
    candidates.append(_HERE.parents[1] / ".." / "shared" / "vectors")
    candidates.append(_HERE.parents[1] / "shared" / "vectors")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None


def vector_path(relpath: str) -> Path:
    """The path of one vector file; skips the calling test when it is missing."""
    base = vectors_dir()
    if base is None:
        pytest.skip(
            "SKIPPED VECTOR TEST: shared vectors folder not found "
            "(expected <repo>/../shared/vectors or $NAUTILUS_TLS_VECTORS)"
        )
    path = base / relpath
    if not path.is_file():
        pytest.skip(f"SKIPPED VECTOR TEST: vector file {relpath} not found in {base}")
    return path


def load_vector(relpath: str) -> Any:
    """Load a JSON vector file (``relpath`` is relative to the vectors folder)."""
    with vector_path(relpath).open(encoding="utf-8") as f:
        return json.load(f)
