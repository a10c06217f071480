"""laios-conformance: a provider conformance kit for LAIOS ``LLMClient`` implementations.

The public names are loaded lazily: the pytest plugin is imported by every pytest run in
an environment where the kit is installed, and must not pay for pydantic when unused.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = [
    "CircuitBreaker",
    "CircuitBreakerError",
    "CircuitState",
    "LLMClient",
    "LLMMessage",
    "LLMResponse",
    "LLMRouter",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module 'laios_conformance' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
