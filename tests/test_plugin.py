"""How the plugin is driven: ini settings, factories, several providers, the user's own tests, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import GOOD, cassettes_for, load_verdict

FAILING_USER_TEST = "def test_user_suite():\n    assert False, 'the user suite must not run'\n"


def test_ini_settings_run_the_contract_and_not_the_user_testpaths(
    pytester: pytest.Pytester, good_cassettes: Path
) -> None:
    pytester.makeini(
        f"[pytest]\ntestpaths = usertests\nlaios_provider =\n    {GOOD}\nlaios_cassette_dir = {good_cassettes}\n"
    )
    pytester.mkdir("usertests").joinpath("test_user.py").write_text(FAILING_USER_TEST)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "returns_response or timeout_set")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*provider: {GOOD}*"])


def test_explicit_paths_run_the_user_tests_instead(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_user():\n    pass\n")
    result = pytester.runpytest_inprocess(f"--laios-provider={GOOD}", "test_user.py", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_factory_and_several_providers_in_one_run(pytester: pytest.Pytester, good_cassettes: Path) -> None:
    report = pytester.path / "verdict.json"
    factory = "tests.providers.factories:make_good"
    result = pytester.runpytest_inprocess(
        f"--laios-provider={GOOD}",
        f"--laios-provider={factory}",
        f"--laios-cassette-dir={good_cassettes}",
        f"--laios-report={report}",
        "-p",
        "no:cacheprovider",
        "-k",
        "returns_response",
        "--laios-allow-partial",
        "-v",
    )
    result.stdout.fnmatch_lines(
        [f"*test_returns_response?{GOOD}?*PASSED*", f"*test_returns_response?{factory}?*PASSED*"]
    )
    providers = load_verdict(report)["providers"]
    assert [p["provider"] for p in providers] == [GOOD, factory]
    assert result.ret == 0


def test_env_key_is_resolved_and_redacted_everywhere(
    pytester: pytest.Pytester, good_cassettes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-proj-" + "Zq9" * 16
    monkeypatch.setenv("LAIOS_TEST_USER_KEY", key)
    report = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess(
        "--laios-provider=tests.providers.defective:LeaksKeyInErrors",
        '--laios-provider-kwargs={"api_key": "$LAIOS_TEST_USER_KEY"}',
        f"--laios-cassette-dir={cassettes_for(good_cassettes, 'LeaksKeyInErrors')}",
        f"--laios-report={report}",
        f"--junitxml={pytester.path / 'junit.xml'}",
        "-p",
        "no:cacheprovider",
        "-k",
        "no_secret_leak",
    )
    verdict = load_verdict(report)["providers"][0]["clauses"]["no-secret-leak"]
    assert verdict["status"] == "failed"
    assert "contains the API key" in verdict["message"]
    written = report.read_text() + (pytester.path / "junit.xml").read_text()
    assert key not in written and key not in result.stdout.str() + result.stderr.str()


def test_json_report_shape(pytester: pytest.Pytester, good_cassettes: Path) -> None:
    report = pytester.path / "verdict.json"
    pytester.runpytest_inprocess(
        f"--laios-provider={GOOD}",
        f"--laios-cassette-dir={good_cassettes}",
        f"--laios-report={report}",
        "-p",
        "no:cacheprovider",
        "-k",
        "retry_bounded",
        "--laios-allow-partial",
    )
    data = load_verdict(report)
    assert set(data) == {
        "schema_version",
        "kit_version",
        "verdict",
        "complete",
        "strict",
        "allow_partial",
        "gate_reason",
        "root_causes",
        "cassette_lint",
        "providers",
    }
    assert data["cassette_lint"] == []
    assert data["schema_version"] == 1 and data["verdict"] == "partial" and data["complete"] is False
    assert data["providers"][0]["clauses"]["retry-bounded"] == {
        "status": "passed",
        "level": "should",
        "message": "HTTP 503: 1 attempt(s); connect error: 1 attempt(s); HTTP 429: 1 attempt(s); "
        "HTTP 529: 1 attempt(s); read timeout: 1 attempt(s)",
        "evidence": {"kind": "synthetic"},
        "exception": None,
    }


def test_a_should_clause_that_failed_says_why_in_the_summary(run_kit) -> None:
    """pytest counts it as xfailed and shows its reason only with ``-rx``; the docs promise that
    a failed clause lists its failing cases and how to fix them."""
    selection = "error_carries_message and not stream"
    run = run_kit("tests.providers.defective:StatusWithoutMessage", "-k", selection, "--laios-allow-partial")
    assert run.statuses() == {"error-carries-message": "failed"}
    lines = run.result.stdout.lines
    start = lines.index("error-carries-message (should) failed, reported, not gating:")
    shown = lines[start + 1 : start + 1 + len(run.message("error-carries-message").splitlines())]
    assert shown == [f"  {line}" for line in run.message("error-carries-message").splitlines()]
    assert any(line.startswith("  How to fix: ") for line in shown)
    assert start < next(i for i, line in enumerate(lines) if line.startswith("gate: "))
