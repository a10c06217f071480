"""The defective twins of ``defective.py`` on the requests, urllib.request and aiohttp stacks.

Each class is :class:`RequestsOpenAIStyle`, :class:`UrllibOpenAIStyle` or
:class:`AiohttpOpenAIStyle` with the one bad
habit of the httpx twin of the same name, so it must fail exactly the clauses that twin
fails (``tests/test_stacks.py`` checks that).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp

from laios_conformance import LLMResponse

from .aiohttp_style import TRANSPORT_ERRORS as AIOHTTP_TRANSPORT_ERRORS
from .aiohttp_style import AiohttpOpenAIStyle
from .aiohttp_style import ProviderError as AiohttpError
from .defective import LagsOneDelta
from .requests_style import TRANSPORT_ERRORS as REQUESTS_TRANSPORT_ERRORS
from .requests_style import ProviderError as RequestsError
from .requests_style import RequestsOpenAIStyle
from .urllib_style import TRANSPORT_ERRORS, UrllibOpenAIStyle
from .urllib_style import ProviderError as UrllibError

# -- on requests ----------------------------------------------------------------------------


class RequestsReturnsEmptyOnHttpError(RequestsOpenAIStyle):
    """Fails raises-on-http-error, router-fallback, circuit-breaker: an error status becomes ``""``."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except RequestsError as exc:
            if str(exc).startswith("HTTP "):
                return LLMResponse(content="", model=self.model)
            raise


class RequestsNoTimeout(RequestsOpenAIStyle):
    """Fails timeout-set and timeout-honoured: ``requests`` waits forever unless told
    otherwise, and it is not told, whatever ``timeout`` it was given."""

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
    ) -> None:
        super().__init__(model=model, base_url=base_url, api_key=api_key)
        self.timeout = None  # type: ignore[assignment]  # the defect: no timeout


class RequestsDropsLastDelta(LagsOneDelta, RequestsOpenAIStyle):
    """Fails stream-join, stream-rechunk, content-fidelity, stream-incremental: it lags one delta and loses the last."""


class RequestsSwallowsDisconnect(RequestsOpenAIStyle):
    """Fails stream-raises: a connection dropped mid-stream ends the stream quietly."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        try:
            yield from super().generate_stream(messages, temperature, max_tokens, **kwargs)
        except RequestsError as exc:
            if not isinstance(exc.__cause__, REQUESTS_TRANSPORT_ERRORS):
                raise


class RequestsSwallowsTransportErrors(RequestsOpenAIStyle):
    """Fails raises-on-transport-error: a broken connection becomes a polite placeholder."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except RequestsError as exc:
            if isinstance(exc.__cause__, REQUESTS_TRANSPORT_ERRORS):
                return LLMResponse(content="Sorry, the service is unavailable.", model=self.model)
            raise


class RequestsBuffersWholeStream(RequestsOpenAIStyle):
    """Fails stream-incremental: reads the whole body (no ``stream=True``) before yielding anything."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        response = self.post(self.payload(messages, temperature, max_tokens, stream=True))
        yield from self.deltas(iter(response.content.splitlines()))


class RequestsDecodesAsLabelled(RequestsOpenAIStyle):
    """Fails content-fidelity: reads the stream with ``iter_lines(decode_unicode=True)``,
    which decodes as the ``content-type`` says, and requests takes a ``text/event-stream``
    without a charset (Groq, OpenRouter) for ISO-8859-1: every non-ASCII character is
    garbled. Its httpx twin cannot have the habit (httpx decodes lines as UTF-8)."""

    decode_unicode = True


class RequestsNeverClosesResponse(RequestsOpenAIStyle):
    """Fails stream-closes: opens the streamed response without a ``with`` block and never closes it."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        response = self.post(self.payload(messages, temperature, max_tokens, stream=True), stream=True)
        lines = response.iter_lines()
        # Kept, as a response cache would. (Dropping the line iterator alone would let
        # urllib3 close the connection when the iterator is collected.)
        self.__dict__.setdefault("_responses", []).append((response, lines))
        yield from self.deltas(lines)


# -- on urllib.request ----------------------------------------------------------------------


class UrllibReturnsEmptyOnHttpError(UrllibOpenAIStyle):
    """Fails raises-on-http-error, router-fallback, circuit-breaker: an error status becomes ``""``."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except UrllibError as exc:
            if isinstance(exc.__cause__, urllib.error.HTTPError):
                return LLMResponse(content="", model=self.model)
            raise


class UrllibNoTimeout(UrllibOpenAIStyle):
    """Fails timeout-set and timeout-honoured: calls ``urlopen`` without a timeout, which
    waits forever by default."""

    def send(self, request: urllib.request.Request) -> Any:
        return urllib.request.urlopen(request, context=self.tls)


class UrllibDropsLastDelta(LagsOneDelta, UrllibOpenAIStyle):
    """Fails stream-join, stream-rechunk, content-fidelity, stream-incremental: it lags one delta and loses the last."""


class UrllibSwallowsDisconnect(UrllibOpenAIStyle):
    """Fails stream-raises: a connection dropped mid-stream ends the stream quietly."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        try:
            yield from super().generate_stream(messages, temperature, max_tokens, **kwargs)
        except UrllibError as exc:
            if not isinstance(exc.__cause__, TRANSPORT_ERRORS) or isinstance(exc.__cause__, urllib.error.HTTPError):
                raise


