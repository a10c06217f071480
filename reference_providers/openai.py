"""OpenAI Chat Completions over plain httpx: api.openai.com and every OpenAI-compatible server.

``OpenAIClient(model=DEFAULT_MODEL, base_url=None, timeout=60, api_key=None)`` speaks the protocol that
OpenAI, Groq, Together, DeepSeek, Cerebras, OpenRouter, Mistral, Perplexity, vLLM, LM
Studio, llama.cpp and Ollama's ``/v1`` share. No vendor SDK is used at run time.

Wire format decisions
---------------------
Request
    ``POST {base_url}/chat/completions``; ``base_url`` defaults to
    ``https://api.openai.com/v1``. Body: ``model``, ``messages`` (role/content strings, in
    the caller's order), ``stream`` (always explicit) and the sampling limits of the model
    table: reasoning models (o1/o3/o4 families and gpt-5 and later, dated and ``-mini``
    variants included) get ``max_completion_tokens`` and no ``temperature`` (they reject
    a non-default one); every other model gets ``temperature`` and ``max_tokens``. The
    table is ``conformance_profile``. No ``stream_options``: some compatible servers
    reject it, and LAIOS streams return text only. Extra keyword arguments are accepted
    for interface compatibility and not sent.
Key
    ``Authorization: Bearer <key>`` from ``api_key`` or ``OPENAI_API_KEY``. A missing key
    is an AuthenticationError at construction, unless ``base_url`` is loopback
    (``localhost``, 127.0.0.0/8, ``::1``): local servers need none and get no header.
Answer
    ``choices[0].message.content`` (the choice with ``index`` 0 when ``n`` > 1). Text
    parts are joined if a server sends content as a list. ``reasoning`` /
    ``reasoning_content`` are the model's scratchpad, not the answer, and are dropped.
    Unknown fields (``x_groq``, ``citations``, ``obfuscation``...) are ignored. Leading
    blank lines before the JSON (OpenRouter) are fine.
Refusal
    A non-empty ``message.refusal`` (``content`` is then null) raises ProviderRefusal
    carrying the refusal text: LAIOS callers must never receive empty content, and a
    refusal is not a transport or format fault, so it gets its own class.
Empty answer
    ``content`` "" or null otherwise (``finish_reason: "length"`` after a reasoning model
    spent its budget, tool-call-only answers) raises ResponseFormatError naming the
    finish_reason. Content is never stripped; whitespace is text.
finish_reason and usage
    ``finish_reason`` is passed through as the server sends it (``stop``, ``length``,
    ``tool_calls``, ``content_filter``, Together's ``eos``...). ``usage`` is the server's
    prompt/completion/total tokens (total computed if missing; None without usage).
    ``metadata`` carries the response ``id`` and the ``served_model``.
Streams
    Server-sent events read line by line from the byte stream (CRLF or LF, split UTF-8
    characters, comment lines such as ``: OPENROUTER PROCESSING`` all handled). Each
    ``delta.content`` of choice 0 is yielded as it arrives; reasoning deltas and
    Perplexity's accumulated ``message`` are ignored. ``data: [DONE]`` ends the stream.
    Servers that never send ``[DONE]`` (Perplexity) end cleanly if a ``finish_reason``
    was seen or an object of type ``chat.completion.done`` arrived; otherwise the stream
    was truncated and StreamError is raised. A chunk carrying an ``error`` object (an
    OpenRouter 200 stream) or an ``event: error`` raises StreamError. Refusal deltas
    raise ProviderRefusal at the end; a stream without any text raises
    ResponseFormatError. A 200 answer that is one JSON document instead of a stream
    raises the error it carries (StreamError), or ResponseFormatError.
Errors
    See ``reference_providers._errors``; bodies ``{"error": {...}}`` with string or
    numeric ``code``, Mistral's ``{"detail": ...}``, and bodies whatever their
    content type (e.g. ``application/octet-stream``) are all read. No retries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from laios_conformance.base.client import LLMResponse

from ._errors import ProviderRefusal, ResponseFormatError, StreamError
from ._http import HTTPProvider, resolve_api_key
from ._wire import error_in_body, guard_sse, iter_sse, json_object, message_dicts, usage_dict

__all__ = ["DEFAULT_BASE_URL", "OpenAIClient", "is_reasoning_model"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PROVIDER = "openai"
_REASONING = re.compile(r"^(?:o[1-9]\d*|gpt-(?:[5-9]|\d{2,}))(?:[.-][\w.:-]*)?$")
_TEMPERATURE_REASON = "reasoning models reject a non-default temperature"


def is_reasoning_model(model: str) -> bool:
    """True for o-series and gpt-5-and-later names, also behind ``openai/`` or ``ft:``."""
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return bool(_REASONING.match(name.rsplit("/", 1)[-1]))


# The model used when none is given; the committed cassettes were recorded with it.
DEFAULT_MODEL = "gpt-4o-mini"


class OpenAIClient(HTTPProvider):
    """LAIOS client for OpenAI Chat Completions and OpenAI-compatible servers."""

    provider_name = PROVIDER

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = 60,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``transport`` is for tests only (e.g. ``httpx.MockTransport``)."""
        base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        key = resolve_api_key(api_key, "OPENAI_API_KEY", base_url, PROVIDER)
        super().__init__(model, base_url=base_url, timeout=timeout, api_key=key, transport=transport)

    @property
    def conformance_profile(self) -> dict[str, Any]:
        """Parameters left out for this model, and the body key carrying ``max_tokens``."""
        if is_reasoning_model(self.model):
            omits, key = {"temperature": _TEMPERATURE_REASON}, "max_completion_tokens"
        else:
            omits, key = {}, "max_tokens"
        return {"omits_params": omits, "max_tokens_key": key, "streams": True}

    def _headers(self) -> dict[str, str]:
        headers = super()._headers()
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key.reveal()}"
        return headers

    def _body(self, messages: Any, temperature: float | None, max_tokens: int | None, stream: bool) -> dict[str, Any]:
        profile = self.conformance_profile
        body: dict[str, Any] = {"model": self.model, "messages": message_dicts(messages), "stream": stream}
        if temperature is not None and "temperature" not in profile["omits_params"]:
            body["temperature"] = temperature
        if max_tokens is not None:
            body[profile["max_tokens_key"]] = max_tokens
        return body

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        """One non-streamed chat completion."""
        payload = self._post_json("/chat/completions", self._body(messages, temperature, max_tokens, False))
        return parse_completion(payload, self.model)

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        """Yield the answer's text deltas as the server sends them."""
        body = self._body(messages, temperature, max_tokens, True)
        with self._stream_lines("/chat/completions", body) as lines:
            events = iter_sse(guard_sse(lines, self.provider_name, self._redact))
            yield from stream_text(events, self._json_line, self._redact)


