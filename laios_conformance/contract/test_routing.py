"""Clauses on how the provider behaves inside an LLMRouter."""

from __future__ import annotations

from typing import Any

import pytest

from ..base import LLMRouter
from ..clauses import clause
from ..seam import Traffic
from ._support import Cases, StubProvider, call_generate, failing_http, observed, refuse_unsent_probing

STUB_ANSWER = "answer from the kit's stub provider"


@clause("router-fallback", "must")
@pytest.mark.vcr
def test_router_fallback(provider: Any, cassette: Any) -> None:
    """LLMRouter falls back past the provider when it fails, and uses it when it answers.

    **Why**: the router is how LAIOS survives an outage: it catches ``Exception`` from one
    provider and tries the next. It only works if the provider raises (not returns) on
    failure and answers normally when called through the router.

    **Checks**: the provider failing as primary (HTTP 503): the fallback's answer is returned
    and the router's stats count the failure; the provider as fallback behind a failing
    primary: its answer is returned; ``round_robin`` alternates between it and a stub;
    every provider failing: ``RuntimeError``.

    **How to fix**: first make ``raises-on-http-error`` pass; then check that ``generate``
    accepts the router's call ``generate(messages, temperature, max_tokens)``.
    """
    cases = Cases()
    stats_key = f"{type(provider).__name__}({provider.model})"

    router = LLMRouter([provider, StubProvider("kit-fallback", STUB_ANSWER)], strategy="fallback")
    with observed(failing_http(), virtual_time=True) as traffic:
        answer = _answer(router)
    _require_sent(provider, traffic, "generate() through the router")
    if answer != STUB_ANSWER:
        cases.fail("provider as failing primary", f"expected the fallback's answer, got {answer!r:.200}")
    elif router.get_usage_stats().get(stats_key, {}).get("failures", 0) < 1:
        cases.fail("provider as failing primary", f"the router's stats for {stats_key} count no failure")

    router = LLMRouter([StubProvider("kit-primary", fail=True), provider], strategy="fallback")
    with observed() as traffic:
        answer = _answer(router)
    _require_sent(provider, traffic, "generate() through the router")
    if not isinstance(answer, str) or not answer or answer == STUB_ANSWER:
        cases.fail("provider as fallback", f"expected the provider's answer, got {answer!r:.200}")

    router = LLMRouter([provider, StubProvider("kit-peer", STUB_ANSWER)], strategy="round_robin")
    with observed() as traffic:
        answers = [_answer(router) for _ in range(4)]
    _require_sent(provider, traffic, "generate() through the round_robin router")
    from_stub = [a == STUB_ANSWER for a in answers]
    if from_stub != [False, True, False, True] or not all(isinstance(a, str) and a for a in answers):
        cases.fail("round_robin", f"expected provider, stub, provider, stub; got {answers!r:.300}")

    router = LLMRouter([provider, StubProvider("kit-also-failing", fail=True)], strategy="fallback")
    with observed(failing_http(), virtual_time=True) as traffic:
        outcome = _answer(router)
    _require_sent(provider, traffic, "generate() through the router, every provider failing")
    if isinstance(outcome, RuntimeError):
        cases.ok("all failing")
    elif isinstance(outcome, Exception):
        cases.fail("all failing", f"expected RuntimeError, got {type(outcome).__name__}")
    else:
        cases.fail("all failing", "the router returned instead of raising RuntimeError")
    cases.conclude()


def _require_sent(provider: Any, traffic: Traffic, during: str) -> None:
    """The router swallows the provider's exception: when nothing was sent, ask why directly."""
    if not traffic.seen:
        refuse_unsent_probing(provider, during)


def _answer(router: Any) -> Any:
    """The router's answer text, or the exception it raised."""
    try:
        return call_generate(router).content
    except Exception as exc:
        return exc