class UrllibSwallowsTransportErrors(UrllibOpenAIStyle):
    """Fails raises-on-transport-error: a broken connection becomes a polite placeholder."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except UrllibError as exc:
            if isinstance(exc.__cause__, TRANSPORT_ERRORS) and not isinstance(exc.__cause__, urllib.error.HTTPError):
                return LLMResponse(content="Sorry, the service is unavailable.", model=self.model)
            raise


class UrllibBuffersWholeStream(UrllibOpenAIStyle):
    """Fails stream-incremental: reads the whole body before yielding anything."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        with self.open(self.payload(messages, temperature, max_tokens, stream=True)) as response:
            raw = response.read()
        yield from self.deltas(iter(raw.splitlines()))


class UrllibNeverClosesResponse(UrllibOpenAIStyle):
    """Fails stream-closes: opens the streamed response without a ``with`` block and never closes it."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        response = self.open(self.payload(messages, temperature, max_tokens, stream=True))
        self.__dict__.setdefault("_responses", []).append(response)  # kept, as a response cache would
        yield from self.deltas(self.lines(response))


# -- on aiohttp -----------------------------------------------------------------------------


class AiohttpReturnsEmptyOnHttpError(AiohttpOpenAIStyle):
    """Fails raises-on-http-error, router-fallback, circuit-breaker: an error status becomes ``""``."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except AiohttpError as exc:
            if str(exc).startswith("HTTP "):
                return LLMResponse(content="", model=self.model)
            raise


class AiohttpNoTimeout(AiohttpOpenAIStyle):
    """Fails timeout-set and timeout-honoured: ``ClientTimeout(total=None)`` (what streaming
    code often writes to lift aiohttp's 5-minute default) and nothing else: it waits forever,
    whatever ``timeout`` it was given."""

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None)


class AiohttpDropsLastDelta(LagsOneDelta, AiohttpOpenAIStyle):
    """Fails stream-join, stream-rechunk, content-fidelity, stream-incremental: it lags one delta and loses the last."""


class AiohttpSwallowsDisconnect(AiohttpOpenAIStyle):
    """Fails stream-raises: a connection dropped mid-stream ends the stream quietly."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        try:
            yield from super().generate_stream(messages, temperature, max_tokens, **kwargs)
        except AiohttpError as exc:
            if not isinstance(exc.__cause__, AIOHTTP_TRANSPORT_ERRORS):
                raise


class AiohttpSwallowsTransportErrors(AiohttpOpenAIStyle):
    """Fails raises-on-transport-error: a broken connection becomes a polite placeholder."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except AiohttpError as exc:
            if isinstance(exc.__cause__, AIOHTTP_TRANSPORT_ERRORS):
                return LLMResponse(content="Sorry, the service is unavailable.", model=self.model)
            raise


class AiohttpBuffersWholeStream(AiohttpOpenAIStyle):
    """Fails stream-incremental: reads the whole body (``await response.read()``) before yielding anything."""

    async def stream_lines(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        async with self.session() as session, await self.post(session, body) as response:
            raw = await response.read()
        for line in raw.splitlines():
            yield line


class AiohttpNeverClosesResponse(AiohttpOpenAIStyle):
    """Fails stream-closes: opens the streamed response (and its session) without ``async
    with`` and never closes either."""

    async def stream_lines(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        session = self.session()
        self.__dict__.setdefault("_sessions", []).append(session)  # an error status leaves it open too
        response = await self.post(session, body)
        self.__dict__.setdefault("_responses", []).append(response)  # kept, as a response cache would
        async for line in self.lines(response.content.iter_any()):
            yield line

    def close(self) -> None:
        """At the end of the run: the sessions are let go (their loops are closed), without a
        warning for each; the responses were never closed."""
        for session in self.__dict__.get("_sessions", []):
            session.detach()


class AiohttpEndsLinesAtLfOnly(AiohttpOpenAIStyle):
    """Fails stream-rechunk (its CR line endings case): reads lines with ``async for line in
    response.content``, which aiohttp ends at LF only, so a stream whose lines end in a lone
    CR (as SSE allows) is one line."""

    async def stream_lines(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        async with self.session() as session, await self.post(session, body) as response:
            async for line in response.content:
                yield line.rstrip(b"\r\n")


class AiohttpReadTimeoutOnly(AiohttpOpenAIStyle):
    """Fails timeout-set: ``ClientTimeout(sock_read=...)`` alone, which leaves ``total``,
    ``connect`` and ``sock_connect`` unset, so connecting is never bounded."""

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(sock_read=self.timeout)


class AiohttpChainsClientResponseError(AiohttpOpenAIStyle):
    """Fails no-secret-leak: checks the status with ``raise_for_status()`` and wraps the
    ``ClientResponseError`` (``from exc``), whose ``request_info`` holds the request's
    headers, ``Authorization`` among them, and whose ``repr`` shows them."""

    async def check_status(self, response: aiohttp.ClientResponse) -> None:
        try:
            response.raise_for_status()
        except aiohttp.ClientResponseError as exc:
            raise AiohttpError(f"HTTP {exc.status}: {exc.message}") from exc
