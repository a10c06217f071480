"""Reference LAIOS providers: OpenAI (and compatible servers), Anthropic and Ollama.

Each is an ``LLMClient`` that speaks its API with httpx directly (no vendor SDK at run
time), streams token by token, raises the documented errors of ``_errors`` instead of
returning empty content, and declares in ``conformance_profile`` which parameters it
deliberately leaves out for its model. They are what provider authors copy from, and the
conformance kit's proof that its contract can be met.

    from reference_providers.openai import OpenAIClient
    from reference_providers.anthropic import AnthropicClient
    from reference_providers.ollama import OllamaClient

The providers never retry; see ``ProviderError.retryable`` / ``retry_after``.
"""

from __future__ import annotations

from ._errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderRefusal,
    ProviderTimeout,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    StreamError,
)
from .anthropic import AnthropicClient
from .ollama import OllamaClient
from .openai import OpenAIClient

__all__ = [
    "AnthropicClient",
    "AuthenticationError",
    "BadRequestError",
    "NotFoundError",
    "OllamaClient",
    "OpenAIClient",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderRefusal",
    "ProviderTimeout",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "StreamError",
]
