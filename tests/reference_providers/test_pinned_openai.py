"""Exact behaviour of the OpenAI-compatible parser in ``reference_providers.openai``.

Which choice is the answer, how content parts join, what a refusal, an empty answer, a
truncated or failed stream raise (class, provider, type, message), which fields of the
response the LLMResponse carries, and which model names are reasoning models. Written
against mutation testing (``scripts/mutation.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_providers import ProviderRefusal, ResponseFormatError, StreamError
from reference_providers.openai import OpenAIClient, is_reasoning_model, parse_completion

from ._support import API_KEY, MESSAGES, Server

SSE = {"content-type": "text/event-stream"}


def answer(content: Any = "hi", **fields: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, **fields.pop("message", {})}
    return {"choices": [{"index": 0, "message": message, **fields}]}


def failure(call: Any) -> Any:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def summary(exc: Any) -> tuple[Any, ...]:
    return type(exc), exc.provider, exc.error_type, exc.retryable, exc.message


def stream(*events: Any) -> str:
    """SSE text: dicts become ``data:`` chunks, strings are sent as they are."""
    return "".join(e if isinstance(e, str) else f"data: {json.dumps(e)}\n\n" for e in events)


def delta(content: Any = None, index: Any = 0, finish: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"content": content, **extra} if content is not None else dict(extra)
    choice: dict[str, Any] = {"delta": body, "finish_reason": finish}
    if index is not None:
        choice["index"] = index
    return {"choices": [choice]}


def streamed(text: str) -> list[str]:
    server = Server(headers=SSE, body=text.encode())
    return list(OpenAIClient(api_key=API_KEY, transport=server.transport).generate_stream(MESSAGES))


# --- choice selection ----------------------------------------------------------------------


def test_the_choice_with_index_zero_is_the_answer_whatever_its_position() -> None:
    payload = {"choices": [{"index": 1, "message": {"content": "B"}}, {"index": 0, "message": {"content": "A"}}]}
    assert parse_completion(payload, "m").content == "A"
    payload = {"choices": [{"index": 0, "message": {"content": "A"}}, {"index": 1, "message": {"content": "B"}}]}
    assert parse_completion(payload, "m").content == "A"


def test_a_choice_without_an_index_counts_as_index_zero() -> None:
    payload = {"choices": [{"index": 1, "message": {"content": "B"}}, {"message": {"content": "A"}}]}
    assert parse_completion(payload, "m").content == "A"


def test_without_an_index_zero_the_first_choice_is_the_answer() -> None:
    payload = {
        "choices": ["junk", {"index": 2, "message": {"content": "C"}}, {"index": 3, "message": {"content": "D"}}]
    }
    assert parse_completion(payload, "m").content == "C"


def test_no_usable_choice_is_a_format_error() -> None:
    for payload in ({}, {"choices": []}, {"choices": "x"}, {"choices": [{"index": 0}]}):
        exc = failure(lambda payload=payload: parse_completion(payload, "m"))
        assert summary(exc) == (ResponseFormatError, "openai", None, False, "completion has no choices[0].message")


# --- content -------------------------------------------------------------------------------


def test_content_parts_join_their_text_and_default_to_the_text_type() -> None:
    parts = [
        "stray",
        {"text": "a"},
        {"type": "text", "text": "b"},
        {"type": "image_url", "text": "no"},
        {"type": "text"},
    ]
    assert parse_completion(answer(parts), "m").content == "ab"


def test_content_of_another_type_is_named() -> None:
    exc = failure(lambda: parse_completion(answer(5), "m"))
    assert summary(exc) == (ResponseFormatError, "openai", None, False, "message content has unexpected type int")


def test_an_empty_refusal_is_no_refusal() -> None:
    assert parse_completion(answer("hi", message={"refusal": ""}), "m").content == "hi"


def test_a_refusal_carries_its_text_and_type() -> None:
    exc = failure(lambda: parse_completion(answer(None, message={"refusal": "I can't"}), "m"))
    assert summary(exc) == (ProviderRefusal, "openai", "refusal", False, "I can't")


def test_empty_answers_say_what_came_instead() -> None:
    exc = failure(lambda: parse_completion(answer("", finish_reason="length"), "m"))
    assert summary(exc) == (
        ResponseFormatError,
        "openai",
        None,
        False,
        "completion has empty content (finish_reason='length')",
    )
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    exc = failure(
        lambda: parse_completion(answer(None, finish_reason="tool_calls", message={"tool_calls": calls}), "m")
    )
    assert exc.message == "completion has tool calls but no text (finish_reason='tool_calls')"


# --- the response's other fields -----------------------------------------------------------


def test_the_served_model_id_and_usage_come_from_the_payload() -> None:
    payload = {
        **answer("hi", finish_reason="stop"),
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 10},
    }
    response = parse_completion(payload, "gpt-4o-mini")
    assert response.model == "gpt-4o-mini-2024-07-18"
    assert response.finish_reason == "stop"
    assert response.usage == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 10}
    assert response.metadata == {"id": "chatcmpl-1", "served_model": "gpt-4o-mini-2024-07-18"}


@pytest.mark.parametrize("served", ["", 5, None])
def test_without_a_served_model_name_the_requested_one_is_reported(served: Any) -> None:
    assert parse_completion({**answer(), "model": served}, "asked-for").model == "asked-for"


def test_a_finish_reason_that_is_not_a_string_is_dropped() -> None:
    assert parse_completion(answer("hi", finish_reason=1), "m").finish_reason is None


# --- streams -------------------------------------------------------------------------------


def test_chunks_without_an_index_belong_to_choice_zero() -> None:
    assert streamed(stream(delta("a", index=None), delta("b", index=None, finish="stop"))) == ["a", "b"]


def test_chunks_of_other_choices_and_without_choices_are_ignored() -> None:
    text = stream(
        {"choices": None, "usage": {}},
        delta("x", index=1),
        {"choices": [{"index": 0, "delta": None}]},
        delta("a"),
        "data: [DONE]\n\n",
    )
    assert streamed(text) == ["a"]


def test_empty_data_events_are_skipped() -> None:
    assert streamed("data: \n\n" + stream(delta("a"), "data: [DONE]\n\n")) == ["a"]


def test_perplexitys_done_object_ends_the_stream() -> None:
    done = {"object": "chat.completion.done", "choices": []}
    assert streamed(stream(delta("a"), done, delta("after"))) == ["a"]


def test_a_done_object_after_no_text_still_checks_the_stream() -> None:
    exc = failure(lambda: streamed(stream({"object": "chat.completion.done", "choices": []})))
    assert summary(exc) == (ResponseFormatError, "openai", None, False, "stream carried no text (finish_reason=None)")
    refused = delta(refusal="no")
    exc = failure(lambda: streamed(stream(refused, {"object": "chat.completion.done", "choices": []})))
    assert type(exc) is ProviderRefusal


def test_refusal_pieces_join_into_one_refusal() -> None:
    exc = failure(lambda: streamed(stream(delta(refusal="I can"), delta(refusal="not", finish="stop"))))
    assert summary(exc) == (ProviderRefusal, "openai", "refusal", False, "I cannot")


def test_empty_refusal_pieces_are_no_refusal() -> None:
    assert streamed(stream(delta("a", refusal=""), delta(finish="stop"))) == ["a"]
    assert streamed(stream(delta("a", refusal=""), delta(refusal="", finish="stop"))) == ["a"]


def test_a_truncated_stream_is_a_retryable_stream_error() -> None:
    exc = failure(lambda: streamed(stream(delta("a"))))
    assert summary(exc) == (
        StreamError,
        "openai",
        None,
        True,
        "stream ended without [DONE] or a finish_reason (truncated)",
    )


def test_a_stream_without_text_names_its_finish_reason() -> None:
    exc = failure(lambda: streamed(stream(delta(finish="length"), "data: [DONE]\n\n")))
    assert summary(exc) == (
        ResponseFormatError,
        "openai",
        None,
        False,
        "stream carried no text (finish_reason='length')",
    )


def test_an_error_event_carries_the_error_it_names() -> None:
    body = json.dumps({"error": {"message": f"overloaded {API_KEY}", "type": "overloaded_error"}})
    exc = failure(lambda: streamed(stream(delta("a"), f"event: error\ndata: {body}\n\n")))
    assert summary(exc) == (StreamError, "openai", "overloaded_error", True, "overloaded [REDACTED]")


def test_an_error_event_without_an_error_key_is_the_error_itself() -> None:
    exc = failure(lambda: streamed(stream(delta("a"), 'event: error\ndata: {"message": "boom", "code": 500}\n\n')))
    assert summary(exc) == (StreamError, "openai", None, True, "boom")
    assert exc.status_code == 500


def test_an_error_event_without_data_still_raises() -> None:
    exc = failure(lambda: streamed(stream(delta("a"), "event: error\n\n")))
    assert summary(exc) == (StreamError, "openai", None, False, "stream reported an error")


def test_an_error_event_that_is_not_json_is_named() -> None:
    exc = failure(lambda: streamed(stream(delta("a"), "event: error\ndata: {oops\n\n")))
    assert (type(exc), exc.provider, exc.message) == (
        ResponseFormatError,
        "openai",
        "stream error event is not valid JSON: '{oops'",
    )


def test_an_error_chunk_carries_its_error_and_hides_the_key() -> None:
    chunk = {"error": {"message": f"upstream failed {API_KEY}", "code": 502}}
    exc = failure(lambda: streamed(stream(delta("a"), chunk)))
    assert summary(exc) == (StreamError, "openai", None, True, "upstream failed [REDACTED]")


# --- model table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("ft:o3:my-org:custom:abc123", True),
        ("ft:o3-mini:my-org::abc123", True),
        ("ft:gpt-4o:my-org:o3:abc123", False),
        ("openrouter/openai/o3-mini", True),
        ("openai/gpt-5", True),
        ("openai/gpt-4o/o3", True),
    ],
)
def test_fine_tunes_and_routed_names_are_judged_by_their_base_model(model: str, reasoning: bool) -> None:
    assert is_reasoning_model(model) is reasoning
