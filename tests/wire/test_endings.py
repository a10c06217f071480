"""The other ways a protocol's servers end a complete stream keep its text and its end."""

from __future__ import annotations

import pytest

from laios_conformance.wire import by_name

from .samples import stream_samples


@pytest.mark.parametrize("sample", [s for s in stream_samples() if s.family == "openai"], ids=str)
def test_an_openai_stream_ends_without_done_as_perplexity_ends_it(sample) -> None:
    wire = by_name("openai")
    endings = wire.other_endings(sample.body)
    if b"data: [DONE]" not in sample.body:  # Perplexity's own stream: nothing to take away
        assert endings == []
        return
    ((label, body),) = endings
    assert "Perplexity" in label and b"[DONE]" not in body
    assert wire.extract_text(body, stream=True) == wire.extract_text(sample.body, stream=True)
    assert wire.has_end_marker(body)  # the finish_reason still ends it


@pytest.mark.parametrize("family", ["anthropic", "ollama"])
def test_protocols_with_one_ending_have_no_other(family) -> None:
    for sample in (s for s in stream_samples() if s.family == family):
        assert by_name(family).other_endings(sample.body) == []


@pytest.mark.parametrize("family", ["openai", "anthropic", "ollama"])
def test_a_stream_without_charset_is_served_where_servers_were_recorded_sending_one(family) -> None:
    """content-fidelity's stream labelled ``text/event-stream`` without a charset, for the
    protocols whose recorded event streams include one so labelled, and only those."""
    labels = [s.headers.get("content-type", "") for s in stream_samples() if s.family == family]
    event_streams = [label for label in labels if label.startswith("text/event-stream")]
    charsetless = any("charset" not in label for label in event_streams)
    assert by_name(family).charsetless_streams == charsetless, event_streams
