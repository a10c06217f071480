"""Clauses on what an answer says about itself: token usage, finish reason, model, token counts.

Each replays the recorded response, reads what it states with a wire decoder, then
substitutes other values into the same body so that a provider returning a constant, or
a number it made up, cannot pass. A generate() that reads a stream is judged the same way,
on the events of the recorded stream that state each value.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from ..clauses import clause, note
from ._hypothesis import find_minimal, texts
from ._support import (
    USAGE_KEYS,
    Cases,
    Recorded,
    answer_from,
    call_generate,
    record_exchange,
    reported,
    skip_not_judged,
)

FINISH_REASONS = ("stop", "length", "end_turn", "max_tokens", "content_filter", "stop_sequence", "tool_calls", "eos")
TRUNCATED = ("length", "max_tokens")
SERVED_MODEL = "laios-served-model-2026-01-01"
# Checked before any drawn text: prose, one long word, CJK, emoji sequences, whitespace.
FIXED_TEXTS = (
    "Hello, world. How are you today?",
    "x" * 64,
    "supercalifragilisticexpialidocious",
    "日本語のテキストです。" * 4,
    "👩\u200d👩\u200d👧" * 8,
    " \n\t " * 8,
)
TEXTS_TO_COUNT = 15
TEXT_PAIRS = st.tuples(texts(max_repeat=40), texts())
SUBSTITUTIONS = 10  # a copied or invented number fails on the first substituted counts
COUNTS = st.tuples(st.integers(0, 2_000_000), st.integers(0, 2_000_000))


def recorded_answer(provider: Any) -> Recorded:
    """The answer generate() recorded (whole or, when it reads a stream, streamed)."""
    return record_exchange(provider, call_generate)


def readable(read: Any, what: str) -> Any:
    """``read()``, or a skip naming the decoder that cannot read ``what``."""
    try:
        return read()
    except NotImplementedError as exc:
        why = str(exc) or f"the wire decoder cannot read the {what}"
        skip_not_judged(f"{why} (see docs/wire-formats.md)")


def usage_problem(usage: Any, readings: list[dict[str, int]]) -> str | None:
    """What is wrong with a reported usage, given the readings of the counts the body states
    (``WireFormat.usage_readings``; None when right)."""
    if not isinstance(usage, dict):
        return f"usage must be a dict, got {type(usage).__name__}"
    missing = [key for key in USAGE_KEYS if key not in usage]
    if missing:
        return f"usage has no {', '.join(missing)} (keys: {sorted(usage)})"
    not_ints = {k: v for k, v in usage.items() if not isinstance(v, int) or isinstance(v, bool)}
    if not_ints:
        nested = (
            " (the raw OpenAI usage object nests prompt_tokens_details)"
            if any(isinstance(v, dict) for v in not_ints.values())
            else ""
        )
        return f"usage values must be ints; {sorted(not_ints)} are not{nested}"
    if usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]:
        return f"total_tokens {usage['total_tokens']} != prompt_tokens + completion_tokens in {usage}"
    reported = {key: usage[key] for key in USAGE_KEYS}
    if reported not in readings:
        also = "".join(f" (or, counting cached prompt tokens, {reading})" for reading in readings[1:])
        return f"the body states {readings[0]}{also}, the provider reported {reported}"
    return None


def other_shape_problem(provider: Any, recorded: Recorded, body: bytes) -> str | None:
    """What is wrong with the answer to a body that states only some of its counts."""
    usage, raised = reported(provider, recorded, body, "usage")
    if raised:
        return f"{raised}; a count the body leaves out is 0 (read each with .get())"
    stated = recorded.wire.usage_readings(body, stream=recorded.stream)
    return None if usage is None or not stated else usage_problem(usage, stated)


@clause("usage-fidelity", "must")
@pytest.mark.vcr
def test_usage_fidelity(provider: Any, cassette: Any) -> None:
    """When generate() reports usage, it holds the body's token counts under LAIOS's three keys.

    **Why**: LAIOS's ``LLMResponse.usage`` holds ``prompt_tokens``, ``completion_tokens`` and
    ``total_tokens``, and ``LLMRouter.get_usage_stats()`` adds up ``total_tokens`` per
    provider; other key names, zeros or invented numbers make that account silently wrong.

    **Checks**: ``usage`` is ``None`` (judged by ``usage-reported``) or a dict with the three
    keys, int values, ``total_tokens == prompt_tokens + completion_tokens``, and the counts the
    body states; first for the recorded answer, then for counts that hypothesis substitutes
    into it (up to 10 draws: a hard-coded or copied number fails), with OpenAI's cached and
    reasoning tokens (``prompt_tokens_details.cached_tokens``,
    ``completion_tokens_details.reasoning_tokens``, parts of the two counts), where the body
    states them, set to half of the new counts. The minimal failing counts are shown.
    When ``generate()`` reads a stream, the counts go into the events that state them, the
    output count into the last (OpenAI's usage chunk, Anthropic's ``message_delta``, Ollama's
    last line), so a provider that keeps an early running count fails. And the counts as
    other servers of the protocol state them for the same answer: Ollama leaves
    ``prompt_eval_count`` out when it answers a prompt it has cached (recorded in
    ``tests/data/wire_samples``); ``generate()`` must still answer, a missing count being 0.
    A ``generate()`` that reads a stream also gets the counts on every chunk as a running
    total, as Perplexity streams them, and Anthropic's ``message_delta`` repeating the input
    counts of ``message_start``, as the API streams claude-haiku-4-5 (both recorded): a
    provider that adds the counts up, or keeps the first, fails.
    Anthropic's ``input_tokens`` leaves out the prompt tokens written to or read from its
    cache (``cache_creation_input_tokens``, ``cache_read_input_tokens``): ``prompt_tokens``
    may count them in or leave them out, as long as ``total_tokens`` agrees.

    **Not judged when**: no decoder can read the provider's usage, or the recorded stream
    states none, as OpenAI's does unless asked with ``stream_options={"include_usage": true}``
    (skipped).

    **How to fix**: 1. build the dict yourself from the body's counts (OpenAI
    ``prompt_tokens``/``completion_tokens``, Anthropic ``input_tokens`` (with or without
    its two cache counts)/``output_tokens``,
    Ollama ``prompt_eval_count``/``eval_count``); 2. do not pass the raw usage object
    through: OpenAI's nests ``prompt_tokens_details`` and ``completion_tokens_details``, so
    it is not a dict of ints, and its cached and reasoning tokens are already counted in
    ``prompt_tokens`` and ``completion_tokens`` (do not add them again); 3. compute
    ``total_tokens`` as the sum when the body has none; 4. from a stream, keep the last
    count of each kind (with the Anthropic SDK, the usage of ``get_final_message()``, not
    of the ``message_start`` event); 5. read each count with ``.get()``, a missing one
    being 0.
    """
    recorded = recorded_answer(provider)
    wire, body, stream = recorded.wire, recorded.reply.body, recorded.stream
    cases = Cases()

    def problem_with(counts: tuple[int, int]) -> str | None:
        substituted = wire.with_usage(body, *counts, stream=stream)
        usage, raised = reported(provider, recorded, substituted, "usage")
        if raised or usage is None:
            return raised
        return usage_problem(usage, wire.usage_readings(substituted, stream=stream))

    stated = readable(lambda: wire.usage_readings(body, stream=stream), "usage")
    usage = getattr(answer_from(provider, recorded, body), "usage", None)
    if stated and usage is not None:
        problem = usage_problem(usage, stated)
        cases.fail("the recorded answer", problem) if problem else cases.ok("the recorded answer")
    for label, other in wire.other_usage_shapes(body, stream=stream):
        problem = other_shape_problem(provider, recorded, other)
        cases.fail(label, problem) if problem else cases.ok(label)
    readable(lambda: wire.with_usage(body, 1, 2, stream=stream), "usage")
    found = find_minimal(COUNTS, problem_with, max_examples=SUBSTITUTIONS)
    if found is not None:
        (prompt, completion), problem = found
        cases.fail(f"counts substituted into the body (prompt {prompt}, completion {completion})", problem)
    cases.conclude()


@clause("usage-reported", "should")
@pytest.mark.vcr
def test_usage_reported(provider: Any, cassette: Any) -> None:
    """generate() reports usage whenever the response body carries token counts.

    **Why**: ``LLMRouter.get_usage_stats()`` counts a response without usage as zero
    tokens, so a provider that drops the counts makes LAIOS's token accounting read zero.

    **Checks**: the recorded answer, then the same answer in each other way real servers of
    the protocol state its counts (Ollama leaves ``prompt_eval_count`` out for a prompt it
    has cached): ``usage`` must not be ``None`` while the body states any count (one left
    out is 0). A provider whose generate() raises on such a body is judged by
    ``usage-fidelity``.

    **Not applicable when**: the recorded body states no token counts.

    **How to fix**: read the counts from the body into ``LLMResponse.usage``, each with
    ``.get(..., 0)`` (see ``usage-fidelity``).
    """
    recorded = recorded_answer(provider)
    stated = readable(lambda: recorded.wire.usage(recorded.reply.body, stream=recorded.stream), "usage")
    if stated is None:
        pytest.skip("not applicable: the recorded body states no token counts")
    response = answer_from(provider, recorded, recorded.reply.body)
    cases = Cases()
    if getattr(response, "usage", None) is None:
        cases.fail("the recorded answer", f"usage is None although the body states {stated}")
    for label, body in recorded.wire.other_usage_shapes(recorded.reply.body, stream=recorded.stream):
        usage, raised = reported(provider, recorded, body, "usage")
        readings = recorded.wire.usage_readings(body, stream=recorded.stream)
        if usage is None and not raised and readings:
            cases.fail(label, f"usage is None although the body states {readings[-1]}")
    cases.conclude()


@clause("finish-reason", "should")
@pytest.mark.vcr
def test_finish_reason(provider: Any, cassette: Any) -> None:
    """generate() reports the body's finish reason, as the API names it.

    **Why**: LAIOS's ``LLMResponse.finish_reason`` is how a caller learns that an answer was
    cut short (``length``, ``max_tokens``) or filtered, rather than complete. The kit
    requires it passed through unmapped, so that no distinction the API makes is lost.

    **Checks**: the recorded answer, then the same body stating ``stop``, ``length``,
    ``end_turn``, ``max_tokens``, ``content_filter``, ``stop_sequence``, ``tool_calls`` and
    ``eos`` in turn: ``finish_reason`` must equal each (so a constant fails, and a truncated
    answer stays recognisable as truncated).

    A streamed answer gets each reason in every event that states one (OpenRouter repeats it
    on its usage chunk), so keeping the first or the last one stated both pass.

    **Not judged when**: no decoder can read the provider's finish reason (skipped).

    **How to fix**: set ``finish_reason`` from OpenAI's ``choices[0].finish_reason``,
    Anthropic's ``stop_reason`` or Ollama's ``done_reason``, unchanged.
    """
    recorded = recorded_answer(provider)
    wire, body, stream = recorded.wire, recorded.reply.body, recorded.stream
    stated = readable(lambda: wire.finish_reason(body, stream=stream), "finish reason")
    cases = Cases()
    variants = {"the recorded answer": (body, stated)}
    for reason in FINISH_REASONS:
        variants[f"body stating {reason!r}"] = (
            readable(lambda r=reason: wire.with_finish_reason(body, r, stream=stream), "finish reason"),
            reason,
        )
    for case, (variant, expected) in variants.items():
        got, raised = reported(provider, recorded, variant, "finish_reason")
        if raised:
            cases.fail(case, raised)
        elif got == expected:
            cases.ok(case)
        elif expected in TRUNCATED and got in TRUNCATED:
            cases.fail(case, f"finish_reason is {got!r}, the body states {expected!r}: mapped to another API's name")
        elif expected in TRUNCATED:
            cases.fail(case, f"finish_reason is {got!r}: a truncated answer no longer says so ({expected!r})")
        else:
            cases.fail(case, f"finish_reason is {got!r}, the body states {expected!r}")
    cases.conclude()


@clause("model-reported", "should")
@pytest.mark.vcr
def test_model_reported(provider: Any, cassette: Any) -> None:
    """generate() reports the model the body names, or the requested one when it names none.

    **Why**: LAIOS's guide sets ``model`` from the body's ``model``, falling back to the
    requested one; services resolve an alias to a dated model (``gpt-4o-mini`` to
    ``gpt-4o-mini-2024-07-18``) and routers substitute models, so the requested name can be
    wrong about which model answered.

    **Checks**: the recorded answer; the same body naming another model; the same body
    naming none (then the requested model is expected).

    **How to fix**: ``model=body.get("model") or self.model``.
    """
    recorded = recorded_answer(provider)
    wire, body, stream = recorded.wire, recorded.reply.body, recorded.stream
    stated = readable(lambda: wire.served_model(body, stream=stream), "model")
    requested = getattr(provider, "model", None)
    cases = Cases()

    def naming(model: str | None) -> bytes:
        named: bytes = readable(lambda: wire.with_model(body, model, stream=stream), "model")
        return named

    variants = {
        "the recorded answer": (body, stated or requested),
        "body naming another model": (naming(SERVED_MODEL), SERVED_MODEL),
        "body naming no model": (naming(None), requested),
    }
    for case, (variant, expected) in variants.items():
        got, raised = reported(provider, recorded, variant, "model")
        if raised or got != expected:
            cases.fail(case, raised or f"model is {got!r}, expected {expected!r}")
        else:
            cases.ok(case)
    cases.conclude()


@clause("count-tokens", "should")
def test_count_tokens(provider: Any, request: pytest.FixtureRequest) -> None:
    """count_tokens(text) is a sane estimate: an int, 0 for "", never shrinking as text grows.

    **Why**: LAIOS's ``LLMClient`` has ``count_tokens`` (by default ``len(text) // 4``),
    which callers use to budget the context window, and its guide names token counting as
    a reason to write a provider; a negative, non-int or wildly wrong count overflows or
    starves the context window. The bounds are the kit's own.

    **Checks**: for fixed texts (prose, one 64-letter word, CJK, emoji sequences,
    whitespace), then 15 pairs of texts hypothesis draws (quotes, emoji, combining marks,
    right-to-left text...): the result is an ``int``; ``count_tokens("") == 0``; never negative;
    ``count_tokens(a + b) >= count_tokens(a)``; for 16 characters or more, at least
    ``len(text) / 16`` and at most the text's UTF-8 byte length (no tokenizer makes more
    tokens than bytes). LAIOS's default passes.

    **Not applicable when**: the provider has no ``count_tokens``.

    **How to fix**: keep LAIOS's default, or return ``len(tokenizer.encode(text))`` for
    your model's tokenizer.
    """
    count_tokens = getattr(provider, "count_tokens", None)
    if not callable(count_tokens):
        pytest.skip("not applicable: the provider has no count_tokens")
    cases = Cases()
    for text in FIXED_TEXTS:
        problem = _count_problem(text, count_tokens(text))
        cases.fail(f"count_tokens({text!r:.40})", problem) if problem else cases.ok(repr(text))
    empty = count_tokens("")
    if empty != 0 or not _is_int(empty):
        cases.fail('count_tokens("")', f"returned {empty!r}, expected 0")

    def problem_with(pair: tuple[str, str]) -> str | None:
        head, tail = pair
        for text in (head, head + tail):
            problem = _count_problem(text, count_tokens(text))
            if problem:
                return problem
        if count_tokens(head + tail) < count_tokens(head):
            return f"appending text lowered the count from {count_tokens(head)} to {count_tokens(head + tail)}"
        return None

    found = find_minimal(TEXT_PAIRS, problem_with, max_examples=TEXTS_TO_COUNT)
    if found is not None:
        cases.fail(f"minimal counter-example {found[0]!r:.200}", found[1])
    note(request, f'count_tokens("{"x" * 64}") = {count_tokens("x" * 64)!r}')
    cases.conclude()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count_problem(text: str, tokens: Any) -> str | None:
    if not _is_int(tokens):
        return f"returned {tokens!r}, not an int"
    if tokens < 0:
        return f"returned a negative count {tokens}"
    if len(text) >= 16 and not len(text) / 16 <= tokens <= len(text.encode("utf-8")):
        return f"returned {tokens} for {len(text)} characters (expected between len/16 and the UTF-8 byte length)"
    return None
