"""Correct providers of Ollama's native API that differ from the reference by design.

Each is the reference :class:`OllamaClient` with one legitimate habit that touches a
clause's edge; it must pass every clause the reference passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from laios_conformance import LLMResponse
from reference_providers._errors import NotFoundError
from reference_providers.ollama import OllamaClient

T = TypeVar("T")


class PullsMissingModel(OllamaClient):
    """A 404 (model not found) pulls the model (``POST /api/pull``), then asks again, as
    ollama-python's README shows; a pull that fails raises, so the chat is asked again only
    once the model is there. The stream does so before its first piece only."""

    def _pulling(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except NotFoundError:
            self._post_json("/api/pull", {"model": self.model, "stream": False})
        return call()

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        return self._pulling(lambda: super(PullsMissingModel, self).generate(messages, temperature, max_tokens))

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        def opened() -> Iterator[str]:
            stream = super(PullsMissingModel, self).generate_stream(messages, temperature, max_tokens)
            first = next(stream, None)  # the request is answered (or refused) here
            return _chained(first, stream)

        yield from self._pulling(opened)


def _chained(first: str | None, rest: Iterator[str]) -> Iterator[str]:
    if first is not None:
        yield first
    yield from rest
