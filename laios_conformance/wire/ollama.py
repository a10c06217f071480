"""Ollama's native API: ``/api/chat`` and ``/api/generate``.

``/api/chat`` puts the answer in ``message.content``, ``/api/generate`` in ``response``;
``thinking`` fields are not the answer. Streaming is the server's default: the body is
newline-delimited JSON, one object per piece, the last one with ``"done": true``, a
``done_reason`` and timing counters (``/api/generate`` adds a ``context`` token list).
A failure after streaming began arrives as a line ``{"error": "..."}``. Errors are
``{"error": "<message>"}`` with the HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import _ndjson
from ._base import Event, Path, WireError, WireFormat, _without, decode_utf8, load_json, load_object, render, splice
from ._json_edit import dumps, replace

__all__ = ["OllamaWire"]

# Messages of real Ollama errors where known; the shape is always {"error": "..."}.
_ERRORS: dict[int, str] = {
    400: "model is required",
    401: "unauthorized",
    403: "forbidden",
    404: 'model "llama3.2" not found, try pulling it first',
    408: "request timed out",
    409: "conflict",
    422: "unprocessable entity",
    429: "too many requests",
    500: "llama runner process has terminated: exit status 2",
    502: "bad gateway",
    503: "server busy, please try again.  maximum pending requests exceeded",
    504: "gateway timeout",
    529: "server overloaded",
}

THINKING_CASE = "message.thinking beside the answer (a thinking model's, as Ollama's cloud sends it)"
THINKING = ("User asks to say hello.", " Answer briefly.")
_MIDSTREAM_ERROR = {"error": "an error was encountered while running the model: unexpected EOF"}


def _text_path(obj: Any) -> list[str] | None:
    if isinstance(obj.get("message"), dict):
        return ["message", "content"]
    if "response" in obj:
        return ["response"]
    return None


def _line_like(obj: Any, **fields: Any) -> bytes:
    """A new unfinished stream line with ``obj``'s model and time, and ``fields``."""
    line: dict[str, Any] = {k: obj[k] for k in ("model", "created_at") if k in obj}
    return _ndjson.make(dumps({**line, **fields, "done": False}))


def _carried_path(obj: Any) -> list[str]:
    """:func:`_text_path` of a line already chosen for carrying the text."""
    path = _text_path(obj)
    if path is None:
        raise WireError("the line carries neither message.content nor response")
    return path


