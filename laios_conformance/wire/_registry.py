"""Which wire format a recorded exchange speaks.

Decoders are tried in order: those registered with ``first=True`` (most recent first),
then the built-in OpenAI, Anthropic and Ollama decoders, then those registered with
``first=False``. The first whose ``recognises`` accepts the exchange wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._base import WireFormat
from .anthropic import AnthropicWire
from .ollama import OllamaWire
from .openai import OpenAIWire

__all__ = ["by_name", "detect", "register", "registered", "unregister"]

_BUILT_IN: tuple[WireFormat, ...] = (OpenAIWire(), AnthropicWire(), OllamaWire())
_first: list[WireFormat] = []
_last: list[WireFormat] = []


def _as_bytes(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def register(fmt: WireFormat, *, first: bool = True) -> None:
    """Add a decoder: before the built-ins when ``first``, otherwise after them."""
    unregister(fmt)
    if first:
        _first.insert(0, fmt)
    else:
        _last.append(fmt)


def unregister(fmt: WireFormat) -> None:
    """Remove a decoder added with :func:`register` (unknown ones are ignored)."""
    for group in (_first, _last):
        if fmt in group:
            group.remove(fmt)


def registered() -> list[WireFormat]:
    """Every decoder, in the order :func:`detect` tries them."""
    return [*_first, *_BUILT_IN, *_last]


def by_name(name: str) -> WireFormat:
    """The first decoder called ``name`` ("openai", "anthropic", "ollama", ...)."""
    for fmt in registered():
        if fmt.name == name:
            return fmt
    raise KeyError(name)


def detect(
    url: str,
    request_body: bytes | str | None,
    response_headers: Mapping[str, str],
    response_body: bytes | str,
) -> WireFormat | None:
    """The decoder for a recorded exchange, or None if no decoder recognises it."""
    headers = {k.lower(): v for k, v in response_headers.items()}
    request, response = _as_bytes(request_body), _as_bytes(response_body)
    for fmt in registered():
        if fmt.recognises(url or "", request, headers, response):
            return fmt
    return None
