"""Defective providers of Ollama's native API.

Each class is the reference :class:`OllamaClient` (which passes the whole contract) with one
bad habit; its docstring names the clause(s) it must fail.
"""

from __future__ import annotations

from typing import Any

from reference_providers.ollama import OllamaClient


class ParamsAtTopLevel(OllamaClient):
    """Fails params-reach-request and interface-defaults: sends ``temperature`` and
    ``max_tokens`` at the top level of the body, as an OpenAI-style client would. Ollama's
    server ignores unknown top-level fields: it reads ``options.temperature`` and
    ``options.num_predict``, so the model never gets them."""

    def _body(self, messages: Any, temperature: float | None, max_tokens: int | None, stream: bool) -> dict[str, Any]:
        body = super()._body(messages, None, None, stream)
        return {**body, "temperature": temperature, "max_tokens": max_tokens}
