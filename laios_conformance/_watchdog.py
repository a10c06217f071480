"""A time limit on every call into the provider, so that a hung provider cannot hang the run.

Each guarded call runs in a daemon call thread that serves the calling thread alone (so
that concurrent callers stay concurrent) and says so in an attribute the seam reads (so
that the seam, which takes the requests of the thread that entered it and of threads
started since, takes these as the caller's); the caller waits at most ``timeout`` seconds.
A call that overruns raises :class:`CallTimedOut` in the caller and is left running,
abandoned, in a thread that no longer speaks for the caller; the clause is reported as
an error and the next clause builds a fresh instance. At the end of the run
the session names the calls and the provider threads still alive and exits without them.

:class:`CallTimedOut` is a ``BaseException``: clauses that expect the provider to raise
catch ``Exception``, and a timeout must not count as the provider raising properly.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import itertools
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CallTimedOut",
    "MAX_STREAM_CHUNKS",
    "StreamNeverEnds",
    "abandoned_calls",
    "guard_instance",
    "run_with_timeout",
    "stray_threads",
]

_GUARDED_METHODS = ("generate", "generate_with_system", "generate_stream", "count_tokens", "close")
_counter = itertools.count(1)


class CallTimedOut(BaseException):
    """A provider call did not return within the call timeout."""


@dataclass(frozen=True)
class Abandoned:
    what: str
    thread: threading.Thread
    when: str = "after the call timeout"


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


# The attribute by which a call thread says whose calls it runs; the seam reads it
# (``seam/_model.py``) so that a request made from it counts as its caller's.
ON_BEHALF_OF = "laios_on_behalf_of"


class _CallThread:
    """A daemon thread that runs one caller thread's guarded calls, one at a time.

    Reused rather than started per call: a thread start costs more than a replayed call,
    and on a busy machine every start waits for the scheduler. It serves the thread that
    made it and ends with it; a call that overruns leaves it behind, abandoned, and the
    caller's next call gets a new one.
    """

    def __init__(self, caller: threading.Thread) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name=f"laios-call-{next(_counter)}", daemon=True)
        setattr(self.thread, ON_BEHALF_OF, caller)
        self.thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(None)

    def abandon(self) -> None:
        """Detach from the caller: anything it still sends is no longer the caller's traffic."""
        setattr(self.thread, ON_BEHALF_OF, None)


class _Held:
    """The caller's hold on its call thread: dropped when the caller ends (its thread-local
    data goes) or abandons the thread, and then the call thread ends after its last call."""

    def __init__(self, caller: threading.Thread) -> None:
        self.call_thread = _CallThread(caller)

    def __del__(self) -> None:
        self.call_thread.stop()


_serving = threading.local()


def _forget_call_threads() -> None:
    """In a forked child: the parent's call threads did not come along, so a call handed
    to one would wait forever (mutmut, for one, forks a process per mutant)."""
    global _serving
    _serving = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_call_threads)


def _call_thread() -> _CallThread:
    held: _Held | None = getattr(_serving, "held", None)
    if held is None:
        held = _serving.held = _Held(threading.current_thread())
    return held.call_thread


