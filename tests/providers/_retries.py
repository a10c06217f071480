"""Retry loops the test providers share: each provider differs in what it retries and when."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from reference_providers._errors import ProviderError, StreamError

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


def stream_with_retries(
    stream: Callable[[], Iterator[str]], attempts: int, retry: Callable[[StreamError], bool]
) -> Iterator[str]:
    """``stream()``'s chunks; on a :class:`StreamError` that ``retry`` accepts, the whole stream
    asked for again, ``attempts`` times in all, even after chunks reached the caller."""
    for attempt in range(attempts):
        try:
            yield from stream()
            return
        except StreamError as exc:
            if not retry(exc) or attempt == attempts - 1:
                raise
