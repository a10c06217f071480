"""A time limit on every call into the provider, so that a hung provider cannot hang the run.

Each guarded call runs in a daemon thread of its own (so that concurrent callers stay
concurrent, and so that the seam, which takes the requests of threads started since a
clause began, takes these) and the caller waits at most ``timeout`` seconds. A call that overruns
raises :class:`CallTimedOut` in the caller and is left running, abandoned; the clause is
reported as an error and the next clause builds a fresh instance. At the end of the run
the session names the calls and the provider threads still alive and exits without them.

:class:`CallTimedOut` is a ``BaseException``: clauses that expect the provider to raise
catch ``Exception``, and a timeout must not count as the provider raising properly.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["CallTimedOut", "abandoned_calls", "guard_instance", "run_with_timeout", "stray_threads"]

_GUARDED_METHODS = ("generate", "generate_with_system", "generate_stream", "close")
_counter = itertools.count(1)


class CallTimedOut(BaseException):
    """A provider call did not return within the call timeout."""


@dataclass(frozen=True)
class Abandoned:
    what: str
    thread: threading.Thread


_abandoned: list[Abandoned] = []


def abandoned_calls() -> list[Abandoned]:
    """Calls that overran their timeout and are still running."""
    return [call for call in _abandoned if call.thread.is_alive()]


def stray_threads(before: set[int | None]) -> list[threading.Thread]:
    """Non-daemon threads alive now that were not alive at ``before`` (their idents): they
    would keep the interpreter from exiting."""
    return [
        t
        for t in threading.enumerate()
        if t.is_alive() and not t.daemon and t is not threading.main_thread() and t.ident not in before
    ]


def describe_threads(threads: list[threading.Thread]) -> str:
    return ", ".join(repr(t.name) for t in threads)


def run_with_timeout(what: str, timeout: float | None, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, or :class:`CallTimedOut` after ``timeout`` seconds."""
    if not timeout or timeout <= 0:
        return function(*args, **kwargs)
    outcome: dict[str, Any] = {}
    done = threading.Event()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome["value"] = context.run(function, *args, **kwargs)
        except BaseException as exc:  # handed to the caller, whatever it is
            outcome["error"] = exc
        finally:
            done.set()

    # A new thread for each call, never a pooled one: the seam takes the requests of threads
    # started since a clause began, and lets those of older threads pass by.
    worker = threading.Thread(target=work, name=f"laios-call-{next(_counter)}", daemon=True)
    worker.start()
    if not done.wait(timeout):
        _abandoned.append(Abandoned(what, worker))
        raise CallTimedOut(
            f"{what} did not return within {timeout:g} s (--laios-call-timeout); the call was abandoned "
            "and the run went on with a fresh instance"
        )
    worker.join()  # it has finished: let it drop its references (a dropped stream must close now)
    if "error" in outcome:
        raise outcome.pop("error")
    return outcome.pop("value")


def guard_instance(instance: Any, timeout: float | None) -> Any:
    """Put ``instance``'s provider methods under the timeout (as instance attributes, so that
    its type, ``repr`` and ``isinstance`` stay the provider's own). Returns ``instance``."""
    if not timeout or timeout <= 0:
        return instance
    state = {"hung": False}
    for name in _GUARDED_METHODS:
        method = getattr(instance, name, None)
        if callable(method):
            _set(instance, name, _guarded(name, method, timeout, state))
    return instance


def _guarded(name: str, method: Callable[..., Any], timeout: float, state: dict[str, bool]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if name == "close" and state["hung"]:
            return None  # a hung call may hold the lock close() needs; the instance is abandoned
        try:
            result = run_with_timeout(f"{name}()", timeout, method, *args, **kwargs)
        except CallTimedOut:
            state["hung"] = True
            raise
        return _GuardedStream(result, timeout, state) if name == "generate_stream" else result

    call.__wrapped__ = method  # type: ignore[attr-defined]
    return call


class _GuardedStream:
    """An iterator whose every step (and ``close()``) is under the timeout."""

    def __init__(self, stream: Any, timeout: float, state: dict[str, bool]) -> None:
        self._iterator: Iterator[Any] = iter(stream)
        self._stream = stream
        self._timeout = timeout
        self._state = state

    def __iter__(self) -> _GuardedStream:
        return self

    def __next__(self) -> Any:
        try:
            return run_with_timeout("generate_stream() (its next chunk)", self._timeout, next, self._iterator)
        except CallTimedOut:
            self._state["hung"] = True
            raise

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close) and not self._state["hung"]:
            run_with_timeout("generate_stream().close()", self._timeout, close)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_stream"], name)


def _set(instance: Any, name: str, value: Any) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # __slots__ or a frozen type: left unguarded
        object.__setattr__(instance, name, value)
