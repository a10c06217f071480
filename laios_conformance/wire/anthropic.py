"""Anthropic Messages (``/v1/messages``), whole and streamed.

A whole response is a ``message`` object whose ``content`` is a list of blocks; the
answer is the text of the ``text`` blocks (``thinking`` and ``tool_use`` blocks are not).
A stream is server-sent events, each with an ``event:`` name matching its data's
``type``: ``message_start``, then per block ``content_block_start``,
``content_block_delta`` (``text_delta`` for answer text; ``thinking_delta`` and
``signature_delta`` are not the answer) and ``content_block_stop``, then
``message_delta`` with the stop reason and ``message_stop``; ``ping`` may appear
anywhere and ``error`` replaces the rest of a failing stream. There is no ``[DONE]``.
Some recorded ``data:`` lines have spaces before the closing brace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import _sse
from ._base import (
    Event,
    Path,
    WireError,
    WireFormat,
    count,
    decode_utf8,
    load_json,
    load_object,
    render,
    splice,
    split_text,
)
from ._json_edit import dumps, replace

__all__ = ["AnthropicWire"]

# Error types as documented by Anthropic; messages from real responses where recorded.
_ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "invalid_request_error",
        "messages.0: all messages must have non-empty content except for the optional final assistant message",
    ),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "model: claude-does-not-exist"),
    408: ("timeout_error", "Request timed out"),
    409: ("conflict_error", "Request conflicts with another request in progress"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    422: ("invalid_request_error", "Unprocessable request"),
    429: (
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit "
        "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for "
        "current usage. Please reduce the prompt length or the maximum tokens requested, "
        "or try again later.",
    ),
    500: ("api_error", "Internal server error"),
    502: ("api_error", "Bad gateway"),
    503: ("api_error", "Service unavailable"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}

_CACHE_COUNTS = ("cache_creation_input_tokens", "cache_read_input_tokens")


def _usage_of(obj: Any) -> dict[str, Any]:
    """The usage an event or body states ({} if none): whole bodies and ``message_delta``
    carry it at the top, ``message_start`` inside its message."""
    holder = obj.get("message") if obj.get("type") == "message_start" else obj
    usage = holder.get("usage") if isinstance(holder, dict) else None
    return usage if isinstance(usage, dict) else {}


_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
# Stands for an event type added after the recording; no real stream has it.
_UNKNOWN_EVENT = {"type": "laios_future_event", "note": "an event type added later"}
UNKNOWN_EVENT_CASE = "after an event of a type added later (Anthropic's docs: skip unknown event types)"
UNKNOWN_EVENT_AFTER_CONTENT_CASE = "an event of a type added later after the content, before message_delta"


# Shaped as in tests/data/wire_samples/anthropic/sonnet45-thinking-nonstream.json.
_THINKING_BLOCK = {
    "type": "thinking",
    "thinking": "This is a straightforward question. I should answer it clearly.",
    "signature": "Eq8CCkYICxgCKkDdadQOXMzNBqjrNVAKWsgUfg49NpPg026zBGxIIGwEHVCq0JTW",
}
THINKING_FIRST_CASE = "after a thinking block (extended thinking)"
REPEATED_INPUT_CASE = "message_delta repeating the input counts (as the API streams claude-haiku-4-5)"
TEXT_AROUND_THINKING_CASE = "split over two text blocks around a thinking block (as claude-opus-4-6 sends it)"


def _with_blocks(obj: dict[str, Any], position: int, blocks: list[dict[str, Any]]) -> bytes:
    """The message with its content block at ``position`` replaced by ``blocks``."""
    content = [*obj["content"][:position], *blocks, *obj["content"][position + 1 :]]
    return dumps(dict(obj, content=content)).encode("utf-8")


def _thinking_between_text_blocks(index: int, rest: str) -> list[dict[str, Any]]:
    """The events that end text block ``index``, stream a thinking block and start the next
    text block (with a first delta carrying ``rest``, if any), as opus46-adaptive-thinking-stream.json."""
    thinking, signature = _THINKING_BLOCK["thinking"], _THINKING_BLOCK["signature"]
    events: list[dict[str, Any]] = [
        {"type": "content_block_stop", "index": index},
        {
            "type": "content_block_start",
            "index": index + 1,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {"type": "content_block_delta", "index": index + 1, "delta": {"type": "thinking_delta", "thinking": thinking}},
        {
            "type": "content_block_delta",
            "index": index + 1,
            "delta": {"type": "signature_delta", "signature": signature},
        },
        {"type": "content_block_stop", "index": index + 1},
        {"type": "content_block_start", "index": index + 2, "content_block": {"type": "text", "text": ""}},
    ]
    if rest:
        events.append(
            {"type": "content_block_delta", "index": index + 2, "delta": {"type": "text_delta", "text": rest}}
        )
    return events


def _starts_text_block(obj: Any) -> bool:
    block = obj.get("content_block") if isinstance(obj, dict) and obj.get("type") == "content_block_start" else None
    return isinstance(block, dict) and block.get("type") == "text"


def _text_blocks(obj: dict[str, Any]) -> list[int]:
    content = obj.get("content")
    if not isinstance(content, list):
        raise WireError("message has no content list")
    return [i for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "text"]


def _str(text: Any) -> str:
    """A text field's value as text: a null (or missing) text is no text."""
    return text if isinstance(text, str) else ""


