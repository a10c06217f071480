"""The kit's own LAIOS-compatible client models and abstract base.

Mirrors ``laios.llm.client`` as LAIOS documents it, so a provider written here runs
unchanged inside LAIOS (and vice versa).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["LLMClient", "LLMMessage", "LLMResponse"]


class LLMMessage(BaseModel):
    """One turn of a conversation: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


class LLMResponse(BaseModel):
    """What a provider returns from ``generate``."""

    content: str
    model: str
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class LLMClient(ABC):
    """Base class of every LAIOS provider.

    Subclasses implement :meth:`generate` and :meth:`generate_with_system`; they should
    override :meth:`generate_stream` to stream token by token.
    """

    def __init__(self, model: str, **kwargs: Any) -> None:
        self.model = model
        self.config: dict[str, Any] = kwargs

    @abstractmethod
    def generate(
        self,
        messages: list[LLMMessage],
        temperature: float = 0.7,
        max_tokens: int = 2048,
        **kwargs: Any,
    ) -> LLMResponse:
        """Answer a conversation; raise on any failure instead of returning empty content."""

    @abstractmethod
    def generate_with_system(
        self,
        system_prompt: str,
        user_message: str,
        temperature: float = 0.7,
        max_tokens: int = 2048,
        **kwargs: Any,
    ) -> LLMResponse:
        """Answer one user message under a system prompt."""

    def generate_stream(
        self,
        messages: list[LLMMessage],
        temperature: float = 0.7,
        max_tokens: int = 2048,
        **kwargs: Any,
    ) -> Iterator[str]:
        """Yield the answer in pieces. The default yields ``generate()``'s content as one chunk."""
        yield self.generate(messages, temperature=temperature, max_tokens=max_tokens, **kwargs).content

    def count_tokens(self, text: str) -> int:
        """A rough token estimate: four characters a token."""
        return len(text) // 4
