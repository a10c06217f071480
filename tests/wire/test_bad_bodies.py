"""The unusable bodies raises-on-bad-body serves, written into recorded responses: the
answer text set to ``null`` (whole, and in every event of a stream) and a stream event
whose JSON is cut in half. Checked by reading the JSON directly and with the official SDKs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from laios_conformance.wire import WireError, WireFormat, by_name, detect

from .samples import ok_samples, stream_samples
from .test_variants import _read_anthropic, _read_ollama, _read_openai

SAMPLES = [s for s in ok_samples() if by_name(s.family).extract_text(s.body, stream=s.stream)]
STREAMS = [s for s in stream_samples() if s in SAMPLES]


def _text_fields(family: str, obj: Any, stream: bool) -> list[Any]:
    """The values of the answer-text fields of one decoded body or stream event."""
    if not isinstance(obj, dict):
        return []
    if family == "openai":
        choice = (obj.get("choices") or [{}])[0]
        # A stream's text is in its deltas (Perplexity repeats it in ``message``); a whole body's in ``message``.
        parts = [choice.get("delta"), choice.get("message")] if stream else [choice.get("message")]
        fields = [(p, "content") for p in parts if isinstance(p, dict) and "content" in p]
        fields += [(p, "refusal") for p in parts if isinstance(p, dict) and p.get("refusal")]
        return [p[key] for p, key in fields]
    if family == "anthropic":
        blocks = obj.get("content") if obj.get("type") == "message" else [obj.get("content_block"), obj.get("delta")]
        return [b["text"] for b in blocks or [] if isinstance(b, dict) and b.get("type") in ("text", "text_delta")]
    message = obj.get("message")
    if isinstance(message, dict):
        return [message.get("content")]
    return [obj["response"]] if "response" in obj else []


def _objects(sample: Any, body: bytes) -> list[Any]:
    if not sample.stream:
        return [json.loads(body)]
    return [obj for _, obj in by_name(sample.family)._parsed(body)]


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_null_text_sets_every_text_field_to_null(sample) -> None:
    fmt = by_name(sample.family)
    nulled = fmt.with_null_text(sample.body, stream=sample.stream)
    fields = [v for obj in _objects(sample, nulled) for v in _text_fields(sample.family, obj, sample.stream)]
    assert fields and set(fields) == {None}
    assert fmt.extract_text(nulled, stream=sample.stream) == ""
    assert b"sentinel" not in nulled
    assert detect(sample.url, sample.request_body, sample.headers, nulled) is fmt
    if sample.stream:
        assert len(fmt.event_spans(nulled)) == len(fmt.event_spans(sample.body))


@pytest.mark.parametrize("sample", [s for s in STREAMS if s.family != "anthropic"], ids=str)
def test_the_official_clients_read_no_text_from_a_null_stream(sample) -> None:
    nulled = by_name(sample.family).with_null_text(sample.body, stream=True)
    if sample.family == "openai":
        parts = [c.choices[0].delta.content for c in _read_openai(nulled) if c.choices]
    else:
        parts = [p.message.content if hasattr(p, "message") else p.response for p in _read_ollama(sample, nulled)]
    assert parts and set(parts) == {None}


@pytest.mark.parametrize("sample", [s for s in STREAMS if s.family == "anthropic"], ids=str)
def test_the_anthropic_client_fails_on_a_null_stream(sample) -> None:
    with pytest.raises(TypeError):  # it adds each text_delta's text to the block's
        _read_anthropic(by_name("anthropic").with_null_text(sample.body, stream=True))


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_malformed_event_breaks_the_json_of_one_event_only(sample) -> None:
    fmt = by_name(sample.family)
    broken = fmt.with_malformed_event(sample.body)
    before, after = fmt.framing.parse(sample.body), fmt.framing.parse(broken)
    assert len(after) == len(before) and all(e.complete for e in after if e.data)
    changed = [
        i
        for i, (a, b) in enumerate(zip(before, after, strict=True))
        if sample.body[a.start : a.end] != broken[b.start : b.end]
    ]
    assert len(changed) == 1
    with pytest.raises(WireError):
        fmt._decode(after[changed[0]].payload)
    assert fmt.content_events(sample.body)[0][0] == before[changed[0]].start


@pytest.mark.parametrize("sample", STREAMS, ids=str)
def test_the_official_clients_raise_on_the_malformed_event(sample) -> None:
    broken = by_name(sample.family).with_malformed_event(sample.body)
    read = {"openai": _read_openai, "anthropic": _read_anthropic}.get(sample.family)
    with pytest.raises(ValueError):  # json.JSONDecodeError
        read(broken) if read else _read_ollama(sample, broken)


class WholeOnly(WireFormat):
    """A user's decoder with ``rebuild`` only: a whole body can be nulled, a stream cannot."""

    name = "whole-only"

    def rebuild(self, response_body: bytes, text: str, *, stream: bool) -> bytes:
        return json.dumps({"reply": {"text": text}}).encode()


def test_a_decoder_without_event_hooks_nulls_whole_bodies_only() -> None:
    fmt = WholeOnly()
    assert fmt.with_null_text(b"{}", stream=False) == b'{"reply": {"text": null}}'
    with pytest.raises(NotImplementedError):
        fmt.with_null_text(b"data: {}\n\n", stream=True)
    with pytest.raises(NotImplementedError):
        fmt.with_malformed_event(b"data: {}\n\n")
