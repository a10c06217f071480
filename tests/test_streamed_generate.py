"""A generate() that reads a stream is judged like one that reads a whole body.

raises-on-bad-body serves it bodies that are what each case says (the "text content null"
stream has null in every text event, the "malformed JSON" one an event with broken JSON);
usage-fidelity, usage-reported, finish-reason and model-reported substitute their values
into the events of the recorded stream that state them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import OPENAI_BASE, judged_clauses
from tests.support.fake_api import FakeAPI
from tests.support.recording import record
from tests.test_contract_judging import USAGE

D = "tests.providers.defective:"
CORRECT = "tests.providers.openai_style:GenerateReadsStream"
ANTHROPIC_SDK = "tests.providers.sdk_wrappers:AnthropicSDKStreamedGenerate"
OPENAI_STYLE = (CORRECT, D + "StreamedGenerateTrustsNoText", D + "StreamedGenerateReportsOnlyText")
OPENAI_STYLE += (
    D + "StreamedGenerateEstimatesUsage",
    D + "StreamedGenerateAddsUpUsage",
    D + "StreamedGenerateKeepsFirstUsage",
    D + "KeepsStreamedAnswerFactsOnSelf",
)
ANTHROPIC = (ANTHROPIC_SDK, D + "StreamedGenerateReadsStartUsage", D + "StreamedGenerateTrustsTheSDK")
ANTHROPIC += (D + "StreamedGenerateAddsUpInputTokens",)
BAD_BODY = "raises_on_bad_body"
THREADS = "thread_safety"

pytestmark = pytest.mark.xdist_group("streamed-generate")  # one recording for the module


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory: pytest.TempPathFactory, fake_api: FakeAPI) -> Path:
    root = tmp_path_factory.mktemp("streamed-generate")
    url = fake_api.url
    results = [
        record(
            OPENAI_STYLE,
            {"base_url": f"{url}/v1"},
            url,
            OPENAI_BASE,
            root,
            root,
            ["-k", f"{BAD_BODY} or {USAGE} or {THREADS}"],
        ),
        record(
            ANTHROPIC, {"base_url": url}, url, "https://api.anthropic.com", root, root, ["-k", f"{BAD_BODY} or {USAGE}"]
        ),
    ]
    for target in OPENAI_STYLE + ANTHROPIC:
        assert (root / target.rsplit(":", 1)[1]).is_dir(), [r.stdout[-3000:] + r.stderr[-3000:] for r in results]
    return root


def test_a_correct_generate_over_a_stream_passes(pytester: pytest.Pytester, cassettes: Path) -> None:
    verdict = judged_clauses(pytester, cassettes, CORRECT, BAD_BODY)["raises-on-bad-body"]
    assert verdict["status"] == "passed", verdict["message"]


def test_a_streamed_generate_on_the_anthropic_sdk_passes_when_it_checks_the_stop_reason(
    pytester: pytest.Pytester, cassettes: Path
) -> None:
    """get_final_message() returns what a stream cut short carried, with no stop reason."""
    verdict = judged_clauses(pytester, cassettes, ANTHROPIC_SDK, BAD_BODY)["raises-on-bad-body"]
    assert verdict["status"] == "passed", verdict["message"]


def test_one_that_returns_what_a_stream_cut_short_carried_fails(pytester: pytest.Pytester, cassettes: Path) -> None:
    verdict = judged_clauses(pytester, cassettes, D + "StreamedGenerateTrustsTheSDK", BAD_BODY)["raises-on-bad-body"]
    assert verdict["status"] == "failed"
    assert "1 case(s) failed" in verdict["message"]
    assert "stream cut short: returned LLMResponse with content 'Hello!' instead of raising" in verdict["message"]


def test_one_that_returns_the_empty_text_of_a_null_stream_fails(pytester: pytest.Pytester, cassettes: Path) -> None:
    verdict = judged_clauses(pytester, cassettes, D + "StreamedGenerateTrustsNoText", BAD_BODY)["raises-on-bad-body"]
    assert verdict["status"] == "failed"
    assert "2 case(s) failed" in verdict["message"]
    for case in ('text content ""', "text content null"):
        assert f"{case}: returned LLMResponse with content '' instead of raising" in verdict["message"]


@pytest.mark.parametrize(
    ("target", "failing"),
    [
        (CORRECT, set()),
        (ANTHROPIC_SDK, set()),
        (D + "StreamedGenerateReportsOnlyText", {"usage-reported", "finish-reason", "model-reported"}),
        (D + "StreamedGenerateEstimatesUsage", {"usage-fidelity"}),
        (D + "StreamedGenerateReadsStartUsage", {"usage-fidelity"}),
        (D + "StreamedGenerateAddsUpUsage", {"usage-fidelity"}),
        (D + "StreamedGenerateKeepsFirstUsage", {"usage-fidelity"}),
        (D + "StreamedGenerateAddsUpInputTokens", {"usage-fidelity"}),
    ],
    ids=lambda value: value.rsplit(":", 1)[-1] if isinstance(value, str) else None,
)
def test_what_a_streamed_answer_states_is_judged(
    pytester: pytest.Pytester, cassettes: Path, target: str, failing: set[str]
) -> None:
    clauses = judged_clauses(pytester, cassettes, target, USAGE)
    judged = {c: v for c, v in clauses.items() if v["status"] != "not-run"}
    assert {"usage-fidelity", "usage-reported", "finish-reason", "model-reported"} <= set(judged)
    statuses = {c: v["status"] for c, v in judged.items()}
    assert {c for c, s in statuses.items() if s != "passed"} == failing, {
        c: v["message"][:300] for c, v in judged.items() if v["status"] != "passed"
    }
    assert all(statuses[c] == "failed" for c in failing)


def test_a_correct_generate_over_a_stream_is_thread_safe(pytester: pytest.Pytester, cassettes: Path) -> None:
    verdict = judged_clauses(pytester, cassettes, CORRECT, THREADS)["thread-safety"]
    assert verdict["status"] == "passed", verdict["message"]


def test_the_counts_and_model_of_another_call_fail_thread_safety(pytester: pytest.Pytester, cassettes: Path) -> None:
    """Every reply carried the same recorded counts and model, so one handed to another
    caller could not show; each call's reply now states its own."""
    # recording kept no cassette of a clause that failed: it replays the correct provider's
    shutil.copy(cassettes / "GenerateReadsStream" / "thread-safety.yaml", cassettes / "KeepsStreamedAnswerFactsOnSelf")
    verdict = judged_clauses(pytester, cassettes, D + "KeepsStreamedAnswerFactsOnSelf", THREADS)["thread-safety"]
    assert verdict["status"] == "failed", verdict["message"]
    assert re.search(
        r"laios-thread-\d+-call-\d+ \((generate|system)\) got the (usage|model) of laios-thread-", verdict["message"]
    ), verdict["message"]
