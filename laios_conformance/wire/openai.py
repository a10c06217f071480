"""OpenAI Chat Completions, as spoken by api.openai.com and OpenAI-compatible servers.

A whole response is a JSON object whose ``choices[i].message`` holds the answer. A stream
is server-sent events whose ``data`` is a ``chat.completion.chunk`` object with
``choices[i].delta`` increments, ended by ``data: [DONE]``. Only the choice with index 0
is read. Variations met in real servers: leading blank lines before the JSON (OpenRouter),
``:`` keep-alive comments, a usage chunk with empty ``choices``, chunks carrying an
``error`` object inside an HTTP 200 stream (OpenRouter), CRLF line ends, an accumulated
``message`` beside every ``delta`` and a final ``chat.completion.done`` object instead of
``[DONE]`` (Perplexity). ``reasoning``/``reasoning_content`` fields are not the answer.

The answer text is ``content`` followed by ``refusal``: a structured-output refusal comes
with ``content: null`` and the refusal text, and that text is what the response carried.
Use :meth:`OpenAIWire.refusal` to tell the two apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import _sse
from ._base import (
    ErrorShape,
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
)
from ._json_edit import dumps, replace

__all__ = ["OpenAIWire"]

_DONE = "[DONE]"

# Real bodies where recordings exist (see tests/data/wire_samples), else the documented shape.
_ERRORS: dict[int, tuple[str, str, str | None, str | int | None]] = {
    400: (
        "Unsupported parameter: 'stop' is not supported with this model.",
        "invalid_request_error",
        "stop",
        "unsupported_parameter",
    ),
    401: (
        "Incorrect API key provided: sk-REDACTED. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        None,
        "invalid_api_key",
    ),
    403: (
        "Country, region, or territory not supported",
        "request_forbidden",
        None,
        "unsupported_country_region_territory",
    ),
    404: (
        "The model `gpt-4o-does-not-exist` does not exist or you do not have access to it.",
        "invalid_request_error",
        None,
        "model_not_found",
    ),
    408: ("Request timed out.", "timeout_error", None, None),
    409: (
        "The request conflicts with another request in progress. Please retry.",
        "invalid_request_error",
        None,
        "conflict",
    ),
    422: ("Unprocessable request: 'messages' could not be processed.", "invalid_request_error", "messages", None),
    429: (
        "Rate limit reached for gpt-4o in organization org-REDACTED on tokens per min (TPM): "
        "Limit 30000, Used 29906, Requested 1052. Please try again in 1.916s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
        "tokens",
        None,
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None, None),
    502: ("Bad gateway.", "cf_bad_gateway", None, 502),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None, None),
    504: ("Gateway timeout.", "cf_gateway_timeout", None, 504),
    529: ("The server is overloaded, please try again later.", "server_error", None, None),
}


def _text(value: Any) -> str:
    """A content value as text: a string, a list of text parts, or nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p.get("text", "") for p in value if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _choice(obj: Any) -> tuple[int, dict[str, Any]] | None:
    """Position and value of the choice with index 0 (choices without index count as 0)."""
    choices = obj.get("choices") if isinstance(obj, dict) else None
    for position, choice in enumerate(choices if isinstance(choices, list) else []):
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return position, choice
    return None


def _carried_choice(obj: Any) -> tuple[int, dict[str, Any]]:
    """:func:`_choice` of an event already chosen for carrying the text."""
    found = _choice(obj)
    if found is None:
        raise WireError("the event carries no choice with index 0")
    return found


def _delta(obj: Any) -> dict[str, Any]:
    """The ``delta`` of a chunk's choice with index 0 ({} if it has none)."""
    found = _choice(obj)
    delta = found[1].get("delta") if found else None
    return delta if isinstance(delta, dict) else {}


TEXT_IN_ROLE_AND_FINISH_CASE = "its first and last text in the role and finish_reason chunks (as Gemini sends them)"
NULL_CONTENT_CASE = '"content": null in the chunks without text (as api.openai.com sends it beside a tool call)'
USAGE_CHUNK_CASE = "a last chunk with empty choices carrying the usage (api.openai.com's stream_options.include_usage)"
REASONING_CASE = "reasoning_content beside the answer (as DeepSeek's reasoner sends it)"
RUNNING_USAGE_CASE = "the counts on every chunk, a running total (as Perplexity streams them)"
REASONING = ("The user greets me.", " I should answer briefly.")
# The counts of gpt4omini-ocean-stream-usage.json's usage chunk.
_RECORDED_USAGE = {"prompt_tokens": 22, "completion_tokens": 3, "total_tokens": 25}


