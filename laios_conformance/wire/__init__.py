"""Decoders for the wire formats LAIOS providers speak, independent of any provider.

The kit uses them to know what text a recorded HTTP response carried (whole or
streamed), and to write variants of it: another text, a stream without its end marker,
a stream broken by an in-stream error, an error body for a given status.

>>> fmt = detect(url, request_body, response_headers, response_body)
>>> fmt.extract_text(response_body, stream=fmt.is_stream(response_headers, response_body))

Only the standard library is imported here.
"""

from __future__ import annotations

from ._base import ErrorShape, Event, WireError, WireFormat
from ._registry import by_name, detect, register, registered, unregister
from .anthropic import AnthropicWire
from .ollama import OllamaWire
from .openai import OpenAIWire

__all__ = [
    "AnthropicWire",
    "ErrorShape",
    "Event",
    "OllamaWire",
    "OpenAIWire",
    "WireError",
    "WireFormat",
    "by_name",
    "detect",
    "register",
    "registered",
    "unregister",
]
