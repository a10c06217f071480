"""Defective providers of Ollama's native API.

Each class is the reference :class:`OllamaClient` (which passes the whole contract) with one
bad habit; its docstring names the clause(s) it must fail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial
from typing import Any

from laios_conformance import LLMResponse
from reference_providers._errors import NotFoundError, ProviderError
from reference_providers.ollama import OllamaClient, parse_chat

from ._retries import stream_with_retries


class ParamsAtTopLevel(OllamaClient):
    """Fails params-reach-request and interface-defaults: sends ``temperature`` and
    ``max_tokens`` at the top level of the body, as an OpenAI-style client would. Ollama's
    server ignores unknown top-level fields: it reads ``options.temperature`` and
    ``options.num_predict``, so the model never gets them."""

    def _body(self, messages: Any, temperature: float | None, max_tokens: int | None, stream: bool) -> dict[str, Any]:
        body = super()._body(messages, None, None, stream)
        return {**body, "temperature": temperature, "max_tokens": max_tokens}


class IndexesCounts(OllamaClient):
    """Fails usage-fidelity: reads the token counts as ``payload["prompt_eval_count"]``, so
    generate() raises KeyError on the answer Ollama sends to a prompt it has cached."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        payload = self._post_json("/api/chat", self._body(messages, temperature, max_tokens, False))
        prompt, completion = payload["prompt_eval_count"], payload["eval_count"]
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        return super().generate(messages, temperature, max_tokens).model_copy(update={"usage": usage})


class DropsUsageOfCachedPrompts(OllamaClient):
    """Fails usage-reported: reports no usage when the answer leaves ``prompt_eval_count`` out
    (as Ollama does for a prompt it has cached), though ``eval_count`` is there."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        response = super().generate(messages, temperature, max_tokens, **kwargs)
        if response.usage is not None and response.usage["prompt_tokens"] == 0:
            return response.model_copy(update={"usage": None})
        return response


class RetriesFailedStream(OllamaClient):
    """Fails stream-raises: sends the stream request again when a ``{"error": ...}`` line
    ends it, also once text has reached the caller, who then gets the start of the failed
    answer followed by the retried one."""

    def generate_stream(
        self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        restream = partial(super().generate_stream, messages, temperature, max_tokens)
        yield from stream_with_retries(restream, attempts=3, retry=lambda exc: True)


class AsksAgainAfterFailedPull(OllamaClient):
    """Fails no-retry-on-client-error: on a 404 it pulls the model and asks again even when
    the pull failed, so a model name that does not exist is asked for twice."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens)
        except NotFoundError:
            with contextlib.suppress(ProviderError):
                self._post_json("/api/pull", {"model": self.model, "stream": False})
        return super().generate(messages, temperature, max_tokens)


class AnswersWithItsThinking(OllamaClient):
    """Fails content-fidelity, on a thinking model's answer only: it puts ``message.thinking``
    before the answer (langchain-ai/langchainjs#9089)."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        payload = self._post_json("/api/chat", self._body(messages, temperature, max_tokens, False))
        message = payload.get("message") or {}
        thinking = message.get("thinking") or ""
        payload = dict(payload, message=dict(message, content=thinking + (message.get("content") or "")))
        return parse_chat(payload, self.model)


class SendsAssistantTurnsAsUser(OllamaClient):
    """Fails message-fidelity: sends the history's ``assistant`` turns as ``user`` ones."""

    def _body(self, messages: Any, temperature: float | None, max_tokens: int | None, stream: bool) -> dict[str, Any]:
        body = super()._body(messages, temperature, max_tokens, stream)
        body["messages"] = [
            {**turn, "role": "user"} if turn["role"] == "assistant" else turn for turn in body["messages"]
        ]
        return body
