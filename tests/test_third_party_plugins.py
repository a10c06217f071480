"""The verdict under the pytest plugins and options a provider's CI commonly has.

A plugin that runs a clause again (pytest-rerunfailures' ``--reruns``, flaky's
``--force-flaky``) must not turn a failure into a pass: a clause that failed once failed, in
the JSON verdict, the JUnit XML and pytest's own counts alike, and its message says it was
flaky.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import GOOD, KitRun

FLAKY = "tests.providers.defective:FailsEveryOtherCall"


def junit_outcomes(path) -> dict[str, list[str]]:
    """Each test function's JUnit testcases, as the tags a test-report view reads."""
    outcomes: dict[str, list[str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        tags = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes.setdefault(case.get("name", "").split("[")[0], []).append(tags[0] if tags else "passed")
    return outcomes


def flaky_run(run_kit, *args: str) -> KitRun:
    from tests.providers.defective import FailsEveryOtherCall

    FailsEveryOtherCall.calls = itertools.count()  # its first call fails, its second passes
    return run_kit(FLAKY, "-k", "returns_response", "--laios-allow-partial", *args)


def test_a_clause_that_passes_only_when_rerun_fails(
    run_kit, pytester: pytest.Pytester, request: pytest.FixtureRequest
) -> None:
    pytest.importorskip("pytest_rerunfailures")
    if request.config.pluginmanager.has_plugin("flaky"):
        pytest.skip("flaky runs every test of this process itself (it patches pytest's runner): -p no:flaky")
    junit = pytester.path / "junit.xml"
    run = flaky_run(run_kit, "--reruns", "1", "-p", "no:flaky", f"--junitxml={junit}")
    assert run.statuses() == {"returns-response": "failed"}
    message = run.message("returns-response")
    assert message.startswith("flaky: an earlier run of this clause failed, and it passed when run again")
    assert "model must be a non-empty str" in message
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED
    assert junit_outcomes(junit)["test_returns_response"][-1] == "failure"
    outcomes = run.result.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("rerun"), outcomes.get("passed")) == (1, 1, None), outcomes


def test_a_clause_pytest_timeout_stops_is_not_judged(run_kit) -> None:
    """pytest-timeout's signal method raises its failure in the kit, which waits on the
    provider: it is no exception of the provider's, and the clause was not judged."""
    pytest.importorskip("pytest_timeout")
    run = run_kit(
        "tests.providers.hostile:HangsOnFailure",
        "--timeout=0.2",
        "--timeout-method=signal",
        "--laios-call-timeout=30",
        "-k",
        "raises_on_http_error",
        "--laios-allow-partial",
    )
    assert run.statuses() == {"raises-on-http-error": "error"}
    message = run.message("raises-on-http-error")
    assert message.startswith("pytest-timeout stopped this clause after 0.2 s"), message
    assert "BaseException" not in message
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("repeated", [False, True], ids=["once", "count-2"])
def test_under_forked_a_clause_whose_process_ended_errors(run_kit, repeated: bool) -> None:
    """pytest-forked reports a child that ended without a result itself, past the kit's
    report hook: the clause errors, as under pytest-xdist, rather than reading as not run;
    also when pytest-repeat adds its step to the test's id (``[provider-1-2]``)."""
    pytest.importorskip("pytest_forked")
    count = ["--count=2"] if repeated and pytest.importorskip("pytest_repeat") else []
    args = ("--forked", *count, "-k", "returns_response", "--laios-allow-partial")
    run = run_kit("tests.providers.hostile:ExitsInGenerate", *args)
    assert run.statuses() == {"returns-response": "error"}
    message = run.message("returns-response")
    assert message.startswith("running the test EXITED with status 0: the process ended during this clause"), message
    assert run.report["verdict"] == "failed"


def test_no_summary_still_shows_the_gate_line(run_kit) -> None:
    """--no-summary leaves out every plugin's summary, and so the kit's table: the run's
    exit status still follows the gate, and the gate line says why."""
    run = run_kit("tests.providers.defective:EmptyModelName", "--no-summary", "-k", "returns_response")
    gates = [line for line in run.result.stdout.lines if line.startswith("gate: ")]
    assert len(gates) == 1 and gates[0].startswith("gate: FAILED (failing: returns-response"), run.result.stdout.str()
    assert "returns-response   " not in run.result.stdout.str()  # the table stays left out, as asked
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED


def test_last_failed_names_itself_as_why_clauses_did_not_run(pytester: pytest.Pytester, good_cassettes) -> None:
    """--lf (pytest's cache) runs again only what failed last time: the clauses it leaves
    out are not run, the gate fails, and the reason names --lf, not only -k, -m or --deselect."""
    from tests.conftest import cassettes_for, load_verdict

    target = "tests.providers.defective:EmptyModelName"
    cassettes_for(good_cassettes, "EmptyModelName")
    report = pytester.path / "verdict.json"
    args = [f"--laios-provider={target}", f"--laios-cassette-dir={good_cassettes}", f"--laios-report={report}"]
    selection = ["-k", "returns_response or timeout_set"]
    assert pytester.runpytest_inprocess(*args, *selection).ret == pytest.ExitCode.TESTS_FAILED
    result = pytester.runpytest_inprocess(*args, *selection, "--lf")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    clauses = load_verdict(report)["providers"][0]["clauses"]
    assert clauses["returns-response"]["status"] == "failed"
    assert clauses["timeout-set"]["status"] == "not-run"
    assert clauses["timeout-set"]["message"] == "deselected by -k, -m, --deselect, or --lf (it passed in the last run)"


def test_a_session_timeout_is_named_as_why_the_clauses_after_it_did_not_run(run_kit) -> None:
    """pytest-timeout's ``--session-timeout`` stops the run between two tests, as ``-x`` does;
    the clauses left out say so, in pytest's own words."""
    pytest.importorskip("pytest_timeout")
    run = run_kit(GOOD, "-k", "returns_response or system_prompt", "--session-timeout=0.001")
    assert run.statuses() == {"returns-response": "passed"}
    assert run.not_run()["system-prompt"] == "the run stopped before it (pytest: session-timeout: 0.001 sec exceeded)"
