"""Anthropic Messages API over plain httpx.

``AnthropicClient(model=DEFAULT_MODEL, timeout=60, api_key=None, base_url=None)``; no vendor SDK is used
at run time.

Wire format decisions
---------------------
Request
    ``POST {base_url}/v1/messages``; ``base_url`` defaults to ``https://api.anthropic.com``
    (without ``/v1``, as in Anthropic's SDKs). Headers ``x-api-key`` and
    ``anthropic-version: 2023-06-01``. Body: ``model``, ``max_tokens`` (always: the API
    requires it), ``messages`` (user/assistant turns in the caller's order, consecutive
    same-role turns left as they are), ``stream`` (always explicit), ``system`` when the
    conversation has system messages (all of them, in order, joined with a blank line:
    the API has no system role inside ``messages``), and ``temperature`` unless the
    model table omits it. Other roles raise ValueError before any request.
Model table (``conformance_profile``)
    Claude Opus 4.7 and later, every Claude family at version 5 or later (Sonnet 5,
    Fable 5, Opus 5, ...) answer 400 to ``temperature``, so it is not sent to them. The
    family and version are parsed from names such as ``claude-opus-4-7``,
    ``claude-opus-4-7-20260101``, ``claude-sonnet-5-1``, also behind Bedrock/Vertex/
    OpenRouter prefixes; older names (``claude-3-haiku-20240307``, ``claude-sonnet-4-5``,
    ``claude-opus-4-6``) and unparseable ones do send it.
Key
    From ``api_key`` or ``ANTHROPIC_API_KEY``; missing is an AuthenticationError at
    construction unless ``base_url`` is loopback (a local proxy or emulator).
Answer
    The concatenated ``text`` of all ``text`` content blocks; ``thinking``,
    ``redacted_thinking`` and ``tool_use`` blocks are not the answer. No text raises
    ResponseFormatError. ``stop_reason: "refusal"`` raises ProviderRefusal (as the OpenAI
    client does for ``refusal``).
finish_reason and usage
    ``finish_reason`` is Anthropic's ``stop_reason`` passed through unmapped
    (``end_turn``, ``max_tokens``, ``stop_sequence``, ``tool_use``, ``pause_turn``...):
    mapping would lose distinctions (``stop_sequence`` vs ``end_turn``) and every
    reference provider reports its server's own vocabulary. ``usage`` is
    ``input_tokens`` -> ``prompt_tokens`` and ``output_tokens`` -> ``completion_tokens``
    (cache read/creation tokens are not included, as Anthropic reports them apart).
    ``metadata`` carries ``id``, ``served_model`` and ``stop_sequence``.
Streams
    SSE ``event:``/``data:`` pairs. ``content_block_delta`` with ``text_delta`` is yielded
    as it arrives (a non-empty ``content_block_start`` text too); ``thinking_delta``,
    ``signature_delta``, ``input_json_delta``, ``ping`` and unknown events are ignored
    (Anthropic may add event types). ``message_delta`` carries the ``stop_reason``;
    ``message_stop`` ends the stream. An ``error`` event raises StreamError (retryable
    for ``overloaded_error``/``api_error``); a stream that ends without
    ``message_stop`` was truncated and raises StreamError; a stream without text raises
    ResponseFormatError; a 200 answer that is one JSON document instead of a stream
    raises the error it carries (StreamError), or ResponseFormatError. No retries.
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

__all__ = ["ANTHROPIC_VERSION", "AnthropicClient", "DEFAULT_BASE_URL", "omits_temperature"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
PROVIDER = "anthropic"
_NAME = re.compile(r"claude-([a-z]+)-(\d+)(?:[.-](\d{1,2})(?!\d))?(?!\d)", re.IGNORECASE)
# (major, minor) from which a family rejects temperature; other families: version 5.
_NO_TEMPERATURE_FROM = {"opus": (4, 7)}
_TEMPERATURE_REASON = "Claude Opus 4.7+ and version-5+ models answer 400 to temperature"


def _family_version(model: str) -> tuple[str, tuple[int, int]] | None:
    match = _NAME.search(model)
    if match is None:
        return None
    family, major, minor = match.groups()
    return family.lower(), (int(major), int(minor or 0))


def omits_temperature(model: str) -> bool:
    """True for models that reject ``temperature`` (Opus 4.7+, any family at 5+)."""
    parsed = _family_version(model)
    if parsed is None:
        return False
    family, version = parsed
    return version >= _NO_TEMPERATURE_FROM.get(family, (5, 0))


def split_system(messages: Any) -> tuple[str | None, list[dict[str, str]]]:
    """The joined system prompt, and the user/assistant turns in order."""
    system: list[str] = []
    turns: list[dict[str, str]] = []
    for message in message_dicts(messages):
        if message["role"] == "system":
            system.append(message["content"])
        elif message["role"] in ("user", "assistant"):
            turns.append(message)
        else:
            raise ValueError(f"Anthropic messages take roles system/user/assistant, not {message['role']!r}")
    if not turns:
        raise ValueError("Anthropic needs at least one user or assistant message")
    return ("\n\n".join(system) if system else None), turns


# The model used when none is given; the committed cassettes were recorded with it.
DEFAULT_MODEL = "claude-3-haiku-20240307"


class AnthropicClient(HTTPProvider):
    """LAIOS client for the Anthropic Messages API."""

    provider_name = PROVIDER

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        timeout: float = 60,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``transport`` is for tests only (e.g. ``httpx.MockTransport``)."""
        base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        key = resolve_api_key(api_key, "ANTHROPIC_API_KEY", base_url, PROVIDER)
        super().__init__(model, base_url=base_url, timeout=timeout, api_key=key, transport=transport)

    @property
    def conformance_profile(self) -> dict[str, Any]:
        """Parameters left out for this model; ``max_tokens`` is always sent."""
        omits = {"temperature": _TEMPERATURE_REASON} if omits_temperature(self.model) else {}
        return {"omits_params": omits, "max_tokens_key": "max_tokens", "streams": True}

    def _headers(self) -> dict[str, str]:
        headers = super()._headers()
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if self._api_key is not None:
            headers["x-api-key"] = self._api_key.reveal()
        return headers

    def _body(self, messages: Any, temperature: float | None, max_tokens: int, stream: bool) -> dict[str, Any]:
        system, turns = split_system(messages)
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "messages": turns, "stream": stream}
        if system is not None:
            body["system"] = system
        if temperature is not None and not omits_temperature(self.model):
            body["temperature"] = temperature
        return body

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        """One non-streamed message."""
        payload = self._post_json("/v1/messages", self._body(messages, temperature, max_tokens, False))
        return parse_message(payload, self.model)

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        """Yield the answer's text deltas as the server sends them."""
        body = self._body(messages, temperature, max_tokens, True)
        with self._stream_lines("/v1/messages", body) as lines:
            events = iter_sse(guard_sse(lines, self.provider_name, self._redact))
            yield from stream_text(events, self._json_line, self._redact)


