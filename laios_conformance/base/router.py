"""LLMRouter: spread requests over several providers, following ``laios.llm.router``.

The router is itself an :class:`~laios_conformance.base.client.LLMClient`, so it can be
used anywhere a single provider is accepted. Providers are duck-typed: anything with a
``model`` attribute and a ``generate`` method will do; subclassing is not required.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .client import LLMClient, LLMMessage, LLMResponse

__all__ = ["LLMRouter"]

logger = logging.getLogger(__name__)

STRATEGIES: tuple[str, ...] = ("fallback", "round_robin")


def provider_name(provider: Any) -> str:
    """The LAIOS display name of a provider: ``ClassName(model)``."""
    return f"{type(provider).__name__}({provider.model})"


def _tokens_of(response: Any) -> int:
    """``usage["total_tokens"]`` of a response, or 0 when it reports no usage."""
    usage = getattr(response, "usage", None)
    if not usage:
        return 0
    return int(usage.get("total_tokens", 0) or 0)


class LLMRouter(LLMClient):
    """Route each request to one of several providers.

    ``strategy="fallback"`` tries the providers in list order; ``"round_robin"`` starts
    each call one provider further along (call 1 at provider 0, call 2 at provider 1, ...)
    and then falls back in that rotated order. A provider failure is any ``Exception``;
    ``BaseException`` such as ``KeyboardInterrupt`` propagates at once. When every
    provider fails, a ``RuntimeError`` names each provider and its error.

    Statistics are keyed by ``ClassName(model)``; two providers with the same class and
    model therefore share one entry, as in LAIOS.
    """

    def __init__(
        self,
        providers: Sequence[Any],
        strategy: str = "fallback",
        **kwargs: Any,
    ) -> None:
        if not providers:
            raise ValueError("LLMRouter needs at least one provider")
        if strategy not in STRATEGIES:
            accepted = ", ".join(repr(s) for s in STRATEGIES)
            raise ValueError(f"Unknown strategy {strategy!r}; accepted values: {accepted}")
        self.providers: list[Any] = list(providers)
        self.strategy = strategy
        super().__init__(model=self.providers[0].model, **kwargs)
        self._lock = threading.Lock()
        self._rr_index = 0
        self._stats: dict[str, dict[str, int]] = {
            provider_name(p): {"calls": 0, "failures": 0, "total_tokens": 0} for p in self.providers
        }

    # -- public API -------------------------------------------------------------------

    def generate(
        self,
        messages: list[LLMMessage],
        temperature: float = 0.7,
        max_tokens: int = 2048,
        **kwargs: Any,
    ) -> LLMResponse:
        """Answer with the first provider (in strategy order) that does not raise."""
        errors: list[tuple[str, BaseException]] = []
        for provider in self._ordered_providers():
            name = provider_name(provider)
            self._record_attempt(name)
            try:
                response: LLMResponse = provider.generate(
                    messages, temperature=temperature, max_tokens=max_tokens, **kwargs
                )
            except Exception as exc:
                self._record_failure(name, exc)
                errors.append((name, exc))
                continue
            self._record_tokens(name, _tokens_of(response))
            return response
        raise self._all_failed(errors)

    def generate_with_system(
        self,
        system_prompt: str,
        user_message: str,
        temperature: float = 0.7,
        max_tokens: int = 2048,
        **kwargs: Any,
    ) -> LLMResponse:
        """Build ``[system, user]`` messages and route them like :meth:`generate`."""
        messages = [
            LLMMessage(role="system", content=system_prompt),
            LLMMessage(role="user", content=user_message),
        ]
        return self.generate(messages, temperature=temperature, max_tokens=max_tokens, **kwargs)

    def generate_stream(
        self,
        messages: list[LLMMessage],
        temperature: float = 0.7,
        max_tokens: int = 2048,
        **kwargs: Any,
    ) -> Iterator[str]:
        """Stream from the first provider (in strategy order) that produces a first chunk.

        Falling back is only safe *before* the first chunk reaches the caller. Each
        provider's stream is started and its first chunk pulled; if that raises, the
        failure is recorded and the next provider is tried. Once a chunk has been
        yielded, the router is committed to that provider: a later error is recorded as
        a failure and propagates to the caller unchanged. Switching provider mid-answer
        would silently splice two different answers together.

        A stream that ends before its first chunk counts as a success with no chunks.
        When every provider fails before its first chunk, ``RuntimeError`` names each.
        Providers without ``generate_stream`` are asked ``generate`` and yield its
        content as one chunk. Streams report no usage, so they add no tokens.

        The provider order (and the round-robin rotation) is fixed when this method is
        called, not when iteration starts.
        """
        order = self._ordered_providers()
        return self._stream_in_order(order, messages, temperature, max_tokens, kwargs)

    def get_usage_stats(self) -> dict[str, dict[str, Any]]:
        """Per provider ``{"calls", "failures", "total_tokens"}``; ``calls`` counts attempts."""
        with self._lock:
            return {name: dict(stats) for name, stats in self._stats.items()}

    # -- routing ----------------------------------------------------------------------

    def _ordered_providers(self) -> list[Any]:
        """The providers in the order this call should try them."""
        if self.strategy == "fallback":
            return list(self.providers)
        with self._lock:
            start = self._rr_index % len(self.providers)
            self._rr_index += 1
        return self.providers[start:] + self.providers[:start]

    def _stream_in_order(
        self,
        order: list[Any],
        messages: list[LLMMessage],
        temperature: float,
        max_tokens: int,
        kwargs: dict[str, Any],
    ) -> Iterator[str]:
        """The generator behind :meth:`generate_stream`."""
        errors: list[tuple[str, BaseException]] = []
        for provider in order:
            name = provider_name(provider)
            self._record_attempt(name)
            try:
                chunks = iter(_open_stream(provider, messages, temperature, max_tokens, kwargs))
                first = next(chunks)
            except StopIteration:
                return
            except Exception as exc:
                self._record_failure(name, exc)
                errors.append((name, exc))
                continue
            yield from self._commit_to(name, first, chunks)
            return
        raise self._all_failed(errors)

    def _commit_to(self, name: str, first: str, chunks: Iterator[str]) -> Iterator[str]:
        """Yield ``first`` and the rest of ``chunks``; errors now propagate unchanged."""
        try:
            yield first
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except Exception as exc:
                    self._record_failure(name, exc)
                    raise
                yield chunk
        finally:
            # The caller may stop early; let the provider release its connection.
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    # -- bookkeeping ------------------------------------------------------------------

    def _record_attempt(self, name: str) -> None:
        with self._lock:
            self._stats[name]["calls"] += 1

    def _record_failure(self, name: str, exc: BaseException) -> None:
        logger.warning("LLM provider %s failed: %s: %s", name, type(exc).__name__, exc)
        with self._lock:
            self._stats[name]["failures"] += 1

    def _record_tokens(self, name: str, tokens: int) -> None:
        with self._lock:
            self._stats[name]["total_tokens"] += tokens

    @staticmethod
    def _all_failed(errors: list[tuple[str, BaseException]]) -> RuntimeError:
        """The error raised when no provider answered, chained to the last failure."""
        details = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in errors)
        error = RuntimeError(f"All LLM providers failed: {details}")
        error.__cause__ = errors[-1][1] if errors else None
        return error


def _open_stream(
    provider: Any,
    messages: list[LLMMessage],
    temperature: float,
    max_tokens: int,
    kwargs: dict[str, Any],
) -> Iterator[str]:
    """Start a provider's stream, or fake one from ``generate`` if it cannot stream."""
    stream = getattr(provider, "generate_stream", None)
    if stream is None:
        response = provider.generate(messages, temperature=temperature, max_tokens=max_tokens, **kwargs)
        return iter([response.content])
    chunks: Iterator[str] = stream(messages, temperature=temperature, max_tokens=max_tokens, **kwargs)
    return chunks
