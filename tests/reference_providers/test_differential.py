"""Every recorded 200 answer, read by the reference provider and by the official SDK.

The recorded body is served through ``httpx.MockTransport`` (streams cut into 7-byte
reads, so UTF-8 characters and lines are split across reads) and the provider's answer
must equal the SDK's: the text (joined stream deltas for stream samples), and for
non-stream samples the finish_reason and usage too.
"""

from __future__ import annotations

from typing import Any

import pytest

from reference_providers import ProviderRefusal, ResponseFormatError, StreamError

from ._oracles import oracle
from ._support import Sample, client_for, load_samples, run, serve_sample

# Samples on which the provider deliberately raises instead of answering; the SDK
# outcome must agree (a new sample with empty text fails until it is listed here).
EXPECTED_RAISES: dict[str, tuple[str, type[Exception]]] = {
    # Structured-output refusal: content null, refusal text. LAIOS callers must never get
    # empty content, and a refusal is not a format fault: ProviderRefusal with the text.
    "openai/gpt4o-refusal-nonstream.json": ("refusal", ProviderRefusal),
    # gpt-5-mini spent max_completion_tokens on reasoning: content "" with
    # finish_reason "length". Empty content is never returned.
    "openai/gpt5mini-length-empty-content-nonstream.json": ("empty", ResponseFormatError),
    "openai/gpt5mini-length-empty-content-stream.json": ("empty", ResponseFormatError),
    # Only tool_call deltas, no text: nothing a text-only LAIOS caller can use.
    "openai/gpt4omini-toolcall-stream-usage.json": ("empty", ResponseFormatError),
    # An "error" object inside a chunk of an HTTP 200 stream (the SDK raises APIError).
    "openai-compatible/openrouter-minimax-error-midstream.json": ("stream_error", StreamError),
}


def _cases() -> Any:
    for sample in load_samples():
        if sample.status != 200:
            continue
        marks = []
        if sample.api == "ollama" and "/api/generate" in sample.url:
            marks = [pytest.mark.skip(reason="/api/generate sample: OllamaClient speaks /api/chat only")]
        yield pytest.param(sample, id=sample.name, marks=marks)


@pytest.mark.parametrize("sample", list(_cases()))
def test_provider_reads_sample_like_the_sdk(sample: Sample) -> None:
    expected = oracle(sample)
    listed = EXPECTED_RAISES.get(sample.name)
    assert expected.raises == (listed[0] if listed else None), "SDK outcome and EXPECTED_RAISES disagree"
    server = serve_sample(sample)
    client = client_for(sample.api, server)
    if listed:
        with pytest.raises(listed[1]):
            run(client, sample.stream)
    elif sample.stream:
        assert run(client, sample.stream) == expected.text
    else:
        response = run(client, sample.stream)
        assert response.content == expected.text
        assert response.finish_reason == expected.finish_reason
        assert response.usage == expected.usage
    assert all(stream.closed for stream in server.streams), "response left open"


ANSWERED_STREAMS = [
    s
    for s in load_samples()
    if s.status == 200 and s.stream and "/api/generate" not in s.url and s.name not in EXPECTED_RAISES
]


@pytest.mark.parametrize("sample", ANSWERED_STREAMS, ids=lambda s: s.name)
def test_streams_survive_one_byte_reads(sample: Sample) -> None:
    """Every byte its own network read: multi-byte characters and CRLFs split everywhere."""
    server = serve_sample(sample, chunk_size=1)
    assert run(client_for(sample.api, server), True) == oracle(sample).text
