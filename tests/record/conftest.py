"""Make ``tests/vectors/`` importable as ``vectors`` (test folders have no __init__.py).

Redundant once pytest's ``pythonpath`` setting includes ``tests``; harmless until then.
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