class OllamaWire(WireFormat):
    """Native Ollama bodies, whole and streamed (NDJSON)."""

    name = "ollama"
    framing = _ndjson
    endpoints = ("/api/chat", "/api/generate")
    end_marker = 'the "done": true object'
    # Sampling options live in ``options``; the server ignores unknown top-level fields.
    param_places = {"temperature": ("options.temperature",), "max_tokens": ("options.num_predict",)}

    # -- recognition

    def recognises_body(self, request_body: bytes, response_headers: Mapping[str, str], response_body: bytes) -> bool:
        if "ndjson" in response_headers.get("content-type", "").lower():
            return True
        first = next((obj for _, obj in self._parsed(response_body) if obj is not None), None)
        if not isinstance(first, dict):
            return False
        return "done" in first and "created_at" in first and _text_path(first) is not None

    # -- reading

    def _whole_text(self, body: bytes) -> str:
        obj = load_object(body)
        if "error" in obj:
            raise WireError(f"an error body, not an answer: {obj['error']!r}"[:300])
        text = self._event_text(obj)
        if text is None:
            raise WireError("neither message.content nor response in the body")
        return text

    def _decode(self, data: str) -> Any:
        obj = load_json(data)
        if not isinstance(obj, dict):
            raise WireError("a line that is not a JSON object")
        return obj

    def _event_text(self, obj: Any) -> str | None:
        path = _text_path(obj)
        if path is None:
            return None
        value = obj["message"].get("content") if path[0] == "message" else obj.get("response")
        return value if isinstance(value, str) else ""

    def _event_error(self, obj: Any) -> str | None:
        error = obj.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return None if error is None else str(error)

    def _is_end(self, obj: Any) -> bool:
        return obj.get("done") is True

    def _counts(self, obj: Any) -> tuple[Any, Any, Any]:
        return obj.get("prompt_eval_count"), obj.get("eval_count"), None

    def _finish(self, obj: Any) -> Any:
        return obj.get("done_reason")

    def _count_paths(self, obj: Any) -> tuple[Path, Path, None]:
        return ["prompt_eval_count"], ["eval_count"], None

    def _finish_path(self, obj: Any) -> Path:
        return ["done_reason"]

    # -- writing

    def other_usage_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """The answer without ``prompt_eval_count``, as Ollama sends it for a prompt it has
        cached (recorded: ``tests/data/wire_samples/ollama/chat-llama3-joke-2-nonstream.json``)."""
        label = "without prompt_eval_count (Ollama's answer to a prompt it has cached)"
        if not stream:
            return [(label, _without(load_object(response_body), ["prompt_eval_count"]).encode("utf-8"))]
        parsed = self._dicts(response_body)

        def edit(i: int, doc: str, obj: Any) -> str:
            return _without(obj, ["prompt_eval_count"]) if "prompt_eval_count" in obj else doc

        return [(label, self._edited_stream(response_body, parsed, edit))]

    def _whole_with_usage(self, response_body: bytes, prompt: int, completion: int) -> bytes:
        """Sets ``prompt_eval_count`` and ``eval_count`` (added when absent)."""
        obj = load_object(response_body)
        if "prompt_eval_count" not in obj or "eval_count" not in obj:
            obj.update(prompt_eval_count=prompt, eval_count=completion)
            return dumps(obj).encode("utf-8")
        doc = replace(decode_utf8(response_body), ["prompt_eval_count"], prompt)
        return replace(doc, ["eval_count"], completion).encode("utf-8")

    def _whole_with_finish_reason(self, response_body: bytes, reason: str) -> bytes:
        obj = load_object(response_body)
        if "done_reason" not in obj:
            obj["done_reason"] = reason
            return dumps(obj).encode("utf-8")
        return replace(decode_utf8(response_body), ["done_reason"], reason).encode("utf-8")

    def _rebuild_whole(self, body: bytes, text: str) -> bytes:
        obj = load_object(body)
        path = _text_path(obj)
        if path is None:
            raise WireError("neither message.content nor response in the body")
        if path[0] == "message" and "content" not in obj["message"]:
            obj["message"]["content"] = text
            return dumps(obj).encode("utf-8")
        return replace(decode_utf8(body), path, text).encode("utf-8")

    def _set_text(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        path = _carried_path(obj)
        if path[0] == "message" and "content" not in obj["message"]:
            fresh = json.loads(event.payload)
            fresh["message"]["content"] = text
            return render(body, event, dumps(fresh))
        return render(body, event, replace(event.payload, path, text))

    def _clone(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        if _carried_path(obj)[0] == "message":
            return _line_like(obj, message={"role": obj["message"].get("role", "assistant"), "content": text})
        return _line_like(obj, response=text)

    def _carrier(self, parsed: list[tuple[Event, Any]]) -> int | None:
        return next((i for i, (_, o) in enumerate(parsed) if o is not None and _text_path(o)), None)

    def other_answer_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """A thinking model's answer to ``/api/chat``: ``message.thinking`` beside it, whole, or
        in lines of their own before it, streamed (Ollama's cloud with gpt-oss,
        tests/data/wire_samples/ollama/ollama-cloud-chat-gpt-oss-120b-thinking-*.json)."""
        shaped = self._stream_with_thinking(response_body) if stream else self._whole_with_thinking(response_body)
        return [] if shaped is None else [(THINKING_CASE, shaped)]

    def _whole_with_thinking(self, body: bytes) -> bytes | None:
        obj = load_object(body)
        message = obj.get("message")
        if not isinstance(message, dict) or "thinking" in message:
            return None
        return dumps(dict(obj, message=dict(message, thinking="".join(THINKING)))).encode("utf-8")

    def _stream_with_thinking(self, body: bytes) -> bytes | None:
        parsed = self._parsed(body)
        if any(isinstance(obj, dict) and "thinking" in (obj.get("message") or {}) for _, obj in parsed):
            return None
        first = next((i for i, (_, obj) in enumerate(parsed) if obj is not None and self._event_text(obj)), None)
        if first is None or not isinstance(parsed[first][1].get("message"), dict):
            return None
        event, obj = parsed[first]
        lines = [_line_like(obj, message={"role": "assistant", "content": "", "thinking": piece}) for piece in THINKING]
        return splice(body, [(event, b"".join(lines) + body[event.start : event.end])])

    def without_end_marker(self, response_body: bytes) -> bytes:
        """Drops the ``"done": true`` line (or, if it carries text, sets ``done`` to false)."""
        edits = []
        for event, obj in self._parsed(response_body):
            if obj is None or not self._is_end(obj):
                continue
            if self._event_text(obj):
                edits.append((event, render(response_body, event, replace(event.payload, ["done"], False))))
            else:
                edits.append((event, b""))
        return splice(response_body, edits)

    def _error_event(self, body: bytes, event: Event, obj: Any, message: str | None) -> bytes:
        line = _ndjson.make(dumps(_MIDSTREAM_ERROR if message is None else {"error": message}))
        return line if event.complete else b"\n" + line

    def error_body(self, status: int, message: str | None = None) -> tuple[bytes, str]:
        """``{"error": "<message>"}`` as Ollama's server sends it."""
        message = _ERRORS.get(status, "HTTP error") if message is None else message
        return dumps({"error": message}).encode("utf-8"), "application/json; charset=utf-8"
