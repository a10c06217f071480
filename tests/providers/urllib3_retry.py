"""Providers on ``requests`` that mount urllib3's ``Retry`` in an ``HTTPAdapter``, as the
requests documentation shows: 429 and 5xx retried twice with backoff, POST included."""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from .requests_style import RequestsOpenAIStyle

RETRIED = (429, 500, 502, 503, 504)


class RetriesInTheAdapter(RequestsOpenAIStyle):
    """Correct: ``raise_on_status=False`` hands back the last response once the retries run
    out, and the provider raises with its status and body as usual."""

    raise_on_status = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        retry = Retry(
            total=2,
            backoff_factor=0.5,
            status_forcelist=RETRIED,
            allowed_methods=None,
            raise_on_status=self.raise_on_status,
        )
        for prefix in ("https://", "http://"):
            self.session.mount(prefix, HTTPAdapter(max_retries=retry))


class RetryRaisesOnStatus(RetriesInTheAdapter):
    """Fails error-carries-status and error-carries-message (should): with urllib3's default
    ``raise_on_status=True``, a retried status that persists raises ``requests.RetryError``
    (from ``MaxRetryError``) instead of returning the response, so the exception says
    neither the status nor the API's message."""

    raise_on_status = True
