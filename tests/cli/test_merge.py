"""``laios-conformance merge``: verdicts of separate runs judged as one gate, and the mixes it refuses.

The verdicts are real: ``check`` runs once per reference provider, and once over both, each
replaying the committed cassettes; the runs happen once per test session, side by side.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from laios_conformance._cli.junit import verdict_junit
from laios_conformance.cli import main
from laios_conformance.report import verdict_badge
from tests.cli.helpers import REPO, cli, make_unwritable_places, one_line_error, unwritable_outputs

# Under pytest-xdist --dist loadgroup, one worker makes the real verdicts once for all tests here.
pytestmark = pytest.mark.xdist_group("merge")

OPENAI = "reference_providers.openai:OpenAIClient"
ANTHROPIC = "reference_providers.anthropic:AnthropicClient"


@dataclass
class Run:
    path: Path
    stdout: str
    returncode: int

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.path.read_text(encoding="utf-8"))


@dataclass
class RealVerdicts:
    openai: Run
    anthropic: Run
    both: Run


@pytest.fixture(scope="session")
def real_verdicts(tmp_path_factory: pytest.TempPathFactory) -> RealVerdicts:
    """``check --report-json`` for OpenAI alone, Anthropic alone, and both in one run."""
    folder = tmp_path_factory.mktemp("verdicts")
    runs = {"openai": [OPENAI], "anthropic": [ANTHROPIC], "both": [OPENAI, ANTHROPIC]}

    def check(name: str) -> Run:
        path = folder / f"verdict-{name}.json"
        args = ["check", *runs[name], "--cassette-dir", str(REPO / "cassettes"), "--report-json", str(path)]
        result = cli(*args, cwd=folder)
        assert path.exists(), result.stdout + result.stderr
        return Run(path, result.stdout, result.returncode)

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        done = dict(zip(runs, pool.map(check, runs), strict=True))
    return RealVerdicts(**done)


def merge(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """``laios-conformance merge ARGS`` in-process: (exit code, stdout, stderr)."""
    code = main(["merge", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def clause_table(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (entry["provider"], cid, result["status"], result["level"])
        for entry in data["providers"]
        for cid, result in entry["clauses"].items()
    ]


def gate_line(stdout: str) -> str:
    (line,) = [line.strip() for line in stdout.splitlines() if line.startswith("gate:")]
    return line


def written(tmp_path: Path, data: dict[str, Any], name: str) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def with_status(data: dict[str, Any], clause_id: str, status: str, message: str) -> dict[str, Any]:
    """A copy of ``data`` whose first provider got ``status`` for ``clause_id``."""
    changed = copy.deepcopy(data)
    changed["providers"][0]["clauses"][clause_id].update(status=status, message=message)
    return changed


def test_separate_runs_merged_give_the_verdict_of_one_run(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_run = real_verdicts.both
    assert one_run.returncode == 0, one_run.stdout
    outputs = {name: tmp_path / name for name in ("merged.json", "merged.md", "junit.xml", "badge.json")}
    code, out, err = merge(
        capsys,
        real_verdicts.openai.path,
        real_verdicts.anthropic.path,
        "--report-json",
        outputs["merged.json"],
        "--report-md",
        outputs["merged.md"],
        "--junit",
        outputs["junit.xml"],
        "--badge",
        outputs["badge.json"],
    )
    assert code == one_run.returncode == 0, out + err
    merged = json.loads(outputs["merged.json"].read_text())
    assert [p["provider"] for p in merged["providers"]] == [OPENAI, ANTHROPIC]
    assert clause_table(merged) == clause_table(one_run.data)
    assert merged["kit_version"] == one_run.data["kit_version"]
    assert merged.get("schema_version") == one_run.data.get("schema_version")
    assert gate_line(out) == gate_line(one_run.stdout)
    assert all(cid in out for _, cid, _, _ in clause_table(merged))

    assert json.loads(outputs["badge.json"].read_text()) == verdict_badge(one_run.data)
    assert "✅ **gate passed**" in outputs["merged.md"].read_text()
    suites = ET.parse(outputs["junit.xml"]).getroot().findall("testsuite")
    assert [suite.get("name") for suite in suites] == [OPENAI, ANTHROPIC]
    for suite, entry in zip(suites, merged["providers"], strict=True):
        assert [case.get("name") for case in suite.iter("testcase")] == list(entry["clauses"])
        skipped = [cid for cid, r in entry["clauses"].items() if r["status"] == "skipped"]
        assert [c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None] == skipped
        assert suite.get("failures") == suite.get("errors") == "0"


def test_a_failing_verdict_fails_the_merged_gate(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = with_status(real_verdicts.openai.data, "returns-response", "failed", "returns-response: content ''")
    junit = tmp_path / "junit.xml"
    md = tmp_path / "merged.md"
    args = [written(tmp_path, failing, "openai.json"), real_verdicts.anthropic.path, "--junit", junit]
    code, out, err = merge(capsys, *args, "--report-md", md)
    assert code == 1, out + err
    assert gate_line(out).startswith("gate: FAILED") and "returns-response [OpenAIClient]" in gate_line(out)
    assert "❌ **gate failed**" in md.read_text()
    (failure,) = ET.parse(junit).getroot().iter("failure")
    assert failure.get("message") == "returns-response: content ''"


def test_a_recording_whose_cassettes_lint_found_fault_with_fails_the_merged_gate(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    linted = copy.deepcopy(real_verdicts.openai.data)
    finding = "cassettes/OpenAIClient/returns-response.yaml:12:interactions[0].request.headers: openai-key: sk-pr..."
    linted["cassette_lint"] = [finding]
    report, junit = tmp_path / "merged.json", tmp_path / "junit.xml"
    args = [written(tmp_path, linted, "openai.json"), real_verdicts.anthropic.path, "--report-json", report]
    code, out, err = merge(capsys, *args, "--junit", junit)
    assert code == 1, out + err
    assert gate_line(out).startswith("gate: FAILED (") and "cassette lint: 1 finding(s)" in gate_line(out)
    assert f"cassette lint: {finding}" in out
    merged = json.loads(report.read_text())
    assert merged["verdict"] == "failed" and merged["cassette_lint"] == [finding]
    (failure,) = ET.parse(junit).getroot().iter("failure")
    assert failure.get("message") == finding


@pytest.mark.parametrize("strict, code", [(False, 0), (True, 1)], ids=["default", "strict"])
def test_a_should_clause_failure_gates_only_under_strict(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str], strict: bool, code: int
) -> None:
    failing = with_status(real_verdicts.anthropic.data, "retry-bounded", "failed", "6 upstream attempts")
    args = [real_verdicts.openai.path, written(tmp_path, failing, "anthropic.json")]
    result, out, err = merge(capsys, *args, *(["--strict"] if strict else []))
    assert result == code, out + err
    assert "retry-bounded" in out and ("gate: FAILED" if strict else "gate: passed") in out


def test_a_verdict_that_judged_nothing_fails_the_gate(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = written(tmp_path, {**real_verdicts.anthropic.data, "providers": []}, "empty.json")
    code, out, err = merge(capsys, real_verdicts.openai.path, empty)
    assert code == 1, out + err
    assert gate_line(out) == f"gate: FAILED ({empty} judges no provider: its check run judged no clause)"


def test_partial_verdicts_list_their_clauses_that_did_not_run_and_merge_as_partial(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What ``check --allow-partial -- -k ...`` writes: every clause, those it deselected not-run."""
    partial = with_status(real_verdicts.openai.data, "stream-join", "not-run", "deselected by -k")
    files = [written(tmp_path, dict(partial, allow_partial=True), "openai.json")]
    files.append(written(tmp_path, dict(real_verdicts.anthropic.data, allow_partial=True), "anthropic.json"))
    code, out, err = merge(capsys, *files)
    assert code == 0, out + err
    assert gate_line(out).startswith(
        "gate: partial ("
    ) and "for OpenAIClient (deselected by -k): stream-join" in gate_line(out)


