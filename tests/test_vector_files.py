"""The vendored vectors (tests/vectors/): all present, each with its source, none skippable."""

from __future__ import annotations

import re

import pytest
from vectors import VECTORS_DIR, load_vector, vector_path


def _listed_in_readme() -> set[str]:
    readme = (VECTORS_DIR / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([^`]+\.json)` \| \S", readme, flags=re.MULTILINE))


def _files_in_folder() -> set[str]:
    return {p.relative_to(VECTORS_DIR).as_posix() for p in VECTORS_DIR.rglob("*.json")}


def test_every_vector_file_names_its_source_in_the_readme() -> None:
    assert _files_in_folder() == _listed_in_readme()


@pytest.mark.parametrize("relpath", sorted(_listed_in_readme()))
def test_every_listed_vector_file_loads(relpath: str) -> None:
    assert load_vector(relpath)


def test_missing_vector_fails_the_test_instead_of_skipping() -> None:
    with pytest.raises(pytest.fail.Exception, match="missing"):
        vector_path("no_such_vector.json")
