"""mkdocs hooks: pages built from the code and files they embed, so the docs cannot drift.

Registered in ``mkdocs.yml`` under ``hooks:``. Markers a page may contain, each on a line
of its own:

``<!-- clauses -->``
    Replaced by the clause reference: a summary table, then one section per clause (id,
    level, test function, its whole docstring), grouped by subject, read from the clause
    registry (:func:`laios_conformance.contract.catalogue`) at build time.
``<!-- clauses-with-cassettes -->``
    Replaced by a list of the clauses that replay a cassette (the registry's ``uses_cassette``).
``<!-- include: PATH -->``
    Replaced by the file at ``PATH`` (relative to ``docs/``) as a fenced code block, its
    language taken from the suffix.

A build fails (never renders an empty reference) when the kit cannot be imported or
declares no clause, or when an included file is missing.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

CLAUSES_MARKER = "<!-- clauses -->"
CASSETTE_CLAUSES_MARKER = "<!-- clauses-with-cassettes -->"
INCLUDE = re.compile(r"^<!-- include: (?P<path>\S+) -->[ \t]*$", re.MULTILINE)
FENCE_LANGUAGES = {".yml": "yaml", ".yaml": "yaml", ".py": "python", ".toml": "toml", ".json": "json"}
_KIT_MODULES = ("laios_conformance.contract", "laios_conformance.clauses")


def _repo_root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def on_config(config: Any) -> Any:
    """Make the kit importable from this checkout, whether or not it is installed."""
    root = str(_repo_root(config))
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def on_pre_build(config: Any) -> None:
    """Forget the clause registry and the clause modules so ``mkdocs serve`` shows edited docstrings."""
    for name in [n for n in sys.modules if n.startswith(_KIT_MODULES)]:
        del sys.modules[name]


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    """Rebuild when a clause changes."""
    server.watch(str(_repo_root(config) / "laios_conformance" / "contract"))
    return server


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if CLAUSES_MARKER in markdown:
        markdown = markdown.replace(CLAUSES_MARKER, render_clause_reference())
    if CASSETTE_CLAUSES_MARKER in markdown:
        markdown = markdown.replace(CASSETTE_CLAUSES_MARKER, render_cassette_clauses())
    docs_dir = Path(config["docs_dir"])
    return INCLUDE.sub(lambda match: _fenced_file(docs_dir, match.group("path"), page), markdown)


# -- the clause reference ------------------------------------------------------------------


def _clauses() -> list[Any]:
    from laios_conformance.contract import catalogue

    clauses = catalogue()
    if not clauses:
        raise RuntimeError("laios_conformance.contract.catalogue() holds no clause; refusing to build")
    return clauses


def render_clause_reference() -> str:
    clauses = _clauses()
    groups: dict[str, list[Any]] = {}
    for clause in clauses:
        groups.setdefault(clause.module, []).append(clause)

    lines = ["| Clause | Level | What the provider must do |", "| --- | --- | --- |"]
    for clause in clauses:
        lines.append(f"| [`{clause.id}`](#{clause.id}) | {clause.level} | {_cell(clause.summary)} |")
    lines.append("")
    for module_name, members in groups.items():
        module = importlib.import_module(module_name)
        lines += [f"## {_subject(members[0].subject)}", ""]
        intro = (inspect.getdoc(module) or "").split("\n\n", 1)[0].strip()
        if intro:
            lines += [intro, ""]
        for clause in members:
            lines += _clause_section(clause, module_name)
    return "\n".join(lines)


def _clause_section(clause: Any, module_name: str) -> list[str]:
    source = module_name.replace(".", "/") + ".py"
    return [
        f"### `{clause.id}` {{#{clause.id}}}",
        "",
        f"**Level**: {clause.level} · **Judged by**: `{clause.function.__name__}` in `{source}`",
        "",
        clause.doc,
        "",
    ]


def render_cassette_clauses() -> str:
    uses = [c for c in _clauses() if c.uses_cassette]
    if not uses:
        raise RuntimeError("no clause replays a cassette; the cassette list would be empty")
    return "\n".join(f"- [`{c.id}`](clauses.md#{c.id}): {c.summary}" for c in uses)


def _subject(subject: str) -> str:
    words = subject.replace("_", " ")
    return words[:1].upper() + words[1:]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# -- included files ------------------------------------------------------------------------


def _fenced_file(docs_dir: Path, relative: str, page: Any) -> str:
    path = (docs_dir / relative).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{page.file.src_path}: <!-- include: {relative} --> names no file ({path})")
    text = path.read_text(encoding="utf-8").rstrip("\n")
    return f"```{FENCE_LANGUAGES.get(path.suffix, 'text')}\n{text}\n```"
