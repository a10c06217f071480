"""The clause registry: decorating registers a clause once, under the id written once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from laios_conformance import clauses
from laios_conformance.clauses import ClauseRegistrationError, clause, running_clause
from laios_conformance.contract import CONTRACT_DIR, catalogue
from laios_conformance.contract._support import Cases


@pytest.fixture(autouse=True)
def private_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clauses declared here never reach the kit's registry."""
    monkeypatch.setattr(clauses, "_REGISTRY", dict(clauses._REGISTRY))


def test_decorating_registers_id_level_subject_cassette_and_sections() -> None:
    @clause("demo-thing", "should")
    @pytest.mark.vcr
    def test_demo_thing() -> None:
        """The provider does the thing.

        **Why**: because.

        **How to fix**: 1. do it;
        2. do it again.
        """

    found = clauses.find("demo-thing")
    assert found is not None and found.function is test_demo_thing
    assert (found.level, found.subject, found.uses_cassette) == ("should", "registry", True)
    assert found.summary == "The provider does the thing."
    assert found.sections == {"Why": "because.", "How to fix": "1. do it; 2. do it again."}
    assert clauses.how_to_fix("demo-thing") == "1. do it; 2. do it again."
    assert test_demo_thing.pytestmark[-1].args == ("demo-thing", "should")  # still a pytest mark for -m


@pytest.mark.parametrize(
    "clause_id, level, name, expected",
    [
        ("demo-a", "must", "test_demo_b", "name the function test_demo_a"),
        ("Demo_A", "must", "test_demo_a", "is not lower-case words joined by '-'"),
        ("demo-a", "maybe", "test_demo_a", "level must be one of ('must', 'should')"),
    ],
)
def test_a_bad_declaration_says_what_to_change(clause_id: str, level: str, name: str, expected: str) -> None:
    def judge() -> None:
        """Doc."""

    judge.__name__ = judge.__qualname__ = name
    with pytest.raises(ClauseRegistrationError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        clause(clause_id, level)(judge)


def test_an_id_declared_twice_is_refused() -> None:
    def test_returns_response() -> None:
        """Another judge for an existing clause."""

    with pytest.raises(ClauseRegistrationError, match="declared twice"):
        clause("returns-response")(test_returns_response)


def test_every_contract_module_is_in_the_table_of_contents() -> None:
    """``laios_conformance.contract`` imports every clause module (its reading order)."""
    modules = {path.stem for path in CONTRACT_DIR.glob("test_*.py")}
    assert {c.module.rsplit(".", 1)[1] for c in catalogue()} == modules
    subjects = [c.subject for c in catalogue()]
    assert subjects[0] == "responses" and subjects[-1] == "cassettes"
    assert subjects == sorted(subjects, key=subjects.index), "a subject's clauses are contiguous"


def test_each_clause_id_is_written_once_in_the_contract() -> None:
    """The id appears as a string in its ``@clause(...)`` and nowhere else in code."""
    ids = {c.id for c in catalogue()}
    counts = dict.fromkeys(ids, 0)
    for path in CONTRACT_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in ids and id(node) not in docstrings:
                counts[node.value] += 1
    assert counts == dict.fromkeys(ids, 1)


def test_cases_reads_the_running_clause() -> None:
    with running_clause("returns-response"):
        assert Cases().clause_id == "returns-response"
        assert Cases("returns-response").clause_id == "returns-response"  # the legacy spelling still works
        with pytest.raises(ClauseRegistrationError, match="drop the argument"):
            Cases("system-prompt")
    assert Cases("returns-response").clause_id == "returns-response"  # outside a run, as before
    with pytest.raises(ClauseRegistrationError, match="outside a running clause"):
        Cases()


def test_failure_advice_is_the_registered_how_to_fix() -> None:
    with running_clause("timeout-set"), pytest.raises(pytest.fail.Exception) as failed:
        cases = Cases()
        cases.fail("generate", "no timeout")
        cases.conclude()
    assert f"How to fix: {clauses.how_to_fix('timeout-set')}" in str(failed.value)
    assert str(failed.value).startswith("timeout-set: 1 case(s) failed:")
    assert Path(str(CONTRACT_DIR)).is_dir()
