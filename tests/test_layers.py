"""The layers of /work/shared/DESIGN.md hold, in the source and at runtime.

A module imports only from layers below its own; modules in one layer (``a | b``) do not import
each other, so the handshake never imports the record layer; tooling (``nautilus_tls.tools``)
and the CLI sit above the whole protocol, which never reaches up to them. The static half reads
every import in src/ with ``ast`` (imports inside functions and ``TYPE_CHECKING`` blocks
count); the runtime half imports one layer in a fresh interpreter and looks at ``sys.modules``,
which also catches what the source cannot show (the package ``__init__`` pulling in adapters).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nautilus_tls

PACKAGE = "nautilus_tls"
SRC = Path(nautilus_tls.__file__).resolve().parent

# Lowest first. A new top-level module or package must be placed here (the first test says so).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "session_info", "proofs", "_version", "safe_json"),
    ("wire",),
    ("defaults", "events"),
    ("crypto",),
    ("policy", "session", "auth", "adaptive", "risk", "pake"),
    ("ledger",),  # its client side wraps an auth verifier (ledger.transparency)
    ("config",),
    ("record", "handshake"),
    ("connection",),
    ("sslobject",),
    ("aio", "sync"),
    ("httpx", "asgi", "prefork", "quic", "did"),
    ("tools",),
    ("cli",),
)
# Modules that are part of a unit under another name: the CLI's entry point (and every
# cli_*.py helper, see unit_of).
PART_OF: dict[str, str] = {"__main__": "cli"}

LAYER_OF: dict[str, int] = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
PROTOCOL_TOP = LAYER_OF["connection"]  # everything up to here is the sans-I/O protocol core


def unit_of(module: str) -> str | None:
    """``nautilus_tls.crypto.kem`` -> ``crypto``; the package root -> None."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) == 1:
        return None
    if parts[1].startswith("cli_"):
        return "cli"
    return PART_OF.get(parts[1], parts[1])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(module: str, source: str, *, is_package: bool = False) -> set[str]:
    """Every ``nautilus_tls`` module that ``source`` (the text of ``module``) imports.

    ``from nautilus_tls import defaults`` names the submodule; ``from nautilus_tls import
    ClientConfig`` names the package root, which a module inside the package must not use.
    """
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_submodule = (SRC.parent / Path(*candidate.split("."))).with_suffix(
                    ".py"
                ).exists() or (SRC.parent / Path(*candidate.split("."))).is_dir()
                found.add(candidate if is_submodule else base)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def violations(module: str, imports: set[str]) -> list[str]:
    """What is wrong with ``module`` importing ``imports``, as sentences (empty when fine)."""
    here = unit_of(module)
    if here is None:
        return []
    problems = []
    for target in sorted(imports):
        there = unit_of(target)
        if there is None:
            problems.append(f"{module} imports the package root; import from the defining module")
        elif there == here:
            continue
        elif there not in LAYER_OF:
            problems.append(f"{module} imports {target}, which is in no layer")
        elif LAYER_OF[there] > LAYER_OF[here]:
            problems.append(f"{module} imports {target} from a layer above ({there} > {here})")
        elif LAYER_OF[there] == LAYER_OF[here]:
            problems.append(f"{module} imports its sibling {target} ({here} | {there})")
    return problems


def source_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    return {
        name: imported_modules(
            name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py"
        )
        for name, path in source_modules().items()
        # The root only re-exports, lazily; its runtime behaviour is tested below.
        if name != PACKAGE
    }


# --- static --------------------------------------------------------------------------------------


def test_every_top_level_module_is_placed_in_a_layer() -> None:
    units = {unit for name in source_modules() if (unit := unit_of(name)) is not None}
    unplaced = sorted(u for u in units if u not in LAYER_OF)
    assert not unplaced, f"place these in LAYERS of tests/test_layers.py: {unplaced}"


@pytest.mark.parametrize("unit", [u for layer in LAYERS for u in layer])
def test_accepts_only_imports_from_layers_below(unit: str) -> None:
    problems = [
        problem
        for module, imports in import_graph().items()
        if unit_of(module) == unit
        for problem in violations(module, imports)
    ]
    assert not problems, "\n".join(problems)


def test_handshake_never_imports_record() -> None:
    # DESIGN.md: the handshake hands out secrets per epoch; TLS over TCP or QUIC carries them.
    offenders = {
        module: sorted(i for i in imports if unit_of(i) == "record")
        for module, imports in import_graph().items()
        if unit_of(module) == "handshake"
    }
    assert not any(offenders.values()), offenders


