"""The decoders read every recorded exchange as the official SDKs do."""

from __future__ import annotations

import pytest

from laios_conformance.wire import WireError, by_name, detect

from .samples import all_samples, error_samples, ok_samples
from .sdk import sdk_text


@pytest.mark.parametrize("sample", all_samples(), ids=str)
def test_detect_picks_the_family(sample):
    fmt = detect(sample.url, sample.request_body, sample.headers, sample.body)
    assert fmt is not None and fmt.name == sample.family


@pytest.mark.parametrize("sample", ok_samples(), ids=str)
def test_detect_from_bodies_alone(sample):
    headers = {} if sample.stream else {"content-type": "application/json"}
    fmt = detect("", sample.request_body, headers, sample.body)
    assert fmt is not None and fmt.name == sample.family


@pytest.mark.parametrize("sample", ok_samples(), ids=str)
def test_is_stream_matches_the_recording(sample):
    fmt = by_name(sample.family)
    assert fmt.is_stream(sample.headers, sample.body) is sample.stream
    assert fmt.is_stream({}, sample.body) is sample.stream  # by the body's look alone


@pytest.mark.parametrize("sample", ok_samples(), ids=str)
def test_text_is_what_the_sdk_reads(sample):
    text = by_name(sample.family).extract_text(sample.body, stream=sample.stream)
    assert text == sdk_text(sample.name, sample.api, sample.url, sample.body, sample.stream)


@pytest.mark.parametrize("sample", error_samples(), ids=str)
def test_error_bodies_carry_no_answer(sample):
    fmt = detect(sample.url, sample.request_body, sample.headers, sample.body)
    with pytest.raises(WireError):
        fmt.extract_text(sample.body, stream=False)


def _sample(name):
    return next(s for s in all_samples() if s.name == name)


def test_refusal_is_the_text_and_is_reported_apart():
    sample = _sample("openai/gpt4o-refusal-nonstream")
    fmt = by_name("openai")
    text = fmt.extract_text(sample.body, stream=False)
    assert text.startswith("I'm very sorry")
    assert fmt.refusal(sample.body, stream=False) == text
    assert fmt.refusal(_sample("openai/gpt4o-sum-nonstream").body, stream=False) is None


@pytest.mark.parametrize(
    ("name", "not_in_text"),
    [
        ("anthropic/opus46-adaptive-thinking-stream", "Brief answer"),  # thinking_delta
        ("anthropic/sonnet45-thinking-nonstream", "signature"),
        ("openai-compatible/ollama-cloud-gptoss-nnbsp-nonstream", "The user asks"),  # reasoning
        ("openai-compatible/openrouter-minimax-error-midstream", "We need"),  # reasoning deltas
    ],
)
def test_reasoning_is_not_the_answer(name, not_in_text):
    sample = _sample(name)
    assert not_in_text not in by_name(sample.family).extract_text(sample.body, stream=sample.stream)


def test_unreadable_bodies_raise_wire_error():
    openai = by_name("openai")
    for body, stream in [
        (b"<html>502</html>", False),
        (b'{"choices": [', False),
        (b"\xff\xfe", True),
        (b'data: {"choices": [\n\n', True),
        (b'{"id": "x"}', True),
    ]:
        with pytest.raises(WireError):
            openai.extract_text(body, stream=stream)
    with pytest.raises(WireError):
        by_name("ollama").extract_text(b'{"done": false}\nnot json\n', stream=True)
