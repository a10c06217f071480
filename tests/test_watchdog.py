"""The call watchdog on its own: time limit, concurrency kept, errors and streams passed through."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from laios_conformance._watchdog import (
    _HUNG_BY_ID,
    ON_BEHALF_OF,
    CallTimedOut,
    abandoned_calls,
    guard_instance,
    run_with_timeout,
)
from laios_conformance.seam import Reply, interpose

NEVER = threading.Event()


class Provider:
    def __init__(self) -> None:
        self.closed_streams = 0

    def generate(self, answer: str) -> str:
        return answer

    def generate_stream(self) -> Iterator[str]:
        try:
            yield "a"
            yield "b"
        finally:
            self.closed_streams += 1

    def __repr__(self) -> str:
        return "Provider()"


def test_an_overrun_raises_a_base_exception_naming_the_call() -> None:
    with pytest.raises(CallTimedOut, match=r"^generate\(\) did not return within 0.05 s"):
        run_with_timeout("generate()", 0.05, NEVER.wait)
    assert not issubclass(CallTimedOut, Exception)  # clauses catching Exception must not see it
    assert any(call.what == "generate()" for call in abandoned_calls())


def test_errors_and_values_pass_through() -> None:
    assert run_with_timeout("f()", 5, lambda x: x + 1, 1) == 2
    with pytest.raises(KeyError, match="missing"):
        run_with_timeout("f()", 5, {}.__getitem__, "missing")


def test_concurrent_callers_stay_concurrent() -> None:
    """Two guarded calls that need each other would deadlock if the watchdog ran them in turn."""
    barrier = threading.Barrier(2, timeout=5)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(run_with_timeout("f()", 5, barrier.wait))) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]


def test_a_guarded_instance_keeps_its_type_and_repr_and_its_streams_close_when_dropped() -> None:
    provider = guard_instance(Provider(), 5)
    assert type(provider) is Provider and repr(provider) == "Provider()"
    assert provider.generate("hi") == "hi"
    stream = provider.generate_stream()
    assert next(stream) == "a"
    del stream
    assert provider.closed_streams == 1
    assert list(provider.generate_stream()) == ["a", "b"]


def test_no_timeout_means_a_plain_call() -> None:
    provider = Provider()
    assert guard_instance(provider, None).generate is not None
    assert "generate" not in vars(provider)
    assert run_with_timeout("f()", None, threading.get_ident) == threading.get_ident()


def test_a_caller_s_calls_share_one_call_thread_that_speaks_for_it() -> None:
    """Reused, not started per call: a thread start costs more than a replayed call."""
    threads = {run_with_timeout("f()", 5, threading.current_thread) for _ in range(3)}
    assert len(threads) == 1
    call_thread = threads.pop()
    assert call_thread is not threading.current_thread()
    assert getattr(call_thread, ON_BEHALF_OF) is threading.current_thread()


def test_an_abandoned_call_thread_stops_speaking_for_its_caller_and_ends_after_its_call() -> None:
    release = threading.Event()
    with pytest.raises(CallTimedOut):
        run_with_timeout("g()", 0.05, release.wait)
    abandoned = abandoned_calls()[-1].thread
    assert getattr(abandoned, ON_BEHALF_OF) is None
    assert run_with_timeout("f()", 5, threading.current_thread) is not abandoned
    release.set()
    abandoned.join(5)
    assert not abandoned.is_alive()


def test_a_call_thread_ends_with_its_caller() -> None:
    call_threads: list[threading.Thread] = []
    caller = threading.Thread(target=lambda: call_threads.append(run_with_timeout("f()", 5, threading.current_thread)))
    caller.start()
    caller.join()
    call_threads[0].join(5)
    assert not call_threads[0].is_alive()


def test_requests_from_a_call_thread_are_its_caller_s_traffic() -> None:
    """The call thread outlives seams (it was started before this one was entered), yet its
    requests are taken; an abandoned one's pass by, like any thread running elsewhere."""
    reply = Reply(body=b"{}", headers={"content-type": "application/json"})
    url = "https://api.example.invalid/v1/x"
    run_with_timeout("warm-up", 5, lambda: None)
    with interpose(lambda seen, upstream: reply) as traffic:
        run_with_timeout("post", 5, lambda: httpx.post(url, json={"n": 1}))
    assert [seen.json for seen in traffic.seen] == [{"n": 1}]

    release, sent = threading.Event(), threading.Event()

    def late_post() -> None:
        release.wait(5)
        with contextlib.suppress(Exception):  # passing by, it meets a closed loopback port
            httpx.post("http://127.0.0.1:9/v1/x", json={"n": 2}, timeout=0.5)
        sent.set()

    with pytest.raises(CallTimedOut):
        run_with_timeout("late", 0.05, late_post)
    with interpose(lambda seen, upstream: reply) as traffic:
        release.set()
        assert sent.wait(5)
    assert traffic.seen == []


