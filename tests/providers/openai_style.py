"""A small, correct OpenAI-style provider: the kit's yardstick in its own tests.

Deliberately plain (httpx, one pooled client, SSE read line by line) so that each
defective variant in ``defective.py`` differs from it in exactly one habit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from laios_conformance import LLMClient, LLMMessage, LLMResponse


class ProviderError(Exception):
    """Raised on every failure: HTTP status, transport, unusable body."""


class GoodOpenAIStyle(LLMClient):
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(model=model)
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key or ""
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # -- the request ---------------------------------------------------------------

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout))
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

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

    def post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self.client().post(f"{self.base_url}/chat/completions", json=body, headers=self.headers())
        except httpx.TransportError as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc
        self.check_status(response)
        return response

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            raise ProviderError(f"HTTP {response.status_code}: {response.text[:200]}")

    # -- the answer ------------------------------------------------------------------

    def parse(self, response: httpx.Response) -> LLMResponse:
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
        return self.parse(self.post(self.payload(messages, temperature, max_tokens, stream=False)))

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
            with self.client().stream(
                "POST", f"{self.base_url}/chat/completions", json=body, headers=self.headers()
            ) as response:
                self.check_status(response)
                yield from self.deltas(response.iter_lines())
        except httpx.TransportError as exc:
            raise ProviderError(f"stream broken: {type(exc).__name__}") from exc

    def deltas(self, lines: Iterator[str]) -> Iterator[str]:
        finished = False
        for line in lines:
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
