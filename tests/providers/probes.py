"""Providers that probe the kit's isolation: what a request from outside the seam meets."""

from __future__ import annotations

import os
import urllib.request
from typing import Any

from .openai_style import GoodOpenAIStyle

# What each probe met, in order: "<url>: <outcome>". Read by tests/test_seam_isolation.py.
PROBES: list[str] = []
NAMED_URL = "http://api.laios-probe.invalid/v1/models"  # .invalid: never resolves, even if looked up


class ProbesTheNetworkWhenBuilt(GoodOpenAIStyle):
    """Fetches a model list from a non-loopback address, from a host name and from loopback
    whenever it is built (by the kit before the tests, and by each clause)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        urls = ("http://203.0.113.7/v1/models", NAMED_URL, os.environ.get("LAIOS_TEST_LOOPBACK_URL", ""))
        for url in urls:
            if url:
                PROBES.append(f"{url}: {_outcome(url)}")


def _outcome(url: str) -> str:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=2) as response:
            return f"HTTP {response.status}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
