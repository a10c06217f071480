"""Shapes of recorded responses, and how two shapes differ."""

from __future__ import annotations

import json

from laios_conformance.cassettes.shape import ADDITIVE, BREAKING, compare, response_shape


def response(body: object, content_type: str = "application/json", status: int = 200, **headers: str) -> dict:
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "status": {"code": status, "message": ""},
        "headers": {"content-type": [content_type], **{k.replace("_", "-"): [v] for k, v in headers.items()}},
        "body": {"string": text.encode()},
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
