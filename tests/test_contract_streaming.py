"""Streaming and fidelity clauses proven both ways, one defective provider per bad habit.

Each defective provider must fail exactly the clauses listed for it and pass every other
clause; correct OpenAI-, Anthropic- and Ollama-style providers pass them all.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from laios_conformance.contract import catalogue
from laios_conformance.contract.test_streaming import _generator_exit_ignored
from tests.conftest import GOOD, GOOD_FULL_RUN, NON_STREAMING

ALL = {c.id for c in catalogue()}
OPT_IN = {"cassettes-fresh"}  # skipped unless --laios-max-cassette-age is given
D = "tests.providers.defective:"

DEFECTS = {
    # thread-safety streams too, and judges each joined stream
    "DropsLastDelta": {"stream-join", "stream-rechunk", "content-fidelity", "stream-incremental", "thread-safety"},
    "StripsDeltas": {"stream-join", "stream-rechunk", "content-fidelity"},
    "DecodesEachRead": {"stream-rechunk"},
    "DecodesEachReadKeepingLines": {"stream-rechunk"},
    "BuffersWholeStream": {"stream-incremental"},
    "SplitsEventsOnLFLF": {"stream-incremental"},
    "LagsOneEventYieldingEmpties": {"stream-incremental"},
    "SwallowsDisconnect": {"stream-raises"},
    "EndsTextlessStreamQuietly": {"stream-raises"},
    "TrustsEndOfBody": {"stream-raises", "stream-end-marker"},
    "ParsesEveryLine": {"stream-join", "stream-rechunk"},
    # every clause that reads the stream piece by piece (thread-safety only joins it, and
    # a str's characters join into the text)
    "StreamReturnsStr": {
        "stream-join",
        "stream-raises",
        "stream-error-carries-message",
        "stream-end-marker",
        "stream-incremental",
        "stream-rechunk",
        "stream-closes",
        "content-fidelity",
    },
    "RequiresDoneMarker": {"stream-end-marker"},
    "NeverClosesResponse": {"stream-closes"},
    "TurnsGeneratorExitIntoError": {"stream-closes"},
    "FormatsJsonByHand": {"message-fidelity"},
    "DropsRepeatedMessages": {"message-fidelity"},
    "TruncatesLongMessages": {"message-fidelity"},
    "StripsReply": {"content-fidelity"},
    "DropsTrailingNewline": {"content-fidelity"},
    "KeepsAnswerOnSelf": {"thread-safety"},
    "ClosesResponseOnSelf": {"thread-safety"},
    "IgnoresEndMarker": {"stream-end-marker"},
    "StreamErrorWithoutMessage": {"stream-error-carries-message"},
    "StreamStatusWithoutBody": {"stream-error-carries-message"},
}


def test_a_stream_returned_as_a_list_is_named_as_such(run_kit) -> None:
    run = run_kit(D + "ReturnsStreamAsList", "-k", "stream_incremental", "--laios-allow-partial")
    assert run.statuses() == {"stream-incremental": "failed"}, run.report
    assert "generate_stream() returned a list: it read the whole answer" in run.message("stream-incremental")


@pytest.mark.xdist_group(GOOD_FULL_RUN)
def test_correct_provider_passes_every_clause(judged_together) -> None:
    run = judged_together((GOOD,))
    assert set(run.statuses()) == ALL
    assert {c: s for c, s in run.statuses().items() if s != "passed"} == dict.fromkeys(OPT_IN, "skipped")


# Messages sent in another role's place; judged on message-fidelity alone (their requests
# differ from the recorded ones, so the clauses that replay would only say "cannot judge").
ROLE_DEFECTS = ("MapsRolesWithUserDefault", "SendsSystemAsUser", "FoldsSystemPromptIntoUser")
DECLARES_FOLDING = "tests.providers.openai_style:FoldsSystemAsDeclared"
TRIMMERS = ("KeepsLastFiftyTurns", "TrimsHistoryToCharacterBudget")
ROLE_RUN = (DECLARES_FOLDING, D + "DeclaresFoldingButSendsSystem", *(D + name for name in (*ROLE_DEFECTS, *TRIMMERS)))


@pytest.mark.xdist_group("role-defects")
@pytest.mark.parametrize("name", [*ROLE_DEFECTS, "DeclaresFoldingButSendsSystem"])
def test_a_message_sent_in_another_role_s_place_fails_message_fidelity(judged_together, name: str) -> None:
    run = judged_together(ROLE_RUN, "-k", "message_fidelity", "--laios-allow-partial")
    index = ROLE_RUN.index(D + name)
    assert run.statuses(index) == {"message-fidelity": "failed"}, run.report["providers"][index]
    assert " is sent as a messages turn with role " in run.message("message-fidelity", index)


@pytest.mark.xdist_group("role-defects")
@pytest.mark.parametrize("name", TRIMMERS)
def test_a_history_trimmed_silently_fails_message_fidelity(judged_together, name: str) -> None:
    """Drawn histories stay under 61 turns and 60 000 characters: a trimmer beyond them passed."""
    run = judged_together(ROLE_RUN, "-k", "message_fidelity", "--laios-allow-partial")
    index = ROLE_RUN.index(D + name)
    assert run.statuses(index) == {"message-fidelity": "failed"}, run.report["providers"][index]
    message = run.message("message-fidelity", index)
    assert "- a very long history: the user message 'turn 0: notes on the plan, " in message, message


@pytest.mark.xdist_group("role-defects")
def test_a_declared_fold_of_system_messages_into_user_turns_passes_and_is_noted(judged_together) -> None:
    run = judged_together(ROLE_RUN, "-k", "message_fidelity", "--laios-allow-partial")
    assert run.statuses(0) == {"message-fidelity": "passed"}, run.report["providers"][0]
    assert run.message("message-fidelity", 0) == (
        "system messages folded into user turns, as declared: the model has no system role"
    )


DEFECTIVE = tuple(D + name for name in sorted(DEFECTS))

# Habits that only the stream's shapes reveal, judged on the clauses that read a stream's
# text (one kit run of its own: the whole contract for each would cost seconds apiece).
SHAPE_DEFECTS = {
    "IndexesFirstChoice": {"stream-join"},
    "SkipsRoleChunk": {"stream-join"},
    "IgnoresFinishChunkText": {"stream-join"},
    "YieldsNullContent": {"stream-join"},
    "YieldsReasoningAsText": {"stream-join"},
    "NeedsSpaceAfterDataColon": {"stream-rechunk"},
}
SHAPE_SELECTION = "stream_join or stream_rechunk or content_fidelity or thread_safety"
SHAPE_DEFECTIVE = tuple(D + name for name in sorted(SHAPE_DEFECTS))


@pytest.mark.xdist_group("stream-shape-defects")
@pytest.mark.parametrize("name", sorted(SHAPE_DEFECTS))
def test_a_stream_shape_defect_fails_exactly_its_clause(judged_together, name: str) -> None:
    run = judged_together(SHAPE_DEFECTIVE, "-k", SHAPE_SELECTION, "--laios-allow-partial")
    index = SHAPE_DEFECTIVE.index(D + name)
    statuses = run.statuses(index)
    assert set(statuses) == {"stream-join", "stream-rechunk", "content-fidelity", "thread-safety"}
    assert {c for c, s in statuses.items() if s != "passed"} == SHAPE_DEFECTS[name], run.report["providers"][index]
    assert {statuses[c] for c in SHAPE_DEFECTS[name]} == {"failed"}


# One kit run judges every defective provider (its tests share it on one worker).
@pytest.mark.xdist_group("streaming-defects")
@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defective_provider_fails_exactly_its_clauses(judged_together, name: str) -> None:
    run = judged_together(DEFECTIVE)
    index = DEFECTIVE.index(D + name)
    statuses = run.statuses(index)
    failed = {c for c, s in statuses.items() if s != "passed" and c not in OPT_IN}
    assert failed == DEFECTS[name], run.report["providers"][index]
    assert {statuses[c] for c in failed} == {"failed"}


def test_failures_show_the_minimal_example(run_kit) -> None:
    run = run_kit(D + "DecodesEachRead", "-k", "rechunk")
    assert "stream-rechunk" in run.message("stream-rechunk")
    assert "cuts inside multi-byte UTF-8 characters" in run.message("stream-rechunk") or "1-byte pieces" in run.message(
        "stream-rechunk"
    )
    run = run_kit(D + "FormatsJsonByHand", "-k", "message_fidelity")
    assert "content with surrounding whitespace: the request body is not valid JSON" in run.message("message-fidelity")


def test_an_ascii_recording_still_judges_characters_split_across_reads(run_kit) -> None:
    # The recorded answer is ASCII: only the stream rewritten to a non-ASCII answer has
    # characters for a network cut to split.
    run = run_kit(D + "DecodesEachReadKeepingLines", "-k", "rechunk", "--laios-allow-partial")
    assert run.statuses() == {"stream-rechunk": "failed"}
    assert "cuts inside multi-byte UTF-8 characters of a non-ASCII answer: " in run.message("stream-rechunk")


def test_a_stream_read_whole_only_with_crlf_line_endings_is_not_incremental(run_kit) -> None:
    # The recorded stream ends its lines with LF, which this provider splits events at.
    run = run_kit(D + "SplitsEventsOnLFLF", "-k", "stream_incremental", "--laios-allow-partial")
    assert run.statuses() == {"stream-incremental": "failed"}
    message = run.message("stream-incremental")
    assert "first chunk (CRLF line endings, as Perplexity sends): arrived only after the kit released" in message
    assert "first chunk: " not in message


def test_a_stream_raising_when_closed_is_named_as_such(run_kit) -> None:
    run = run_kit(D + "TurnsGeneratorExitIntoError", "-k", "stream_closes", "--laios-allow-partial")
    assert run.statuses() == {"stream-closes": "failed"}
    message = run.message("stream-closes")
    assert "close(): close() raised ProviderError: the stream failed: generate_stream() turned GeneratorExit" in message
    assert "break:" not in message


def test_a_dropped_trailing_newline_is_caught_by_a_fixed_reply(run_kit) -> None:
    """Random draws alone missed it in some runs: a fixed reply ends with a newline."""
    run = run_kit(D + "DropsTrailingNewline", "-k", "content_fidelity", "--laios-allow-partial")
    assert run.statuses() == {"content-fidelity": "failed"}
    assert "generate(): counter-example 'Ends with a newline.\\n': " in run.message("content-fidelity")


@pytest.mark.parametrize(
    ("name", "case"),
    [
        ("DropsRepeatedMessages", "a repeated message: the user message 'Continue.' is not in the request"),
        ("TruncatesLongMessages", "a long message: the user message 'log line 0000: status=ok"),
    ],
)
def test_conversations_hypothesis_rarely_draws_are_judged_every_time(run_kit, monkeypatch, name, case) -> None:
    monkeypatch.setenv("CI", "1")  # the derandomized profile CI gates with drew none of these
    run = run_kit(D + name, "-k", "message_fidelity", "--laios-allow-partial")
    assert run.statuses() == {"message-fidelity": "failed"}
    assert case in run.message("message-fidelity")


def test_non_streaming_provider_is_judged_on_join_and_raises_only(run_kit) -> None:
    run = run_kit(NON_STREAMING)
    statuses = run.statuses()
    for clause in ("stream-incremental", "stream-rechunk", "stream-end-marker", "stream-error-carries-message"):
        assert statuses[clause] == "skipped"
        assert run.message(clause).startswith("not applicable: the provider does not stream")
    assert statuses["stream-join"] == statuses["stream-raises"] == "passed"
    assert "not applicable" in run.message("stream-raises")
    not_passed = {c for c, s in statuses.items() if s != "passed"}
    assert (
        not_passed
        == {"stream-incremental", "stream-rechunk", "stream-end-marker", "stream-error-carries-message"} | OPT_IN
    )


def test_a_stream_that_raises_when_called_passes_every_clause(run_kit) -> None:
    """Checking the status when generate_stream() is called, before returning the iterator,
    is a stream failing too: no clause may count that raise as one on a successful answer."""
    run = run_kit("tests.providers.openai_style:ChecksStatusWhenCalled")
    assert {c: s for c, s in run.statuses().items() if s != "passed"} == dict.fromkeys(OPT_IN, "skipped"), run.report


def test_a_stream_returned_as_one_str_fails_stream_join(run_kit) -> None:
    run = run_kit(D + "StreamReturnsStr", "-k", "stream_join", "--laios-allow-partial")
    assert run.statuses() == {"stream-join": "failed"}
    assert "generate_stream() returned a str, not an iterator of str pieces" in run.message("stream-join")


def test_a_stream_of_bytes_is_named_as_such_by_every_clause_that_joins_it(run_kit) -> None:
    """Not a traceback from ``"".join`` in content-fidelity, nor a thread-safety failure
    that blames shared state: each clause says the chunks are bytes."""
    clauses = ("stream_join", "content_fidelity", "thread_safety")
    run = run_kit(D + "StreamYieldsBytes", "-k", " or ".join(clauses), "--laios-allow-partial")
    assert run.statuses() == dict.fromkeys(("stream-join", "content-fidelity", "thread-safety"), "failed")
    for clause_id in run.statuses():
        message = run.message(clause_id)
        assert "yielded bytes chunks; every chunk must be a str" in message, message
        assert "TypeError" not in message and "b'" not in message, message


def test_duck_typed_provider_passes_without_subclassing(run_kit) -> None:
    """Clauses check behaviour structurally: no LLMClient base class, no LLMResponse needed."""
    run = run_kit("tests.providers.duck:DuckTyped")
    not_applicable = OPT_IN | {"count-tokens"}  # it has no count_tokens
    assert {c: s for c, s in run.statuses().items() if s != "passed"} == dict.fromkeys(not_applicable, "skipped")


WIRE_HOOK_CONFTEST = '''
from laios_conformance.wire.openai import OpenAIWire


class Counting(OpenAIWire):
    """The OpenAI decoder under another name, leaving a trace when used."""
    name = "counting"

    def recognises(self, url, request_body, response_headers, response_body):
        return OpenAIWire().recognises(url, request_body, response_headers, response_body)

    def extract_text(self, response_body, *, stream):
        open("decoder-was-used", "w").close()
        return super().extract_text(response_body, stream=stream)


def pytest_laios_wire_formats(config):
    return [Counting()]
'''


def test_decoder_registered_through_the_hook_is_used(run_kit, pytester) -> None:
    pytester.makeconftest(WIRE_HOOK_CONFTEST)
    run = run_kit(GOOD, "-k", "stream_join")
    assert run.statuses()["stream-join"] == "passed"
    assert (pytester.path / "decoder-was-used").exists()


def test_unknown_wire_format_is_skipped_never_passed(run_kit, pytester, monkeypatch) -> None:
    from laios_conformance import wire

    monkeypatch.setattr(wire._registry, "_BUILT_IN", ())
    run = run_kit(GOOD, "-k", "stream_join or content_fidelity or stream_rechunk", "--laios-allow-partial")
    assert set(run.statuses().values()) == {"skipped"}
    assert run.message("stream-join").startswith("not judged: unknown wire format")
    gate = next(line for line in run.result.outlines if line.startswith("gate: "))
    assert gate.endswith(
        "; not judged: 3 gating clause(s) for GoodOpenAIStyle, skipped because the kit could not judge them "
        "(each message says why): stream-join, stream-rechunk, content-fidelity)"
    ), gate
    assert "not judged: 3 gating clause(s)" in run.report["gate_reason"]


def test_streams_without_text_must_raise_each_case_on_its_own(run_kit) -> None:
    quiet = run_kit(D + "EndsTextlessStreamQuietly", "-k", "stream_raises").message("stream-raises")
    assert "1 case(s) failed" in quiet
    assert "a complete 200 stream with no text: the stream ended without raising" in quiet
    trusting = run_kit(D + "TrustsEndOfBody", "-k", "stream_raises").message("stream-raises")
    assert "2 case(s) failed" in trusting
    assert "a 200 stream whose body is a bare JSON error: the stream ended without raising" in trusting
    swallowing = run_kit(D + "SwallowsDisconnect", "-k", "stream_raises").message("stream-raises")
    assert "with no text" not in swallowing and "bare JSON error" not in swallowing


def test_each_way_a_stream_fails_is_its_own_case_of_the_message_clause(run_kit) -> None:
    midstream = run_kit(D + "StreamErrorWithoutMessage", "-k", "stream_error_carries_message").message(
        "stream-error-carries-message"
    )
    assert "1 case(s) failed" in midstream and "error inside a 200 stream: " in midstream
    refused = run_kit(D + "StreamStatusWithoutBody", "-k", "stream_error_carries_message").message(
        "stream-error-carries-message"
    )
    assert "1 case(s) failed" in refused and "HTTP 404 answering the stream request: " in refused


def test_sse_comment_lines_are_their_own_case_of_stream_join(run_kit) -> None:
    message = run_kit(D + "ParsesEveryLine", "-k", "stream_join").message("stream-join")
    assert "1 case(s) failed" in message
    assert "after SSE comment lines (OpenRouter's keep-alives): raised JSONDecodeError" in message


def test_a_stream_ended_without_done_is_complete_and_a_cut_one_is_not(run_kit) -> None:
    strict = run_kit(D + "RequiresDoneMarker", "-k", "stream_end_marker").message("stream-end-marker")
    assert "1 case(s) failed" in strict
    assert (
        "without [DONE], ended by its finish_reason (as Perplexity ends its streams): a complete answer raised"
        in strict
    )
    ignoring = run_kit(D + "IgnoresEndMarker", "-k", "stream_end_marker").message("stream-end-marker")
    assert "1 case(s) failed" in ignoring and "stream without data: [DONE] or a finish_reason: " in ignoring


@pytest.mark.parametrize(
    ("name", "again"), [("RetriesStreamAfterText", "a streamed"), ("FallsBackToGenerate", "a whole (generate())")]
)
def test_a_stream_started_again_after_it_yielded_text_fails(run_kit, name: str, again: str) -> None:
    """Retried after its first text, a stream hands the caller that text and then the
    retry's whole answer."""
    message = run_kit(D + name, "-k", "stream_raises").message("stream-raises")
    assert "1 case(s) failed" in message
    assert (
        f"connection dropped after the first text, a retry answered in full: the caller had got 'South', then "
        f"{again} request was sent again" in message
    )
    assert "5. retry a stream only while it has yielded nothing" in message


