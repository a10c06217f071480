"""scripts/mutation.py: how it scores suites, and the list of equivalent mutants it trusts."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_script", REPO / "scripts" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def diff(line: str) -> str:
    return f"--- f.py\n+++ f.py\n@@ -1 +1 @@\n-original\n+    {line}\n"


def test_every_equivalent_mutant_names_a_mutated_function_and_gives_a_reason(mutation: ModuleType) -> None:
    mutated = {path.removesuffix(".py").replace("/", ".") for path in mutation.mutated_files()}
    entries = mutation.load_equivalents()
    assert entries
    for entry in entries:
        assert set(entry) == {"function", "line", "reason"}, entry
        assert entry["function"].rsplit(".", 1)[0] in mutated, entry["function"]
        assert entry["line"].strip() == entry["line"] and entry["line"], entry
        assert len(entry["reason"].split()) >= 5, entry


def test_either_suite_kills_and_equivalents_leave_the_score(mutation: ModuleType, tmp_path: Path) -> None:
    def mutant(n: int, status: str, line: str = "x = 1") -> object:
        return mutation.Mutant(f"pkg.mod.x_f__mutmut_{n}", "pkg.mod.x_f", status, diff(line))

    results = {
        "own": [mutant(1, "killed"), mutant(2, "survived"), mutant(3, "survived"), mutant(4, "survived", "y = 2")],
        "contract": [
            mutant(1, "no tests"),
            mutant(2, "timeout"),
            mutant(3, "survived"),
            mutant(4, "survived", "y = 2"),
        ],
    }
    equivalents = [{"function": "pkg.mod.x_f", "line": "y = 2", "reason": "y is never read again"}]
    scores, survivors = mutation.report(results, equivalents, tmp_path / "report.md")
    summary = {s.suite: (s.mutants, s.equivalent, s.killed, s.survived) for s in scores}
    assert summary == {"own": (4, 1, 1, 2), "contract": (4, 1, 1, 2), "own + contract": (4, 1, 2, 1)}
    assert [m.name for m in survivors] == ["pkg.mod.x_f__mutmut_3"]
    written = json.loads((tmp_path / "report.json").read_text())
    assert [e["reason"] for e in written["equivalent"]] == ["y is never read again"]
    text = (tmp_path / "report.md").read_text()
    assert "| own + contract | 4 | 1 | 2 | 1 | 66.7% |" in text
    assert "pkg.mod.x_f__mutmut_3` (own: survived, contract: survived)" in text


def test_the_contract_suite_runs_the_readme_command_and_the_own_suite_the_provider_tests(mutation: ModuleType) -> None:
    assert f"--laios-provider={mutation.PROVIDER}" in mutation.SUITES["contract"]["args"]
    assert mutation.SUITES["own"]["selection"] == ["tests/reference_providers"]
    configured = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    assert configured["only_mutate"] == [
        "reference_providers/openai.py",
        "reference_providers/_http.py",
        "reference_providers/_wire.py",
    ]
