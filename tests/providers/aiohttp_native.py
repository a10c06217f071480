"""The reference Anthropic and Ollama providers with their HTTP on ``aiohttp``: the kit's
yardstick for SSE with named events (Anthropic) and NDJSON (Ollama) on that stack.

Only the transport of ``reference_providers._http.HTTPProvider`` is replaced, so requests
match the reference providers' committed cassettes and answers are parsed by the same
code. A session per call on a loop per call (``asyncio.run``; a stream steps its own loop,
closed with the stream), a ``ClientTimeout`` read bound of ``timeout``, lines split from
``iter_any()`` pieces. The two twins each change one habit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp

from reference_providers._errors import ProviderConnectionError, ProviderTimeout, ResponseFormatError
from reference_providers._http import HTTPProvider
from reference_providers._wire import error_from_http, error_in_body, iter_lines, load_json
from reference_providers.anthropic import AnthropicClient
from reference_providers.ollama import OllamaClient


class AiohttpTransport(HTTPProvider):
    """``_post_json`` and ``_stream_lines`` on aiohttp."""

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=self.timeout)
        )

    async def _response(
        self, session: aiohttp.ClientSession, path: str, body: Mapping[str, Any]
    ) -> aiohttp.ClientResponse:
        # json= sets content-type too, but vcrpy records only the headers given here
        headers = {**self._headers(), "content-type": "application/json"}
        response = await session.post(self.base_url + path, json=body, headers=headers)
        if response.status >= 400:
            async with response:
                raise error_from_http(
                    self.provider_name, response.status, response.headers, await response.read(), self._redact
                )
        return response

    @contextmanager
    def _aiohttp_errors(self) -> Iterator[None]:
        try:
            yield
        except asyncio.TimeoutError as exc:
            message = f"no answer within {self.timeout:g}s ({type(exc).__name__})"
            raise ProviderTimeout(message, provider=self.provider_name) from exc
        except aiohttp.ClientError as exc:
            message = self._redact(f"connection failed ({type(exc).__name__})")
            raise ProviderConnectionError(message, provider=self.provider_name) from exc

    async def _content(self, path: str, body: Mapping[str, Any]) -> bytes:
        async with self._session() as session, await self._response(session, path, body) as response:
            return await response.read()

    def _post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._aiohttp_errors():
            content = asyncio.run(self._content(path, body))
        payload = load_json(content, self.provider_name, redact=self._redact)
        if not isinstance(payload, dict):
            raise ResponseFormatError(
                f"expected a JSON object, got {type(payload).__name__}", provider=self.provider_name
            )
        if payload.get("error"):
            raise error_in_body(self.provider_name, payload, in_stream=False, redact=self._redact)
        return payload

    async def _pieces(self, path: str, body: Mapping[str, Any]) -> AsyncGenerator[bytes]:
        async with self._session() as session, await self._response(session, path, body) as response:
            async for piece in response.content.iter_any():
                yield piece

    def _lines(self, pieces: Iterator[bytes]) -> Iterator[str]:
        return iter_lines(pieces, self.provider_name)

    @contextmanager
    def _stream_lines(self, path: str, body: Mapping[str, Any]) -> Iterator[Iterator[str]]:
        loop = asyncio.new_event_loop()
        pieces = self._pieces(path, body)

        def stepped() -> Iterator[bytes]:
            while True:
                try:
                    yield loop.run_until_complete(anext(pieces))
                except StopAsyncIteration:
                    return

        try:
            with self._aiohttp_errors():
                yield self._lines(stepped())
        finally:
            loop.run_until_complete(pieces.aclose())
            loop.close()


class AiohttpAnthropic(AiohttpTransport, AnthropicClient):
    pass


class AiohttpOllama(AiohttpTransport, OllamaClient):
    pass


class AiohttpAnthropicLfOnly(AiohttpAnthropic):
    """Lines from ``async for line in response.content``, which ends them at LF only."""

    async def _pieces(self, path: str, body: Mapping[str, Any]) -> AsyncGenerator[bytes]:
        async with self._session() as session, await self._response(session, path, body) as response:
            async for line in response.content:
                yield line

    def _lines(self, pieces: Iterator[bytes]) -> Iterator[str]:
        return (line.decode().removesuffix("\n").removesuffix("\r") for line in pieces)


class AiohttpOllamaBuffers(AiohttpOllama):
    """Reads the whole NDJSON stream before the first line."""

    async def _pieces(self, path: str, body: Mapping[str, Any]) -> AsyncGenerator[bytes]:
        async with self._session() as session, await self._response(session, path, body) as response:
            yield await response.read()
