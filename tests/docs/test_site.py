"""The site builds offline with ``mkdocs build --strict``, and its clause reference is the code's."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from laios_conformance.contract import catalogue

from ._blocks import DOCS

CLAUSES_MARKER = "<!-- clauses -->"


@pytest.fixture(scope="module")
def site(doc_jobs) -> Path:
    built = doc_jobs.site().result()
    assert built.returncode == 0, built.explain()
    return built.outputs[0]


def page_text(site: Path, page: str) -> str:
    """The visible text of a built page's main content, whitespace collapsed."""
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    main = raw[raw.index('role="main"') :]
    text = html.unescape(re.sub(r"<[^>]+>", "", main))
    return " ".join(text.split())


def how_to_fix(doc: str) -> str:
    """A clause's *How to fix* paragraph as it reads once rendered (markup removed)."""
    match = re.search(r"\*\*How to fix\*\*:?(.*?)(?:\n\s*\n|\Z)", doc, re.DOTALL)
    assert match, "every clause docstring has a **How to fix** paragraph"
    return " ".join(match.group(1).replace("`", "").replace("**", "").split())


def test_mkdocs_build_strict_succeeds(site: Path) -> None:
    for page in (
        "index.html",
        "writing-a-provider/index.html",
        "recording/index.html",
        "ci/index.html",
        "verdicts/index.html",
        "clauses/index.html",
        "wire-formats/index.html",
        "performance/index.html",
    ):
        assert (site / page).is_file(), page


def test_clause_reference_lists_every_clause_with_its_fix(site: Path) -> None:
    raw = (site / "clauses" / "index.html").read_text(encoding="utf-8")
    text = page_text(site, "clauses")
    clauses = catalogue()
    assert clauses
    for clause in clauses:
        assert f'id="{clause.id}"' in raw, f"no section for clause {clause.id}"
        assert clause.id in text
        assert " ".join(clause.summary.replace("`", "").split()) in text, clause.id
        assert how_to_fix(clause.doc) in text, f"the How to fix text of {clause.id} is not on the page"


def test_clause_reference_is_generated_not_committed() -> None:
    source = (DOCS / "clauses.md").read_text(encoding="utf-8")
    assert CLAUSES_MARKER in source
    assert "How to fix**" not in source and "\n### " not in source
    for clause in catalogue():
        assert how_to_fix(clause.doc) not in " ".join(source.split()), clause.id


def test_recording_page_lists_the_clauses_that_use_cassettes(site: Path) -> None:
    text = page_text(site, "recording")
    users = [c.id for c in catalogue() if c.uses_cassette]
    assert users and all(cid in text for cid in users)


def test_ci_page_inlines_the_workflow_files(site: Path) -> None:
    text = page_text(site, "ci")
    for name in ("conformance.yml", "conformance-matrix.yml", "record-cassettes.yml", "api-drift.yml"):
        listing = (DOCS / "workflows" / name).read_text(encoding="utf-8")
        assert " ".join(listing.split()) in text, f"{name} is not inlined verbatim on the CI page"


def test_site_loads_nothing_from_the_network(site: Path) -> None:
    for page in site.rglob("*.html"):
        raw = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|img)[^>]+src="(?:https?:)?//[^"]+"|<link[^>]+href="(?:https?:)?//[^"]+"', raw)
        assert not remote, f"{page.relative_to(site)} loads {remote[0]}"


def test_performance_page_states_command_machine_and_date() -> None:
    """Figures are only worth reading with how, where and when they were measured."""
    source = (DOCS / "performance.md").read_text(encoding="utf-8")
    figures = source.split("## Figures", 1)[1]
    assert "python benchmarks/run.py" in figures
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", figures), "the measurement date"
    assert re.search(r"\d+ CPUs?|\bcores?\b", figures), "the machine"
