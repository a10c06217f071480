"""Correct providers of Anthropic's Messages API that differ from the reference by design.

Each is the reference :class:`AnthropicClient` with one legitimate habit that touches a
clause's edge; it must pass every clause the reference passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from reference_providers._errors import ProviderError, StreamError
from reference_providers.anthropic import AnthropicClient

T = TypeVar("T")


def with_retries(call: Callable[[], T], attempts: int) -> T:
    """``call()``, sent again on a retryable error, ``attempts`` times in all."""
    for attempt in range(attempts):
        try:
            return call()
        except ProviderError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class StreamFallsBackToGenerate(AnthropicClient):
    """A stream that cannot open (a retryable status, a connection error) falls back to one
    non-streamed answer, yielded whole; nothing had reached the caller. One streamed
    attempt, then ``generate()`` with one retry: 3 attempts at most."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        yielded = False
        try:
            for text in super().generate_stream(messages, temperature, max_tokens):
                yielded = True
                yield text
        except ProviderError as exc:
            if yielded or not exc.retryable or isinstance(exc, StreamError):
                raise
            fallback = with_retries(lambda: self.generate(messages, temperature, max_tokens), attempts=2)
            yield fallback.content
