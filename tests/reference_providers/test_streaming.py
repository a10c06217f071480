"""Stream edge cases no recording shows: truncation, dropped connections, byte splits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from reference_providers import (
    ProviderConnectionError,
    ProviderRefusal,
    ProviderTimeout,
    ResponseFormatError,
    StreamError,
)

from ._support import MESSAGES, Server, client_for

SSE = {"content-type": "text/event-stream"}


def _dumps(obj: Any) -> str:
    """Raw UTF-8 on the wire (no \\u escapes), as real servers mostly send it."""
    return json.dumps(obj, ensure_ascii=False)


def _openai_chunk(content: Any = None, finish: Any = None, **delta: Any) -> str:
    if content is not None:
        delta["content"] = content
    return "data: " + _dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"


def _anthropic(name: str, **data: Any) -> str:
    return f"event: {name}\ndata: {_dumps({'type': name, **data})}\n\n"


def _text_delta(text: str) -> str:
    return _anthropic("content_block_delta", index=0, delta={"type": "text_delta", "text": text})


def _ollama(content: str, done: bool = False, **extra: Any) -> str:
    return _dumps({"message": {"role": "assistant", "content": content}, "done": done, **extra}) + "\n"


def _collect(api: str, body: str, chunk_size: int = 3, **server: Any) -> list[str]:
    received: list[str] = []
    for piece in client_for(api, Server(body=body.encode("utf-8"), chunk_size=chunk_size, **server)).generate_stream(
        MESSAGES
    ):
        received.append(piece)
    return received


# --- end markers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "api, body",
    [
        ("openai", _openai_chunk("Hel") + _openai_chunk("lo")),  # no [DONE], no finish_reason
        ("anthropic", _anthropic("message_start", message={}) + _text_delta("Hello")),  # no message_stop
        ("anthropic", _text_delta("Hello") + _anthropic("message_delta", delta={"stop_reason": "end_turn"})),
        ("ollama", _ollama("Hel") + _ollama("lo")),  # no "done": true
    ],
)
def test_stream_without_end_marker_raises_after_yielding(api: str, body: str) -> None:
    received: list[str] = []
    with pytest.raises(StreamError) as info:
        for piece in client_for(api, Server(body=body.encode(), chunk_size=4)).generate_stream(MESSAGES):
            received.append(piece)
    assert "".join(received) == "Hello" and info.value.retryable


def test_openai_stream_without_done_but_with_finish_reason_is_complete() -> None:
    """Servers such as Perplexity never send [DONE]; a finish_reason ends the answer."""
    assert _collect("openai-compatible", _openai_chunk("Hi") + _openai_chunk("", finish="stop")) == ["Hi"]


def test_openai_usage_chunk_after_finish_reason_is_read_up_to_done() -> None:
    body = (
        _openai_chunk("Hi", finish="stop") + 'data: {"choices":[],"usage":{"prompt_tokens":1}}\n\n' + "data: [DONE]\n\n"
    )
    assert _collect("openai", body) == ["Hi"]


@pytest.mark.parametrize(
    "api, body",
    [
        ("openai", _openai_chunk("Hi") + _openai_chunk("", finish="stop") + "data: [DONE]\n\n"),
        ("anthropic", _text_delta("Hi") + _anthropic("message_stop")),
        ("ollama", _ollama("Hi") + _ollama("", done=True)),
    ],
)
@pytest.mark.parametrize(
    "fault", [httpx.RemoteProtocolError("peer closed connection"), httpx.ReadTimeout("read timed out")]
)
def test_connection_dropped_mid_stream_raises_chained(api: str, body: str, fault: Exception) -> None:
    cut = body.encode()[: len(body) // 2]
    server = Server(body=cut, chunk_size=4, fail_with=fault)
    with pytest.raises((ProviderConnectionError, ProviderTimeout)) as info:
        list(client_for(api, server).generate_stream(MESSAGES))
    expected = ProviderTimeout if isinstance(fault, httpx.TimeoutException) else ProviderConnectionError
    assert type(info.value) is expected and info.value.__cause__ is fault and info.value.retryable
    assert server.streams[0].closed


@pytest.mark.parametrize("fault", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")])
@pytest.mark.parametrize("stream", [False, True])
def test_connect_failures_raise_chained(fault: Exception, stream: bool) -> None:
    client = client_for("ollama", Server(raise_on_request=fault))
    with pytest.raises((ProviderConnectionError, ProviderTimeout)) as info:
        list(client.generate_stream(MESSAGES)) if stream else client.generate(MESSAGES)
    assert info.value.__cause__ is fault


# --- decoding ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5])
@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_openai_split_utf8_and_line_ends(chunk_size: int, line_end: str) -> None:
    pieces = ["Grüße ", "😀", " 日本語", "\u2028", "  spaced  ", "\n"]
    body = "".join(_openai_chunk(p) for p in pieces) + "data: [DONE]\n\n"
    body = ": keep-alive comment\n\n" + body.replace("\n", line_end)
    assert _collect("openai", body, chunk_size) == pieces  # never stripped, never re-split


@pytest.mark.parametrize("chunk_size", [1, 4])
def test_anthropic_split_utf8_and_unicode_line_separators(chunk_size: int) -> None:
    pieces = ["Ça va ", "\u2028", "🙂", "\u0085x"]
    body = "".join(_text_delta(p) for p in pieces) + _anthropic("ping") + _anthropic("message_stop")
    assert _collect("anthropic", body, chunk_size) == pieces


@pytest.mark.parametrize("chunk_size", [1, 6])
def test_ollama_split_utf8(chunk_size: int) -> None:
    pieces = ["Привет", " 👋", "\u2029end"]
    body = "".join(_ollama(p) for p in pieces) + _ollama("", done=True)
    assert _collect("ollama", body, chunk_size) == pieces


def test_anthropic_thinking_and_signature_deltas_are_not_the_answer() -> None:
    body = (
        _anthropic("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hmm"})
        + _anthropic("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "sig"})
        + _text_delta("Answer")
        + _anthropic("some_future_event", foo=1)
        + _anthropic("message_stop")
    )
    assert _collect("anthropic", body) == ["Answer"]


def test_ollama_thinking_is_not_the_answer() -> None:
    body = json.dumps({"message": {"content": "", "thinking": "let me think"}, "done": False}) + "\n"
    body += _ollama("4") + _ollama("", done=True, done_reason="stop")
    assert _collect("ollama", body) == ["4"]


def test_openai_reasoning_deltas_are_not_the_answer() -> None:
    body = _openai_chunk(None, reasoning_content="thinking") + _openai_chunk("42", finish="stop") + "data: [DONE]\n\n"
    assert _collect("openai-compatible", body) == ["42"]


def test_openai_choice_other_than_zero_is_ignored() -> None:
    other = "data: " + json.dumps({"choices": [{"index": 1, "delta": {"content": "B"}}]}) + "\n\n"
    body = _openai_chunk("A") + other + _openai_chunk(None, finish="stop") + "data: [DONE]\n\n"
    assert _collect("openai", body) == ["A"]


# --- errors inside streams --------------------------------------------------------------


@pytest.mark.parametrize(
    "api, body, error",
    [
        ("openai", _openai_chunk("Hi") + "data: {not json\n\n", ResponseFormatError),
        ("openai", "data: [1, 2]\n\n", ResponseFormatError),
        ("openai", 'event: error\ndata: {"message": "boom"}\n\n', StreamError),
        ("openai", _openai_chunk(None, refusal="I can't") + _openai_chunk(None, finish="stop"), ProviderRefusal),
        ("openai", "data: [DONE]\n\n", ResponseFormatError),
        (
            "anthropic",
            _anthropic("message_delta", delta={"stop_reason": "refusal"}) + _anthropic("message_stop"),
            ProviderRefusal,
        ),
        ("anthropic", _anthropic("message_stop"), ResponseFormatError),
        ("ollama", _ollama("", done=True), ResponseFormatError),
        ("ollama", "<html>oops</html>\n", ResponseFormatError),
    ],
)
def test_bad_streams_raise(api: str, body: str, error: type) -> None:
    with pytest.raises(error):
        _collect(api, body)


def test_invalid_utf8_in_a_stream_raises_format_error() -> None:
    body = _openai_chunk("ok").encode() + b'data: {"choices":[{"index":0,"delta":{"content":"\xff"}}]}\n\n'
    client = client_for("openai", Server(body=body, chunk_size=5))
    with pytest.raises(ResponseFormatError):
        list(client.generate_stream(MESSAGES))


def test_http_error_raises_before_any_chunk() -> None:
    client = client_for("openai", Server(status=503, body=b'{"error": {"message": "busy"}}'))
    stream = client.generate_stream(MESSAGES)
    with pytest.raises(Exception) as info:
        next(stream)
    assert getattr(info.value, "status_code", None) == 503


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_json_error_document_answering_a_stream_request_raises_its_error(api: str) -> None:
    body = "\n" + json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}) + "\n"
    with pytest.raises(StreamError) as info:
        _collect(api, body)
    assert info.value.message == "Overloaded" and info.value.retryable


def test_json_completion_answering_a_stream_request_is_a_format_error() -> None:
    body = json.dumps({"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}]}, indent=2)
    with pytest.raises(ResponseFormatError, match="single JSON document"):
        _collect("openai", body)
