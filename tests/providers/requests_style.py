"""A careful OpenAI-compatible provider on ``requests``: the kit's yardstick for that stack.

One ``Session`` for the instance (thread-safe enough for independent requests), a finite
``(connect, read)`` timeout on every request, a raise on every failure, and SSE read line
by line from a streamed response closed by its ``with`` block. Each defective twin in
``defective_stacks.py`` differs from it in exactly one habit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests

from laios_conformance import LLMResponse

from .openai_chat import OpenAIChatProvider, ProviderError

# What the network can do to a request (requests' JSONDecodeError is a RequestException too).
TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class RequestsOpenAIStyle(OpenAIChatProvider):
    # Lines as bytes, decoded as UTF-8 by deltas(): requests decodes them as the response's
    # content-type says, ISO-8859-1 for a text/event-stream without a charset.
    decode_unicode = False

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
    ) -> None:
        super().__init__(model, base_url, api_key)
        self.timeout = timeout
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    # -- the request ---------------------------------------------------------------

    def post(self, body: dict[str, Any], stream: bool = False) -> requests.Response:
        try:
            response = self.session.post(
                f"{self.base_url}/chat/completions",
                json=body,
                headers=self.headers(),
                timeout=self.timeout,
                stream=stream,
            )
        except requests.RequestException as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc
        self.check_status(response)
        return response

    def check_status(self, response: requests.Response) -> None:
        if response.status_code >= 400:
            text = response.text
            response.close()
            raise self.http_error(response.status_code, text)

    # -- the answer ------------------------------------------------------------------

    def parse(self, response: requests.Response) -> LLMResponse:
        return self.answer(response.content)

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        body = self.payload(messages, temperature, max_tokens, stream=False)
        try:
            return self.parse(self.post(body))
        except requests.RequestException as exc:  # the body broke off while being read
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        try:
            with self.post(body, stream=True) as response:
                yield from self.deltas(response.iter_lines(decode_unicode=self.decode_unicode))
        except requests.RequestException as exc:
            raise ProviderError(f"stream broken: {type(exc).__name__}") from exc


class DeadlineForTheCall(RequestsOpenAIStyle):
    """Gives the whole call one deadline of ``timeout`` seconds, retries included: each
    attempt's read timeout is what is left of it, a little under ``timeout`` on the first."""

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(model, base_url, api_key)
        self.deadline_seconds = timeout

    def post(self, body: dict[str, Any], stream: bool = False) -> requests.Response:
        deadline = time.monotonic() + self.deadline_seconds
        for attempt in range(3):
            self.timeout = (5.0, deadline - time.monotonic())
            try:
                return super().post(body, stream)
            except ProviderError as exc:
                if not str(exc).startswith("transport error") or attempt == 2 or deadline - time.monotonic() < 1:
                    raise
        raise AssertionError("unreachable")