# --- parsing (pure functions) ---------------------------------------------------------


def _text_of(blocks: Any) -> str:
    if not isinstance(blocks, list):
        raise ResponseFormatError("message has no content list", provider=PROVIDER)
    texts = [b.get("text") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    return "".join(t for t in texts if isinstance(t, str))


def _refusal(text: str) -> ProviderRefusal:
    message = text or "the model declined to answer (stop_reason=refusal)"
    return ProviderRefusal(message, provider=PROVIDER, error_type="refusal")


def parse_message(payload: dict[str, Any], requested_model: str) -> LLMResponse:
    """An LLMResponse from a Messages API ``message`` object, or the documented error."""
    text = _text_of(payload.get("content"))
    stop_reason = payload.get("stop_reason")
    if stop_reason == "refusal":
        raise _refusal(text)
    if not text:
        kinds = sorted(
            kind for kind in {b.get("type") for b in payload["content"] if isinstance(b, dict)} if kind is not None
        )
        raise ResponseFormatError(
            f"message has no text (blocks={kinds}, stop_reason={stop_reason!r})", provider=PROVIDER
        )
    usage = json_object(payload.get("usage"))
    served = payload.get("model")
    return LLMResponse(
        content=text,
        model=served if isinstance(served, str) and served else requested_model,
        finish_reason=stop_reason if isinstance(stop_reason, str) else None,
        usage=usage_dict(usage.get("input_tokens"), usage.get("output_tokens")),
        metadata={"id": payload.get("id"), "served_model": served, "stop_sequence": payload.get("stop_sequence")},
    )


def _event_text(name: str | None, data: dict[str, Any]) -> str | None:
    """The answer text an event carries, if any."""
    if name == "content_block_delta":
        delta = json_object(data.get("delta"))
        return delta.get("text") if delta.get("type") == "text_delta" else None
    if name == "content_block_start":
        block = json_object(data.get("content_block"))
        return block.get("text") if block.get("type") == "text" else None
    return None


def _stop_reason(data: dict[str, Any]) -> str | None:
    delta = json_object(data.get("delta"))
    reason = delta.get("stop_reason")
    return reason if isinstance(reason, str) else None


def stream_text(events: Iterable[Any], load: Any, redact: Any) -> Iterator[str]:
    """Yield the text of a Messages API SSE stream; raise if it errs, is cut, or is empty.

    ``load(data, what)`` parses one data field into a dict (raising ResponseFormatError);
    ``redact`` hides the API key in error messages.
    """
    stopped, stop_reason, yielded = False, None, False
    for event in events:
        data = load(event.data, "stream event") if event.data.strip() else {}
        name = event.event or data.get("type")
        if name == "error":
            raise error_in_body(PROVIDER, data if data.get("error") else {"error": data}, in_stream=True, redact=redact)
        if name == "message_stop":
            stopped = True
            break
        if name == "message_delta":
            stop_reason = _stop_reason(data) or stop_reason
        text = _event_text(name, data)
        if isinstance(text, str) and text:
            yielded = True
            yield text
    if not stopped:
        raise StreamError("stream ended without message_stop (truncated)", provider=PROVIDER, retryable=True)
    if stop_reason == "refusal":
        raise _refusal("")
    if not yielded:
        raise ResponseFormatError(f"stream carried no text (stop_reason={stop_reason!r})", provider=PROVIDER)
