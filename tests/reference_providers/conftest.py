"""Hermetic environment for the reference provider tests: no real keys, no network."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys from the developer's shell must not change what the providers do."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