def test_an_abandoned_call_thread_first_made_inside_a_seam_block_passes_by_later_blocks() -> None:
    """A seam block adopts the threads started inside it as the provider's; the kit's own call
    thread, made for a caller's first call inside one (as in a clause, or while the provider
    is built), must not be adopted with them: once abandoned, its late request is no later
    clause's traffic."""
    reply = Reply(body=b"{}", headers={"content-type": "application/json"})
    release, sent = threading.Event(), threading.Event()

    def caller() -> None:  # a thread of its own, so that its call thread is made inside the block
        with interpose(lambda seen, upstream: reply):
            run_with_timeout("first", 5, lambda: None)
        with contextlib.suppress(CallTimedOut):
            run_with_timeout("late", 0.05, late_post)

    def late_post() -> None:
        release.wait(5)
        with contextlib.suppress(Exception):  # passing by, it meets a closed loopback port
            httpx.post("http://127.0.0.1:9/v1/x", json={"n": 2}, timeout=0.5)
        sent.set()

    worker = threading.Thread(target=caller)
    worker.start()
    worker.join(5)
    with interpose(lambda seen, upstream: reply) as traffic:
        release.set()
        assert sent.wait(5)
    assert traffic.seen == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_forked_child_makes_its_own_call_thread() -> None:
    """Threads do not survive fork(): a child that used its parent's would wait forever."""
    run_with_timeout("f()", 5, lambda: None)  # the parent now has a call thread
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            ok = run_with_timeout("f()", 2, lambda: 42) == 42
        except BaseException:
            ok = False
        os.write(write, b"ok" if ok else b"no")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 2)
    os.waitpid(pid, 0)
    assert answer == b"ok"


def test_a_provider_argument_named_like_the_watchdog_s_own_reaches_the_provider() -> None:
    """``timeout`` is a common constructor argument (the reference providers take one)."""
    from laios_conformance.loading import load_provider

    class TakesTimeout:
        def __init__(self, timeout: float = 60, what: str = "", function: str = "") -> None:
            self.given = (timeout, what, function)

        def generate(self, *args: object) -> None: ...

    import sys
    import types

    module = types.ModuleType("laios_test_takes_timeout")
    module.TakesTimeout = TakesTimeout  # type: ignore[attr-defined]  # a module made at run time
    sys.modules[module.__name__] = module
    try:
        spec = load_provider(
            f"{module.__name__}:TakesTimeout", '{"timeout": 10, "what": "w", "function": "f"}', "sk-x", call_timeout=5
        )
        assert spec.build().given == (10, "w", "f")
    finally:
        del sys.modules[module.__name__]


class SlotsProvider:
    """Takes no attributes and no weak references: the kit guards its class."""

    __slots__ = ("hang", "closed")

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.closed = False

    def generate(self) -> str:
        if self.hang:
            NEVER.wait(timeout=2)  # ends on its own, so that the abandoned call thread does too
        return "ok"

    def close(self) -> None:
        self.closed = True


def test_a_class_guarded_instance_that_hung_is_not_closed_and_others_are() -> None:
    hangs, answers = guard_instance(SlotsProvider(hang=True), 0.05), guard_instance(SlotsProvider(hang=False), 0.05)
    with pytest.raises(CallTimedOut):
        hangs.generate()
    assert answers.generate() == "ok"
    hangs.close()
    answers.close()
    assert (hangs.closed, answers.closed) == (False, True)


def test_a_later_instance_is_closed_even_where_one_that_hung_was() -> None:
    """CPython gives a new object the address, and so the ``id``, of one just freed: the
    state of an instance that hung must not pass to the next one."""
    hangs = guard_instance(SlotsProvider(hang=True), 0.05)
    with pytest.raises(CallTimedOut):
        hangs.generate()
    del hangs
    gc.collect()
    later = guard_instance(SlotsProvider(hang=False), 5)
    later.close()
    assert later.closed
    assert not [kept for kept, _ in _HUNG_BY_ID.values() if isinstance(kept, SlotsProvider) and not kept.hang]