def test_a_stream_retried_before_any_text_passes(run_kit) -> None:
    run = run_kit("tests.providers.openai_style:RetriesStreamBeforeText", "-k", "stream_raises")
    assert run.statuses() == {"stream-raises": "passed"}, run.report


@pytest.mark.parametrize("name", ["SwallowsGeneratorExit", "SwallowsGeneratorExitInACycle"])
def test_a_stream_that_ignores_generator_exit_is_named(run_kit, name: str) -> None:
    """Not the bare RuntimeError that ``close()`` raised out of the clause; nor, for a
    generator only the garbage collector frees, "still open"."""
    run = run_kit(D + name, "-k", "stream_closes")
    assert run.statuses() == {"stream-closes": "failed"}, run.report
    message = run.message("stream-closes")
    assert "2 case(s) failed" in message
    assert "close(): generate_stream() ignored GeneratorExit: stopped by the caller, it yielded again" in message
    assert "break: generate_stream() ignored GeneratorExit" in message


def test_stream_closes_collects_garbage_only_for_a_stream_left_behind() -> None:
    """A full collection costs a quarter second in a large process: stream-closes runs one
    only when a stream outlived the caller's last reference, which only it would finalize."""

    def pieces(holder: list[Any]) -> Iterator[str]:
        yield "a"
        yield "b"

    gc.disable()  # no automatic collection may free the cycle before the clause looks
    gc.freeze()  # and the collections it makes walk only this test's objects, not the worker's
    try:
        with _generator_exit_ignored() as freed:
            stream = pieces([])
            next(stream)
            freed.watch(stream)
            del stream
            assert not freed.left_behind()
        holder: list[Any] = []
        with _generator_exit_ignored() as cycled:
            stream = pieces(holder)
            holder.append(stream)  # the generator's frame holds the list that holds it
            next(stream)
            cycled.watch(stream)
            alive = weakref.ref(stream)
            del stream, holder
            assert cycled.left_behind()
        assert alive() is None, "left behind, it is collected before the clause stops listening"
        with _generator_exit_ignored() as listed:
            listed.watch(["a", "b"])  # no weak references to a list: only a collection can tell
            assert listed.left_behind()
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_line_splitter_shared_by_the_instance_fails_thread_safety(run_kit) -> None:
    """The threads' streams were read in whole events, which left such a buffer empty between
    reads; they are now read in pieces that end inside events too (a provider that cannot
    join those alone is left to stream-rechunk)."""
    run = run_kit(D + "SharesOneLineSplitter", "-k", "thread_safety or stream_rechunk", "--laios-allow-partial")
    assert run.statuses() == {"thread-safety": "failed", "stream-rechunk": "passed"}, run.report
