"""Defective providers of OpenAI's Chat Completions, judged on the reference cassettes.

Each class is the reference :class:`OpenAIClient` (which passes the whole contract) with
one bad habit; its docstring names the clause it must fail.
"""

from __future__ import annotations

from typing import Any

from laios_conformance import LLMResponse
from reference_providers.openai import OpenAIClient, parse_completion


class CountsCachedTokensTwice(OpenAIClient):
    """Fails usage-fidelity: adds ``prompt_tokens_details.cached_tokens`` and
    ``completion_tokens_details.reasoning_tokens`` to the counts, which already hold them
    (zed-industries/zed#31885)."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> LLMResponse:
        payload = self._post_json("/chat/completions", self._body(messages, temperature, max_tokens, False))
        response = parse_completion(payload, self.model)
        usage = payload.get("usage") or {}
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
        if response.usage is None:
            return response
        prompt = response.usage["prompt_tokens"] + cached
        completion = response.usage["completion_tokens"] + reasoning
        counts = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        return response.model_copy(update={"usage": counts})
