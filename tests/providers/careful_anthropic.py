"""Correct providers of Anthropic's Messages API that differ from the reference by design.

Each is the reference :class:`AnthropicClient` with one legitimate habit that touches a
clause's edge; it must pass every clause the reference passes.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from laios_conformance import LLMClient
from reference_providers._errors import ProviderError, StreamError
from reference_providers._wire import SSEEvent, guard_sse, iter_lines, iter_sse
from reference_providers.anthropic import AnthropicClient, stream_text

from ._retries import with_retries


class StreamFallsBackToGenerate(AnthropicClient):
    """A stream that cannot open (a retryable status, a connection error) falls back to one
    non-streamed answer, yielded whole; nothing had reached the caller. One streamed
    attempt, then ``generate()`` with one retry: 3 attempts at most."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        yielded = False
        try:
            for text in super().generate_stream(messages, temperature, max_tokens):
                yielded = True
                yield text
        except ProviderError as exc:
            if yielded or not exc.retryable or isinstance(exc, StreamError):
                raise
            fallback = with_retries(lambda: self.generate(messages, temperature, max_tokens), attempts=2)
            yield fallback.content


class FiltersStreamEvents(AnthropicClient):
    """The reference client with its stream's SSE events passed through :meth:`events`
    before it reads them: the base for providers that differ only in what they make of them."""

    def events(self, events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
        return iter(events)

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self._body(messages, temperature, max_tokens, True)
        with self._stream_lines("/v1/messages", body) as lines:
            events = iter_sse(guard_sse(lines, self.provider_name, self._redact))
            yield from stream_text(self.events(events), self._json_line, self._redact)


class EndsAtStopReason(FiltersStreamEvents):
    """Takes the ``stop_reason`` of ``message_delta`` as the end of the answer: every content
    block has ended by then, so a stream cut just before ``message_stop`` still answers
    (as an OpenAI-style stream ends at its ``finish_reason``)."""

    def events(self, events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
        for event in events:
            yield event
            data = json.loads(event.data) if event.event == "message_delta" else {}
            if (data.get("delta") or {}).get("stop_reason"):
                yield SSEEvent("message_stop", '{"type": "message_stop"}')
                return


class StreamsWholeAnswer(AnthropicClient):
    """Keeps LAIOS's default ``generate_stream()``: ``generate()``'s whole answer as one
    chunk, from a request that does not stream (the guide's default, before an author
    writes true streaming)."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        yield from LLMClient.generate_stream(self, messages, temperature, max_tokens, **kwargs)


class DecodesAsLabelled(AnthropicClient):
    """Decodes a stream as its ``content-type`` says, ISO-8859-1 for a ``text/*`` type
    without a charset (as ``requests``' ``iter_lines(decode_unicode=True)`` does). Every
    Anthropic stream recorded is labelled ``charset=utf-8``, so it reads each as UTF-8."""

    @contextmanager
    def _stream_lines(self, path: str, body: Mapping[str, Any]) -> Iterator[Iterator[str]]:
        with (
            self._translated_errors(),
            self._http().stream("POST", self.base_url + path, json=body, headers=self._headers()) as response,
        ):
            self._raise_for_status(response)
            decoder = codecs.getincrementaldecoder(response.charset_encoding or "iso-8859-1")()
            chunks = (decoder.decode(chunk).encode("utf-8") for chunk in response.iter_bytes())
            yield iter_lines(chunks, self.provider_name)
