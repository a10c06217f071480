"""One bug behind many failures is reported once, as a likely root cause, before the table.

``PassesRawUsage`` hands the API's raw ``usage`` (with its nested ``prompt_tokens_details``)
to ``LLMResponse``: pydantic rejects every successful answer, and every clause that reads
one fails on the same ``ValidationError`` raised at the same line of the provider.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from laios_conformance.report import verdict_markdown

PROVIDER = "tests.providers.defective:PassesRawUsage"
SOURCE = Path(__file__).parent / "providers" / "openai_chat.py"


@pytest.fixture(scope="module")
def raising_line() -> int:
    """The line of GoodOpenAIStyle.parse that builds the LLMResponse."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip() == "return LLMResponse(")


def test_nested_usage_gives_exactly_one_likely_root_cause(run_kit, raising_line: int) -> None:
    run = run_kit(PROVIDER)
    assert run.result.ret == 1
    printed = [line for line in run.result.stdout.lines if "likely root cause:" in line]
    assert len(printed) == 1, run.result.stdout.str()
    section = run.result.stdout.str().split("LAIOS conformance", 1)[1]
    assert re.match(
        r"likely root cause: ValidationError: \d+ validation errors? for LLMResponse", section.lstrip(" =\n")
    )

    (cause,) = run.report["root_causes"]
    assert cause["exception"] == "ValidationError"
    assert cause["where"].endswith(f"openai_chat.py:{raising_line}")
    assert cause["line"] == printed[0]
    statuses = run.statuses()
    assert len(cause["clauses"]) >= 3
    assert all(statuses[cid] in ("failed", "error") for cid in cause["clauses"])
    assert {"returns-response", "system-prompt"} <= set(cause["clauses"])
    assert all(cid in printed[0] for cid in cause["clauses"])

    markdown = verdict_markdown(run.report)
    assert markdown.index("likely root cause: ValidationError") < markdown.index("| clause |")


def test_a_provider_exception_on_a_success_case_is_explained_not_dumped(run_kit) -> None:
    run = run_kit(PROVIDER, "-k", "returns_response", "--laios-allow-partial")
    message = run.message("returns-response")
    first = message.splitlines()[0]
    assert re.match(
        r"returns-response: generate\(\) raised ValidationError: \d+ validation errors? for LLMResponse "
        r"on a recorded successful response \(raised at .*openai_chat\.py:\d+\)$",
        first,
    ), message
    assert "prompt_tokens_details" in message  # pydantic's own detail, indented below
    assert "How to fix: 1. return an ``LLMResponse``" in message
    assert "Traceback" not in run.result.stdout.str() and "pydantic_core" not in run.result.stdout.str()
    assert run.report["root_causes"] == []  # one clause is not a pattern


def test_an_error_class_that_is_no_exception_is_named_as_such(run_kit) -> None:
    """It escaped the clause while the kit answered with an error: saying that the provider
    raised "on a recorded successful response" sent its author after the wrong call."""
    selection = "params_reach_request or router_fallback"
    run = run_kit("tests.providers.defective:ErrorsAreBaseExceptions", "-k", selection, "--laios-allow-partial")
    assert run.statuses() == {"params-reach-request": "failed", "router-fallback": "failed"}, run.report
    for clause in ("params-reach-request", "router-fallback"):
        first = run.message(clause).splitlines()[0]
        assert first.startswith(f"{clause}: generate() raised ChatHalted: HTTP "), first
        # the message opens a JSON body on its first line ("HTTP 400: {"): the line shows the body
        assert '{ "error": { "message": ' in first, first
        assert "successful response" not in first
        assert first.endswith(
            "ChatHalted derives from BaseException, not Exception: LAIOS's LLMRouter and CircuitBreaker catch "
            "Exception, so it passes through them and ends the caller; derive your errors from Exception"
        ), first
