"""A careful OpenAI-compatible provider on ``requests``: the kit's yardstick for that stack.

One ``Session`` for the instance (thread-safe enough for independent requests), a finite
``(connect, read)`` timeout on every request, a raise on every failure, and SSE read line
by line from a streamed response closed by its ``with`` block. Each defective twin in
``defective_stacks.py`` differs from it in exactly one habit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import requests

from laios_conformance import LLMClient, LLMMessage, LLMResponse

# What the network can do to a request (requests' JSONDecodeError is a RequestException too).
TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class ProviderError(Exception):
    """Raised on every failure: HTTP status, transport, unusable body."""


class RequestsOpenAIStyle(LLMClient):
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
    ) -> None:
        super().__init__(model=model)
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key or ""
        self.timeout = timeout
        self.session = requests.Session()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    # -- the request ---------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}"}

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if stream:
            body["stream"] = True
        return body

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
            text = response.text[:200]
            response.close()
            raise ProviderError(f"HTTP {response.status_code}: {text}")

    # -- the answer ------------------------------------------------------------------

    def parse(self, response: requests.Response) -> LLMResponse:
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"unusable response body: {exc!r}") from exc
        if not isinstance(content, str) or not content:
            raise ProviderError("the response carries no text")
        return LLMResponse(
            content=content,
            model=data.get("model") or self.model,
            finish_reason=choice.get("finish_reason"),
            usage=self.usage(data),
        )

    @staticmethod
    def usage(data: dict[str, Any]) -> dict[str, int] | None:
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return None
        return {k: int(usage[k]) for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in usage}

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        body = self.payload(messages, temperature, max_tokens, stream=False)
        try:
            return self.parse(self.post(body))
        except requests.RequestException as exc:  # the body broke off while being read
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        messages = [LLMMessage(role="system", content=system_prompt), LLMMessage(role="user", content=user_message)]
        return self.generate(messages, temperature, max_tokens, **kwargs)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        try:
            with self.post(body, stream=True) as response:
                yield from self.deltas(response.iter_lines(decode_unicode=False))
        except requests.RequestException as exc:
            raise ProviderError(f"stream broken: {type(exc).__name__}") from exc

    def deltas(self, lines: Iterator[bytes]) -> Iterator[str]:
        finished = False
        for raw in lines:
            line = raw.decode("utf-8")
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            chunk = json.loads(data)
            if "error" in chunk:
                raise ProviderError(f"error inside the stream: {chunk['error']}")
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text
                finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise ProviderError("the stream ended before its end marker")
