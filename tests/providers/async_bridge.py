"""Correct providers whose sync methods run an ``httpx.AsyncClient`` on an event loop.

A common way to reuse async code under LAIOS's synchronous interface: ``generate()`` runs
a coroutine with ``asyncio.run``, and ``generate_stream()`` steps an async generator on a
private event loop, one ``__anext__`` per chunk, closing it (and so the response) when the
caller stops. They back off between retries with ``await asyncio.sleep`` or
``await anyio.sleep`` (as the official SDKs' async clients do), for long enough that a
real clock would run into the kit's call timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx

from laios_conformance import LLMResponse

from .openai_chat import OpenAIChatProvider, ProviderError, StreamState

RETRIED = {408, 409, 429, 500, 502, 503, 504, 529}


class AsyncBridged(OpenAIChatProvider):
    """Retries a retryable status or a transport error twice, 20 s and then 40 s later."""

    attempts = 3
    first_backoff = 20.0

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(model, base_url, api_key)
        self.timeout = timeout

    async def back_off(self, attempt: int) -> None:
        await asyncio.sleep(self.first_backoff * 2**attempt)

    async def _post(self, body: dict[str, Any]) -> bytes:
        url = f"{self.base_url}/chat/completions"
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for attempt in range(self.attempts):
                last = attempt + 1 == self.attempts
                try:
                    response = await client.post(url, json=body, headers=self.headers())
                except httpx.TransportError as exc:
                    if last:
                        raise ProviderError(f"transport error: {type(exc).__name__}") from exc
                else:
                    if response.status_code < 400:
                        return response.content
                    if last or response.status_code not in RETRIED:
                        raise self.http_error(response.status_code, response.text)
                await self.back_off(attempt)
        raise AssertionError("the loop returns or raises")

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return self.answer(asyncio.run(self._post(self.payload(messages, temperature, max_tokens, stream=False))))

    async def _stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        url = f"{self.base_url}/chat/completions"
        async with (
            httpx.AsyncClient(timeout=self.timeout) as client,
            client.stream("POST", url, json=body, headers=self.headers()) as response,
        ):
            if response.status_code >= 400:
                await response.aread()
                raise self.http_error(response.status_code, response.text)
            stream = StreamState()
            async for line in response.aiter_lines():
                for text in self.line_text(line, stream):
                    yield text
                if stream.done:
                    break
            self.check_end(stream)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        loop = asyncio.new_event_loop()
        chunks = self._stream(self.payload(messages, temperature, max_tokens, stream=True))
        try:
            while True:
                try:
                    yield loop.run_until_complete(anext(chunks))
                except StopAsyncIteration:
                    return
                except httpx.TransportError as exc:
                    raise ProviderError(f"stream broken: {type(exc).__name__}") from exc
        finally:
            loop.run_until_complete(chunks.aclose())
            loop.close()


class AsyncBridgedOnAnyio(AsyncBridged):
    """Backs off with ``anyio.sleep``, as the OpenAI and Anthropic SDKs' async clients do."""

    async def back_off(self, attempt: int) -> None:
        await anyio.sleep(self.first_backoff * 2**attempt)


class AsyncClientAcrossLoops(AsyncBridged):
    """Defective: keeps one ``httpx.AsyncClient`` for the instance, and each generate() runs
    it on a new event loop (``asyncio.run``). Against the live API the client's pool keeps
    the first call's connection, bound to a loop that is closed by the second call, which
    then raises ``RuntimeError: Event loop is closed``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = httpx.AsyncClient(timeout=self.timeout)

    async def _post(self, body: dict[str, Any]) -> bytes:
        response = await self._client.post(f"{self.base_url}/chat/completions", json=body, headers=self.headers())
        if response.status_code >= 400:
            raise self.http_error(response.status_code, response.text)
        return response.content
