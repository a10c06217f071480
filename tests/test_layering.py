"""Imports run one way: plugin -> session -> {contract, cassettes, loading, report};
contract -> {seam, wire, base, clauses}; nothing imports session or plugin from below.

Read from the source with ``ast`` (no module is imported), so a lazy import inside a
function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "laios_conformance"

# What each part of the kit may import from the kit (its own submodules always).
ALLOWED = {
    "plugin": {"hookspecs", "session"},
    "contract": {"seam", "wire", "base", "clauses", "_redact", "_watchdog"},
    "clauses": set(),
    "cassettes": {"_files", "_redact"},
    "loading": {"_redact", "_watchdog", "_offline", "_patched_stack"},
    "report": set(),
    "seam": {"_watchdog"},
    # Leaf helpers anything may use: they import nothing from the kit.
    "_redact": set(),
    "_watchdog": set(),
    "_paths": set(),
    "_offline": set(),
    "_patched_stack": set(),
    "_tracebacks": set(),
    "_terminal": {"_redact"},
}
# Nothing but these may import session; nothing at all may import plugin.
SESSION_IMPORTERS = {"plugin"}


def part_of(module: str) -> str:
    """``laios_conformance.contract.test_x`` -> ``contract``; ``laios_conformance.session`` -> ``session``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def kit_imports(path: Path) -> set[str]:
    """Every ``laios_conformance`` module the file imports, resolved to an absolute name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m.startswith("laios_conformance.") and _exists(m)}


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_parser_sees_imports() -> None:
    """The check below would pass vacuously if imports were not found."""
    assert "laios_conformance.session" in kit_imports(PACKAGE / "plugin.py")
    assert "laios_conformance.clauses" in kit_imports(PACKAGE / "contract" / "_support.py")
    assert "laios_conformance.contract" in kit_imports(PACKAGE / "session.py")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    source = part_of(module_name(path))
    for target in sorted(kit_imports(path)):
        imported = part_of(target)
        if imported == source:
            continue
        assert imported != "plugin", f"{path.name} imports {target}: nothing imports the plugin"
        assert imported != "session" or source in SESSION_IMPORTERS, (
            f"{module_name(path)} imports {target}: only the plugin imports the session"
        )
        if source in ALLOWED:
            assert imported in ALLOWED[source] | {"_version"}, (
                f"{module_name(path)} imports {target}; {source} may import only {sorted(ALLOWED[source])}"
            )


def test_contract_has_no_conftest() -> None:
    """Fixtures come from the session plugin, not from a conftest reaching back up."""
    assert not (PACKAGE / "contract" / "conftest.py").exists()
