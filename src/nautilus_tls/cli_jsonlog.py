"""Log lines written whole, one ``write`` each.

The workers of ``serve --workers N`` share one stdout. ``print(text, flush=True)`` writes the
text and its newline separately, which become two ``write(2)`` calls when stdout is unbuffered
(``PYTHONUNBUFFERED``, ``python -u``): two workers' records could then share one line. A single
write of a line shorter than PIPE_BUF is atomic on a pipe.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping


def print_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_json_line(record: Mapping[str, object]) -> None:
    print_line(json.dumps(record))
