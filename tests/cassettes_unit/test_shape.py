"""Shapes of recorded responses, and how two shapes differ."""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

from laios_conformance.cassettes.shape import ADDITIVE, BREAKING, compare, response_shape


def response(body: object, content_type: str = "application/json", status: int = 200, **headers: str) -> dict:
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "status": {"code": status, "message": ""},
        "headers": {"content-type": [content_type], **{k.replace("_", "-"): [v] for k, v in headers.items()}},
        "body": {"string": text.encode()},
    }


SAMPLES = Path(__file__).parents[1] / "data" / "wire_samples"


def recorded(name: str) -> dict:
    """A real exchange's response (tests/data/wire_samples, provenance in its MANIFEST)."""
    response = json.loads((SAMPLES / name).read_text(encoding="utf-8"))["response"]
    headers = {header: [value] for header, value in response.get("headers", {}).items()}
    return {
        "status": {"code": response["status"]},
        "headers": headers,
        "body": {"string": response["body_text"].encode()},
    }


def changes(old: dict, new: dict) -> list[tuple[str, str]]:
    return [(str(change), change.kind) for change in compare(response_shape(old), response_shape(new))]


def sse(*events: tuple[str | None, dict | str]) -> str:
    blocks = []
    for event, data in events:
        head = f"event: {event}\n" if event else ""
        blocks.append(f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n")
    return "".join(blocks)


def test_values_do_not_matter_only_paths_and_types() -> None:
    old = response({"id": "a", "choices": [{"text": "hi", "n": 1}], "list": []})
    new = response({"id": "zzz", "choices": [{"text": "bye", "n": 2.5}, {"text": "x", "n": 3}], "list": []})
    assert changes(old, new) == []


def test_a_list_that_empties_is_breaking_and_one_that_fills_is_additive() -> None:
    old = response({"choices": [{"message": {"content": "hi"}}], "tool_calls": [], "a": [{"b": [1]}]})
    new = response({"choices": [], "tool_calls": [{"id": "x"}], "a": [{"b": []}]})
    assert changes(old, new) == [
        ("choices: had items, now always empty", BREAKING),
        ("tool_calls: was always empty, now has items", ADDITIVE),
        ("a[].b: had items, now always empty", BREAKING),
    ]
    # What is inside an emptied list is not reported again, nor a list that empties inside it.
    assert changes(response({"a": [{"b": [1], "c": 2}]}), response({"a": []})) == [
        ("a: had items, now always empty", BREAKING)
    ]
    # Merged items: a list empty in one event and full in another still has items.
    stream = response(sse((None, {"choices": [{"delta": {}}]}), (None, {"choices": []})), "text/event-stream")
    assert changes(stream, response(sse((None, {"choices": [{"delta": {}}]})), "text/event-stream")) == []


def test_types_that_widen_are_additive_and_types_that_change_or_become_null_are_breaking() -> None:
    base = {"a": None, "b": "x", "c": "x"}
    new = {"a": "now text", "b": None, "c": ["x"]}
    assert changes(response(base), response(new)) == [
        ("a: null -> str", ADDITIVE),
        ("b: str -> null", BREAKING),
        ("c: str -> list", BREAKING),
    ]


def test_a_removed_subtree_is_one_line() -> None:
    assert changes(response({"usage": {"a": 1, "b": {"c": 2}}}), response({})) == [("usage: removed", BREAKING)]


def test_status_media_type_and_headers() -> None:
    old = response({"a": 1}, retry_after="1")
    new = response({"a": 1}, content_type="application/json; charset=utf-8", status=201, x_should_retry="true")
    assert changes(old, new) == [
        ("status: 200 -> 201", BREAKING),
        ("headers.retry-after: removed", BREAKING),
        ("headers.x-should-retry: added", ADDITIVE),
    ]


def test_sse_event_types_order_and_data() -> None:
    old = response(
        sse(("start", {"type": "start"}), ("delta", {"text": "a"}), ("delta", {"text": "b"}), ("stop", {})),
        "text/event-stream",
    )
    new_types = response(
        sse(("start", {"type": "start"}), ("delta", {"text": ["a"]}), ("ping", {}), ("stop", {})), "text/event-stream"
    )
    assert changes(old, new_types) == [
        ("events[ping]: added", ADDITIVE),
        ("events[delta].text: str -> list", BREAKING),
    ]
    reordered = response(sse(("start", {}), ("stop", {}), ("delta", {"text": "a"})), "text/event-stream")
    assert ("events: start delta+ stop -> start stop delta", BREAKING) in changes(old, reordered)
    openai = response(sse((None, {"choices": []}), (None, {"choices": []}), (None, "[DONE]")), "text/event-stream")
    assert response_shape(openai).events == ("message+", "[DONE]")
    assert changes(openai, response(sse((None, {"choices": []})), "text/event-stream")) == [
        ("events[[DONE]]: removed", BREAKING)
    ]


def test_ndjson_lines_are_merged() -> None:
    old = response('{"a": 1, "done": false}\n{"a": 2, "done": true, "stats": 3}\n', "application/x-ndjson")
    new = response('{"a": 1, "done": false}\n{"a": 2, "done": true}\n', "application/x-ndjson")
    assert changes(old, new) == [("lines[].stats: removed", BREAKING)]
    assert changes(old, response({"a": 1})) == [
        ("headers.content-type: application/x-ndjson -> application/json", BREAKING),
        ("body: ndjson -> json", BREAKING),
    ]


def test_two_years_of_the_live_openai_api_are_additive_and_undoing_them_is_breaking() -> None:
    # gpt-3.5-turbo-0613 in November 2023, gpt-4o-mini in November 2025 (their "created").
    then, now = recorded("openai/gpt35-hi-2023-nonstream.json"), recorded("openai/gpt4omini-hello-nonstream.json")
    forward = changes(then, now)
    assert ("choices[].message.refusal: added", ADDITIVE) in forward
    assert ("usage.prompt_tokens_details: added", ADDITIVE) in forward
    assert {kind for _, kind in forward} == {ADDITIVE}, forward
    backward = changes(now, then)
    assert ("choices[].message.refusal: removed", BREAKING) in backward
    assert {kind for _, kind in backward} == {BREAKING}, backward
    streams = changes(recorded("openai/gpt35-hello-2023-stream.json"), recorded("openai/gpt4omini-ocean-stream.json"))
    assert streams and {kind for _, kind in streams} == {ADDITIVE}, streams


def test_where_anthropic_sends_its_ping_is_no_drift() -> None:
    # The same API put ping before the first delta, between deltas, and after the deltas.
    streams = [
        recorded("anthropic/haiku3-hello-stream.json"),
        recorded("anthropic/sonnet4-sum-stream.json"),
        recorded("anthropic/opus3-count-stream.json"),
    ]
    for old, new in permutations(streams, 2):
        assert not [change for change in changes(old, new) if change[0].startswith(("events:", "events[ping]"))], (
            changes(old, new)
        )
    with_ping = response(
        sse(("message_start", {}), ("ping", {"type": "ping"}), ("message_stop", {})), "text/event-stream"
    )
    without = response(sse(("message_start", {}), ("message_stop", {})), "text/event-stream")
    assert changes(with_ping, without) == [("events[ping]: removed", ADDITIVE)]
    assert changes(without, with_ping) == [("events[ping]: added", ADDITIVE)]


def test_a_field_ollama_leaves_out_for_a_cached_prompt_is_no_breaking_drift() -> None:
    # The same request an hour apart, the model still loaded: the second answer has no
    # prompt_eval_count, as Ollama answers a prompt it has cached.
    first, again = (
        recorded("ollama/chat-llama3-joke-nonstream.json"),
        recorded("ollama/chat-llama3-joke-2-nonstream.json"),
    )
    assert changes(first, again) == [
        ("prompt_eval_count: left out (as the API does for some answers, such as a cached prompt)", ADDITIVE)
    ]
    assert changes(again, first) == [("prompt_eval_count: added", ADDITIVE)]
    assert changes(response({"eval_count": 3}), response({})) == [("eval_count: removed", BREAKING)]
