"""Defective providers of Anthropic's Messages API.

Each class is the reference :class:`AnthropicClient` (which passes the whole contract) with
one bad habit; its docstring names the clause it must fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from laios_conformance import LLMResponse
from reference_providers._errors import ProviderError, RateLimitError, ServerError, StreamError
from reference_providers._wire import SSEEvent, guard_sse, iter_lines, iter_sse, message_dicts
from reference_providers.anthropic import AnthropicClient, parse_message, stream_text

from ._retries import stream_with_retries, with_retries
from .careful_anthropic import FiltersStreamEvents


class DropsAnthropicVersion(AnthropicClient):
    """Fails headers-reach-request: sends no ``anthropic-version``, which Anthropic's API
    requires on every request (it answers 400); replay does not match on headers."""

    def _headers(self) -> dict[str, str]:
        headers = super()._headers()
        del headers["anthropic-version"]
        return headers


class OldAnthropicVersion(AnthropicClient):
    """Fails headers-reach-request: asks for API version ``2023-01-01`` (copied from an old
    example), whose streams repeat the whole text so far in each event, while the cassettes
    were recorded with ``2023-06-01`` and show deltas."""

    def _headers(self) -> dict[str, str]:
        return {**super()._headers(), "anthropic-version": "2023-01-01"}


class _LeavesOutMaxTokensOfNone(AnthropicClient):
    """The reference client, its body without ``max_tokens`` when given None: the base for
    providers whose calls default ``max_tokens`` to None."""

    def _body(self, messages: Any, temperature: float | None, max_tokens: int | None, stream: bool) -> dict[str, Any]:
        body = super()._body(messages, temperature, max_tokens, stream)  # type: ignore[arg-type]  # None on purpose: the defect
        if max_tokens is None:
            del body["max_tokens"]
        return body


class MaxTokensOnlyWhenGiven(_LeavesOutMaxTokensOfNone):
    """Fails params-reach-request: sends ``max_tokens`` only when the caller gives one (the
    OpenAI habit of leaving the API's default); Anthropic requires it and answers 400 to
    every call without it, which replay of calls that pass it never shows."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int | None = None, **kwargs: Any) -> Any:
        return super().generate(messages, temperature, max_tokens, **kwargs)  # type: ignore[arg-type]  # None on purpose: the defect


class StreamMaxTokensOnlyWhenGiven(_LeavesOutMaxTokensOfNone):
    """Fails params-reach-request: ``generate_stream`` sends ``max_tokens`` only when the
    caller gives one; ``generate`` always does. Anthropic answers 400 to every stream
    without it."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int | None = None, **kwargs: Any
    ) -> Iterator[str]:
        return super().generate_stream(messages, temperature, max_tokens, **kwargs)  # type: ignore[arg-type]  # None on purpose: the defect


class SendsNullMaxTokens(AnthropicClient):
    """Fails params-reach-request: ``max_tokens: int | None = None`` passed through to the
    body, so a caller who gives none sends ``"max_tokens": null``, which Anthropic answers
    with 400 (an integer is required), from ``generate`` and ``generate_stream`` alike."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int | None = None, **kwargs: Any) -> Any:
        return super().generate(messages, temperature, max_tokens, **kwargs)  # type: ignore[arg-type]  # None on purpose: the defect

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int | None = None, **kwargs: Any
    ) -> Iterator[str]:
        return super().generate_stream(messages, temperature, max_tokens, **kwargs)  # type: ignore[arg-type]  # None on purpose: the defect


