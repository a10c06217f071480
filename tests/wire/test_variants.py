"""Stream variants: no end marker, an in-stream error; and how the SDKs take them."""

from __future__ import annotations

import anthropic
import ollama
import openai
import pytest

from laios_conformance.wire import by_name, detect

from .clients import MESSAGES, anthropic_client, ollama_client, openai_client
from .samples import stream_samples

STREAMS = stream_samples()


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_without_end_marker(sample):
    fmt = by_name(sample.family)
    assert fmt.has_end_marker(sample.body)
    cut = fmt.without_end_marker(sample.body)
    assert not fmt.has_end_marker(cut)
    assert fmt.extract_text(cut, stream=True) == fmt.extract_text(sample.body, stream=True)
    assert detect(sample.url, sample.request_body, sample.headers, cut) is fmt
    assert fmt.is_stream({}, cut)


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_with_error_midstream(sample):
    fmt = by_name(sample.family)
    broken = fmt.with_error_midstream(sample.body)
    assert detect(sample.url, sample.request_body, sample.headers, broken) is fmt
    assert fmt.stream_error(broken)
    first = fmt.content_events(sample.body)[:1]
    expected = fmt.extract_text(sample.body[first[0][0] : first[0][1]], stream=True) if first else ""
    assert fmt.extract_text(broken, stream=True) == expected
    assert len(fmt.content_events(broken)) == len(first)


def test_only_the_recorded_error_stream_has_an_error():
    with_error = [s.name for s in STREAMS if by_name(s.family).stream_error(s.body)]
    assert with_error == ["openai-compatible/openrouter-minimax-error-midstream"]
    sample = next(s for s in STREAMS if s.name == with_error[0])
    assert by_name("openai").stream_error(sample.body) == "Token limit reached"


def test_anthropic_error_event_is_the_documented_one():
    sample = next(s for s in STREAMS if s.family == "anthropic")
    broken = by_name("anthropic").with_error_midstream(sample.body)
    assert broken.endswith(
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )


def test_openai_error_chunk_looks_like_openrouters():
    sample = next(s for s in STREAMS if s.name.startswith("openai-compatible/openrouter-gpt4omini"))
    broken = by_name("openai").with_error_midstream(sample.body)
    assert broken.endswith(b"data: [DONE]\n\n")
    assert b'"provider":"OpenAI","error":{"code":502,"message":"Provider returned error"}' in broken


def test_perplexity_crlf_is_kept():
    sample = next(s for s in STREAMS if "perplexity" in s.name)
    fmt = by_name("openai")
    for variant in (
        fmt.without_end_marker(sample.body),
        fmt.with_error_midstream(sample.body),
        fmt.rebuild(sample.body, "a\nb", stream=True),
    ):
        assert variant.replace(b"\r\n", b"").count(b"\n") == 0


# --- the official clients notice what the reference checks notice ------------------------


def _read_openai(body):
    stream = openai_client(200, body, "text/event-stream").chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    return list(stream)


def _read_anthropic(body):
    client = anthropic_client(200, body, "text/event-stream")
    with client.messages.stream(model="m", max_tokens=8, messages=MESSAGES) as events:
        return events.get_final_message()


def _read_ollama(sample, body):
    client = ollama_client(200, body, "application/x-ndjson")
    if sample.url.endswith("/api/chat"):
        return list(client.chat(model="m", messages=MESSAGES, stream=True))
    return list(client.generate(model="m", prompt="hi", stream=True))


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_clients_raise_on_the_error(sample):
    broken = by_name(sample.family).with_error_midstream(sample.body)
    if sample.family == "openai":
        with pytest.raises(openai.APIError, match="Provider returned error"):
            _read_openai(broken)
    elif sample.family == "anthropic":
        with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
            _read_anthropic(broken)
    else:
        with pytest.raises(ollama.ResponseError, match="unexpected EOF"):
            _read_ollama(sample, broken)


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_an_error_event_saying_a_message_is_read_by_the_official_clients(sample):
    """The message the kit writes into an in-stream error is where each SDK reads it."""
    message = "Rate limit reached for lc-0f3a in organization org-x; try again in 20s."
    fmt = by_name(sample.family)
    broken = fmt.with_error_midstream(sample.body, message=message)
    assert fmt.stream_error(broken) == message
    read = {"openai": _read_openai, "anthropic": _read_anthropic}.get(sample.family)
    with pytest.raises(Exception) as info:
        read(broken) if read else _read_ollama(sample, broken)
    assert message in str(info.value)


@pytest.mark.parametrize("sample", [s for s in STREAMS if s.family == "ollama"], ids=str)
def test_ollama_client_sees_no_done(sample):
    parts = _read_ollama(sample, by_name("ollama").without_end_marker(sample.body))
    assert parts and not any(p.done for p in parts)


@pytest.mark.parametrize("sample", [s for s in STREAMS if s.family == "anthropic"], ids=str)
def test_anthropic_client_gets_the_text_without_message_stop(sample):
    fmt = by_name("anthropic")
    message = _read_anthropic(fmt.without_end_marker(sample.body))
    text = "".join(b.text for b in message.content if b.type == "text")
    assert text == fmt.extract_text(sample.body, stream=True)


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_with_unknown_events(sample):
    fmt = by_name(sample.family)
    variants = fmt.with_unknown_events(sample.body)
    has_delta = b'"type":"message_delta"' in sample.body.replace(b" ", b"")
    assert len(variants) == (sample.family == "anthropic") * (1 + has_delta)
    for _, body in variants:
        assert detect(sample.url, sample.request_body, sample.headers, body) is fmt
        assert fmt.extract_text(body, stream=True) == fmt.extract_text(sample.body, stream=True)
        assert len(fmt.framing.parse(body)) == len(fmt.framing.parse(sample.body)) + 1
        message = _read_anthropic(body)  # the official SDK skips the event
        assert "".join(b.text for b in message.content if b.type == "text") == fmt.extract_text(body, stream=True)
