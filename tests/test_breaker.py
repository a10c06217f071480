"""Tests of the kit's CircuitBreaker (``laios_conformance.base.breaker``).

A fake clock drives every time-dependent transition, so nothing sleeps.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from laios_conformance.base.breaker import CircuitBreaker, CircuitBreakerError, CircuitState


class FakeClock:
    """A settable stand-in for ``time.monotonic``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Boom(Exception):
    """The failure the guarded functions raise."""


def ok() -> str:
    return "ok"


def fail() -> None:
    raise Boom("fail")


def fail_n(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        with pytest.raises(Boom):
            breaker.call(fail)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("svc", failure_threshold=5, recovery_timeout=30.0, clock=clock)


def open_breaker(breaker: CircuitBreaker) -> None:
    fail_n(breaker, breaker.failure_threshold)
    assert breaker.state is CircuitState.OPEN


# -- basics ---------------------------------------------------------------------------


def test_state_values() -> None:
    assert [s.value for s in CircuitState] == ["closed", "open", "half_open"]


def test_defaults() -> None:
    cb = CircuitBreaker("d")
    assert (cb.name, cb.failure_threshold, cb.recovery_timeout) == ("d", 5, 30.0)
    assert cb.state is CircuitState.CLOSED


@pytest.mark.parametrize("kwargs", [{"failure_threshold": 0}, {"recovery_timeout": -1.0}])
def test_invalid_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("bad", **kwargs)


def test_call_passes_arguments_and_returns_result(breaker: CircuitBreaker) -> None:
    assert breaker.call(lambda a, b=0: a + b, 2, b=3) == 5
    assert breaker.state is CircuitState.CLOSED


def test_original_exception_is_reraised_unchanged(breaker: CircuitBreaker) -> None:
    error = Boom("specific")

    def raise_it() -> None:
        raise error

    with pytest.raises(Boom) as info:
        breaker.call(raise_it)
    assert info.value is error


def test_base_exception_is_not_counted(breaker: CircuitBreaker) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        breaker.call(interrupt)
    assert breaker.get_stats()["total_failures"] == 0


# -- transitions ----------------------------------------------------------------------


def test_failures_must_be_consecutive(breaker: CircuitBreaker) -> None:
    fail_n(breaker, 4)
    breaker.call(ok)
    fail_n(breaker, 4)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.get_stats()["failure_count"] == 4


def test_fifth_consecutive_failure_opens(breaker: CircuitBreaker) -> None:
    fail_n(breaker, 4)
    assert breaker.state is CircuitState.CLOSED
    fail_n(breaker, 1)
    assert breaker.state is CircuitState.OPEN


def test_open_rejects_without_calling(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(10)
    called: list[bool] = []
    with pytest.raises(CircuitBreakerError) as info:
        breaker.call(lambda: called.append(True))
    assert called == []
    error = info.value
    assert error.name == "svc" and error.retry_after == pytest.approx(20.0)
    assert "'svc'" in str(error) and "20.0s" in str(error)
    assert breaker.get_stats()["rejected_calls"] == 1


def test_half_open_exactly_at_recovery_timeout(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(29.999)
    assert breaker.state is CircuitState.OPEN
    clock.advance(0.001)
    assert breaker.state is CircuitState.HALF_OPEN


def test_half_open_success_closes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(30)
    assert breaker.call(ok) == "ok"
    assert breaker.state is CircuitState.CLOSED
    assert breaker.get_stats()["failure_count"] == 0


def test_half_open_failure_reopens_and_restarts_timeout(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(30)
    fail_n(breaker, 1)
    assert breaker.state is CircuitState.OPEN
    clock.advance(29)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitBreakerError):
        breaker.call(ok)
    clock.advance(1)
    assert breaker.state is CircuitState.HALF_OPEN


def test_reset_closes_and_zeroes(breaker: CircuitBreaker) -> None:
    breaker.call(ok)
    open_breaker(breaker)
    with pytest.raises(CircuitBreakerError):
        breaker.call(ok)
    breaker.reset()
    stats = breaker.get_stats()
    assert breaker.state is CircuitState.CLOSED
    assert {k: stats[k] for k in COUNTERS} == dict.fromkeys(COUNTERS, 0)


def test_zero_recovery_timeout_goes_straight_to_half_open(clock: FakeClock) -> None:
    cb = CircuitBreaker("z", failure_threshold=1, recovery_timeout=0, clock=clock)
    fail_n(cb, 1)
    assert cb.state is CircuitState.HALF_OPEN


# -- stats ----------------------------------------------------------------------------

COUNTERS = ("failure_count", "success_count", "total_calls", "total_failures", "rejected_calls")


def test_get_stats_shape(breaker: CircuitBreaker) -> None:
    breaker.call(ok)
    fail_n(breaker, 5)
    with pytest.raises(CircuitBreakerError):
        breaker.call(ok)
    stats = breaker.get_stats()
    assert stats == {
        "name": "svc",
        "state": "open",
        "failure_count": 5,
        "success_count": 1,
        "total_calls": 6,
        "total_failures": 5,
        "rejected_calls": 1,
        "failure_threshold": 5,
        "recovery_timeout": 30.0,
        "seconds_until_retry": 30.0,
    }


def test_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(CircuitBreakerError("msg", name="n", retry_after=1.5)))
    assert (str(error), error.name, error.retry_after) == ("msg", "n", 1.5)
    assert CircuitBreakerError("plain").name is None


# -- concurrency ----------------------------------------------------------------------


def run_threads(n: int, target: Callable[[], None]) -> None:
    barrier = threading.Barrier(n)

    def start() -> None:
        barrier.wait()
        target()

    threads = [threading.Thread(target=start) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_failures_are_all_counted(clock: FakeClock) -> None:
    cb = CircuitBreaker("t", failure_threshold=10**9, clock=clock)

    def worker() -> None:
        for _ in range(200):
            with pytest.raises(Boom):
                cb.call(fail)

    run_threads(8, worker)
    stats = cb.get_stats()
    assert stats["total_calls"] == stats["total_failures"] == stats["failure_count"] == 1600
    assert stats["state"] == "closed"


def test_concurrent_failures_open_consistently(clock: FakeClock) -> None:
    cb = CircuitBreaker("t", failure_threshold=5, clock=clock)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            try:
                cb.call(fail)
            except Boom:
                result = "failed"
            except CircuitBreakerError:
                result = "rejected"
            with lock:
                outcomes.append(result)

    run_threads(8, worker)
    stats = cb.get_stats()
    assert stats["state"] == "open"
    assert stats["total_calls"] == stats["total_failures"] == outcomes.count("failed")
    assert stats["rejected_calls"] == outcomes.count("rejected")
    assert stats["total_calls"] + stats["rejected_calls"] == 800
    # Calls admitted before the circuit opened may still fail, but no more than one per
    # thread can be in flight when it opens.
    assert 5 <= stats["total_failures"] < 5 + 8


def test_lock_is_not_held_while_fn_runs(breaker: CircuitBreaker) -> None:
    seen: list[Any] = []
    worker = threading.Thread(target=lambda: seen.append(breaker.call(breaker.get_stats)))
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "fn deadlocked calling the breaker: lock held during fn"
    assert seen[0]["total_calls"] == 1


# -- stateful property test ---------------------------------------------------------

TIMEOUT = 10


class ReferenceBreaker:
    """The simplest model of the breaker's documented behaviour."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        self.stored = "closed"
        self.opened_at = 0
        self.failures = self.successes = self.total = self.total_failures = self.rejected = 0

    def state(self, now: int) -> str:
        if self.stored == "open" and now - self.opened_at >= TIMEOUT:
            return "half_open"
        return self.stored

    def blocked(self, now: int) -> bool:
        return self.state(now) == "open"

    def on_success(self, now: int) -> None:
        self.total += 1
        self.successes += 1
        self.failures = 0
        self.stored = "closed"

    def on_failure(self, now: int) -> None:
        half_open = self.state(now) == "half_open"
        self.total += 1
        self.total_failures += 1
        self.failures += 1
        if half_open or self.failures >= self.threshold:
            self.stored, self.opened_at = "open", now


class BreakerMachine(RuleBasedStateMachine):
    """Drive a CircuitBreaker and the reference model side by side."""

    @initialize(threshold=st.integers(min_value=1, max_value=4))
    def setup(self, threshold: int) -> None:
        self.clock = FakeClock(0)
        self.breaker = CircuitBreaker("m", threshold, TIMEOUT, clock=self.clock)
        self.model = ReferenceBreaker(threshold)
        self.called_while_blocked = False

    def _call(self, succeed: bool) -> None:
        now = int(self.clock.now)
        blocked = self.model.blocked(now)

        def fn() -> str:
            if blocked:
                self.called_while_blocked = True
            if not succeed:
                raise Boom("x")
            return "ok"

        if blocked:
            with pytest.raises(CircuitBreakerError):
                self.breaker.call(fn)
            self.model.rejected += 1
        elif succeed:
            assert self.breaker.call(fn) == "ok"
            self.model.on_success(now)
        else:
            with pytest.raises(Boom):
                self.breaker.call(fn)
            self.model.on_failure(now)

    @rule()
    def succeed(self) -> None:
        self._call(succeed=True)

    @rule()
    def fail(self) -> None:
        self._call(succeed=False)

    @rule(seconds=st.integers(min_value=0, max_value=TIMEOUT + 2))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        self.model.reset()

    @invariant()
    def state_matches(self) -> None:
        assert self.breaker.state.value == self.model.state(int(self.clock.now))

    @invariant()
    def counters_match(self) -> None:
        stats = self.breaker.get_stats()
        m = self.model
        expected = (m.failures, m.successes, m.total, m.total_failures, m.rejected)
        assert tuple(stats[k] for k in COUNTERS) == expected

    @invariant()
    def fn_never_runs_while_blocked(self) -> None:
        assert not self.called_while_blocked


BreakerMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestBreakerStateMachine = BreakerMachine.TestCase
