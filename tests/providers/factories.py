"""A factory function as a provider target (``module:function``)."""

from __future__ import annotations

from typing import Optional

from .openai_style import GoodOpenAIStyle


def make_good(api_key: Optional[str] = None) -> GoodOpenAIStyle:
    return GoodOpenAIStyle(model="gpt-4o-mini", api_key=api_key)
