"""200 answers that are not the protocol, or carry no text: the providers raise, never return ""."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_providers import ProviderRefusal, ResponseFormatError

from ._support import MESSAGES, Server, client_for

OPENAI_MESSAGE = {"role": "assistant", "content": "hi"}


def _openai(message: Any = OPENAI_MESSAGE, finish: str = "stop") -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": finish}]}).encode()


def _anthropic(content: Any, stop: str = "end_turn") -> bytes:
    return json.dumps({"type": "message", "content": content, "stop_reason": stop, "usage": {}}).encode()


COMMON_BAD = [
    b"",
    b"   \n",
    b"<!DOCTYPE html><html><body>Bad gateway</body></html>",
    b"{not json",
    b"[]",
    b'"text"',
    b"null",
]


@pytest.mark.parametrize("api", ["openai", "anthropic", "ollama"])
@pytest.mark.parametrize("body", COMMON_BAD, ids=["empty", "blank", "html", "malformed", "array", "string", "null"])
def test_unusable_bodies_raise_format_error(api: str, body: bytes) -> None:
    with pytest.raises(ResponseFormatError):
        client_for(api, Server(body=body)).generate(MESSAGES)


def test_html_is_named_in_the_message() -> None:
    with pytest.raises(ResponseFormatError, match="HTML"):
        client_for("openai", Server(body=COMMON_BAD[2])).generate(MESSAGES)


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"id": "x"}).encode(),  # no choices
        json.dumps({"choices": []}).encode(),
        json.dumps({"choices": [{"index": 0}]}).encode(),  # no message
        _openai({"role": "assistant", "content": None}),
        _openai({"role": "assistant", "content": ""}, finish="length"),
        _openai({"role": "assistant", "content": None, "tool_calls": [{"id": "t"}]}, finish="tool_calls"),
        _openai({"role": "assistant", "content": 42}),
    ],
    ids=["no-choices", "empty-choices", "no-message", "null", "empty-length", "tool-calls-only", "number"],
)
def test_openai_wrong_shape_or_no_text_raises(body: bytes) -> None:
    with pytest.raises(ResponseFormatError):
        client_for("openai", Server(body=body)).generate(MESSAGES)


def test_openai_refusal_raises_with_its_text() -> None:
    body = _openai({"role": "assistant", "content": None, "refusal": "I can't help with that."})
    with pytest.raises(ProviderRefusal) as info:
        client_for("openai", Server(body=body)).generate(MESSAGES)
    assert info.value.message == "I can't help with that." and not info.value.retryable


def test_openai_whitespace_is_text_and_is_not_stripped() -> None:
    response = client_for("openai", Server(body=_openai({"role": "assistant", "content": "  hi\n"}))).generate(MESSAGES)
    assert response.content == "  hi\n"


def test_openai_content_parts_are_joined() -> None:
    parts = [{"type": "thinking", "thinking": "x"}, {"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]
    response = client_for("openai-compatible", Server(body=_openai({"role": "assistant", "content": parts}))).generate(
        MESSAGES
    )
    assert response.content == "Hello"


def test_openai_missing_total_tokens_is_computed() -> None:
    body = json.loads(_openai())
    body["usage"] = {"prompt_tokens": 3, "completion_tokens": 4}
    response = client_for("openai", Server(body=json.dumps(body).encode())).generate(MESSAGES)
    assert response.usage == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert response.finish_reason == "stop" and response.metadata["id"] is None


@pytest.mark.parametrize(
    "body",
    [
        _anthropic([]),
        _anthropic([{"type": "tool_use", "id": "t", "name": "f", "input": {}}], stop="tool_use"),
        _anthropic([{"type": "thinking", "thinking": "hmm", "signature": "s"}], stop="max_tokens"),
        _anthropic([{"type": "text", "text": ""}]),
        _anthropic("not a list"),
    ],
    ids=["no-blocks", "tool-use-only", "thinking-only", "empty-text", "wrong-type"],
)
def test_anthropic_no_text_raises(body: bytes) -> None:
    with pytest.raises(ResponseFormatError):
        client_for("anthropic", Server(body=body)).generate(MESSAGES)


def test_anthropic_refusal_stop_reason_raises() -> None:
    with pytest.raises(ProviderRefusal):
        client_for("anthropic", Server(body=_anthropic([], stop="refusal"))).generate(MESSAGES)


def test_anthropic_text_blocks_are_joined_and_thinking_dropped() -> None:
    blocks = [
        {"type": "thinking", "thinking": "t", "signature": "s"},
        {"type": "text", "text": "A"},
        {"type": "text", "text": "B"},
    ]
    assert client_for("anthropic", Server(body=_anthropic(blocks))).generate(MESSAGES).content == "AB"


@pytest.mark.parametrize(
    "payload",
    [
        {"done": True},
        {"message": "x", "done": True},
        {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "load"},
        {"message": {"role": "assistant", "content": "", "tool_calls": [{"function": {}}]}, "done": True},
        {"message": {"role": "assistant", "content": None}, "done": True},
    ],
    ids=["no-message", "message-not-object", "empty-load", "tool-calls-only", "null"],
)
def test_ollama_wrong_shape_or_no_text_raises(payload: Any) -> None:
    with pytest.raises(ResponseFormatError):
        client_for("ollama", Server(body=json.dumps(payload).encode())).generate(MESSAGES)