def test_protocol_never_imports_tooling_or_cli() -> None:
    above = {"tools", "cli"}
    offenders = {
        module: sorted(i for i in imports if unit_of(i) in above)
        for module, imports in import_graph().items()
        if LAYER_OF.get(unit_of(module) or "", 99) <= LAYER_OF["sync"]
    }
    assert not any(offenders.values()), offenders


# The checker itself: it must see what it is there to see.


def test_rejects_an_upward_import() -> None:
    imports = imported_modules("nautilus_tls.wire.x", "from nautilus_tls.aio import connect\n")
    assert violations("nautilus_tls.wire.x", imports) == [
        "nautilus_tls.wire.x imports nautilus_tls.aio from a layer above (aio > wire)"
    ]


def test_rejects_a_sibling_import_inside_a_function() -> None:
    source = "def f():\n    from nautilus_tls.record import deframer\n"
    imports = imported_modules("nautilus_tls.handshake.x", source)
    assert violations("nautilus_tls.handshake.x", imports) == [
        "nautilus_tls.handshake.x imports its sibling nautilus_tls.record.deframer"
        " (handshake | record)"
    ]


def test_rejects_names_taken_from_the_package_root() -> None:
    imports = imported_modules("nautilus_tls.config", "from nautilus_tls import TLSSocket\n")
    assert violations("nautilus_tls.config", imports) == [
        "nautilus_tls.config imports the package root; import from the defining module"
    ]


def test_accepts_submodules_named_through_the_package_root_and_relative_imports() -> None:
    source = "from nautilus_tls import defaults\nfrom .enums import NamedGroup\n"
    imports = imported_modules("nautilus_tls.wire.messages", source)
    assert imports == {"nautilus_tls.defaults", "nautilus_tls.wire.enums"}
    assert violations("nautilus_tls.wire.messages", imports) == [
        "nautilus_tls.wire.messages imports nautilus_tls.defaults from a layer above"
        " (defaults > wire)"
    ]


# --- runtime -------------------------------------------------------------------------------------


def loaded_after_import(module: str) -> tuple[set[str], bool]:
    """The ``nautilus_tls`` modules, and whether asyncio, a fresh interpreter holds after
    ``import module``."""
    code = (
        f"import {module}, json, sys; "
        f"print(json.dumps([sorted(m for m in sys.modules if m.split('.')[0] == {PACKAGE!r}),"
        " 'asyncio' in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC.parent), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    modules, has_asyncio = json.loads(done.stdout)
    return set(modules), has_asyncio


def test_importing_the_package_loads_none_of_its_modules() -> None:
    modules, _ = loaded_after_import(PACKAGE)
    assert modules == {PACKAGE}


RUNTIME_UNITS = ("errors", "wire", "defaults", "events", "crypto", "config", "record")
RUNTIME_UNITS += ("handshake", "connection", "aio", "sync", "quic")


@pytest.mark.parametrize("unit", RUNTIME_UNITS)
def test_importing_a_layer_loads_only_it_and_the_layers_below(unit: str) -> None:
    modules, has_asyncio = loaded_after_import(f"{PACKAGE}.{unit}")
    loaded_units = {unit_of(m) for m in modules} - {None, unit}
    not_below = sorted(u for u in loaded_units if LAYER_OF.get(u or "", 99) >= LAYER_OF[unit])
    assert not not_below, f"import {PACKAGE}.{unit} also loaded {not_below}"
    if LAYER_OF[unit] <= PROTOCOL_TOP:
        # The sans-I/O core does no I/O: asyncio arrives with the adapter, not before.
        assert not has_asyncio, f"import {PACKAGE}.{unit} loaded asyncio"


def test_public_names_still_resolve_from_the_package_root() -> None:
    for name in nautilus_tls.__all__:
        assert getattr(nautilus_tls, name).__name__ == name
    assert set(nautilus_tls.__all__) <= set(dir(nautilus_tls))
    with pytest.raises(AttributeError):
        nautilus_tls.NoSuchName  # noqa: B018


def test_the_readme_names_the_layers_in_this_order() -> None:
    # The README's "Code layout" is what a newcomer reads; it drifted as units were added.
    readme = (SRC.parent.parent / "README.md").read_text()
    section = readme.split("## Code layout", 1)[1].split("\n## ", 1)[0]
    chains = [" ".join(c.split()) for c in re.findall(r"`([^`]*→[^`]*)`", section)]
    assert chains == [" → ".join(" | ".join(layer) for layer in LAYERS)]
