"""Each core clause proven both ways: a correct provider passes it, a defective one fails it.

The kit runs in-process (pytester) against providers in ``tests/providers``, replaying
cassettes recorded through the kit against the loopback stand-in API.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import GOOD, GOOD_FULL_RUN, gate_of

CORE_CLAUSES = {
    "returns-response",
    "system-prompt",
    "params-reach-request",
    "no-input-mutation",
    "timeout-set",
    "raises-on-http-error",
    "raises-on-transport-error",
    "raises-on-bad-body",
    "retry-bounded",
    "router-fallback",
    "circuit-breaker",
    "no-secret-leak",
}
CASSETTE_CLAUSES = {
    "returns-response",
    "system-prompt",
    "no-input-mutation",
    "raises-on-bad-body",
    "router-fallback",
    "circuit-breaker",
    "no-secret-leak",
}
D = "tests.providers.defective:"


@pytest.mark.xdist_group(GOOD_FULL_RUN)
def test_correct_provider_passes_every_core_clause(judged_together) -> None:
    run = judged_together((GOOD,))
    statuses = run.statuses()
    assert set(statuses) >= CORE_CLAUSES
    assert {c: s for c, s in statuses.items() if c in CORE_CLAUSES and s != "passed"} == {}
    assert run.result.ret == 0


# defective provider -> {clause: expected status}; every other core clause must pass.
DEFECTS = {
    "EmptyModelName": {"returns-response": "failed", "system-prompt": "failed", "router-fallback": "passed"},
    "DropsSystemPrompt": {"system-prompt": "failed"},
    "ReturnsEmptyOnHttpError": {
        "raises-on-http-error": "failed",
        "router-fallback": "failed",
        "circuit-breaker": "failed",
        "retry-bounded": "passed",
        "no-secret-leak": "passed",
        "timeout-set": "passed",
    },
    "SwallowsTransportErrors": {"raises-on-transport-error": "failed"},
    "TrustsTheBody": {"raises-on-bad-body": "failed"},
    "PoisonedAfterFailure": {"router-fallback": "failed", "circuit-breaker": "failed"},
    "MutatesMessages": {"no-input-mutation": "failed"},
    "NoTimeout": {"timeout-set": "failed"},
    "LeaksKeyInErrors": {"no-secret-leak": "failed"},
    "QuotesEchoedKey": {"no-secret-leak": "failed"},
    "DeclaresButSendsTemperature": {"params-reach-request": "failed"},
}


DEFECTIVE = tuple(D + name for name in sorted(DEFECTS))
# The core clauses' test functions (``-k`` takes the names as substrings).
CORE_SELECTION = " or ".join(f"test_{clause_id.replace('-', '_')}" for clause_id in sorted(CORE_CLAUSES))


# One kit run judges every defective provider on the core clauses (its tests share it on
# one worker); each provider's gate is what a run of its own would have exited with.
@pytest.mark.xdist_group("core-defects")
@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defective_provider_fails_exactly_its_clauses(judged_together, name: str) -> None:
    run = judged_together(DEFECTIVE, "-k", CORE_SELECTION, "--laios-allow-partial")
    index = DEFECTIVE.index(D + name)
    statuses = {c: s for c, s in run.statuses(index).items() if c in CORE_CLAUSES}
    expected = dict.fromkeys(CORE_CLAUSES, "passed") | DEFECTS[name]
    assert statuses == expected, run.report["providers"][index]
    assert gate_of(run, index) == "failed"
    assert run.result.ret == 1


def test_system_prompt_failure_names_the_missing_prompt(run_kit) -> None:
    run = run_kit(D + "DropsSystemPrompt", "-k", "system_prompt")
    assert "is in no JSON string of the request body" in run.message("system-prompt")


def test_a_system_prompt_sent_twice_fails_on_its_own_recording(run_kit, fake_api, tmp_path) -> None:
    """Its requests differ from the reference's, so it is judged as its author would judge
    it: on cassettes it recorded itself (against the loopback stand-in API)."""
    kwargs = f'--laios-provider-kwargs={{"base_url": "{fake_api.url}/v1"}}'
    run = run_kit(
        D + "SendsSystemPromptTwice",
        kwargs,
        "--record-mode=once",
        f"--laios-cassette-dir={tmp_path}",
        "-k",
        "system_prompt",
        "--laios-allow-partial",
        cassettes=False,
    )
    assert run.statuses() == {"system-prompt": "failed"}, run.report
    assert "is sent 2 times: the model reads it as often" in run.message("system-prompt")


def test_ignored_params_fail_and_break_cassette_matching(run_kit) -> None:
    """A provider that ignores the caller's values fails the clause, and its requests no
    longer match the recorded conversation: the cassette clauses refuse to judge (error)."""
    run = run_kit(D + "IgnoresParams")
    statuses = run.statuses()
    assert statuses["params-reach-request"] == "failed"
    assert "the caller passed 0.3" in run.message("params-reach-request")
    assert {statuses[c] for c in CASSETTE_CLAUSES} == {"error"}
    assert "does not match the recorded cassette" in run.message("returns-response")


def test_declared_omission_passes_and_is_shown(run_kit) -> None:
    run = run_kit(D + "DeclaresAndOmitsTemperature")
    assert run.statuses()["params-reach-request"] == "passed"
    assert run.message("params-reach-request") == "temperature omitted as declared: rejected by this model"


def test_should_clause_failure_is_reported_but_not_gating(run_kit) -> None:
    run = run_kit(D + "RetriesTooMuch")
    assert run.statuses()["retry-bounded"] == "failed"
    assert "6 upstream attempts" in run.message("retry-bounded")
    assert run.result.ret == 0
    run.result.stdout.fnmatch_lines(["*retry-bounded (should)*failed*", "gate: passed"])


def test_should_clause_failure_gates_under_strict(run_kit) -> None:
    run = run_kit(D + "RetriesTooMuch", "--laios-strict")
    assert run.statuses()["retry-bounded"] == "failed"
    assert run.result.ret == 1


def test_retry_count_is_shown_when_passing(run_kit) -> None:
    run = run_kit(GOOD, "-k", "retry_bounded")
    assert (
        run.message("retry-bounded")
        == "HTTP 503: 1 attempt(s); connect error: 1 attempt(s); HTTP 429: 1 attempt(s); HTTP 529: 1 attempt(s); "
        "read timeout: 1 attempt(s)"
    )


def test_invisible_traffic_is_an_error_never_a_pass(run_kit) -> None:
    run = run_kit(D + "RawSocketProvider")
    statuses = run.statuses()
    assert "passed" not in {statuses[c] for c in CORE_CLAUSES - {"no-secret-leak"}}
    assert statuses["returns-response"] == "error"
    assert "crossed the kit's seam" in run.message("returns-response")
    message = run.message("raises-on-http-error")
    # Its raw socket fails to reach the API (or, with CI set, the network block refuses it),
    # so the call raises: both possible reasons are named.
    assert re.search(r"the call raised (ProviderError: unreachable|RuntimeError: Network is disabled)", message)
    assert "before any HTTP request crossed the kit's seam" in message
    for stack in ("httpx", "requests", "urllib3", "urllib.request", "http.client"):
        assert stack in message
    assert "the 'tests' package imports bare sockets, which the kit does not watch" in message


def test_missing_cassette_is_one_line_naming_file_and_command(run_kit, tmp_path) -> None:
    run = run_kit(GOOD, f"--laios-cassette-dir={tmp_path}", "-k", "returns_response", cassettes=False)
    assert run.statuses()["returns-response"] == "error"
    message = run.message("returns-response")
    assert str(tmp_path / "GoodOpenAIStyle" / "returns-response") in message
    assert "--record-mode=once" in message and "\n" not in message
    # given no key, the provider got the kit's fake one, which the live API refuses
    assert message.endswith(
        """ --laios-provider-kwargs='{"api_key": "$MY_API_KEY"}'; the kit reads the key from the environment """
        "variable MY_API_KEY: export it first"
    )


def test_should_clause_error_is_reported_but_gates_only_under_strict(run_kit, tmp_path) -> None:
    (tmp_path / "GoodOpenAIStyle").mkdir()  # no cassettes: stream-end-marker cannot be judged
    for strict, exit_code in ((False, 0), (True, 1)):
        run = run_kit(
            GOOD,
            f"--laios-cassette-dir={tmp_path}",
            '--laios-provider-kwargs={"timeout": 29.5}',
            "-k",
            "stream_end_marker",
            "--laios-allow-partial",
            *(["--laios-strict"] if strict else []),
            cassettes=False,
        )
        assert run.statuses() == {"stream-end-marker": "error"}
        assert "not found (replay mode)" in run.message("stream-end-marker")
        # the command to record it repeats the folder this run read, and names (not shows) the arguments
        assert run.message("stream-end-marker").endswith(
            f"--laios-allow-partial --laios-cassette-dir={tmp_path} --laios-provider-kwargs=<the same JSON as this run>"
        )
        assert run.result.ret == exit_code
