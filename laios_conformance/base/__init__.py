"""The LAIOS classes the suite judges against.

When the real ``laios`` package is importable, its own classes are used so that a LAIOS
user's provider is judged against the real thing; otherwise the kit's compatible copies.
The choice is all-or-nothing, so a router never wraps a client from the other family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = [
    "BASE_SOURCE",
    "CircuitBreaker",
    "CircuitBreakerError",
    "CircuitState",
    "LLMClient",
    "LLMMessage",
    "LLMResponse",
    "LLMRouter",
]

if TYPE_CHECKING:  # type-check against the kit's copies, which follow the real ones' interface
    from .breaker import CircuitBreaker, CircuitBreakerError, CircuitState
    from .client import LLMClient, LLMMessage, LLMResponse
    from .router import LLMRouter

    BASE_SOURCE: str
else:
    try:
        from laios.hardening.circuit_breaker import CircuitBreaker, CircuitBreakerError, CircuitState
        from laios.llm.client import LLMClient, LLMMessage, LLMResponse
        from laios.llm.router import LLMRouter

        BASE_SOURCE = "laios"
    except ImportError:
        from .breaker import CircuitBreaker, CircuitBreakerError, CircuitState
        from .client import LLMClient, LLMMessage, LLMResponse
        from .router import LLMRouter

        BASE_SOURCE = "laios_conformance"
