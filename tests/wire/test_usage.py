"""Usage, finish reason and served model as the decoders read them from every real sample."""

from __future__ import annotations

import pytest

from laios_conformance.wire import by_name, detect

from .samples import ok_samples

OK = ok_samples()
WHOLE = [s for s in OK if not s.stream]

# Read by hand from the recorded bodies (see tests/data/wire_samples).
EXPECTED = {
    "openai/gpt4omini-hello-nonstream": ((9, 9, 18), "stop", "gpt-4o-mini-2024-07-18"),
    "openai/gpt4omini-ocean-stream-usage": ((22, 3, 25), "stop", "gpt-4o-mini-2024-07-18"),
    "openai/gpt4omini-ocean-stream": (None, "stop", "gpt-4o-mini-2024-07-18"),
    "openai/gpt4omini-toolcall-stream-usage": ((53, 15, 68), "tool_calls", "gpt-4o-mini-2024-07-18"),
    "openai/gpt5mini-length-empty-content-stream": ((13, 50, 63), "length", "gpt-5-mini-2025-08-07"),
    "anthropic/haiku3-hello-stream": ((10, 5, 15), "end_turn", "claude-3-haiku-20240307"),
    "anthropic/haiku3-max-tokens-stream": ((13, 50, 63), "max_tokens", "claude-3-haiku-20240307"),
    "anthropic/opus3-hello-nonstream": ((13, 35, 48), "end_turn", "claude-3-opus-20240229"),
    "ollama/chat-llama31-hello-stream": ((13, 23, 36), "stop", "llama3.1"),
    "ollama/chat-llama3-joke-nonstream": ((17, 66, 83), "stop", "llama3"),
    "openai-compatible/openrouter-minimax-error-midstream": ((43, 10, 53), "length", "minimax/minimax-m2:free"),
    "openai-compatible/vllm-opt125m-length-nonstream": ((57, 20, 77), "length", "facebook/opt-125m"),
    "openai-compatible/groq-llama3-hello-stream": ((12, 24, 36), "stop", "llama3-8b-8192"),  # in x_groq.usage
}


def _read(sample):
    fmt = by_name(sample.family)
    return fmt.usage(sample.body, stream=sample.stream), fmt.finish_reason(sample.body, stream=sample.stream)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_usage_finish_reason_and_model_as_recorded(name: str) -> None:
    sample = next(s for s in OK if s.name == name)
    counts, finish, model = EXPECTED[name]
    usage, reason = _read(sample)
    assert usage == (
        None
        if counts is None
        else dict(zip(("prompt_tokens", "completion_tokens", "total_tokens"), counts, strict=True))
    )
    assert reason == finish
    assert by_name(sample.family).served_model(sample.body, stream=sample.stream) == model


@pytest.mark.parametrize("sample", OK, ids=str)
def test_every_sample_reads_as_laios_usage(sample) -> None:
    usage, reason = _read(sample)
    assert reason is None or isinstance(reason, str)
    if usage is not None:
        assert list(usage) == ["prompt_tokens", "completion_tokens", "total_tokens"]
        assert all(isinstance(v, int) and v >= 0 for v in usage.values())
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("sample", WHOLE, ids=str)
def test_substituted_counts_reason_and_model_read_back(sample) -> None:
    fmt = by_name(sample.family)
    text = fmt.extract_text(sample.body, stream=False)
    for body, check in (
        (fmt.with_usage(sample.body, 7, 11), lambda b: fmt.usage(b, stream=False)["total_tokens"] == 18),
        (
            fmt.with_finish_reason(sample.body, "content_filter"),
            lambda b: fmt.finish_reason(b, stream=False) == "content_filter",
        ),
        (fmt.with_model(sample.body, "served-x"), lambda b: fmt.served_model(b, stream=False) == "served-x"),
        (fmt.with_model(sample.body, None), lambda b: fmt.served_model(b, stream=False) is None),
    ):
        assert check(body)
        assert fmt.extract_text(body, stream=False) == text
        assert detect(sample.url, sample.request_body, sample.headers, body) is fmt
    assert fmt.usage(fmt.with_usage(sample.body, 7, 11), stream=False) == {
        "prompt_tokens": 7,
        "completion_tokens": 11,
        "total_tokens": 18,
    }