class AnthropicWire(WireFormat):
    """Messages API bodies, whole and streamed."""

    name = "anthropic"
    framing = _sse
    endpoints = ("/v1/messages",)
    end_marker = "message_stop or the message_delta with its stop_reason"
    param_places = {"temperature": ("temperature",), "max_tokens": ("max_tokens",)}
    # Both required by Anthropic's API reference; the version also picks the answer's shape.
    required_headers = ("anthropic-version", "content-type")
    # The API reference marks it required: a body without it is answered 400.
    required_params = ("max_tokens",)
    message_roles = ("user", "assistant")
    role_places = {"system": ("system",), "user": ("messages:user",), "assistant": ("messages:assistant",)}

    # -- recognition

    def recognises_body(self, request_body: bytes, response_headers: Mapping[str, str], response_body: bytes) -> bool:
        if self.is_stream(response_headers, response_body):
            return any(
                isinstance(obj, dict) and obj.get("type") == "message_start" for _, obj in self._parsed(response_body)
            )
        obj = load_object(response_body)
        return obj.get("type") == "message" or (obj.get("type") == "error" and isinstance(obj.get("error"), dict))

    # -- reading

    def _whole_text(self, body: bytes) -> str:
        obj = load_object(body)
        if obj.get("type") == "error":
            raise WireError(f"an error body, not an answer: {obj.get('error')!r}"[:300])
        return "".join(_str(obj["content"][i].get("text")) for i in _text_blocks(obj))

    def _decode(self, data: str) -> Any:
        obj = load_json(data)
        if not isinstance(obj, dict):
            raise WireError("an event whose data is not a JSON object")
        return obj

    def _event_text(self, obj: Any) -> str | None:
        kind = obj.get("type")
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            return _str(delta.get("text")) if delta.get("type") == "text_delta" else None
        if kind == "content_block_start":
            block = obj.get("content_block") or {}
            return _str(block.get("text")) if block.get("type") == "text" else None
        return None

    def _event_error(self, obj: Any) -> str | None:
        if obj.get("type") != "error":
            return None
        error = obj.get("error")
        return str(error.get("message") or error) if isinstance(error, dict) else str(error)

    def _is_end(self, obj: Any) -> bool:
        # The stop reason comes after the last content block, so it proves the text complete
        # even when a proxy cuts the stream before message_stop (as a finish_reason does for
        # OpenAI-style streams).
        return obj.get("type") == "message_stop" or (
            obj.get("type") == "message_delta" and self._finish(obj) is not None
        )

    def _counts(self, obj: Any) -> tuple[Any, Any, Any]:
        usage = _usage_of(obj)
        return usage.get("input_tokens"), usage.get("output_tokens"), None

    def usage_readings(self, response_body: bytes, *, stream: bool) -> list[dict[str, int]]:
        """Also the reading with cached prompt tokens counted in: ``input_tokens`` leaves out
        ``cache_creation_input_tokens`` and ``cache_read_input_tokens``, which Anthropic's
        API reference adds to it for the whole input, as OpenAI's ``prompt_tokens`` does."""
        readings = super().usage_readings(response_body, stream=stream)
        cached = self._cached_prompt_tokens(response_body, stream)
        if readings and cached:
            prompt, completion = readings[0]["prompt_tokens"] + cached, readings[0]["completion_tokens"]
            readings.append(
                {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            )
        return readings

    def _cached_prompt_tokens(self, response_body: bytes, stream: bool) -> int:
        """The cache counts the body states (the last of each kind, in a stream)."""
        found = dict.fromkeys(_CACHE_COUNTS, 0)
        for obj in self._objects(response_body, stream):
            usage = _usage_of(obj)
            found.update({key: usage[key] for key in _CACHE_COUNTS if count(usage.get(key)) is not None})
        return sum(found.values())

    def _finish(self, obj: Any) -> Any:
        if obj.get("type") == "message_delta":
            delta = obj.get("delta")
            return delta.get("stop_reason") if isinstance(delta, dict) else None
        return obj.get("stop_reason") if obj.get("type") == "message" else None

    def _model(self, obj: Any) -> Any:
        message = obj.get("message") if obj.get("type") == "message_start" else obj
        return message.get("model") if isinstance(message, dict) else None

    def _count_paths(self, obj: Any) -> tuple[Path, Path, None]:
        usage: Path = ["message", "usage"] if obj.get("type") == "message_start" else ["usage"]
        return [*usage, "input_tokens"], [*usage, "output_tokens"], None

    def _finish_path(self, obj: Any) -> Path | None:
        return ["delta", "stop_reason"] if obj.get("type") == "message_delta" else ["stop_reason"]

    def _model_path(self, obj: Any) -> Path:
        return ["message", "model"] if obj.get("type") == "message_start" else ["model"]

    # -- writing

    def other_usage_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """For a stream whose ``message_delta`` states only ``output_tokens``: the
        ``message_delta`` repeating the input counts of ``message_start``, as the API streams
        claude-haiku-4-5 (tests/data/wire_samples/anthropic/haiku45-count-stream.json). A
        reader that adds the input counts up reports twice the prompt."""
        if not stream:
            return []
        parsed = self._dicts(response_body)
        start = next((_usage_of(obj) for _, obj in parsed if obj.get("type") == "message_start"), {})
        repeated = {key: start[key] for key in ("input_tokens", *_CACHE_COUNTS) if count(start.get(key)) is not None}
        if "input_tokens" not in repeated:
            return []

        def edit(i: int, doc: str, obj: Any) -> str:
            usage = obj.get("usage") if obj.get("type") == "message_delta" else None
            if not isinstance(usage, dict) or "input_tokens" in usage:
                return doc
            return dumps({**obj, "usage": {**repeated, **usage}})

        body = self._edited_stream(response_body, parsed, edit)
        return [] if body == response_body else [(REPEATED_INPUT_CASE, body)]

    def _whole_with_usage(self, response_body: bytes, prompt: int, completion: int) -> bytes:
        """Sets ``usage.input_tokens`` and ``usage.output_tokens``."""
        obj = load_object(response_body)
        if not isinstance(obj.get("usage"), dict):
            obj["usage"] = {"input_tokens": prompt, "output_tokens": completion}
            return dumps(obj).encode("utf-8")
        doc = decode_utf8(response_body)
        doc = replace(doc, ["usage", "input_tokens"], prompt)
        return replace(doc, ["usage", "output_tokens"], completion).encode("utf-8")

    def _whole_with_finish_reason(self, response_body: bytes, reason: str) -> bytes:
        return replace(decode_utf8(response_body), ["stop_reason"], reason).encode("utf-8")

    def _rebuild_whole(self, body: bytes, text: str) -> bytes:
        obj = load_object(body)
        blocks = _text_blocks(obj)
        if not blocks:
            obj["content"].insert(0, {"type": "text", "text": text})
            return dumps(obj).encode("utf-8")
        doc = decode_utf8(body)
        # The text goes to the first text block; later ones are emptied.
        for n, i in enumerate(blocks):
            doc = replace(doc, ["content", i, "text"], text if n == 0 else "")
        return doc.encode("utf-8")

    def _set_text(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        field = "delta" if obj["type"] == "content_block_delta" else "content_block"
        return render(body, event, replace(event.payload, [field, "text"], text))

    def _clone(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        if obj["type"] == "content_block_delta":
            return self._set_text(body, event, obj, text)
        delta = {
            "type": "content_block_delta",
            "index": obj.get("index", 0),
            "delta": {"type": "text_delta", "text": text},
        }
        eol = _sse.line_end(body[event.start : event.end])
        return _sse.make(dumps(delta), name="content_block_delta", eol=eol)

    def _clone_after(self, obj: Any) -> bool:
        return bool(obj["type"] == "content_block_start")  # deltas must follow their block's start

    def other_answer_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """The answer after a ``thinking`` block (as with extended thinking,
        tests/data/wire_samples/anthropic/sonnet45-thinking-nonstream.json), and split over two
        ``text`` blocks around a ``thinking`` block (as claude-opus-4-6 streams with adaptive
        thinking, ``opus46-adaptive-thinking-stream.json``); a stream has the second alone."""
        if stream:
            split = self._stream_split_around_thinking(response_body)
            return [] if split is None else [(TEXT_AROUND_THINKING_CASE, split)]
        obj = load_object(response_body)
        blocks = _text_blocks(obj)
        if len(blocks) != 1:
            return []
        first = blocks[0]
        block = obj["content"][first]
        shapes = [(THINKING_FIRST_CASE, _with_blocks(obj, first, [_THINKING_BLOCK, block]))]
        text = _str(block.get("text"))
        if len(text) >= 2:
            head, tail = split_text(text, 2)
            around = [dict(block, text=head), _THINKING_BLOCK, dict(block, text=tail)]
            shapes.append((TEXT_AROUND_THINKING_CASE, _with_blocks(obj, first, around)))
        return shapes

    def _stream_split_around_thinking(self, body: bytes) -> bytes | None:
        """The first text block ended after its first text delta (after half of its text when
        it has one delta), then a thinking block, then a new text block carrying the rest;
        later blocks' indexes move up by two."""
        parsed = self._parsed(body)
        start = next((i for i, (_, obj) in enumerate(parsed) if _starts_text_block(obj)), None)
        if start is None:
            return None
        index = parsed[start][1].get("index", 0)
        deltas = [i for i, (_, obj) in enumerate(parsed[start:], start) if self._text_of(obj) and obj["index"] == index]
        if not deltas:
            return None
        first, first_obj = parsed[deltas[0]]
        kept, rest = self._text_of(first_obj) or "", ""
        if len(deltas) == 1:
            kept, rest = split_text(kept, 2) if len(kept) >= 2 else (kept, "")
            if not rest:
                return None
        new_events = b"".join(
            _sse.make(dumps(event), name=event["type"], eol=_sse.line_end(body))
            for event in _thinking_between_text_blocks(index, rest)
        )
        edits = [(first, self._set_text(body, first, first_obj, kept) + new_events)]
        for event, obj in parsed[deltas[0] + 1 :]:
            moved = (
                obj.get("index") if isinstance(obj, dict) and str(obj.get("type")).startswith("content_block") else None
            )
            if isinstance(moved, int) and moved >= index:
                edits.append((event, render(body, event, replace(event.payload, ["index"], moved + 2))))
        return splice(body, edits)

    def without_end_marker(self, response_body: bytes) -> bytes:
        """Drops the ``message_stop`` event and the ``message_delta`` carrying the stop reason."""
        parsed = self._parsed(response_body)
        return splice(response_body, [(e, b"") for e, obj in parsed if obj is not None and self._is_end(obj)])

    def with_unknown_events(self, response_body: bytes) -> list[tuple[str, bytes]]:
        """An event of a type the API does not send today, right after ``message_start``,
        and (a second case) after the content, right before ``message_delta``: Anthropic's
        streaming documentation says new event types may be added, and that clients should
        handle unknown ones gracefully (its SDK skips them). A reader may skip the
        preamble before the first content block and be strict only from there on."""
        parsed = self._parsed(response_body)
        start = self._first_of("message_start", parsed)
        if start is None:
            return []
        eol = _sse.line_end(response_body[start.start : start.end])
        unknown = _sse.make(dumps(_UNKNOWN_EVENT), name=_UNKNOWN_EVENT["type"], eol=eol)
        cases = [(UNKNOWN_EVENT_CASE, response_body[: start.end] + unknown + response_body[start.end :])]
        delta = self._first_of("message_delta", parsed)
        if delta is not None:
            body = response_body[: delta.start] + unknown + response_body[delta.start :]
            cases.append((UNKNOWN_EVENT_AFTER_CONTENT_CASE, body))
        return cases

    @staticmethod
    def _first_of(kind: str, parsed: list[tuple[Event, Any]]) -> Event | None:
        return next((e for e, obj in parsed if obj is not None and obj.get("type") == kind), None)

    def _error_event(self, body: bytes, event: Event, obj: Any, message: str | None) -> bytes:
        eol = _sse.line_end(body[event.start : event.end])
        error = _OVERLOADED
        if message is not None:
            error = {**_OVERLOADED, "error": {"type": "overloaded_error", "message": message}}
        return _sse.make(dumps(error), name="error", eol=eol)

    def error_body(self, status: int, message: str | None = None) -> tuple[bytes, str]:
        """``{"type":"error","error":{"type","message"},"request_id"}``; 529 is overloaded_error."""
        default = ("api_error" if status >= 500 else "invalid_request_error", "HTTP error")
        kind, usual = _ERRORS.get(status, default)
        message = usual if message is None else message
        body = {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_011CWbzicpaYMyAiiXobLkzi",
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8"), "application/json"