def another_provider(data: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """``data``'s verdict as provider x:Other, its clauses changed by ``change``."""
    other = copy.deepcopy(data)
    other["providers"][0]["provider"] = "x:Other"
    change(other["providers"][0]["clauses"])
    return other


def refused(data: dict[str, Any]) -> dict[str, Any]:
    """The refused mixes: (first file, second file) -> what the one line must say."""

    def lacks_two(clauses: dict[str, Any]) -> None:
        del clauses["returns-response"], clauses["stream-join"]

    def lowers_a_failure(clauses: dict[str, Any]) -> None:
        clauses["returns-response"].update(status="failed", message="content ''", level="should")

    def unknown_status(clauses: dict[str, Any]) -> None:
        clauses["returns-response"].update(status="waived")  # no gate counts it as failing

    def adds_a_clause(clauses: dict[str, Any]) -> None:
        clauses["waived-by-hand"] = dict(clauses["returns-response"])

    def with_result(**fields: Any) -> Callable[[dict[str, Any]], None]:
        return lambda clauses: clauses["returns-response"].update(fields)

    other_kit = dict(data, kit_version=data["kit_version"] + ".post1")
    schema = data.get("schema_version")
    other_schema = {key: value for key, value in data.items() if key != "schema_version"}
    if schema is None:
        other_schema["schema_version"] = 1
    return {
        "different-kit-version": (other_kit, "cannot merge verdicts of different kit versions"),
        "different-schema-version": (other_schema, "cannot merge verdicts of different schema versions"),
        "duplicate-provider": (data, f"provider {OPENAI} is judged in both"),
        "not-a-verdict": ({"providers": "many"}, 'is not a laios-conformance verdict (no "kit_version" string)'),
        "clause-without-status": (
            {**data, "providers": [{"provider": "x:Y", "clauses": {"c": {"level": "must"}}}]},
            "clause c of x:Y has no status",
        ),
        "unknown-status": (
            another_provider(data, unknown_status),
            "clause returns-response of x:Other has status 'waived', not one of passed, failed, error, skipped",
        ),
        "lacks-clauses": (
            another_provider(data, lacks_two),
            "lacks 2 clause(s) of the contract for x:Other (returns-response, stream-join); check lists every clause",
        ),
        "level-lowered": (
            another_provider(data, lowers_a_failure),
            "gives clause returns-response of x:Other the level 'should', but the contract says 'must'",
        ),
        "unknown-clause": (
            another_provider(data, adds_a_clause),
            "has clause 'waived-by-hand' for x:Other, which is not in this kit's contract; check lists every clause",
        ),
        # Each crashed merge with a traceback, after it had written some of its reports.
        "lint-not-a-list": ({**data, "cassette_lint": None}, '("cassette_lint" is not a list of strings)'),
        "lint-a-string": ({**data, "cassette_lint": "oops"}, '("cassette_lint" is not a list of strings)'),
        "message-not-a-string": (
            another_provider(data, with_result(status="failed", message={"a": 1})),
            "(clause returns-response of x:Other has a message that is not a string)",
        ),
        "evidence-not-an-object": (
            another_provider(data, with_result(evidence="abc")),
            "(clause returns-response of x:Other has evidence that is not one of synthetic, replayed, recorded)",
        ),
        "exception-without-type": (
            another_provider(data, with_result(exception={"message": "x"})),
            "(clause returns-response of x:Other has an exception without its type, message and where)",
        ),
        "schema-version-a-string": ({**data, "schema_version": "1"}, "(\"schema_version\" '1' is not a whole number)"),
        "not-json": ("{not json", "is not JSON (Expecting property name"),
        "missing-file": (None, "no such file:"),
    }


REFUSALS = [
    "different-kit-version",
    "different-schema-version",
    "duplicate-provider",
    "not-a-verdict",
    "clause-without-status",
    "unknown-status",
    "lacks-clauses",
    "level-lowered",
    "unknown-clause",
    "lint-not-a-list",
    "lint-a-string",
    "message-not-a-string",
    "evidence-not-an-object",
    "exception-without-type",
    "schema-version-a-string",
    "not-json",
    "missing-file",
]


@pytest.mark.parametrize("mix", REFUSALS)
def test_refused_mix_is_one_line_and_exit_code_2(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str], mix: str
) -> None:
    content, expected = refused(real_verdicts.openai.data)[mix]
    second = tmp_path / "second.json"
    if content is not None:
        second.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    report = tmp_path / "merged.json"
    code, out, err = merge(capsys, real_verdicts.openai.path, second, "--report-json", report)
    assert code == 2, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in out + err, err
    assert lines[0].startswith("laios-conformance: error: merge: ") and expected in lines[0], lines[0]
    assert not report.exists(), "a refused merge writes nothing"
    assert out == ""


