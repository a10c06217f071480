"""Defective providers of Anthropic's Messages API, Ollama's native ``/api/chat`` and OpenAI's
Chat Completions, judged on the reference providers' own cassettes (each class replays its
family's folder).

One kit run judges every provider of the table on the union of their selections, with the
two reference providers beside them: each defective one must fail exactly the clauses listed
and pass the other selected ones; the references pass them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from laios_conformance.wire.anthropic import UNKNOWN_EVENT_AFTER_CONTENT_CASE, UNKNOWN_EVENT_CASE
from tests.conftest import KitRun, gate_of

REPO = Path(__file__).resolve().parent.parent
ANTHROPIC = "tests.providers.defective_anthropic:"
OLLAMA = "tests.providers.defective_ollama:"
OPENAI = "tests.providers.defective_openai:"
REFERENCES = ("reference_providers.anthropic:AnthropicClient", "reference_providers.ollama:OllamaClient")
# Correct providers unlike the references by design: each passes the selection as they do.
CAREFUL = (
    "tests.providers.careful_anthropic:StreamFallsBackToGenerate",
    "tests.providers.careful_ollama:PullsMissingModel",
    "tests.providers.careful_anthropic:EndsAtStopReason",
    "tests.providers.careful_anthropic:DecodesAsLabelled",
)
# A careful provider that never streams: the clauses on streams are not applicable to it.
WHOLE_ANSWER = "tests.providers.careful_anthropic:StreamsWholeAnswer"
NOT_STREAMING = {"stream-end-marker"}

# defective provider -> the clauses it must fail; every other clause of SELECTION passes
DEFECTS = {
    ANTHROPIC + "RetriesOverloadedStream": {"stream-raises"},
    OLLAMA + "RetriesFailedStream": {"stream-raises"},
    OLLAMA + "AsksAgainAfterFailedPull": {"no-retry-on-client-error"},
    ANTHROPIC + "RetriesOverloadedEightTimes": {"retry-bounded"},
    ANTHROPIC + "RetriesRateLimitTenTimes": {"retry-bounded"},
    ANTHROPIC + "SkipsBlankDeltas": {"content-fidelity"},
    ANTHROPIC + "StreamDropsSystemMessages": {"message-fidelity"},
    ANTHROPIC + "StreamSendsSystemTurns": {"message-fidelity"},
    ANTHROPIC + "SystemAsFirstUserTurn": {"message-fidelity"},
    ANTHROPIC + "AssistantTurnsAsUser": {"message-fidelity"},
    OLLAMA + "SendsAssistantTurnsAsUser": {"message-fidelity"},
    ANTHROPIC + "StreamUsesConfiguredLimits": {"params-reach-request"},
    ANTHROPIC + "StreamRetriesEveryError": {"retry-bounded", "no-retry-on-client-error"},
    ANTHROPIC + "StreamFallsBackAfterRetries": {"retry-bounded"},
    ANTHROPIC + "AsksBackupHostOnClientError": {"no-retry-on-client-error"},
    ANTHROPIC + "DrainsStreamOnStop": {"stream-closes"},
    ANTHROPIC + "TrustsEndOfStream": {"stream-raises", "stream-end-marker"},
    ANTHROPIC + "RejectsUnknownEvents": {"stream-join"},
    ANTHROPIC + "RejectsUnknownEventsAfterContent": {"stream-join"},
    ANTHROPIC + "ReadsFirstContentBlock": {"content-fidelity"},
    ANTHROPIC + "StreamsFirstTextBlockOnly": {"stream-join"},
    ANTHROPIC + "StreamsThinkingAsText": {"stream-join"},
    OLLAMA + "AnswersWithItsThinking": {"content-fidelity"},
}
JUDGED = ("stream_raises", "retry_bounded", "no_retry_on_client_error", "content_fidelity", "message_fidelity")
SELECTION = " or ".join((*JUDGED, "params_reach_request", "stream_closes", "stream_end_marker", "stream_join"))
TARGETS = (*REFERENCES, *CAREFUL, WHOLE_ANSWER, *sorted(DEFECTS))


def family_cassettes(target: str) -> Path:
    module = target.split(":", 1)[0]
    families = (("anthropic", "AnthropicClient"), ("openai", "OpenAIClient"), ("ollama", "OllamaClient"))
    return REPO / "cassettes" / next(family for name, family in families if name in module)


# Providers whose streamed requests differ from the reference's on purpose replay a copy of
# its cassettes whose streamed requests say what they send (the responses are untouched).
STREAM_BODY_EDITS = {
    "StreamUsesConfiguredLimits": {
        '"max_tokens": 64,': '"max_tokens": 2048,',
        '"temperature": 0.3': '"temperature": 0.7',
    }
}


def cassettes_for(root: Path, target: str) -> None:
    class_name = target.rsplit(":", 1)[1]
    source = family_cassettes(target)
    if target == WHOLE_ANSWER:  # its every call is generate()'s hello, as recorded for returns-response
        (root / class_name).mkdir()
        for cassette in source.glob("*.yaml"):
            (root / class_name / cassette.name).write_bytes((source / "returns-response.yaml").read_bytes())
        return
    edits = STREAM_BODY_EDITS.get(class_name)
    if edits is None:
        (root / class_name).symlink_to(source, target_is_directory=True)
        return
    (root / class_name).mkdir()
    for cassette in source.glob("*.yaml"):
        interactions = cassette.read_text(encoding="utf-8").split("\n- request:")
        for i, text in enumerate(interactions):
            if '"stream": true' in text:
                for old, new in edits.items():
                    assert old in text, (cassette, old)
                    text = text.replace(old, new)
                interactions[i] = text
        (root / class_name / cassette.name).write_text("\n- request:".join(interactions), encoding="utf-8")


@pytest.fixture
def judged_natively(run_kit, _shared_runs: dict[tuple[str, ...], KitRun], tmp_path_factory) -> KitRun:
    """The one kit run of TARGETS, each class replaying its family's reference cassettes."""
    key = ("native-formats", *TARGETS, "--", SELECTION)
    if key not in _shared_runs:
        root = tmp_path_factory.mktemp("native-cassettes")
        for target in TARGETS:
            cassettes_for(root, target)
        args = ("-k", SELECTION, "--laios-strict", "--laios-allow-partial", f"--laios-cassette-dir={root}")
        _shared_runs[key] = run_kit(TARGETS, *args, cassettes=False)
    return _shared_runs[key]