class SystemMessagesPassedThrough(AnthropicClient):
    """Fails message-fidelity: ``generate_with_system`` sends the top-level ``system``
    field, but ``generate`` copies the caller's messages as they are, a ``system`` turn
    included, which Anthropic's API answers 400 (the kit's recorded calls have none)."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Any:
        body = self._body([{"role": "user", "content": user_message}], temperature, max_tokens, False)
        return parse_message(self._post_json("/v1/messages", {**body, "system": system_prompt}), self.model)

    def _body(self, messages: Any, temperature: float | None, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super()._body(messages, temperature, max_tokens, stream)
        body.pop("system", None)
        body["messages"] = [m if isinstance(m, dict) else {"role": m.role, "content": m.content} for m in messages]
        return body


def _with_cached_prompt(payload: dict[str, Any], times: int) -> dict[str, Any]:
    """``payload`` whose ``input_tokens`` counts the cache's tokens ``times`` times."""
    usage = dict(payload.get("usage") or {})
    cached = usage.get("cache_creation_input_tokens", 0) + usage.get("cache_read_input_tokens", 0)
    return {**payload, "usage": {**usage, "input_tokens": usage.get("input_tokens", 0) + times * cached}}


class CountsCachedPromptTokens(AnthropicClient):
    """Passes usage-fidelity (a correct alternative): ``prompt_tokens`` is the whole prompt,
    ``input_tokens`` plus the tokens written to and read from the prompt cache, as OpenAI's
    ``prompt_tokens`` counts its cached tokens in."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
        payload = self._post_json("/v1/messages", self._body(messages, temperature, max_tokens, False))
        return parse_message(_with_cached_prompt(payload, 1), self.model)


class CountsCachedPromptTokensTwice(AnthropicClient):
    """Fails usage-fidelity: adds the cache counts to ``input_tokens`` twice (once as read
    from ``usage``, once again from a copy of it), a count the body states nowhere."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
        payload = self._post_json("/v1/messages", self._body(messages, temperature, max_tokens, False))
        return parse_message(_with_cached_prompt(payload, 2), self.model)


class RetriesOverloadedStream(AnthropicClient):
    """Fails stream-raises: retries the stream on a retryable in-stream error (Anthropic's
    ``overloaded_error``, which its API reference says to retry) also once text has reached
    the caller, who then gets the start of the failed answer followed by the retried one."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        restream = partial(super().generate_stream, messages, temperature, max_tokens)
        yield from stream_with_retries(restream, attempts=3, retry=lambda exc: exc.retryable)


class RetriesOverloadedEightTimes(AnthropicClient):
    """Fails retry-bounded: waits out HTTP 529 (``overloaded_error``) with a doubling backoff,
    up to eight attempts, as Anthropic's overloads last; every other failure raises at once."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
        delay = 1.0
        for attempt in range(8):
            try:
                return super().generate(messages, temperature, max_tokens)
            except ServerError as exc:
                if exc.status_code != 529 or attempt == 7:
                    raise
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")


class RetriesRateLimitTenTimes(AnthropicClient):
    """Fails retry-bounded: waits out HTTP 429 (``rate_limit_error``) up to ten times, the
    ``retry-after`` it is given or a second; every other failure raises at once."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
        for attempt in range(10):
            try:
                return super().generate(messages, temperature, max_tokens)
            except RateLimitError as exc:
                if attempt == 9:
                    raise
                time.sleep(exc.retry_after or 1.0)
        raise AssertionError("unreachable")


class SkipsBlankDeltas(AnthropicClient):
    """Fails content-fidelity: yields only the text deltas that hold more than whitespace
    (``if text.strip():``, meant to skip empty ones), so a paragraph break, which Anthropic
    sends as a ``"\\n\\n"`` delta of its own, never reaches the caller."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        for text in super().generate_stream(messages, temperature, max_tokens):
            if text.strip():
                yield text


class StreamDropsSystemMessages(AnthropicClient):
    """Fails message-fidelity: ``generate_stream()`` builds its own body, keeping the user
    and assistant turns but never setting the top-level ``system`` field, so every streamed
    call loses its system prompt (the kit's streamed hello has none to lose)."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        turns = [m for m in message_dicts(messages) if m["role"] != "system"]
        body = {**self._body(messages, temperature, max_tokens, True), "messages": turns}
        body.pop("system", None)
        with self._stream_lines("/v1/messages", body) as lines:
            yield from stream_text(
                iter_sse(guard_sse(lines, self.provider_name, self._redact)), self._json_line, self._redact
            )


class StreamSendsSystemTurns(AnthropicClient):
    """Fails message-fidelity: ``generate_stream()`` passes the caller's messages through as
    they are, a ``system`` turn included, which Anthropic answers 400; ``generate()`` sets
    the top-level ``system`` field as it should."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = {**self._body(messages, temperature, max_tokens, True), "messages": message_dicts(messages)}
        body.pop("system", None)
        with self._stream_lines("/v1/messages", body) as lines:
            yield from stream_text(
                iter_sse(guard_sse(lines, self.provider_name, self._redact)), self._json_line, self._redact
            )