def run_with_timeout(
    what: str, timeout: float | None, function: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    """``function(*args, **kwargs)``, or :class:`CallTimedOut` after ``timeout`` seconds."""
    if not timeout or timeout <= 0:
        return function(*args, **kwargs)
    outcome: dict[str, Any] = {}
    done = threading.Event()
    context = contextvars.copy_context()
    # Popped when the call starts, so that the call thread keeps no reference to the
    # arguments (a stream the caller drops must close at once).
    pending = [functools.partial(function, *args, **kwargs)]

    def job() -> None:
        try:
            outcome["value"] = context.run(pending.pop())
        except BaseException as exc:  # handed to the caller, whatever it is
            outcome["error"] = exc
        finally:
            done.set()

    worker = _call_thread()
    worker.submit(job)
    try:
        finished = done.wait(timeout)
    except BaseException:  # Ctrl-C while waiting: the call runs on, and must not hold up the caller's next
        _abandon(worker, what, "at an interrupt")
        raise
    if not finished:
        _abandon(worker, what)
        raise CallTimedOut(
            f"{what} did not return within {timeout:g} s (--laios-call-timeout); the call was abandoned "
            "and the run went on with a fresh instance"
        )
    if "error" in outcome:
        raise outcome.pop("error")
    return outcome.pop("value")


def _abandon(worker: _CallThread, what: str, when: str = "after the call timeout") -> None:
    worker.abandon()
    _serving.held = None
    _abandoned.append(Abandoned(what, worker.thread, when))


def guard_instance(instance: Any, timeout: float | None) -> Any:
    """Put ``instance``'s provider methods under the timeout (as instance attributes, so that
    its type, ``repr`` and ``isinstance`` stay the provider's own; on its class when the
    instance takes no attributes, as with ``__slots__``). Returns ``instance``."""
    if not timeout or timeout <= 0:
        return instance
    state = _CallState()
    for name in _GUARDED_METHODS:
        method = getattr(instance, name, None)
        if callable(method) and not _set(instance, name, _guarded(name, method, timeout, state)):
            _guard_on_class(type(instance), name, timeout)
    return instance


class _CallState:
    """Whether a call of one instance hung (its later ``close()`` is then not called: the hung
    call may hold the lock it needs, and the instance is abandoned)."""

    hung = False

    def mark_hung(self) -> None:
        self.hung = True


class _InstanceOfGuardedClass(_CallState):
    """The state of an instance guarded through its class. Such an instance may take no weak
    reference, so those that hung are kept in :data:`_HUNG_BY_ID` with the instance itself:
    kept alive, its ``id`` cannot name a later instance."""

    def __init__(self, instance: Any) -> None:
        self._instance = instance

    def mark_hung(self) -> None:
        super().mark_hung()
        _HUNG_BY_ID[id(self._instance)] = (self._instance, self)


_HUNG_BY_ID: dict[int, tuple[Any, _CallState]] = {}


def _guard_on_class(cls: type, name: str, timeout: float) -> None:
    """Guard ``cls.name`` for every instance, each with a state of its own, shared by its
    methods. A type that takes no attributes either (a built-in or extension type) is left
    unguarded."""
    found = inspect.getattr_static(cls, name)
    if getattr(found, "_laios_guarded", False):
        return

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = found.__get__(self, cls) if hasattr(found, "__get__") else found
        _, state = _HUNG_BY_ID.get(id(self), (self, _InstanceOfGuardedClass(self)))
        return _guarded(name, bound, timeout, state)(*args, **kwargs)

    call._laios_guarded = True  # type: ignore[attr-defined]  # a mark on a function, read with getattr
    call.__wrapped__ = found  # type: ignore[attr-defined]  # as functools.wraps sets it, for inspect.signature
    with contextlib.suppress(AttributeError, TypeError):
        setattr(cls, name, call)


def _guarded(name: str, method: Callable[..., Any], timeout: float, state: _CallState) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if name == "close" and state.hung:
            return None  # a hung call may hold the lock close() needs; the instance is abandoned
        try:
            result = run_with_timeout(f"{name}()", timeout, method, *args, **kwargs)
        except (CallTimedOut, KeyboardInterrupt):  # the call may still run, holding what close() needs
            state.mark_hung()
            raise
        # a str is left unwrapped, so that the clause can name the mistake
        streamed = name == "generate_stream" and not isinstance(result, (str, bytes))
        return _GuardedStream(result, timeout, state) if streamed else result

    call.__wrapped__ = method  # type: ignore[attr-defined]  # as functools.wraps sets it, for inspect.signature
    return call


# No reply the kit serves, nor a live answer to its requests, comes in anywhere near this
# many pieces: a stream still yielding after them never ends (``next(lines, "")`` in a loop
# that waits for ``[DONE]`` yields "" forever once the body is cut).
MAX_STREAM_CHUNKS = 100_000


class StreamNeverEnds(CallTimedOut):
    """A provider's stream went on yielding past :data:`MAX_STREAM_CHUNKS` pieces."""


class _GuardedStream:
    """An iterator whose every step (and ``close()``) is under the timeout, and which ends a
    stream that never ends."""

    def __init__(self, stream: Any, timeout: float, state: _CallState) -> None:
        self._stream = stream
        self._timeout = timeout
        self._state = state
        self._yielded = 0
        self._iterator: Iterator[Any] = self._within_timeout(
            "generate_stream() (iter() of what it returned)", iter, stream
        )

    def __iter__(self) -> _GuardedStream:
        return self

    @property
    def provider_stream(self) -> Any:
        """What the provider's ``generate_stream()`` returned (a clause may name its type)."""
        return self._stream

    def __next__(self) -> Any:
        if self._yielded >= MAX_STREAM_CHUNKS:
            self._state.mark_hung()
            raise StreamNeverEnds(
                f"generate_stream() yielded {MAX_STREAM_CHUNKS} pieces and had not ended; the kit stopped "
                "reading it (a stream must end when its body does: after the last event, or on a closed "
                "connection, stop yielding or raise)"
            )
        chunk = self._within_timeout("generate_stream() (its next chunk)", next, self._iterator)
        self._yielded += 1
        return chunk

    def _within_timeout(self, what: str, step: Callable[[Any], Any], argument: Any) -> Any:
        try:
            return run_with_timeout(what, self._timeout, step, argument)
        except (CallTimedOut, KeyboardInterrupt):
            self._state.mark_hung()
            raise

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close) and not self._state.hung:
            run_with_timeout("generate_stream().close()", self._timeout, close)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_stream"], name)


def _set(instance: Any, name: str, value: Any) -> bool:
    """Whether ``instance`` took the attribute (not with ``__slots__``, nor a built-in type)."""
    try:
        object.__setattr__(instance, name, value)
    except (AttributeError, TypeError):
        return False
    return True