@pytest.mark.xdist_group("native-format-defects")
@pytest.mark.parametrize("target", (*REFERENCES, *CAREFUL))
def test_reference_passes_the_selection(judged_natively: KitRun, target: str) -> None:
    statuses = judged_natively.statuses(TARGETS.index(target))
    assert statuses and set(statuses.values()) == {"passed"}, statuses


@pytest.mark.xdist_group("native-format-defects")
def test_a_provider_that_never_streams_is_judged_on_its_one_chunk(judged_natively: KitRun) -> None:
    """LAIOS's default generate_stream() sends generate()'s request: stream-join judges its
    one chunk against the whole answer (the Anthropic case with an event type added later,
    which only a stream can carry, crashed on the JSON body)."""
    statuses = judged_natively.statuses(TARGETS.index(WHOLE_ANSWER))
    assert {c for c, s in statuses.items() if s != "passed"} == NOT_STREAMING, statuses
    assert {statuses[c] for c in NOT_STREAMING} == {"skipped"}
    assert statuses["stream-join"] == "passed"


@pytest.mark.xdist_group("native-format-defects")
@pytest.mark.parametrize("target", sorted(DEFECTS))
def test_defective_provider_fails_exactly_its_clauses(judged_natively: KitRun, target: str) -> None:
    index = TARGETS.index(target)
    statuses = judged_natively.statuses(index)
    assert {c for c, s in statuses.items() if s != "passed"} == DEFECTS[target], statuses
    assert {statuses[c] for c in DEFECTS[target]} == {"failed"}
    assert gate_of(judged_natively, index) == "failed"


@pytest.mark.xdist_group("native-format-defects")
@pytest.mark.parametrize("target", [ANTHROPIC + "RetriesOverloadedStream", OLLAMA + "RetriesFailedStream"])
def test_a_stream_sent_again_after_an_in_stream_error_is_named(judged_natively: KitRun, target: str) -> None:
    """A retryable in-stream error (Anthropic's ``overloaded_error``) retried once the caller
    has text repeats the answer's start: the failure says the request was sent again."""
    message = judged_natively.message("stream-raises", TARGETS.index(target))
    assert "- error inside a 200 stream: the caller had got " in message
    assert "then a streamed request was sent again" in message


