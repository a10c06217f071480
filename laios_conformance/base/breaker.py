"""CircuitBreaker: stop calling a failing dependency for a while, following
``laios.hardening.circuit_breaker``.

States: CLOSED (calls pass), OPEN (calls are rejected without running), HALF_OPEN
(the recovery timeout has passed; trial calls pass, one success closes the circuit and
one failure reopens it). The clock is injectable so tests never sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

__all__ = ["CircuitBreaker", "CircuitBreakerError", "CircuitState"]

T = TypeVar("T")


class CircuitState(Enum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreakerError(Exception):
    """Raised instead of calling the protected function while the circuit is open.

    ``name`` is the breaker's name and ``retry_after`` the seconds until trial calls are
    let through again (both ``None`` when raised with a bare message).
    """

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.retry_after = retry_after

    def __reduce__(self) -> Any:
        # Keyword-only attributes would otherwise be lost when pickled (e.g. by xdist).
        return (_rebuild_breaker_error, (str(self), self.name, self.retry_after))


def _rebuild_breaker_error(message: str, name: str | None, retry_after: float | None) -> CircuitBreakerError:
    return CircuitBreakerError(message, name=name, retry_after=retry_after)


class CircuitBreaker:
    """Guard calls to a dependency; open after ``failure_threshold`` consecutive failures.

    Any ``Exception`` from the guarded function counts as a failure and is re-raised
    unchanged; ``BaseException`` passes through uncounted. The lock only guards the
    bookkeeping: the guarded function runs without it, so calls run concurrently and
    may use the breaker themselves.

    ``total_calls`` counts calls that reached the function; rejected calls are counted
    in ``rejected_calls`` only.
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if recovery_timeout < 0:
            raise ValueError(f"recovery_timeout must not be negative, got {recovery_timeout}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._zero()

    # -- public API -------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        """The current state; OPEN reads as HALF_OPEN once the recovery timeout passed."""
        with self._lock:
            return self._current_state()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` through the breaker.

        Raises :class:`CircuitBreakerError` without calling ``fn`` while the circuit is
        open; otherwise returns ``fn``'s result or re-raises its exception unchanged.
        """
        self._admit()
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self._on_failure()
            raise
        self._on_success()
        return result

    def reset(self) -> None:
        """Close the circuit and zero every counter."""
        with self._lock:
            self._zero()

    def get_stats(self) -> dict[str, Any]:
        """A snapshot of the breaker's state, counters and settings."""
        with self._lock:
            state = self._current_state()
            return {
                "name": self.name,
                "state": state.value,
                "failure_count": self._failure_count,
                "success_count": self._success_count,
                "total_calls": self._total_calls,
                "total_failures": self._total_failures,
                "rejected_calls": self._rejected_calls,
                "failure_threshold": self.failure_threshold,
                "recovery_timeout": self.recovery_timeout,
                "seconds_until_retry": self._seconds_until_retry(state),
            }

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r}, state={self.state.value!r})"

    # -- transitions (all called with or taking the lock) ----------------------------

    def _zero(self) -> None:
        self._state = CircuitState.CLOSED
        self._opened_at = 0.0
        self._failure_count = 0
        self._success_count = 0
        self._total_calls = 0
        self._total_failures = 0
        self._rejected_calls = 0

    def _current_state(self) -> CircuitState:
        # Lock held. HALF_OPEN is derived from the clock rather than stored.
        if self._state is CircuitState.OPEN and self._elapsed_open() >= self.recovery_timeout:
            return CircuitState.HALF_OPEN
        return self._state

    def _elapsed_open(self) -> float:
        return self._clock() - self._opened_at

    def _seconds_until_retry(self, state: CircuitState) -> float:
        if state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self.recovery_timeout - self._elapsed_open())

    def _admit(self) -> None:
        """Count the call, or reject it while open before the recovery timeout."""
        with self._lock:
            state = self._current_state()
            if state is CircuitState.OPEN:
                self._rejected_calls += 1
                retry_after = self._seconds_until_retry(state)
                raise CircuitBreakerError(
                    f"Circuit breaker {self.name!r} is open after "
                    f"{self._failure_count} consecutive failures; "
                    f"retry in {retry_after:.1f}s",
                    name=self.name,
                    retry_after=retry_after,
                )
            self._total_calls += 1

    def _on_failure(self) -> None:
        with self._lock:
            state = self._current_state()
            self._failure_count += 1
            self._total_failures += 1
            if (
                state is CircuitState.HALF_OPEN
                or state is CircuitState.CLOSED
                and self._failure_count >= self.failure_threshold
            ):
                self._open()
            # Already OPEN (a call admitted before another thread opened the circuit):
            # counted, but it does not push the recovery time further out.

    def _on_success(self) -> None:
        with self._lock:
            state = self._current_state()
            self._failure_count = 0
            self._success_count += 1
            if state is CircuitState.HALF_OPEN:
                self._state = CircuitState.CLOSED
            # A success that lands while OPEN (another thread's failure reopened the
            # circuit meanwhile) is stale evidence and leaves the circuit open.

    def _open(self) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = self._clock()