@unwritable_outputs("--junit", "--report-md", "--badge")
def test_an_output_path_that_cannot_be_written_is_one_line_and_nothing_is_written(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, make, expected: str
) -> None:
    make_unwritable_places(tmp_path)
    report, junit = tmp_path / "out" / "merged.json", tmp_path / "out" / "junit.xml"
    writable = ["--report-json", report] + (["--junit", junit] if option != "--junit" else [])
    code, out, err = merge(capsys, real_verdicts.openai.path, *writable, option, make(tmp_path))
    assert code == 2, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in out + err, err
    assert lines[0].startswith(f"laios-conformance: error: {option} ") and expected in lines[0], lines[0]
    assert not (tmp_path / "out").exists(), "the writable reports were written before the bad path was found"
    assert out == ""


def test_merge_from_the_shell_needs_a_verdict(tmp_path: Path) -> None:
    result = cli("merge", cwd=tmp_path)
    assert result.returncode == 2
    assert "the following arguments are required: VERDICT.json" in one_line_error(result)


# -- JUnit from a verdict, without a pytest run -------------------------------------------------


def test_junit_has_a_suite_per_provider_and_an_element_per_outcome() -> None:
    data = {
        "kit_version": "9.9.9",
        "providers": [
            {
                "provider": "a:A",
                "clauses": {
                    "returns-response": {"status": "failed", "level": "must", "message": "empty:\n  - content ''"},
                    "stream-join": {"status": "error", "level": "must", "message": "no cassette"},
                    "retry-bounded": {"status": "passed", "level": "should", "message": ""},
                },
            },
            {
                "provider": "b:B",
                "clauses": {
                    "cassettes-fresh": {"status": "skipped", "level": "should", "message": "not applicable"},
                    "stream-closes": {"status": "not-run", "level": "must", "message": "deselected by -k"},
                },
            },
        ],
    }
    root = ET.fromstring(verdict_junit(data))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5",
        "failures": "1",
        "errors": "1",
        "skipped": "2",
    }
    first, second = root.findall("testsuite")
    assert (first.get("name"), first.get("tests"), first.get("failures"), first.get("errors")) == ("a:A", "3", "1", "1")
    cases = {case.get("name"): case for case in root.iter("testcase")}
    failure = cases["returns-response"].find("failure")
    assert failure is not None and failure.get("message") == "empty: - content ''"
    assert failure.text == "empty:\n  - content ''"
    assert cases["stream-join"].find("error") is not None
    assert list(cases["retry-bounded"]) == [cases["retry-bounded"].find("properties")]
    not_run = cases["stream-closes"].find("skipped")
    assert not_run is not None and not_run.get("type") == "not-run" and not_run.text == "deselected by -k"
    assert second.get("skipped") == "2" and cases["stream-closes"].get("classname") == "b:B"
    level = cases["retry-bounded"].find("properties/property[@name='level']")
    assert level is not None and level.get("value") == "should"


def test_one_file_given_twice_is_named_as_such(
    real_verdicts: RealVerdicts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said that the provider was judged in that file twice."""
    code, out, err = merge(capsys, real_verdicts.openai.path, real_verdicts.openai.path)
    assert code == 2, out + err
    assert (
        err.strip()
        == f"laios-conformance: error: merge: {real_verdicts.openai.path} is given twice; name each verdict file once"
    )