# --- parsing (pure functions) ---------------------------------------------------------


def _choice_zero(choices: Any) -> dict[str, Any] | None:
    if not isinstance(choices, list):
        return None
    dicts = [c for c in choices if isinstance(c, dict)]
    return next((c for c in dicts if c.get("index", 0) == 0), dicts[0] if dicts else None)


def _content_text(content: Any) -> str | None:
    """The text of ``content``: a string, or the joined text of a list of parts."""
    if isinstance(content, str) or content is None:
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type", "text") == "text"]
        return "".join(p for p in parts if isinstance(p, str))
    raise ResponseFormatError(f"message content has unexpected type {type(content).__name__}", provider=PROVIDER)


def parse_completion(payload: dict[str, Any], requested_model: str) -> LLMResponse:
    """An LLMResponse from a chat.completion object, or the documented error."""
    choice = _choice_zero(payload.get("choices")) or {}
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ResponseFormatError("completion has no choices[0].message", provider=PROVIDER)
    finish_reason = choice.get("finish_reason")
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        raise ProviderRefusal(refusal, provider=PROVIDER, error_type="refusal")
    text = _content_text(message.get("content"))
    if not text:
        what = "tool calls but no text" if message.get("tool_calls") else "empty content"
        raise ResponseFormatError(f"completion has {what} (finish_reason={finish_reason!r})", provider=PROVIDER)
    usage = json_object(payload.get("usage"))
    served = payload.get("model")
    return LLMResponse(
        content=text,
        model=served if isinstance(served, str) and served else requested_model,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        usage=usage_dict(usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens")),
        metadata={"id": payload.get("id"), "served_model": served},
    )


class _StreamState:
    """What a stream has shown so far: end markers seen, text yielded, refusal pieces."""

    def __init__(self) -> None:
        self.done = False
        self.finish_reason: str | None = None
        self.yielded = False
        self.refusal: list[str] = []


def _chunk_text(chunk: dict[str, Any], state: _StreamState) -> str | None:
    """The text delta of choice 0 in one chunk; records finish_reason and refusal pieces."""
    if chunk.get("object") == "chat.completion.done":  # Perplexity's last object, no [DONE]
        state.done = True
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        choices = []
    choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
    if choice is None:
        return None
    if isinstance(choice.get("finish_reason"), str):
        state.finish_reason = choice["finish_reason"]
    delta = json_object(choice.get("delta"))
    if isinstance(delta.get("refusal"), str):
        state.refusal.append(delta["refusal"])
    return _content_text(delta.get("content"))


def _error_event(data: str, load: Any) -> dict[str, Any]:
    """The payload of an ``event: error`` SSE event, shaped as ``{"error": ...}``."""
    payload = load(data, "stream error event") if data else {}
    return payload if payload.get("error") else {"error": payload or {"message": "stream reported an error"}}


def stream_text(events: Iterable[Any], load: Any, redact: Any) -> Iterator[str]:
    """Yield the text of an OpenAI-style SSE stream; raise if it errs, is cut, or is empty.

    ``load(data, what)`` parses one data field into a dict (raising ResponseFormatError);
    ``redact`` hides the API key in error messages.
    """
    state = _StreamState()
    for event in events:
        data = event.data.strip()
        if data == "[DONE]":
            state.done = True
            break
        if event.event == "error":
            raise error_in_body(PROVIDER, _error_event(data, load), in_stream=True, redact=redact)
        if not data:
            continue
        chunk = load(data, "stream chunk")
        if chunk.get("error"):
            raise error_in_body(PROVIDER, chunk, in_stream=True, redact=redact)
        text = _chunk_text(chunk, state)
        if text:
            state.yielded = True
            yield text
        if state.done:
            break
    _check_stream_end(state)


def _check_stream_end(state: _StreamState) -> None:
    if state.refusal and "".join(state.refusal):
        raise ProviderRefusal("".join(state.refusal), provider=PROVIDER, error_type="refusal")
    if not state.done and state.finish_reason is None:
        raise StreamError(
            "stream ended without [DONE] or a finish_reason (truncated)", provider=PROVIDER, retryable=True
        )
    if not state.yielded:
        raise ResponseFormatError(f"stream carried no text (finish_reason={state.finish_reason!r})", provider=PROVIDER)
