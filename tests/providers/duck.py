"""A provider that behaves like an LLMClient without subclassing it or returning LLMResponse."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .openai_style import GoodOpenAIStyle


@dataclass
class PlainResponse:
    content: str
    model: str
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class DuckTyped:
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.model = model
        self._inner = GoodOpenAIStyle(model=model, base_url=base_url, api_key=api_key, timeout=timeout)

    def __repr__(self) -> str:
        return f"DuckTyped(model={self.model!r})"

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> PlainResponse:
        answer = self._inner.generate(messages, temperature, max_tokens)
        return PlainResponse(answer.content, answer.model, answer.finish_reason, answer.usage)

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> PlainResponse:
        answer = self._inner.generate_with_system(system_prompt, user_message, temperature, max_tokens)
        return PlainResponse(answer.content, answer.model, answer.finish_reason, answer.usage)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        return self._inner.generate_stream(messages, temperature, max_tokens)

    def close(self) -> None:
        self._inner.close()
