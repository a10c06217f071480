"""Other shapes of the same answer (``other_answer_shapes``): each carries the recorded text,
as the kit's decoder and the official SDK read it, on every real sample that has one."""

from __future__ import annotations

import pytest

from laios_conformance.wire import by_name, detect
from laios_conformance.wire.anthropic import TEXT_AROUND_THINKING_CASE, THINKING_FIRST_CASE
from laios_conformance.wire.ollama import THINKING_CASE
from laios_conformance.wire.openai import (
    NULL_CONTENT_CASE,
    REASONING_CASE,
    TEXT_IN_ROLE_AND_FINISH_CASE,
    USAGE_CHUNK_CASE,
)

from .clients import client_text
from .samples import ok_samples

ANSWERS = [s for s in ok_samples() if not (s.stream and by_name(s.family).stream_error(s.body))]
SHAPED = [s for s in ANSWERS if by_name(s.family).other_answer_shapes(s.body, stream=s.stream)]


@pytest.mark.parametrize("sample", SHAPED, ids=str)
def test_each_shape_carries_the_recorded_text(sample):
    fmt = by_name(sample.family)
    text = fmt.extract_text(sample.body, stream=sample.stream)
    for label, body in fmt.other_answer_shapes(sample.body, stream=sample.stream):
        assert body != sample.body, label
        assert detect(sample.url, sample.request_body, sample.headers, body) is fmt, label
        assert fmt.extract_text(body, stream=sample.stream) == text, label
        assert client_text(sample.family, sample.url, body, sample.stream) == text, label


def labels(name: str) -> set[str]:
    (sample,) = [s for s in ok_samples() if s.name == name]
    return {label for label, _ in by_name(sample.family).other_answer_shapes(sample.body, stream=sample.stream)}


def test_the_shapes_each_sample_gets():
    every_openai_shape = {TEXT_IN_ROLE_AND_FINISH_CASE, NULL_CONTENT_CASE, USAGE_CHUNK_CASE, REASONING_CASE}
    assert labels("openai/gpt4omini-ocean-stream") == every_openai_shape
    # It already streams its reasoning, and ends with a usage chunk.
    deepseek = labels("openai-compatible/deepseek-reasoner-hello-stream")
    assert deepseek == {TEXT_IN_ROLE_AND_FINISH_CASE, NULL_CONTENT_CASE}
    # It already ends with a usage chunk with empty choices.
    assert USAGE_CHUNK_CASE not in labels("openai/gpt4omini-ocean-stream-usage")
    # Gemini's own shape: its text is in the role and finish_reason chunks already.
    assert TEXT_IN_ROLE_AND_FINISH_CASE not in labels("openai-compatible/gemini-openai-compat-hello-stream")
    assert labels("openai/gpt4omini-ocean-nonstream") == {REASONING_CASE}
    assert labels("anthropic/opus3-hello-nonstream") == {THINKING_FIRST_CASE, TEXT_AROUND_THINKING_CASE}
    assert labels("anthropic/haiku3-hello-stream") == {TEXT_AROUND_THINKING_CASE}
    assert labels("ollama/chat-llama3-joke-stream") == {THINKING_CASE}
    assert labels("ollama/chat-llama3-joke-nonstream") == {THINKING_CASE}
    assert labels("ollama/generate-llama3-joke-stream") == set()  # no recording of /api/generate thinking
    assert labels("ollama/ollama-cloud-chat-gpt-oss-120b-thinking-stream") == set()


def test_a_stream_split_around_thinking_moves_later_blocks_up_by_two():
    (sample,) = [s for s in ok_samples() if s.name == "anthropic/opus46-adaptive-thinking-stream"]
    fmt = by_name("anthropic")
    ((_, body),) = fmt.other_answer_shapes(sample.body, stream=True)
    starts = [
        (obj["index"], obj["content_block"]["type"])
        for event in fmt.framing.parse(body)
        if (obj := fmt._decode(event.data)) and obj.get("type") == "content_block_start"
    ]
    assert starts == [(0, "text"), (1, "thinking"), (2, "text"), (3, "thinking"), (4, "text")]
