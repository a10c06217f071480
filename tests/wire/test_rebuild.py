"""``rebuild`` puts any text in a recorded response, and nothing else changes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laios_conformance.wire import by_name, detect

from .clients import client_text
from .samples import ok_samples, stream_samples
from .sdk import sdk_text

AWKWARD = [
    '"',
    "\\",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\x00",
    "\u2028",
    "\u2029",
    "\x85",
    "\ufeff",
    "\u0301",
    "\u200d",
    "\u202e",
    "שלום",
    "مرحبا",
    "👋🏽",
    "👩‍👩‍👧",
    "é",
    "}",
    "]",
    "data: [DONE]",
    "\n\n",
]

TEXTS = st.one_of(
    st.text(),  # every code point but surrogates
    st.lists(st.sampled_from(AWKWARD), max_size=12).map("".join),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Mn", "Me", "Cf", "Zl", "Zp", "So"])),
)

FIXED = [
    "",
    "x",
    "ok",
    'He said "hi" \\ back\nand\r\nleft',
    "👋🏽 hi 👩‍👩‍👧",
    "\u0301 starts with a combining mark",
    "שלום \u202eworld",
    "lines\u2028and\u2029paras\x85",
    "data: [DONE]\n\nevent: message_stop\n",
]


@pytest.mark.parametrize("sample", ok_samples(), ids=str)
@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(text=TEXTS)
def test_round_trip(sample, text):
    fmt = by_name(sample.family)
    out = fmt.rebuild(sample.body, text, stream=sample.stream)
    assert fmt.extract_text(out, stream=sample.stream) == text
    assert detect(sample.url, sample.request_body, sample.headers, out) is fmt
    assert "\u2028".encode() not in out and "\x85".encode() not in out  # escaped, see _json_edit


@pytest.mark.parametrize("sample", ok_samples(), ids=str)
def test_official_clients_read_the_new_text(sample):
    fmt = by_name(sample.family)
    for text in FIXED:
        out = fmt.rebuild(sample.body, text, stream=sample.stream)
        if sample.stream and fmt.stream_error(sample.body):  # the client would raise at the error
            assert sdk_text(sample.name, sample.api, sample.url, out, True) == text
        else:
            assert client_text(sample.family, sample.url, out, sample.stream) == text, text


@pytest.mark.parametrize("sample", ok_samples(), ids=str)
def test_lone_surrogates_are_escaped(sample):
    fmt = by_name(sample.family)
    text = "a\ud800b\udfffc"
    out = fmt.rebuild(sample.body, text, stream=sample.stream)
    out.decode("utf-8")  # still valid UTF-8
    assert fmt.extract_text(out, stream=sample.stream) == text


@pytest.mark.parametrize("sample", [s for s in ok_samples() if not s.stream], ids=str)
def test_whole_bodies_keep_their_layout(sample):
    fmt = by_name(sample.family)
    out = fmt.rebuild(sample.body, "new\nanswer", stream=False)
    assert out.count(b"\n") == sample.body.count(b"\n")  # indentation and leading blank lines kept
    before, after = json.loads(sample.body), json.loads(out)
    assert _without_answer(sample.family, before) == _without_answer(sample.family, after)


def _without_answer(family, obj):
    if family == "openai":
        for choice in obj["choices"]:
            if choice.get("index", 0) == 0:
                choice["message"].pop("content", None)
                choice["message"].pop("refusal", None)
    elif family == "anthropic":
        obj["content"] = [b for b in obj["content"] if b.get("type") != "text"]
    else:
        obj.get("message", {}).pop("content", None)
        obj.pop("response", None)
    return obj


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
def test_streams_keep_their_other_events(sample):
    fmt = by_name(sample.family)
    carriers = len(fmt.content_events(sample.body))
    out = fmt.rebuild(sample.body, "0123456789" * 20, stream=True)
    assert len(fmt.content_events(out)) == max(carriers, 2)
    if carriers:  # otherwise an empty event had to take the text
        assert _events_without_text(fmt, out) == _events_without_text(fmt, sample.body)


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
def test_short_texts_fill_two_events(sample):
    fmt = by_name(sample.family)
    assert len(fmt.content_events(fmt.rebuild(sample.body, "ab", stream=True))) == 2
    assert len(fmt.content_events(fmt.rebuild(sample.body, "a", stream=True))) == 1


def _events_without_text(fmt, body):
    """Byte-exact events that carry no text, skipping Perplexity's accumulated ``message``."""
    events = [body[start:end] for start, end in fmt.event_spans(body)]
    return [e for e in events if not fmt.extract_text(e, stream=True) and b'"message"' not in e]


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
def test_pieces_go_to_events_of_their_own(sample):
    """``rebuild_in_pieces`` keeps a whitespace-only piece (a paragraph break) apart, as
    Anthropic sends one, whatever number of text events the recording had."""
    fmt = by_name(sample.family)
    pieces = ["First paragraph.", "\n\n", "Second paragraph."]
    out = fmt.rebuild_in_pieces(sample.body, pieces)
    assert fmt.extract_text(out, stream=True) == "".join(pieces)
    assert [fmt.extract_text(out[start:end], stream=True) for start, end in fmt.content_events(out)] == pieces
