"""Habits of the code base that no linter enforces: every silenced warning says why."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("laios_conformance", "reference_providers", "tests", "benchmarks", "scripts")
# "# type: ignore[code]" or "# noqa: CODE[, CODE]", and whatever follows them in the comment
DIRECTIVE = re.compile(
    r"#\s*(?:type:\s*ignore(?:\[[^\]]*\])?|noqa(?::\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?)(?P<rest>.*)"
)


def silenced_without_reason(source: str) -> list[int]:
    """Lines whose ``type: ignore`` or ``noqa`` has no reason after it, nor a comment line above."""
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        match = DIRECTIVE.search(token.string) if token.type == tokenize.COMMENT else None
        if match is None or match.group("rest").strip(" #-()"):
            continue
        row = token.start[0]
        above = lines[row - 2].strip() if row >= 2 else ""
        if not above.startswith("#"):
            found.append(row)
    return found


def test_the_check_finds_a_bare_ignore_and_accepts_a_reason() -> None:
    source = (
        "a = f()  # type: ignore[arg-type]\n"
        "b = f()  # type: ignore[arg-type]  # typeshed lacks it\n"
        "import x  # noqa: F401\n"
        "import y  # noqa: F401  (imported to register)\n"
        "# the reason, on the line above\n"
        "c = f()  # type: ignore\n"
    )
    assert silenced_without_reason(source) == [1, 3]


def test_every_silenced_warning_says_why() -> None:
    bare = [
        f"{path.relative_to(ROOT)}:{row}"
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "data" not in path.relative_to(ROOT).parts
        for row in silenced_without_reason(path.read_text(encoding="utf-8"))
    ]
    assert not bare, (
        "a '# type: ignore' or '# noqa' without its reason (after it, or on a comment line "
        "above); fix the warning, or say why it is wrong here: " + ", ".join(bare)
    )
