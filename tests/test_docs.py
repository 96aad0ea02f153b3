"""The documentation: the API reference builds with mkdocs in strict mode (offline), every
public name of the documented modules has a docstring, and no link leaves the repository."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def documented_modules() -> list[str]:
    pages = sorted((DOCS / "api").glob("*.md"))
    return sorted({m for page in pages for m in re.findall(r"^::: (\S+)", page.read_text(), re.M)})


def public_names(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [  # a module without __all__ (events): the classes it defines
        n for n, v in vars(module).items()
        if inspect.isclass(v) and v.__module__ == getattr(module, "__name__", "")
        and not n.startswith("_")
    ]  # fmt: skip


def test_the_reference_covers_the_public_modules() -> None:
    modules = documented_modules()
    for wanted in ("nautilus_tls", "nautilus_tls.config", "nautilus_tls.asgi", "nautilus_tls.httpx",
                   "nautilus_tls.aio.transport", "nautilus_tls.errors", "nautilus_tls.events"):  # fmt: skip
        assert wanted in modules


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for name in documented_modules():
        module = importlib.import_module(name)
        if not (module.__doc__ or "").strip():
            missing.append(name)
        for public in public_names(module):
            value = getattr(module, public)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            doc = value.__doc__ or ""
            generated = doc.startswith(f"{value.__name__}(")  # a dataclass's signature
            if not doc.strip() or generated:
                missing.append(f"{name}.{public}")
    assert not missing


def test_no_link_leaves_the_repository() -> None:
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *DOCS.rglob("*.md")]
    problems = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith("#"):
                continue  # a heading of the same page
            if re.match(r"[a-z]+:", target):
                problems.append(f"{page.name}: {target}")
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.exists() or not (path == ROOT or ROOT in path.parents):
                problems.append(f"{page.name}: {target} does not exist in the repository")
    assert not problems


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="pip install -e '.[docs]' (the test extra has it)")
    pytest.importorskip("mkdocstrings")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    asgi_page = (tmp_path / "site" / "api" / "asgi" / "index.html").read_text()
    assert "TLSServer" in asgi_page
    errors_page = (tmp_path / "site" / "api" / "errors" / "index.html").read_text()
    assert "HandshakeTimeout" in errors_page and "HandshakeCompleted" in errors_page