@pytest.mark.xdist_group("native-format-defects")
@pytest.mark.parametrize(
    ("target", "case"),
    [
        (ANTHROPIC + "RetriesOverloadedEightTimes", "HTTP 529: 8 upstream attempts for one call (at most 3)"),
        (ANTHROPIC + "RetriesRateLimitTenTimes", "HTTP 429: 10 upstream attempts for one call (at most 3)"),
    ],
)
def test_a_retry_loop_kept_for_one_status_is_bounded_too(judged_natively: KitRun, target: str, case: str) -> None:
    """Anthropic's 529 ``overloaded_error`` and 429 ``rate_limit_error`` are what such loops
    wait out; retry-bounded tried only 503 and a connection error, which they raise at once."""
    message = judged_natively.message("retry-bounded", TARGETS.index(target))
    assert "1 case(s) failed" in message and f"- {case}" in message, message


@pytest.mark.xdist_group("native-format-defects")
def test_a_paragraph_break_sent_as_its_own_delta_must_be_yielded(judged_natively: KitRun) -> None:
    """The recorded Anthropic stream has one text delta, which the kit's texts were spread
    over in halves: none was whitespace only, as Anthropic's ``"\\n\\n"`` deltas are."""
    message = judged_natively.message("content-fidelity", TARGETS.index(ANTHROPIC + "SkipsBlankDeltas"))
    assert "1 case(s) failed" in message, message
    assert "- joined generate_stream(), a paragraph break in an event of its own: " in message
    assert "got 'paragraph.Second par'" in message


@pytest.mark.xdist_group("native-format-defects")
@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("StreamDropsSystemMessages", "the system message 'Be terse.' is not in the request verbatim and in order"),
        ("StreamSendsSystemTurns", "has role 'system'; the 'anthropic' API takes only user and assistant there"),
    ],
)
def test_the_system_messages_of_a_stream_are_judged(judged_natively: KitRun, target: str, problem: str) -> None:
    """A stream path of its own that loses the system prompt: only the stream's cases fail."""
    message = judged_natively.message("message-fidelity", TARGETS.index(ANTHROPIC + target)).split("How to fix")[0]
    assert "- generate_stream(), two system messages: " in message and problem in message, message
    assert all(line.startswith("  - generate_stream(), ") for line in message.splitlines()[1:] if line.strip())


@pytest.mark.xdist_group("native-format-defects")
def test_a_system_prompt_sent_as_a_user_turn_is_named_with_the_place_the_api_reads(judged_natively: KitRun) -> None:
    message = judged_natively.message("message-fidelity", TARGETS.index(ANTHROPIC + "SystemAsFirstUserTurn"))
    assert (
        "- two system messages: the system message 'Be terse.' is sent as a messages turn with role 'user'; "
        "the 'anthropic' API reads it as the top-level 'system' field"
    ) in message, message


@pytest.mark.xdist_group("native-format-defects")
def test_the_parameters_of_a_stream_are_judged(judged_natively: KitRun) -> None:
    message = judged_natively.message("params-reach-request", TARGETS.index(ANTHROPIC + "StreamUsesConfiguredLimits"))
    assert "3 case(s) failed" in message, message
    assert "- generate_stream() temperature: the caller passed 0.3; " in message
    assert "- generate_stream() max_tokens: the caller passed 64; " in message
    assert "- generate_stream() temperature 0.0: the caller passed 0.0; found 0.7 at temperature" in message


@pytest.mark.xdist_group("native-format-defects")
def test_the_retries_of_a_stream_are_counted(judged_natively: KitRun) -> None:
    index = TARGETS.index(ANTHROPIC + "StreamRetriesEveryError")
    bounded = judged_natively.message("retry-bounded", index)
    assert "5 case(s) failed" in bounded and "- generate_stream() HTTP 529: 6 upstream attempts" in bounded
    client = judged_natively.message("no-retry-on-client-error", index)
    assert "5 case(s) failed" in client and "- generate_stream() HTTP 401: 6 attempts for one call" in client


