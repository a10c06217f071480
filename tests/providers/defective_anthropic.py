"""Defective providers of Anthropic's Messages API.

Each class is the reference :class:`AnthropicClient` (which passes the whole contract) with
one bad habit; its docstring names the clause it must fail.
"""

from __future__ import annotations

from reference_providers.anthropic import AnthropicClient


class DropsAnthropicVersion(AnthropicClient):
    """Fails headers-reach-request: sends no ``anthropic-version``, which Anthropic's API
    requires on every request (it answers 400); replay does not match on headers."""

    def _headers(self) -> dict[str, str]:
        headers = super()._headers()
        del headers["anthropic-version"]
        return headers


class OldAnthropicVersion(AnthropicClient):
    """Fails headers-reach-request: asks for API version ``2023-01-01`` (copied from an old
    example), whose streams repeat the whole text so far in each event, while the cassettes
    were recorded with ``2023-06-01`` and show deltas."""

    def _headers(self) -> dict[str, str]:
        return {**super()._headers(), "anthropic-version": "2023-01-01"}
