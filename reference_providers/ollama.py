"""Ollama's native chat API over plain httpx.

``OllamaClient(model=DEFAULT_MODEL, base_url="http://localhost:11434", timeout=60, keep_alive="30m",
num_ctx=None)``; no vendor SDK is used at run time, and no key is needed.

Wire format decisions
---------------------
Request
    ``POST {base_url}/api/chat`` (the ``/api/generate`` completion endpoint is not used).
    Body: ``model``, ``messages`` (role/content strings in the caller's order),
    ``stream`` always explicit (Ollama streams when it is left out), ``options`` with
    ``temperature`` and ``num_predict`` (= ``max_tokens``) and ``num_ctx`` when set, and
    ``keep_alive`` unless it is None. Nothing is omitted for any model
    (``conformance_profile["omits_params"]`` is empty).
Answer
    ``message.content``. ``message.thinking`` (thinking models) is not the answer and is
    dropped; a reply with ``tool_calls`` but no text, or empty content, raises
    ResponseFormatError.
finish_reason and usage
    ``finish_reason`` is ``done_reason`` as sent (``stop``, ``length``, ``load``...).
    ``usage`` is ``prompt_eval_count`` -> ``prompt_tokens`` and ``eval_count`` ->
    ``completion_tokens``. ``metadata`` carries ``served_model``, ``created_at`` and
    ``total_duration`` (ns).
Streams
    NDJSON, one object a line, read from the byte stream (split UTF-8 characters
    handled). Each ``message.content`` is yielded as it arrives; the object with
    ``"done": true`` ends the stream. A line ``{"error": "..."}`` (Ollama reports
    mid-stream failures that way, status still 200) raises StreamError; a stream that
    ends without ``done: true`` was truncated and raises StreamError; a stream without
    text raises ResponseFormatError.
Errors
    Error bodies are ``{"error": "..."}``: 404 for an unknown model
    (``model "x" not found, try pulling it first``) is NotFoundError. No retries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from laios_conformance.base.client import LLMResponse

from ._errors import ResponseFormatError, StreamError
from ._http import HTTPProvider
from ._wire import error_in_body, message_dicts, usage_dict

__all__ = ["DEFAULT_BASE_URL", "OllamaClient"]

DEFAULT_BASE_URL = "http://localhost:11434"
PROVIDER = "ollama"


# The model used when none is given; the committed cassettes were recorded with it.
DEFAULT_MODEL = "llama3.1"


class OllamaClient(HTTPProvider):
    """LAIOS client for a local (or remote) Ollama server's ``/api/chat``."""

    provider_name = PROVIDER

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 60,
        keep_alive: str | int | float | None = "30m",
        num_ctx: int | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``transport`` is for tests only (e.g. ``httpx.MockTransport``)."""
        super().__init__(
            model,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            transport=transport,
            keep_alive=keep_alive,
            num_ctx=num_ctx,
        )
        self.keep_alive = keep_alive
        self.num_ctx = num_ctx

    @property
    def conformance_profile(self) -> dict[str, Any]:
        """Nothing is omitted: temperature -> options.temperature, max_tokens -> options.num_predict."""
        return {"omits_params": {}, "max_tokens_key": "options.num_predict", "streams": True}

    def _body(self, messages: Any, temperature: float | None, max_tokens: int | None, stream: bool) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if temperature is not None:
            options["temperature"] = temperature
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        if self.num_ctx is not None:
            options["num_ctx"] = self.num_ctx
        body: dict[str, Any] = {"model": self.model, "messages": message_dicts(messages), "stream": stream}
        body["options"] = options
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        return body

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        """One non-streamed chat reply."""
        payload = self._post_json("/api/chat", self._body(messages, temperature, max_tokens, False))
        return parse_chat(payload, self.model)

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        """Yield the reply's text pieces as the server sends them."""
        body = self._body(messages, temperature, max_tokens, True)
        with self._stream_lines("/api/chat", body) as lines:
            yield from stream_text(lines, self._json_line, self._redact)


# --- parsing (pure functions) ---------------------------------------------------------


def _message(payload: dict[str, Any]) -> dict[str, Any]:
    message = payload.get("message")
    if not isinstance(message, dict):
        raise ResponseFormatError("chat reply has no message object", provider=PROVIDER)
    return message


def parse_chat(payload: dict[str, Any], requested_model: str) -> LLMResponse:
    """An LLMResponse from a non-streamed ``/api/chat`` reply, or the documented error."""
    message = _message(payload)
    text = message.get("content")
    done_reason = payload.get("done_reason")
    if not isinstance(text, str) or not text:
        what = "tool calls but no text" if message.get("tool_calls") else "empty content"
        raise ResponseFormatError(f"chat reply has {what} (done_reason={done_reason!r})", provider=PROVIDER)
    served = payload.get("model")
    return LLMResponse(
        content=text,
        model=served if isinstance(served, str) and served else requested_model,
        finish_reason=done_reason if isinstance(done_reason, str) else None,
        usage=usage_dict(payload.get("prompt_eval_count"), payload.get("eval_count")),
        metadata={
            "served_model": served,
            "created_at": payload.get("created_at"),
            "total_duration": payload.get("total_duration"),
        },
    )


def stream_text(lines: Iterable[str], load: Any, redact: Any) -> Iterator[str]:
    """Yield the text of an ``/api/chat`` NDJSON stream; raise if it errs, is cut, or is empty."""
    done, yielded, done_reason = False, False, None
    for line in lines:
        if not line.strip():
            continue
        chunk = load(line, "stream line")
        if chunk.get("error"):
            raise error_in_body(PROVIDER, chunk, in_stream=True, redact=redact)
        text = _message(chunk).get("content") if "message" in chunk else None
        if isinstance(text, str) and text:
            yielded = True
            yield text
        if chunk.get("done") is True:
            done, done_reason = True, chunk.get("done_reason")
            break
    if not done:
        raise StreamError('stream ended without "done": true (truncated)', provider=PROVIDER, retryable=True)
    if not yielded:
        raise ResponseFormatError(f"stream carried no text (done_reason={done_reason!r})", provider=PROVIDER)