@pytest.mark.xdist_group("native-format-defects")
def test_a_stream_drained_after_the_caller_stops_fails(judged_natively: KitRun) -> None:
    """The recorded hello has one text delta: after it, three events were left, too few to
    tell a drain from a read in flight. The answer served is longer now."""
    message = judged_natively.message("stream-closes", TARGETS.index(ANTHROPIC + "DrainsStreamOnStop"))
    assert "2 case(s) failed" in message, message
    assert "- break: the provider went on reading " in message and "(the rest of the answer)" in message


@pytest.mark.xdist_group("native-format-defects")
def test_a_fallback_to_generate_is_named_among_the_attempts(judged_natively: KitRun) -> None:
    """Three streamed attempts (an SDK's ``max_retries=2``) then three whole ones: each part
    looks within the bound to its author, so the failure says how the six split."""
    message = judged_natively.message("retry-bounded", TARGETS.index(ANTHROPIC + "StreamFallsBackAfterRetries"))
    assert "5 case(s) failed" in message, message
    fallback = "(3 streamed, then 3 without streaming: a fallback to generate() counts too)"
    assert f"- generate_stream() HTTP 529: 6 upstream attempts {fallback} for one call (at most 3)" in message
    assert "- HTTP 529: 3 upstream attempts" not in message  # generate() alone is within the bound


@pytest.mark.xdist_group("native-format-defects")
def test_a_request_elsewhere_is_no_attempt(judged_natively: KitRun) -> None:
    """A 404 prompting a model pull (``POST /api/pull``) is not the chat asked again; asking
    again after the pull failed is, and so is asking the same path of a backup host."""
    assert (
        judged_natively.statuses(TARGETS.index("tests.providers.careful_ollama:PullsMissingModel"))[
            "no-retry-on-client-error"
        ]
        == "passed"
    )
    message = judged_natively.message("no-retry-on-client-error", TARGETS.index(OLLAMA + "AsksAgainAfterFailedPull"))
    assert "1 case(s) failed" in message and "- HTTP 404: 2 attempts for one call" in message, message
    backup = judged_natively.message(
        "no-retry-on-client-error", TARGETS.index(ANTHROPIC + "AsksBackupHostOnClientError")
    )
    assert "5 case(s) failed" in backup and "- HTTP 401: 2 attempts for one call" in backup, backup  # same path


@pytest.mark.xdist_group("native-format-defects")
def test_an_event_type_added_later_must_be_skipped(judged_natively: KitRun) -> None:
    """Anthropic may add event types; a provider raising on one fails only that case."""
    message = judged_natively.message("stream-join", TARGETS.index(ANTHROPIC + "RejectsUnknownEvents"))
    assert "2 case(s) failed" in message, message
    assert f"- {UNKNOWN_EVENT_CASE}: " in message and "unexpected stream event 'laios_future_event'" in message


@pytest.mark.xdist_group("native-format-defects")
def test_an_event_type_added_later_is_also_served_after_the_content(judged_natively: KitRun) -> None:
    """A reader strict only once the content has begun met the added event only right after
    ``message_start``, where it was still skipping the preamble, and passed."""
    message = judged_natively.message("stream-join", TARGETS.index(ANTHROPIC + "RejectsUnknownEventsAfterContent"))
    assert "1 case(s) failed" in message, message
    assert f"- {UNKNOWN_EVENT_AFTER_CONTENT_CASE}: raised StreamError: " in message, message


def test_cached_and_reasoning_tokens_added_to_the_counts_again_fail_usage_fidelity(run_kit, tmp_path: Path) -> None:
    """On OpenAIClient's cassettes, whose usage states the details (the yardstick's do not)."""
    defect, reference = OPENAI + "CountsCachedTokensTwice", "reference_providers.openai:OpenAIClient"
    for target in (defect, reference):
        cassettes_for(tmp_path, target)
    args = ("-k", "usage_fidelity", "--laios-allow-partial", f"--laios-cassette-dir={tmp_path}")
    run = run_kit((defect, reference), *args, cassettes=False)
    assert (run.statuses(0), run.statuses(1)) == ({"usage-fidelity": "failed"}, {"usage-fidelity": "passed"})
    assert "the body states {'prompt_tokens': " in run.message("usage-fidelity", 0)
