"""``laios-conformance check``: exit codes, the table, and every file it writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from laios_conformance._version import __version__
from laios_conformance.report import must_counts, verdict_badge
from tests.cli.helpers import REPO, cli, one_line_error
from tests.conftest import GOOD, cassettes_for, load_verdict

OPENAI = "reference_providers.openai:OpenAIClient"
D = "tests.providers.defective:"


def statuses(data: dict) -> dict:
    """The status of every clause that ran."""
    return {
        cid: r["status"]
        for entry in data["providers"]
        for cid, r in entry["clauses"].items()
        if r["status"] != "not-run"
    }


def test_reference_provider_passes_and_writes_every_file(tmp_path: Path) -> None:
    paths = {name: tmp_path / "out" / name for name in ("verdict.json", "summary.md", "junit.xml", "badge.json")}
    result = cli(
        "check",
        OPENAI,
        "--cassette-dir",
        str(REPO / "cassettes"),
        "--report-json",
        str(paths["verdict.json"]),
        "--report-md",
        str(paths["summary.md"]),
        "--junit",
        str(paths["junit.xml"]),
        "--badge",
        str(paths["badge.json"]),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = load_verdict(paths["verdict.json"])
    assert [p["provider"] for p in data["providers"]] == [OPENAI]
    clause_statuses = statuses(data)
    assert not {"failed", "error"} & set(clause_statuses.values()), clause_statuses
    assert "gate: passed" in result.stdout
    assert "OpenAIClient" in result.stdout
    assert all(cid in result.stdout for cid in clause_statuses)
    assert "passed in" not in result.stdout  # pytest's own output is kept back on success

    passed, total = must_counts(data)
    assert passed == total > 0
    badge = json.loads(paths["badge.json"].read_text())
    assert badge == {
        "schemaVersion": 1,
        "label": "conformance",
        "message": f"{total}/{total} must",
        "color": "brightgreen",
    }

    markdown = paths["summary.md"].read_text()
    assert "✅" in markdown and "❌" not in markdown and "## Failures" not in markdown
    assert all(f"| `{cid}` |" in markdown for cid in clause_statuses)

    cases = ET.parse(paths["junit.xml"]).getroot().iter("testcase")
    assert len(list(cases)) == len(clause_statuses)


def test_defective_provider_fails_the_gate(tmp_path: Path, good_cassettes: Path) -> None:
    cassettes_for(good_cassettes, "ReturnsEmptyOnHttpError")
    md, badge = tmp_path / "summary.md", tmp_path / "badge.json"
    report = tmp_path / "verdict.json"
    result = cli(
        "check",
        D + "ReturnsEmptyOnHttpError",
        "--cassette-dir",
        str(good_cassettes),
        "--report-json",
        str(report),
        "--report-md",
        str(md),
        "--badge",
        str(badge),
        "--allow-partial",
        "--",
        "-k",
        "raises_on_http_error or returns_response",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    data = load_verdict(report)
    assert statuses(data) == {"raises-on-http-error": "failed", "returns-response": "passed"}
    assert "gate: FAILED" in result.stdout and "raises-on-http-error" in result.stdout
    assert "FAILED" in result.stdout.split("LAIOS conformance")[0]  # pytest's failure report is shown
    assert json.loads(badge.read_text()) == verdict_badge(data)
    assert json.loads(badge.read_text())["color"] == "red"
    text = md.read_text()
    assert "❌ **gate failed**" in text and "## Failures" in text and "`raises-on-http-error` (must, failed)" in text


def src_layout(project: Path, client_module: str, made_importable_by: str) -> None:
    """A project whose provider package is under ``src/``, which its pytest configuration
    puts on ``sys.path``: the ini's ``pythonpath``, or a ``conftest.py``."""
    package = project / "src" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "client.py").write_text(client_module)
    if made_importable_by == "pythonpath ini":
        (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    else:
        (project / "conftest.py").write_text(
            "import pathlib, sys\n\nsys.path.insert(0, str(pathlib.Path(__file__).parent / 'src'))\n"
        )


SRC_LAYOUT_CLIENT = (
    "from tests.providers.openai_style import GoodOpenAIStyle\n\n\nclass SrcLayoutClient(GoodOpenAIStyle):\n    pass\n"
)


@pytest.mark.parametrize("made_importable_by", ["pythonpath ini", "conftest.py"])
def test_check_imports_the_provider_as_pytest_in_that_folder_does(
    tmp_path: Path, good_cassettes: Path, made_importable_by: str
) -> None:
    src_layout(tmp_path, SRC_LAYOUT_CLIENT, made_importable_by)
    cassettes_for(good_cassettes, "SrcLayoutClient")
    args = ["mypkg.client:SrcLayoutClient", "--cassette-dir", str(good_cassettes), "--allow-partial"]
    result = cli("check", *args, "--", "-k", "returns_response", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gate: partial (" in result.stdout and "SrcLayoutClient" in result.stdout


def test_a_provider_found_only_through_pytest_that_ends_the_process_fails_the_gate(tmp_path: Path) -> None:
    src_layout(tmp_path, "import os\n\nos._exit(0)\n", "pythonpath ini")
    result = cli("check", "mypkg.client:SrcLayoutClient", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert one_line_error(result).startswith("the run ended without a verdict: pytest exited with OK (0)")
    assert "gate: passed" not in result.stdout


@pytest.mark.parametrize("strict, code", [(False, 0), (True, 1)], ids=["default", "strict"])
def test_should_clause_failure_gates_only_under_strict(
    good_cassettes: Path, tmp_path: Path, strict: bool, code: int
) -> None:
    cassettes_for(good_cassettes, "RetriesTooMuch")
    badge = tmp_path / "badge.json"
    args = ["check", D + "RetriesTooMuch", "--cassette-dir", str(good_cassettes), "--badge", str(badge)]
    selection = ["--allow-partial", "--", "-k", "retry_bounded or returns_response"]
    result = cli(*args, *(["--strict"] if strict else []), *selection, cwd=tmp_path)
    assert result.returncode == code, result.stdout + result.stderr
    assert "retry-bounded" in result.stdout and "6 upstream attempts" in result.stdout
    assert ("gate: FAILED" if strict else "gate: partial") in result.stdout
    # Yellow: a should clause failed, and the run was partial; red when --strict made it gate.
    assert json.loads(badge.read_text())["color"] == ("red" if strict else "yellow")


def test_a_key_read_from_the_environment_is_named_with_secret_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check's validation in a child process and its pytest run both set the fake key."""
    monkeypatch.delenv("LAIOS_TEST_PROVIDER_KEY", raising=False)
    target = "tests.providers.openai_style:KeyFromItsEnvironment"
    selection = ["--allow-partial", "--", "-k", "key_reaches_request"]
    report = tmp_path / "verdict.json"
    args = ["--secret-env", "LAIOS_TEST_PROVIDER_KEY", "--report-json", str(report)]
    result = cli("check", target, *args, *selection, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    clauses = json.loads(report.read_text())["providers"][0]["clauses"]
    assert clauses["key-reaches-request"]["status"] == "passed"


USAGE_ERRORS = [
    (["check", "nocolon"], "target 'nocolon' has no ':'; use module:Class"),
    (["check", ":OpenAIClient"], "target ':OpenAIClient' has no module before ':'; use module:Class"),
    (["check", OPENAI, "--kwargs", "{bad"], "--kwargs is not valid JSON"),
    (["check", "x:Y", "--kwargs", "{}", "--kwargs", "{}"], "--kwargs was given 2 times for 1 providers"),
    (["check", OPENAI, "--kwargs", '{"no_such_argument": 1}'], "takes no argument(s) no_such_argument"),
    (["check", "no_such_module_here:X"], "no module named 'no_such_module_here'"),
    (
        ["check", "tests.providers.openai_style:KeyOnlyFromEnvironment"],
        "it reads its key from $LAIOS_TEST_ENV_ONLY_KEY, which is not set: pass --secret-env LAIOS_TEST_ENV_ONLY_KEY",
    ),
    (["check", OPENAI, "--", "--no-such-pytest-option"], "pytest: unrecognized arguments: --no-such-pytest-option"),
    (
        ["check", OPENAI, "--", "--laios-report=v.json"],
        "--laios-report after -- clashes with the file check writes itself (one of the two would not be written): "
        "give --report-json PATH to check instead",
    ),
    (["check", OPENAI, "--junit", "a.xml", "--", "--junitxml", "b.xml"], "give --junit PATH to check instead"),
    (["check", OPENAI, "--", "--co"], "--co after -- shows the clauses without running them, so check would get no"),
    (["check", OPENAI, "--", "--help"], "--help after -- makes pytest print its help and stop, so check would get"),
    (["check", OPENAI, "--", "-V"], "-V after -- makes pytest print its version and stop"),
    (["check", OPENAI, "--", "--lf"], "--lf after -- needs pytest's cache, which check turns off: a gate judges"),
    (["check", OPENAI, "--", "--stepwise"], "--stepwise after -- needs pytest's cache, which check turns off"),
    (["check", OPENAI, "--", "tests/"], "error: tests/ after --: check runs the contract only"),
    (  # option values are not paths: only the path is named
        ["check", OPENAI, "--", "-k", "returns", "-p", "no:randomly", "tests/x.py"],
        "error: tests/x.py after --: check runs the contract only (paths given to pytest would replace it); "
        "drop them, and run your own tests with plain pytest",
    ),
    (["check"], "the following arguments are required: TARGET"),
    (  # a wait that long overflows the clock: it was blamed on the provider's import
        ["check", OPENAI, "--call-timeout", "inf"],
        "argument --call-timeout: 'inf' must be 0 (no limit) or a positive number of seconds up to",
    ),
    (
        ["check", OPENAI, "--report-json", "same.out", "--junit", "same.out"],
        "--report-json and --junit both name 'same.out'; give each report a file of its own",
    ),
    (["check", OPENAI, "--report-json", ""], "--report-json is given an empty path; give the path of a file"),
    (["merge", "a.json", "--report-json", "m.out", "--report-md", "m.out"], "--report-json and --report-md both name"),
    (["drift", OPENAI, "--report-md", "."], "drift: --report-md '.' is a directory"),  # before recording, not after
    (["explain", "no-such-clause"], "no clause named 'no-such-clause'"),
    (["explain", "returns-respnse"], "did you mean returns-response"),
    (["lint", "--", "x"], "arguments after -- are passed to pytest"),
    ([], "choose a command: check, merge, clauses, explain, lint"),
]


@pytest.mark.parametrize("args, expected", USAGE_ERRORS, ids=[" ".join(a) or "no-command" for a, _ in USAGE_ERRORS])
def test_usage_error_is_one_line_and_exit_code_2(args: list, expected: str) -> None:
    result = cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert line.startswith("laios-conformance")
    assert expected in line


@pytest.mark.parametrize("where", ["ini", "environment"])
def test_a_path_in_addopts_is_named_as_coming_from_addopts(tmp_path: Path, where: str) -> None:
    """Not "after --": the user typed nothing there, and the fix is the ini's testpaths."""
    env = {}
    if where == "ini":
        (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -ra tests\n", encoding="utf-8")
    else:
        env = {"PYTEST_ADDOPTS": "tests"}
    result = cli("check", OPENAI, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert one_line_error(result).startswith(
        "laios-conformance: error: tests from addopts: check runs the contract only"
    )


def test_check_runs_when_the_ini_has_testpaths(tmp_path: Path, good_cassettes: Path) -> None:
    """What the addopts message advises: testpaths name a plain pytest run's tests, and leave check alone."""
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n", encoding="utf-8")
    one_clause = ["--allow-partial", "--", "-k", "returns_response"]
    result = cli("check", GOOD, "--cassette-dir", str(good_cassettes), *one_clause, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gate: partial (" in result.stdout


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"laios-conformance {__version__}\n"


def test_console_script_is_installed() -> None:
    script = shutil.which("laios-conformance") or shutil.which(
        "laios-conformance", path=str(Path(sys.executable).parent)
    )
    if script is None:
        pytest.skip("the package is not installed (pip install -e .)")
    result = subprocess.run([script, "explain", "no-such-clause"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert one_line_error(result).startswith("laios-conformance: error: no clause named")