def test_substitution_leaves_every_other_byte_alone() -> None:
    """Only the counts change, and the cached and reasoning tokens they hold, set to half of
    them (a provider that adds those to the counts again then fails)."""
    sample = next(s for s in WHOLE if s.name == "openai/gpt4omini-hello-nonstream")
    edited = by_name("openai").with_usage(sample.body, 1234, 5)
    assert (
        edited.replace(b"1234", b"9", 1)
        .replace(b'"completion_tokens": 5', b'"completion_tokens": 9', 1)
        .replace(b'"total_tokens": 1239', b'"total_tokens": 18', 1)
        .replace(b'"cached_tokens": 617', b'"cached_tokens": 0', 1)
        .replace(b'"reasoning_tokens": 2', b'"reasoning_tokens": 0', 1)
        == sample.body
    )


STREAMS = [s for s in OK if s.stream]


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_substituted_counts_reason_and_model_read_back_from_streams(sample) -> None:
    """What a generate() that reads a stream is judged on: the same edits, event by event."""
    fmt = by_name(sample.family)
    text = fmt.extract_text(sample.body, stream=True)
    edits = []
    if fmt.usage(sample.body, stream=True) is not None:
        usage = {"prompt_tokens": 7, "completion_tokens": 11, "total_tokens": 18}
        edits.append((fmt.with_usage(sample.body, 7, 11, stream=True), lambda b: fmt.usage(b, stream=True) == usage))
    if fmt.finish_reason(sample.body, stream=True) is not None:
        edits.append(
            (
                fmt.with_finish_reason(sample.body, "content_filter", stream=True),
                lambda b: fmt.finish_reason(b, stream=True) == "content_filter",
            )
        )
    if fmt.served_model(sample.body, stream=True) is not None:
        edits += [
            (
                fmt.with_model(sample.body, "served-x", stream=True),
                lambda b: fmt.served_model(b, stream=True) == "served-x",
            ),
            (fmt.with_model(sample.body, None, stream=True), lambda b: fmt.served_model(b, stream=True) is None),
        ]
    for body, check in edits:
        assert check(body)
        assert fmt.extract_text(body, stream=True) == text
        assert fmt.has_end_marker(body) == fmt.has_end_marker(sample.body)
        assert detect(sample.url, sample.request_body, sample.headers, body) is fmt


def test_a_stream_keeps_its_running_output_count_and_changes_the_final_one() -> None:
    """Anthropic's message_start states an early output count; message_delta the final one."""
    sample = next(s for s in STREAMS if s.name == "anthropic/haiku3-hello-stream")
    fmt = by_name("anthropic")
    edited = fmt.with_usage(sample.body, 70, 110, stream=True)
    start = next(line for line in edited.splitlines() if b'"message_start"' in line)
    assert b'"input_tokens":70' in start.replace(b" ", b"") and b'"output_tokens":110' not in start.replace(b" ", b"")
    assert fmt.usage(edited, stream=True) == {"prompt_tokens": 70, "completion_tokens": 110, "total_tokens": 180}


def test_a_stream_without_counts_cannot_take_substituted_ones() -> None:
    sample = next(s for s in STREAMS if s.name == "openai/gpt4omini-ocean-stream")
    with pytest.raises(NotImplementedError, match="states no token counts"):
        by_name("openai").with_usage(sample.body, 1, 2, stream=True)


def test_a_finish_reason_repeated_in_a_stream_is_replaced_wherever_it_is_stated() -> None:
    """OpenRouter repeats finish_reason on its usage chunk: a provider may keep either one."""
    sample = next(s for s in STREAMS if s.name == "openai-compatible/openrouter-claude-haiku-stream-usage")
    edited = by_name("openai").with_finish_reason(sample.body, "length", stream=True)
    assert sample.body.count(b'"finish_reason":"stop"') == 2
    assert edited.count(b'"finish_reason":"length"') == 2 and b'"finish_reason":"stop"' not in edited