def _answer_field(part: Mapping[str, Any]) -> str:
    """Where a message or delta keeps its answer: ``refusal`` only when that is all it has."""
    refusal_only = isinstance(part.get("refusal"), str) and not _text(part.get("content"))
    return "refusal" if refusal_only and part.get("refusal") else "content"


class OpenAIWire(WireFormat):
    """Chat Completions bodies (``/chat/completions``), whole and streamed."""

    name = "openai"
    framing = _sse
    endpoints = ("/chat/completions",)
    end_marker = "data: [DONE] or a finish_reason"
    # As api.openai.com and the compatible servers in tests/data/wire_samples receive them.
    param_places = {"temperature": ("temperature",), "max_tokens": ("max_tokens", "max_completion_tokens")}
    # A JSON body sent without it is refused by OpenAI-compatible servers (vLLM answers 400).
    required_headers = ("content-type",)
    # Groq, OpenRouter, Cloudflare, Gemini's and Ollama's compatible endpoints, and
    # api.openai.com itself in 2023 (tests/data/wire_samples).
    charsetless_streams = True

    # -- recognition

    def recognises_body(self, request_body: bytes, response_headers: Mapping[str, str], response_body: bytes) -> bool:
        if self.is_stream(response_headers, response_body):
            return any(_choice(obj) or _is_chunk(obj) for _, obj in self._parsed(response_body))
        obj = load_object(response_body)
        if "choices" in obj or obj.get("object") == "chat.completion":
            return True
        return isinstance(obj.get("error"), dict) and obj.get("type") != "error" and _asks_chat(request_body)

    # -- reading

    def refusal(self, response_body: bytes, *, stream: bool) -> str | None:
        """The refusal text, if the model refused (structured outputs), else None."""
        if stream:
            parts = [
                c[1]["delta"].get("refusal")
                for _, obj in self._parsed(response_body)
                if (c := _choice(obj)) and isinstance(c[1].get("delta"), dict)
            ]
            found = [p for p in parts if isinstance(p, str)]
            return "".join(found) if any(found) else None
        message = self._message(load_object(response_body))[1]
        refusal = message.get("refusal")
        return refusal if isinstance(refusal, str) else None

    def _whole_text(self, body: bytes) -> str:
        message = self._message(load_object(body))[1]
        return _text(message.get("content")) + _text(message.get("refusal"))

    def _message(self, obj: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = _choice(obj)
        if found is None:
            if "error" in obj:
                raise WireError(f"an error body, not an answer: {obj['error']!r}"[:300])
            raise WireError("no choice with index 0")
        position, choice = found
        message = choice.get("message")
        if not isinstance(message, dict):
            raise WireError("choice has no message")
        return position, message

    def _decode(self, data: str) -> Any:
        if data.strip() == _DONE:
            return _DONE
        obj = load_json(data)
        if not isinstance(obj, dict):
            raise WireError("a stream chunk that is not a JSON object")
        return obj

    def _event_text(self, obj: Any) -> str | None:
        found = _choice(obj)
        delta = found[1].get("delta") if found else None
        if not isinstance(delta, dict) or ("content" not in delta and "refusal" not in delta):
            return None
        return _text(delta.get("content")) + _text(delta.get("refusal"))

    def _event_error(self, obj: Any) -> str | None:
        error = obj.get("error") if isinstance(obj, dict) else None
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return error if isinstance(error, str) else None

    def _is_end(self, obj: Any) -> bool:
        if obj == _DONE:
            return True
        if not isinstance(obj, dict):
            return False
        choices = obj.get("choices")
        if not isinstance(choices, list):
            choices = []
        finished = any(isinstance(c, dict) and c.get("finish_reason") is not None for c in choices)
        return finished or obj.get("object") == "chat.completion.done"

    def _counts(self, obj: Any) -> tuple[Any, Any, Any]:
        usage = _usage_of(obj)
        if usage is None:
            return None, None, None
        return usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens")

    def _finish(self, obj: Any) -> Any:
        found = _choice(obj)
        return found[1].get("finish_reason") if found else None

    def _count_paths(self, obj: Any) -> tuple[Path, Path, Path]:
        groq = not isinstance(obj.get("usage"), dict) and _groq_usage(obj) is not None
        holder: Path = ["x_groq", "usage"] if groq else ["usage"]
        return [*holder, "prompt_tokens"], [*holder, "completion_tokens"], [*holder, "total_tokens"]

    def _finish_path(self, obj: Any) -> Path | None:
        found = _choice(obj)
        return ["choices", found[0], "finish_reason"] if found else None

    # -- writing

    def _whole_with_usage(self, response_body: bytes, prompt: int, completion: int) -> bytes:
        """Sets ``usage.prompt_tokens``/``completion_tokens``/``total_tokens``, and the cached
        and reasoning tokens of the nested details, where stated, to half of them."""
        obj = load_object(response_body)
        counts = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        if not isinstance(obj.get("usage"), dict):
            obj["usage"] = counts
            return dumps(obj).encode("utf-8")
        doc = decode_utf8(response_body)
        for key, value in counts.items():
            if key in obj["usage"]:
                doc = replace(doc, ["usage", key], value)
            else:
                fresh = json.loads(doc)
                fresh["usage"][key] = value
                doc = dumps(fresh)
        for path, value in self._detail_counts(obj, prompt, completion):
            doc = replace(doc, path, value)
        return doc.encode("utf-8")

    def _detail_counts(self, obj: Any, prompt: int, completion: int) -> list[tuple[Path, int]]:
        """``prompt_tokens_details.cached_tokens`` and ``completion_tokens_details.reasoning_tokens``
        (parts of the counts, OpenAI's API reference), where stated: half of the new counts,
        so that a provider adding them to the counts again is caught."""
        holder = self._count_paths(obj)[0][:-1]
        usage = _usage_of(obj) or {}
        edits: list[tuple[Path, int]] = []
        for details, key, value in (
            ("prompt_tokens_details", "cached_tokens", prompt // 2),
            ("completion_tokens_details", "reasoning_tokens", completion // 2),
        ):
            part = usage.get(details)
            if isinstance(part, dict) and count(part.get(key)) is not None:
                edits.append(([*holder, details, key], value))
        return edits

    def _whole_with_finish_reason(self, response_body: bytes, reason: str) -> bytes:
        position, _ = self._message(load_object(response_body))
        return replace(decode_utf8(response_body), ["choices", position, "finish_reason"], reason).encode("utf-8")

    def _rebuild_whole(self, body: bytes, text: str) -> bytes:
        doc = decode_utf8(body)
        position, message = self._message(load_object(body))
        path: list[str | int] = ["choices", position, "message"]
        field = _answer_field(message)
        if field not in message:
            obj = json.loads(doc)
            obj["choices"][position]["message"][field] = text
            return dumps(obj).encode("utf-8")
        doc = replace(doc, path + [field], text)
        other = "content" if field == "refusal" else "refusal"
        if _text(message.get(other)):
            doc = replace(doc, path + [other], "")
        return doc.encode("utf-8")

    def _rebuild_stream(self, body: bytes, text: str, pieces: list[str] | None = None) -> bytes:
        return self._sync_messages(super()._rebuild_stream(body, text, pieces))

    def _sync_messages(self, body: bytes) -> bytes:
        """Make accumulated ``message.content`` fields (Perplexity) agree with the deltas."""
        edits, so_far = [], ""
        for event, obj in self._parsed(body):
            so_far += self._text_of(obj) or ""
            found = _choice(obj)
            if found is None:
                continue
            position, choice = found
            message = choice.get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str) and message["content"] != so_far:
                path: list[str | int] = ["choices", position, "message", "content"]
                edits.append((event, render(body, event, replace(event.payload, path, so_far))))
        return splice(body, edits)

    def with_null_text(self, response_body: bytes, *, stream: bool) -> bytes:
        """In a stream, also nulls the accumulated ``message.content`` beside each delta (Perplexity)."""
        body = super().with_null_text(response_body, stream=stream)
        if not stream:
            return body
        edits = []
        for event, obj in self._parsed(body):
            found = _choice(obj)
            message = found[1].get("message") if found else None
            if found and isinstance(message, dict) and isinstance(message.get("content"), str):
                path: list[str | int] = ["choices", found[0], "message", "content"]
                edits.append((event, render(body, event, replace(event.payload, path, None))))
        return splice(body, edits)

    def _set_text(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        position, choice = _carried_choice(obj)
        delta = choice.get("delta")
        if not isinstance(delta, dict) or "content" not in delta and "refusal" not in delta:
            fresh = json.loads(event.payload)
            fresh["choices"][position].setdefault("delta", {})["content"] = text
            return render(body, event, dumps(fresh))
        field = _answer_field(delta)
        path: list[str | int] = ["choices", position, "delta"]
        data = replace(event.payload, path + [field], text)
        other = "content" if field == "refusal" else "refusal"
        if _text(delta.get(other)):
            data = replace(data, path + [other], "")
        return render(body, event, data)

    def _clone(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        position, choice = _carried_choice(obj)
        old = choice.get("delta")
        if not isinstance(old, dict):
            old = {}
        delta = {"role": old["role"]} if "role" in old else {}
        delta[_answer_field(old)] = text
        data = event.payload
        if "delta" in choice:
            data = replace(data, ["choices", position, "delta"], delta)
        else:
            fresh = json.loads(data)
            fresh["choices"][position]["delta"] = delta
            data = dumps(fresh)
        for key in ("finish_reason", "native_finish_reason"):
            if choice.get(key) is not None:
                data = replace(data, ["choices", position, key], None)
        return render(body, event, data)

    def _carrier(self, parsed: list[tuple[Event, Any]]) -> int | None:
        return next((i for i, (_, obj) in enumerate(parsed) if _choice(obj)), None)

    def without_end_marker(self, response_body: bytes) -> bytes:
        """Drops ``data: [DONE]``, nulls every ``finish_reason`` and turns Perplexity's
        ``chat.completion.done`` object into a plain chunk."""
        edits = []
        for event, obj in self._parsed(response_body):
            if obj == _DONE:
                edits.append((event, b""))
            elif self._is_end(obj):
                edits.append((event, render(response_body, event, _unfinished(event.payload, obj))))
        return splice(response_body, edits)

    def other_answer_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """A stream as other servers stream the same answer (tests/data/wire_samples): its
        first and last text in the role and ``finish_reason`` chunks (Gemini's compatible
        endpoint, ``gemini-openai-compat-hello-stream.json``); ``"content": null`` in the
        chunks without text (api.openai.com beside a tool call,
        ``gpt4omini-toolcall-stream-usage.json``); a last chunk with empty ``choices`` that
        carries the usage (api.openai.com asked for usage, ``gpt4omini-ocean-stream-usage.json``);
        ``reasoning_content`` beside the answer, whole and streamed (deepseek-reasoner,
        ``deepseek-reasoner-hello-stream.json``)."""
        if not stream:
            with_reasoning = self._whole_with_reasoning(response_body)
            return [] if with_reasoning is None else [(REASONING_CASE, with_reasoning)]
        parsed = self._parsed(response_body)
        shapes = (
            (TEXT_IN_ROLE_AND_FINISH_CASE, self._text_in_role_and_finish_chunks(response_body, parsed)),
            (NULL_CONTENT_CASE, self._null_content_beside_text(response_body, parsed)),
            (USAGE_CHUNK_CASE, self._with_usage_chunk(response_body, parsed)),
            (REASONING_CASE, self._stream_with_reasoning(response_body, parsed)),
        )
        return [(label, body) for label, body in shapes if body is not None]

    def _whole_with_reasoning(self, body: bytes) -> bytes | None:
        """``message.reasoning_content`` beside the answer, as deepseek-reasoner answers."""
        try:
            position, message = self._message(load_object(body))
        except WireError:
            return None
        if "reasoning_content" in message or "reasoning" in message:
            return None
        fresh = json.loads(body)
        fresh["choices"][position]["message"]["reasoning_content"] = "".join(REASONING)
        return dumps(fresh).encode("utf-8")

    def _stream_with_reasoning(self, body: bytes, parsed: list[tuple[Event, Any]]) -> bytes | None:
        """Chunks of ``reasoning_content`` (their ``content`` null) before the first text, as
        deepseek-reasoner streams them (``deepseek-reasoner-hello-stream.json``)."""
        if any("reasoning_content" in _delta(obj) or "reasoning" in _delta(obj) for _, obj in parsed):
            return None
        first = next((i for i, (_, obj) in enumerate(parsed) if _text(_delta(obj).get("content"))), None)
        if first is None:
            return None
        event, obj = parsed[first]
        position = _carried_choice(obj)[0]
        chunks = []
        for piece in REASONING:
            chunk = json.loads(event.payload)
            chunk["choices"][position]["delta"] = {"content": None, "reasoning_content": piece}
            chunk["choices"][position]["finish_reason"] = None
            chunks.append(_sse.make(dumps(chunk), eol=_sse.line_end(body[event.start : event.end])))
        return splice(body, [(event, b"".join(chunks) + body[event.start : event.end])])

    def _text_in_role_and_finish_chunks(self, body: bytes, parsed: list[tuple[Event, Any]]) -> bytes | None:
        role = next((i for i, (_, obj) in enumerate(parsed) if "role" in _delta(obj)), None)
        finish = next((i for i, (_, obj) in enumerate(parsed) if obj != _DONE and self._finish(obj) is not None), None)
        texts = [i for i, (_, obj) in enumerate(parsed) if _text(_delta(obj).get("content"))]
        if role is None or finish is None or len(texts) < 2 or not role < texts[0] < texts[-1] < finish:
            return None
        first, last = parsed[texts[0]], parsed[texts[-1]]
        return splice(
            body,
            [
                (parsed[role][0], self._set_text(body, *parsed[role], _delta(first[1])["content"])),
                (first[0], b""),
                (last[0], b""),
                (parsed[finish][0], self._set_text(body, *parsed[finish], _delta(last[1])["content"])),
            ],
        )

    def _null_content_beside_text(self, body: bytes, parsed: list[tuple[Event, Any]]) -> bytes | None:
        edits = []
        for event, obj in parsed:
            found = _choice(obj) if obj != _DONE else None
            delta = _delta(obj)
            if found and not _text(delta.get("content")) and not _text(delta.get("refusal")):
                fresh = json.loads(event.payload)
                fresh["choices"][found[0]].setdefault("delta", {})["content"] = None
                edits.append((event, render(body, event, dumps(fresh))))
        return splice(body, edits) if edits else None

    def _with_usage_chunk(self, body: bytes, parsed: list[tuple[Event, Any]]) -> bytes | None:
        chunks = [(event, obj) for event, obj in parsed if isinstance(obj, dict)]
        if not chunks or any(_usage_of(obj) is not None or obj.get("choices") == [] for _, obj in chunks):
            return None
        last = chunks[-1][1]
        chunk = {key: last[key] for key in ("id", "object", "created", "model", "system_fingerprint") if key in last}
        chunk.update(choices=[], usage=dict(_RECORDED_USAGE))
        done = next((event for event, obj in parsed if obj == _DONE), None)
        at = done.start if done is not None else len(body)
        return body[:at] + _sse.make(dumps(chunk), eol=_sse.line_end(body)) + body[at:]

    def other_usage_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """For a stream that states its counts: every chunk stating them too, a running total
        (the prompt count, and a completion count that grows to the final one), as Perplexity
        streams them (tests/data/wire_samples/openai-compatible/perplexity-sonar-count-stream.json).
        A reader that adds them up, or keeps the first, reports other counts."""
        stated = self.usage(response_body, stream=True) if stream else None
        if stated is None:
            return []
        prompt, completion = stated["prompt_tokens"], stated["completion_tokens"]
        parsed = self._dicts(response_body)
        chunks = [i for i, (_, obj) in enumerate(parsed) if _is_chunk(obj) and obj["choices"] and not _usage_of(obj)]

        def edit(i: int, doc: str, obj: Any) -> str:
            if i not in chunks:
                return doc
            so_far = min(completion, chunks.index(i) + 1)
            running = {"prompt_tokens": prompt, "completion_tokens": so_far, "total_tokens": prompt + so_far}
            return dumps({**obj, "usage": running})

        return [(RUNNING_USAGE_CASE, self._edited_stream(response_body, parsed, edit))] if chunks else []

    def other_endings(self, response_body: bytes) -> list[tuple[str, bytes]]:
        """Without ``data: [DONE]``, ended by the last chunk's ``finish_reason`` alone, as
        Perplexity ends every stream (tests/data/wire_samples/openai-compatible/
        perplexity-sonar-count-stream.json)."""
        parsed = self._parsed(response_body)
        done = [(event, b"") for event, obj in parsed if obj == _DONE]
        finished = any(self._is_end(obj) for _, obj in parsed if obj != _DONE)
        if not done or not finished:
            return []
        label = "without [DONE], ended by its finish_reason (as Perplexity ends its streams)"
        return [(label, splice(response_body, done))]

    def _error_event(self, body: bytes, event: Event, obj: Any, message: str | None) -> bytes:
        """A chunk with an ``error`` object, shaped like OpenRouter's (see the wire samples)."""
        template = obj if isinstance(obj, dict) else {}
        chunk: dict[str, Any] = {k: template[k] for k in ("id", "provider") if k in template}
        chunk["error"] = {"code": 502, "message": "Provider returned error" if message is None else message}
        chunk.update({k: template[k] for k in ("model", "object", "created") if k in template})
        chunk["object"] = "chat.completion.chunk"
        choice: dict[str, Any] = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        old = _choice(template)
        if old and "native_finish_reason" in old[1]:
            choice["native_finish_reason"] = None
        chunk["choices"] = [choice]
        return _sse.make(dumps(chunk), eol=_sse.line_end(body[event.start : event.end]))

    def _error_trailer(self, body: bytes, parsed: list[tuple[Event, Any]]) -> bytes:
        # OpenRouter still closes such a stream with [DONE].
        if not any(obj == _DONE for _, obj in parsed):
            return b""
        return _sse.make(_DONE, eol=_sse.line_end(body))

    def error_body(self, status: int, message: str | None = None) -> tuple[bytes, str]:
        """``{"error": {"message", "type", "param", "code"}}``, pretty-printed as api.openai.com does."""
        default = ("HTTP error", "server_error" if status >= 500 else "invalid_request_error", None, None)
        usual, kind, param, code = _ERRORS.get(status, default)
        message = usual if message is None else message
        error = {"message": message, "type": kind, "param": param, "code": code}
        body = json.dumps({"error": error}, indent=4, ensure_ascii=False) + "\n"
        return body.encode("utf-8"), "application/json; charset=utf-8"

    def refusal_body(self, refusal: str, model: str) -> bytes | None:
        """A chat.completion with ``content: null`` and ``refusal`` set, pretty-printed with
        the keys of the structured-output refusal api.openai.com sent for gpt-4o
        (tests/data/wire_samples/openai/gpt4o-refusal-nonstream.json)."""
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": refusal, "annotations": []}
        usage = {
            "prompt_tokens": 64,
            "completion_tokens": 13,
            "total_tokens": 77,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        completion = {
            "id": "chatcmpl-laiosconformancerefusal0",
            "object": "chat.completion",
            "created": 1760729432,
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": "fp_cbf1785567",
        }
        return (json.dumps(completion, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def other_error_bodies(self, message: str) -> list[ErrorShape]:
        """Mistral's ``{"detail": "..."}`` (a FastAPI server's usual error), a FastAPI
        server's 422 validation list, and OpenRouter's upstream error, whose own ``message``
        is only "Provider returned error" and whose cause is in ``error.metadata.raw``.
        Shaped like the recordings in tests/data/wire_samples, and FastAPI's documented
        ``RequestValidationError`` response for the list."""
        validation = [{"type": "missing", "loc": ["body", "messages"], "msg": message, "input": None}]
        upstream = {"provider_name": "Google", "raw": message}
        shapes = (
            ('HTTP 401 in Mistral\'s {"detail": ...}', 401, {"detail": message}),
            ("HTTP 422 in a FastAPI server's validation list", 422, {"detail": validation}),
            (
                "HTTP 429 from OpenRouter, its cause in error.metadata.raw",
                429,
                {
                    "error": {"code": 429, "message": "Provider returned error", "metadata": upstream},
                    "user_id": "user_REDACTED",
                },
            ),
        )
        return [
            ErrorShape(label, status, (dumps(body) + "\n").encode("utf-8"), "application/json")
            for label, status, body in shapes
        ]


def _usage_of(obj: Any) -> dict[str, Any] | None:
    """The counts an object states: its ``usage``, or in a Groq stream ``x_groq.usage``
    (tests/data/wire_samples/openai-compatible/groq-llama3-hello-stream.json)."""
    usage = obj.get("usage") if isinstance(obj, dict) else None
    return usage if isinstance(usage, dict) else _groq_usage(obj)


def _groq_usage(obj: Any) -> dict[str, Any] | None:
    groq = obj.get("x_groq") if isinstance(obj, dict) else None
    usage = groq.get("usage") if isinstance(groq, dict) else None
    return usage if isinstance(usage, dict) else None


def _is_chunk(obj: Any) -> bool:
    return isinstance(obj, dict) and str(obj.get("object", "")).startswith("chat.completion")


def _asks_chat(request_body: bytes) -> bool:
    try:
        request = json.loads(request_body or b"null")
    except ValueError:
        return False
    return isinstance(request, dict) and "messages" in request


def _unfinished(data: str, obj: dict[str, Any]) -> str:
    if obj.get("object") == "chat.completion.done":
        data = replace(data, ["object"], "chat.completion.chunk")
    for position, choice in enumerate(obj.get("choices") or []):
        for key in ("finish_reason", "native_finish_reason"):
            if isinstance(choice, dict) and choice.get(key) is not None:
                data = replace(data, ["choices", position, key], None)
    return data
