"""A verdict lists every clause for every provider: what did not run is ``not-run``, and gates.

Each way of running less than the contract (``-k``, ``--deselect``, ``-m``, ``-x``, a
conftest that skips clauses) fails the gate with one line naming the clauses that did
not run and why; ``--laios-allow-partial`` (or its ini key) accepts the run, and the
verdict, the Markdown report and the badge then say ``partial``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from laios_conformance.contract import catalogue
from laios_conformance.report import verdict_badge, verdict_markdown
from tests.conftest import GOOD, GOOD_FULL_RUN, KitRun

D = "tests.providers.defective:"
MUST = {c.id for c in catalogue() if c.level == "must"}
ALL = [c.id for c in catalogue()]


def gate_line(run: KitRun) -> str:
    lines = [line for line in run.result.stdout.lines if line.startswith("gate: ")]
    assert len(lines) == 1, run.result.stdout.str()
    return lines[0]


def assert_incomplete_gate(run: KitRun, not_run: set[str], why: str) -> None:
    """Exit 1, one gate line naming every must clause that did not run and why; the JSON agrees."""
    assert run.result.ret == 1, run.result.stdout.str()
    line = gate_line(run)
    assert line.startswith("gate: FAILED (") and why in line, line
    assert all(cid in line for cid in not_run & MUST), line
    assert "--laios-allow-partial" in line
    assert list(run.report["providers"][0]["clauses"]) == ALL  # every clause, in catalogue order
    assert set(run.not_run()) == not_run, run.not_run()
    assert all(why in reason for reason in run.not_run().values()), run.not_run()
    assert run.report["verdict"] == "failed" and run.report["complete"] is False
    assert why in run.report["gate_reason"]


def test_k_selection_fails_the_gate(run_kit) -> None:
    run = run_kit(GOOD, "-k", "returns_response or timeout_set")
    assert run.statuses() == {"returns-response": "passed", "timeout-set": "passed"}
    assert_incomplete_gate(run, set(ALL) - {"returns-response", "timeout-set"}, "deselected")


def test_deselect_fails_the_gate(run_kit, pytester: pytest.Pytester) -> None:
    listed = pytester.runpytest_inprocess(f"--laios-provider={GOOD}", "--co", "-q", "-p", "no:cacheprovider")
    nodeids = [line for line in listed.stdout.lines if "::test_" in line]
    assert len(nodeids) == len(ALL), listed.stdout.str()
    kept = next(n for n in nodeids if "test_timeout_set" in n)
    run = run_kit(GOOD, *(f"--deselect={n}" for n in nodeids if n != kept))
    assert run.statuses() == {"timeout-set": "passed"}
    assert_incomplete_gate(run, set(ALL) - {"timeout-set"}, "deselected")


@pytest.mark.parametrize("option", ["--fixtures", "--fixtures-per-test", "--setup-plan"])
def test_options_that_show_the_tests_instead_of_running_them_give_no_verdict(
    pytester: pytest.Pytester, option: str
) -> None:
    """As ``--collect-only``: no gate line (it said FAILED, "the run stopped before it: -x, --maxfail
    or an interrupt") and no verdict file (it held a failed verdict)."""
    report = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess(f"--laios-provider={GOOD}", f"--laios-report={report}", option)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert "gate:" not in result.stdout.str()
    assert not report.exists()


def test_marker_selection_fails_the_gate(run_kit) -> None:
    run = run_kit(GOOD, "-m", "not vcr")
    cassette_users = {c.id for c in catalogue() if c.uses_cassette}
    assert set(run.statuses()) == set(ALL) - cassette_users
    assert_incomplete_gate(run, cassette_users, "deselected")


def test_stopping_early_lists_what_never_ran(run_kit) -> None:
    """``-x`` ends the session at the first failure; the clauses after it are still listed."""
    run = run_kit(D + "EmptyModelName", "-x")
    assert run.statuses() == {"returns-response": "failed"}
    assert_incomplete_gate(run, set(ALL) - {"returns-response"}, "the run stopped before it (pytest: stopping after 1")
    assert "failing: returns-response" in gate_line(run)


def test_a_conftest_that_skips_clauses_fails_the_gate(run_kit, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import pytest\n\n"
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        if 'stream' not in item.name:\n"
        "            item.add_marker(pytest.mark.skip(reason='not today'))\n"
    )
    run = run_kit(GOOD, "-k", "stream or returns_response or timeout_set")
    streaming = {c.id for c in catalogue() if c.subject == "streaming"}
    assert set(run.statuses()) == streaming and set(run.statuses().values()) == {"passed"}
    reasons = run.not_run()
    assert reasons["returns-response"] == reasons["timeout-set"]
    assert reasons["timeout-set"].startswith("skipped before the clause ran") and "not today" in reasons["timeout-set"]
    assert "not today" in gate_line(run)
    assert run.result.ret == 1


def test_an_xfail_mark_does_not_excuse_a_failure(run_kit, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import pytest\n\n"
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        item.add_marker(pytest.mark.xfail(reason='known'))\n"
    )
    run = run_kit(D + "EmptyModelName", "-k", "returns_response", "--laios-allow-partial")
    assert run.statuses() == {"returns-response": "failed"}
    assert "model must be a non-empty str" in run.message("returns-response")
    assert run.result.ret == 1 and gate_line(run).startswith("gate: FAILED (failing: returns-response")


def test_a_clause_that_skips_itself_is_skipped_not_not_run(run_kit) -> None:
    run = run_kit(GOOD, "-k", "cassettes_fresh", "--laios-allow-partial")
    assert run.statuses() == {"cassettes-fresh": "skipped"}
    assert "not applicable" in run.report["providers"][0]["clauses"]["cassettes-fresh"]["message"]


@pytest.mark.parametrize("how", ["option", "ini"])
def test_allow_partial_passes_and_says_partial_everywhere(run_kit, pytester: pytest.Pytester, how: str) -> None:
    if how == "ini":
        pytester.makeini("[pytest]\nlaios_allow_partial = true\n")
    run = run_kit(GOOD, "-k", "returns_response", *(["--laios-allow-partial"] if how == "option" else []))
    assert run.result.ret == 0, run.result.stdout.str()
    line = gate_line(run)
    assert line.startswith("gate: partial (") and "accepted by --laios-allow-partial" in line
    assert run.report["verdict"] == "partial" and run.report["allow_partial"] is True
    assert "partial" in verdict_badge(run.report)["message"]
    assert verdict_badge(run.report)["color"] == "yellow"
    markdown = verdict_markdown(run.report)
    assert "partial verdict" in markdown and "⬜ not run" in markdown


def test_allow_partial_never_accepts_a_run_that_judged_no_clause(run_kit) -> None:
    """-k (or a project's own tests run beside the contract) can select no clause at all."""
    run = run_kit(GOOD, "-k", "no_such_clause_anywhere", "--laios-allow-partial")
    assert run.result.ret == 1, run.result.stdout.str()
    assert gate_line(run).startswith("gate: FAILED (no clause was judged for GoodOpenAIStyle; not run: ")
    assert "accepted by" not in gate_line(run) and "never a provider with no clause judged" in gate_line(run)
    assert run.report["verdict"] == "failed"
    assert verdict_badge(run.report)["color"] == "red"


@pytest.mark.xdist_group(GOOD_FULL_RUN)
def test_a_full_run_lists_every_clause_with_its_evidence(judged_together, good_cassettes: Path) -> None:
    run = judged_together((GOOD,))
    assert run.result.ret == 0
    assert run.report["verdict"] == "passed" and run.report["complete"] is True
    clauses = run.report["providers"][0]["clauses"]
    assert list(clauses) == ALL and not run.not_run()
    for known in catalogue():
        evidence = clauses[known.id]["evidence"]
        if not known.uses_cassette:
            assert evidence == {"kind": "synthetic"}, known.id
            continue
        cassette = good_cassettes / "GoodOpenAIStyle" / f"{known.id}.yaml"
        import hashlib

        assert evidence["kind"] == "replayed", known.id
        assert evidence["cassette"] == f"GoodOpenAIStyle/{known.id}.yaml"
        assert evidence["sha256"] == hashlib.sha256(cassette.read_bytes()).hexdigest()
        assert evidence["recorded_at"]
    assert "▶" in verdict_markdown(run.report) and "Evidence" in verdict_markdown(run.report)