def test_groq_streams_its_counts_in_x_groq_usage() -> None:
    sample = next(s for s in STREAMS if s.name == "openai-compatible/groq-llama3-hello-stream")
    fmt = by_name("openai")
    assert fmt.usage(sample.body, stream=True) == {"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36}
    edited = fmt.with_usage(sample.body, 5, 6, stream=True)
    assert b'"x_groq":{' in edited and b'"usage":{"queue_time"' in edited  # still where Groq puts them
    assert fmt.usage(edited, stream=True) == {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}


@pytest.mark.parametrize(
    "sample", [s for s in OK if s.family == "ollama" and s.name.startswith("ollama/chat")], ids=str
)
def test_an_ollama_answer_leaves_its_prompt_count_out_as_for_a_cached_prompt(sample) -> None:
    """As Ollama answered in ``chat-llama3-joke-2-nonstream`` (recorded): the same text, no
    ``prompt_eval_count``, the completion count kept."""
    wire = by_name("ollama")
    ((label, body),) = wire.other_usage_shapes(sample.body, stream=sample.stream)
    assert "cached" in label and b"prompt_eval_count" not in body
    assert wire.extract_text(body, stream=sample.stream) == wire.extract_text(sample.body, stream=sample.stream)
    stated = wire.usage(sample.body, stream=sample.stream)
    if stated is not None:
        assert wire.usage(body, stream=sample.stream) == {
            "prompt_tokens": 0,
            "completion_tokens": stated["completion_tokens"],
            "total_tokens": stated["completion_tokens"],
        }


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_a_whole_answer_has_no_other_usage_shape(family) -> None:
    for sample in (s for s in OK if s.family == family and not s.stream):
        assert by_name(family).other_usage_shapes(sample.body, stream=False) == []


def _chunk_usages(fmt, body: bytes) -> list[dict]:
    return [obj["usage"] for _, obj in fmt._dicts(body) if obj.get("choices") and isinstance(obj.get("usage"), dict)]


@pytest.mark.parametrize(
    "sample", [s for s in STREAMS if s.family == "openai" and by_name("openai").usage(s.body, stream=True)], ids=str
)
def test_an_openai_stream_states_running_counts_on_every_chunk_as_perplexity_does(sample) -> None:
    """The same text and final counts; every chunk with choices states the prompt count and a
    completion count that grows to the final one, as the recorded Perplexity stream does."""
    fmt = by_name("openai")
    shapes = fmt.other_usage_shapes(sample.body, stream=True)
    with_choices = [obj for _, obj in fmt._dicts(sample.body) if obj.get("choices")]
    if all(isinstance(obj.get("usage"), dict) for obj in with_choices):
        assert shapes == []  # recorded that way already (Perplexity, Gemini's compatible endpoint)
        return
    ((label, body),) = shapes
    assert "running total" in label
    assert fmt.extract_text(body, stream=True) == fmt.extract_text(sample.body, stream=True)
    stated = fmt.usage(sample.body, stream=True)
    assert fmt.usage(body, stream=True) == stated
    running = _chunk_usages(fmt, body)
    assert running and {u["prompt_tokens"] for u in running} == {stated["prompt_tokens"]}
    completions = [u["completion_tokens"] for u in running]
    assert completions == sorted(completions) and completions[-1] <= stated["completion_tokens"]
    assert all(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] for u in running)


def test_perplexity_s_recorded_stream_is_what_the_running_counts_imitate() -> None:
    perplexity = next(s for s in STREAMS if s.name == "openai-compatible/perplexity-sonar-count-stream")
    running = _chunk_usages(by_name("openai"), perplexity.body)
    assert len({u["prompt_tokens"] for u in running}) == 1
    assert [u["completion_tokens"] for u in running] == sorted(u["completion_tokens"] for u in running)


def _delta_usage(fmt, body: bytes) -> dict:
    return next(obj["usage"] for _, obj in fmt._dicts(body) if obj.get("type") == "message_delta")