class StreamUsesConfiguredLimits(AnthropicClient):
    """Fails params-reach-request: ``generate_stream()`` sends the ``temperature`` and
    ``max_tokens`` the client was configured with (LAIOS's defaults), not the caller's, so
    a streamed call asking for a short or deterministic answer gets neither."""

    def __init__(self, *args: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_temperature, self.default_max_tokens = temperature, max_tokens

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        yield from super().generate_stream(messages, self.default_temperature, self.default_max_tokens)


class StreamRetriesEveryError(AnthropicClient):
    """Fails retry-bounded and no-retry-on-client-error: ``generate_stream()`` opens the
    stream again on any failure while it has yielded nothing, up to six attempts, a 401 or
    400 included (``generate()`` does not retry)."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        for attempt in range(6):
            yielded = False
            try:
                for text in super().generate_stream(messages, temperature, max_tokens):
                    yielded = True
                    yield text
                return
            except ProviderError:
                if yielded or attempt == 5:
                    raise


class DrainsStreamOnStop(AnthropicClient):
    """Fails stream-closes: when the caller stops early, reads the rest of the body before the
    response closes, to hand a clean connection back to the pool; the model goes on
    generating (and billing) the whole answer meanwhile, and ``close()`` waits for it."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self._body(messages, temperature, max_tokens, True)
        url = self.base_url + "/v1/messages"
        with (
            self._translated_errors(),
            self._http().stream("POST", url, json=body, headers=self._headers()) as response,
        ):
            self._raise_for_status(response)
            chunks = response.iter_bytes()
            lines = guard_sse(iter_lines(chunks, self.provider_name), self.provider_name, self._redact)
            try:
                yield from stream_text(iter_sse(lines), self._json_line, self._redact)
            finally:
                for _ in chunks:  # drain, so that the connection can be reused
                    pass


class StreamFallsBackAfterRetries(AnthropicClient):
    """Fails retry-bounded: a stream that cannot open is retried 3 times (as an SDK's
    ``max_retries=2`` does), then falls back to a ``generate()`` retried 3 times too: six
    attempts for one call, each part within the bound on its own."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        try:
            opened = with_retries(lambda: self._opened_stream(messages, temperature, max_tokens), attempts=3)
        except ProviderError as exc:
            if not exc.retryable or isinstance(exc, StreamError):
                raise
            yield with_retries(lambda: self.generate(messages, temperature, max_tokens), attempts=3).content
            return
        yield from opened

    def _opened_stream(self, messages: Any, temperature: float, max_tokens: int) -> Iterator[str]:
        """The stream, its first text read (the request sent and answered), then the rest."""
        stream = super().generate_stream(messages, temperature, max_tokens)
        first = next(stream, None)
        return iter(()) if first is None else _chained(first, stream)


def _chained(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


class AsksBackupHostOnClientError(AnthropicClient):
    """Fails no-retry-on-client-error: a failed ``generate()`` is asked again of a backup
    host (another region's endpoint), a 4xx included; the same request with the same key
    gets the same answer there."""

    backup_url = "https://backup.anthropic.invalid"

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
        try:
            return super().generate(messages, temperature, max_tokens)
        except ProviderError:
            body = self._body(messages, temperature, max_tokens, False)
            with self._translated_errors():
                response = self._http().post(self.backup_url + "/v1/messages", json=body, headers=self._headers())
                self._raise_for_status(response)
            return parse_message(response.json(), self.model)


class TrustsEndOfStream(AnthropicClient):
    """Fails stream-end-marker and stream-raises: takes the end of the body for the end of the answer, so a
    stream a proxy cut cleanly, before any stop reason, returns its first words as the answer."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self._body(messages, temperature, max_tokens, True)
        with self._stream_lines("/v1/messages", body) as lines:
            for event in iter_sse(guard_sse(lines, self.provider_name, self._redact)):
                data = self._json_line(event.data, "stream event") if event.data.strip() else {}
                if event.event == "error":
                    raise StreamError(str(data), provider=self.provider_name)
                delta = data.get("delta") or {}
                if event.event == "content_block_delta" and delta.get("type") == "text_delta" and delta.get("text"):
                    yield delta["text"]


_KNOWN_EVENTS = {
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
}


class RejectsUnknownEvents(FiltersStreamEvents):
    """Fails stream-join: raises on an event type it does not know, which Anthropic's
    streaming docs say may be added at any time and should be skipped."""

    def events(self, events: Iterable[Any]) -> Iterator[Any]:
        for event in events:
            if event.event not in _KNOWN_EVENTS:
                raise StreamError(f"unexpected stream event {event.event!r}", provider=self.provider_name)
            yield event


class RejectsUnknownEventsAfterContent(FiltersStreamEvents):
    """Fails stream-join: skips whatever comes before the first content block (the
    preamble), then raises on an event type it does not know; Anthropic may add one
    anywhere in the stream."""

    def events(self, events: Iterable[Any]) -> Iterator[Any]:
        started = False
        for event in events:
            started = started or event.event == "content_block_start"
            if started and event.event not in _KNOWN_EVENTS:
                raise StreamError(f"unexpected stream event {event.event!r}", provider=self.provider_name)
            yield event


class ReadsFirstContentBlock(AnthropicClient):
    """Fails content-fidelity, on a thinking block or a second text block only: the answer is
    ``content[0]["text"]`` (confident-ai/deepeval#2946), which a leading ``thinking`` block
    does not have and which misses the text blocks after it."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        payload = self._post_json("/v1/messages", self._body(messages, temperature, max_tokens, False))
        first = payload["content"][0]
        return parse_message(dict(payload, content=[{"type": "text", "text": first["text"]}]), self.model)


class StreamsFirstTextBlockOnly(FiltersStreamEvents):
    """Fails stream-join, on an answer in two text blocks only: it stops reading text at the
    first ``content_block_stop``."""

    def events(self, events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
        ended = False
        for event in events:
            ended = ended or event.event == "content_block_stop"
            if not (ended and event.event in ("content_block_start", "content_block_delta")):
                yield event


class StreamsThinkingAsText(FiltersStreamEvents):
    """Fails stream-join, on a stream with a thinking block only: it yields ``thinking_delta``
    text as the answer (langchain-ai/langchainjs#9089 for Ollama's equivalent)."""

    def events(self, events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
        for event in events:
            if event.event == "content_block_delta" and '"thinking_delta"' in event.data:
                data = json.loads(event.data)
                data["delta"] = {"type": "text_delta", "text": data["delta"]["thinking"]}
                event = event._replace(data=json.dumps(data))
            yield event


class SystemAsFirstUserTurn(AnthropicClient):
    """Fails message-fidelity: sends the system prompt as a leading ``user`` turn instead of
    the top-level ``system`` field, so the model reads it with a user's authority."""

    def _body(self, messages: Any, temperature: float | None, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super()._body(messages, temperature, max_tokens, stream)
        system = body.pop("system", None)
        if system is not None:
            body["messages"] = [{"role": "user", "content": system}, *body["messages"]]
        return body


class AssistantTurnsAsUser(AnthropicClient):
    """Fails message-fidelity: sends the history's ``assistant`` turns as ``user`` ones."""

    def _body(self, messages: Any, temperature: float | None, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super()._body(messages, temperature, max_tokens, stream)
        body["messages"] = [{**turn, "role": "user"} for turn in body["messages"]]
        return body
