"""Clauses on how the provider behaves behind a CircuitBreaker."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from ..base import CircuitBreaker, CircuitBreakerError, CircuitState
from ..clauses import clause
from ..seam import Traffic
from ._support import Cases, call_generate, observed, require_traffic, switchable

THRESHOLD = 5
RECOVERY = 30.0


class FakeClock:
    """Seconds that pass only when the clause says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def breaker_with_clock(clock: FakeClock) -> Iterator[Any]:
    """A breaker on the kit's clock: passed in, or patched into the real LAIOS module."""
    if "clock" in inspect.signature(CircuitBreaker).parameters:
        yield CircuitBreaker("provider-under-test", failure_threshold=THRESHOLD, recovery_timeout=RECOVERY, clock=clock)
        return
    fake_time = SimpleNamespace(monotonic=clock, time=clock, sleep=lambda s: clock.advance(s))
    with mock.patch(f"{CircuitBreaker.__module__}.time", fake_time):
        yield CircuitBreaker("provider-under-test", failure_threshold=THRESHOLD, recovery_timeout=RECOVERY)


@clause("circuit-breaker", "must")
@pytest.mark.vcr
def test_circuit_breaker(provider: Any, cassette: Any) -> None:
    """A CircuitBreaker around the provider opens after 5 consecutive failures and stops calling it.

    **Why**: LAIOS's agent wraps the LLM in a breaker so an outage costs five calls, not
    thousands. That only works when each failure raises the provider's own error and each
    success returns normally.

    **Checks**: calls 1-5 raise the provider's error (not ``CircuitBreakerError``); the state is
    OPEN after the 5th; call 6 raises ``CircuitBreakerError`` and sends no request; 4 failures,
    1 success, 4 failures leaves it CLOSED; after the recovery timeout (on an injected clock)
    it is HALF_OPEN, a success closes it and a failure reopens it.

    **How to fix**: first make ``raises-on-http-error`` pass; do not catch and return on failure.
    """
    cases = Cases()
    clock, state = FakeClock(), {"fail": True}
    with breaker_with_clock(clock) as breaker, observed(switchable(state), virtual_time=True) as traffic:
        for n in range(1, THRESHOLD + 1):
            error = _call(breaker, provider, traffic)
            if not isinstance(error, Exception) or isinstance(error, CircuitBreakerError):
                cases.fail(f"failure {n}", f"expected the provider's own error; it {_describe(error)}")
        if breaker.state is not CircuitState.OPEN:
            cases.fail("after 5 failures", f"state is {breaker.state}, expected OPEN")
        sent = len(traffic)
        if not isinstance(_call(breaker, provider, traffic, sends=False), CircuitBreakerError) or len(traffic) != sent:
            cases.fail("call 6", "expected CircuitBreakerError without any request being sent")

        breaker.reset()
        for fail in [True] * 4 + [False] + [True] * 4:
            state["fail"] = fail
            error = _call(breaker, provider, traffic)
            if not fail and isinstance(error, Exception):
                cases.fail("success between failures", f"the recorded answer {_describe(error)}")
        if breaker.state is not CircuitState.CLOSED:
            cases.fail("4 failures, 1 success, 4 failures", f"state is {breaker.state}, expected CLOSED")

        _call(breaker, provider, traffic)  # the 5th consecutive failure
        clock.advance(RECOVERY)
        if breaker.state is not CircuitState.HALF_OPEN:
            cases.fail("after the recovery timeout", f"state is {breaker.state}, expected HALF_OPEN")
        state["fail"] = False
        _call(breaker, provider, traffic)
        if breaker.state is not CircuitState.CLOSED:
            cases.fail("half-open success", f"state is {breaker.state}, expected CLOSED")

        state["fail"] = True
        for _ in range(THRESHOLD):
            _call(breaker, provider, traffic)
        clock.advance(RECOVERY)
        _call(breaker, provider, traffic)
        if breaker.state is not CircuitState.OPEN:
            cases.fail("half-open failure", f"state is {breaker.state}, expected OPEN")
    cases.conclude()


def _call(breaker: Any, provider: Any, traffic: Traffic, *, sends: bool = True) -> Any:
    """The exception a breaker call raised, or the response it returned. A call the breaker
    let through must have reached the kit's answer or fault (``sends``), or nothing is judged."""
    before = len(traffic)
    try:
        outcome = breaker.call(call_generate, provider)
    except Exception as exc:
        outcome = exc
    if sends and not isinstance(outcome, CircuitBreakerError):
        raised = outcome if isinstance(outcome, Exception) else None
        require_traffic(traffic, "generate() through the breaker", since=before, raised=raised)
    return outcome


def _describe(outcome: Any) -> str:
    if isinstance(outcome, Exception):
        return f"raised {type(outcome).__name__}: {outcome}"
    return f"returned {type(outcome).__name__} with content {getattr(outcome, 'content', outcome)!r:.60}"