@pytest.mark.parametrize("sample", [s for s in STREAMS if s.family == "anthropic"], ids=str)
def test_an_anthropic_stream_repeats_its_input_counts_in_message_delta_as_haiku_4_5_s_does(sample) -> None:
    fmt = by_name("anthropic")
    shapes = fmt.other_usage_shapes(sample.body, stream=True)
    if "input_tokens" in _delta_usage(fmt, sample.body):
        assert shapes == []  # recorded that way already
        return
    ((label, body),) = shapes
    assert "message_delta repeating the input counts" in label
    assert fmt.extract_text(body, stream=True) == fmt.extract_text(sample.body, stream=True)
    assert fmt.usage(body, stream=True) == fmt.usage(sample.body, stream=True)
    start = next(obj["message"]["usage"] for _, obj in fmt._dicts(body) if obj.get("type") == "message_start")
    assert _delta_usage(fmt, body)["input_tokens"] == start["input_tokens"]


def test_the_shape_repeats_in_message_delta_the_input_counts_of_message_start_as_haiku_4_5_does() -> None:
    fmt = by_name("anthropic")
    inputs = {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}

    def repeated(body: bytes) -> tuple[dict, dict]:
        start = next(obj["message"]["usage"] for _, obj in fmt._dicts(body) if obj.get("type") == "message_start")
        delta = _delta_usage(fmt, body)
        return {k: start[k] for k in inputs & set(start)}, {k: delta[k] for k in inputs & set(delta)}

    haiku = next(s for s in STREAMS if s.name == "anthropic/haiku45-count-stream")
    in_start, in_delta = repeated(haiku.body)
    assert in_start == in_delta and "input_tokens" in in_delta  # what the API does now
    old = next(s for s in STREAMS if s.name == "anthropic/haiku3-hello-stream")
    assert "input_tokens" not in _delta_usage(fmt, old.body)  # what it did before
    ((_, body),) = fmt.other_usage_shapes(old.body, stream=True)
    in_start, in_delta = repeated(body)
    assert in_start == in_delta


def _with_cache_counts(body: bytes, created: int, read: int) -> bytes:
    """A recorded Anthropic body with its (recorded, zero) cache counts set: the values only."""
    text = body.decode("utf-8")
    for key, value in (("cache_creation_input_tokens", created), ("cache_read_input_tokens", read)):
        text = text.replace(f'\\"{key}\\":0', f'\\"{key}\\":{value}').replace(f'"{key}":0', f'"{key}":{value}')
    return text.encode("utf-8")


@pytest.mark.parametrize(
    "name", ["anthropic/opus3-hello-nonstream", "anthropic/sonnet4-sum-nonstream", "anthropic/sonnet4-sum-stream"]
)
def test_anthropic_usage_may_count_its_cached_prompt_tokens_in(name: str) -> None:
    """``input_tokens`` leaves the cache's tokens out; the reading with them counted in is the
    whole prompt, as OpenAI's ``prompt_tokens`` is."""
    sample = next(s for s in OK if s.name == name)
    fmt = by_name("anthropic")
    (stated,) = fmt.usage_readings(sample.body, stream=sample.stream)  # zero cache counts: one reading
    body = _with_cache_counts(sample.body, 100, 2000)
    assert body != sample.body
    plain, cached = fmt.usage_readings(body, stream=sample.stream)
    assert plain == stated == fmt.usage(body, stream=sample.stream)
    prompt = stated["prompt_tokens"] + 2100
    assert cached == {
        "prompt_tokens": prompt,
        "completion_tokens": stated["completion_tokens"],
        "total_tokens": prompt + stated["completion_tokens"],
    }


@pytest.mark.parametrize("sample", [s for s in OK if s.family != "anthropic"], ids=str)
def test_other_protocols_have_one_reading_of_their_counts(sample) -> None:
    fmt = by_name(sample.family)
    stated = fmt.usage(sample.body, stream=sample.stream)
    assert fmt.usage_readings(sample.body, stream=sample.stream) == ([] if stated is None else [stated])
