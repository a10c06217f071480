"""Hooks a project can implement (in its ``conftest.py`` or a plugin) to extend the kit."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_laios_wire_formats(config: pytest.Config) -> list[Any] | None:
    """Return wire-format decoders (:class:`laios_conformance.wire.WireFormat` instances)
    for a provider that speaks a format the kit does not know.

    They are tried before the built-in OpenAI, Anthropic and Ollama decoders. Without a
    decoder, the clauses that must read a recorded response report *skipped: unknown wire
    format*, never passed.
    """
