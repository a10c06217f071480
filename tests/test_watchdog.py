"""The call watchdog on its own: time limit, concurrency kept, errors and streams passed through."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from laios_conformance._watchdog import CallTimedOut, abandoned_calls, guard_instance, run_with_timeout

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
