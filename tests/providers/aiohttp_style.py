"""A careful OpenAI-compatible provider on ``aiohttp``: the kit's yardstick for that stack.

LAIOS's interface is synchronous, so each call runs aiohttp on an event loop of its own:
``generate()`` with ``asyncio.run``, ``generate_stream()`` by stepping an async generator
on a private loop, one ``__anext__`` per chunk, and closing it (and so the response and
the session) when the caller stops. A session per call (a session belongs to the loop
it was made on), a ``ClientTimeout`` whose read timeout is the ``timeout`` it is given, a
raise on every failure, and SSE lines split from ``iter_any()`` pieces (``readline()``
knows only LF). Each defective twin in ``defective_stacks.py`` differs from it in
exactly one habit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp

from laios_conformance import LLMResponse

from .openai_chat import OpenAIChatProvider, ProviderError

_LINE_END = re.compile(rb"\r\n|\r|\n")

# What the network can do to a request: aiohttp's own errors, and a total timeout
# (asyncio.TimeoutError; aiohttp's ServerTimeoutError is both).
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


class AiohttpOpenAIStyle(OpenAIChatProvider):
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(model, base_url, api_key)
        self.timeout = timeout

    # -- the request ---------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        # json= sets it too, but vcrpy records only the headers given here
        return {**super().headers(), "content-type": "application/json"}

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=self.timeout)

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=self.client_timeout())

    async def post(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> aiohttp.ClientResponse:
        """The response to ``body``, its status checked (the caller closes it)."""
        try:
            response = await session.post(f"{self.base_url}/chat/completions", json=body, headers=self.headers())
        except TRANSPORT_ERRORS as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc
        await self.check_status(response)
        return response

    async def check_status(self, response: aiohttp.ClientResponse) -> None:
        if response.status >= 400:
            async with response:
                text = (await response.read()).decode("utf-8", errors="replace")
            raise self.http_error(response.status, text)

    # -- the answer ------------------------------------------------------------------

    async def completion(self, body: dict[str, Any]) -> bytes:
        async with self.session() as session, await self.post(session, body) as response:
            try:
                return await response.read()
            except TRANSPORT_ERRORS as exc:  # the body broke off while being read
                raise ProviderError(f"transport error: {type(exc).__name__}") from exc

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return self.answer(asyncio.run(self.completion(self.payload(messages, temperature, max_tokens, stream=False))))

    async def stream_lines(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        async with self.session() as session, await self.post(session, body) as response:
            try:
                async for line in self.lines(response.content.iter_any()):
                    yield line
            except TRANSPORT_ERRORS as exc:
                raise ProviderError(f"stream broken: {type(exc).__name__}") from exc

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        lines = self.bridged(self.stream_lines(body))
        try:
            yield from self.deltas(lines)
        finally:
            lines.close()  # when deltas() raises, it does not close the generator it reads

    @staticmethod
    def bridged(lines: AsyncIterator[bytes]) -> Iterator[bytes]:
        """The async generator's items, each awaited on a private loop when asked for; the
        generator is closed (its ``async with`` blocks left) when the caller stops."""
        loop = asyncio.new_event_loop()
        try:
            while True:
                try:
                    yield loop.run_until_complete(anext(lines))
                except StopAsyncIteration:
                    return
        finally:
            loop.run_until_complete(lines.aclose())
            loop.close()

    @staticmethod
    async def lines(pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Lines as they arrive, ended by LF, CRLF or a lone CR (as SSE allows)."""
        pending = b""
        async for piece in pieces:
            pending += piece
            # A CR at the very end may be the first half of a CRLF: keep it for the next read.
            *complete, pending = _LINE_END.split(pending[:-1] if pending.endswith(b"\r") else pending)
            pending += b"\r" if piece.endswith(b"\r") else b""
            for line in complete:
                yield line
        if pending:
            yield pending.removesuffix(b"\r")


class AiohttpClosesTheSession(AiohttpOpenAIStyle):
    """Careful too, closing only its session: ``async with`` the session, not the response.
    A session that owns its connector closes the connector's connections on closing, the
    streamed response's among them, so a stream stopped early is closed all the same."""

    async def stream_lines(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        async with self.session() as session:
            response = await self.post(session, body)
            try:
                async for line in self.lines(response.content.iter_any()):
                    yield line
            except TRANSPORT_ERRORS as exc:
                raise ProviderError(f"stream broken: {type(exc).__name__}") from exc
