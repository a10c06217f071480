"""A factory function as a provider target (``module:function``)."""

from __future__ import annotations

from .openai_style import GoodOpenAIStyle


def make_good(api_key: str | None = None) -> GoodOpenAIStyle:
    return GoodOpenAIStyle(model="gpt-4o-mini", api_key=api_key)
