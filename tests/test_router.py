"""Tests of the kit's LLMRouter (``laios_conformance.base.router``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from laios_conformance.base.client import LLMClient, LLMMessage, LLMResponse
from laios_conformance.base.router import LLMRouter

MESSAGES = [LLMMessage(role="user", content="hi")]


class FakeProvider:
    """A duck-typed provider (deliberately not an LLMClient subclass).

    ``error`` makes ``generate`` raise; ``chunks`` is what ``generate_stream`` yields,
    and ``stream_error`` is raised after those chunks (or before any, if ``chunks`` is
    empty and ``stream_error`` is set).
    """

    def __init__(
        self,
        model: str,
        error: BaseException | None = None,
        usage: dict | None = None,
        chunks: list[str] | None = None,
        stream_error: BaseException | None = None,
    ) -> None:
        self.model = model
        self.error = error
        self.usage = usage
        self.chunks = chunks if chunks is not None else [f"from {model}"]
        self.stream_error = stream_error
        self.calls: list[dict] = []
        self.stream_calls = 0
        self.stream_closed = False

    def generate(self, messages: list[LLMMessage], **kwargs: Any) -> LLMResponse:
        self.calls.append({"messages": messages, **kwargs})
        if self.error is not None:
            raise self.error
        return LLMResponse(content=f"from {self.model}", model=self.model, usage=self.usage)

    def generate_stream(self, messages: list[LLMMessage], **kwargs: Any) -> Iterator[str]:
        self.stream_calls += 1
        try:
            yield from self.chunks
            if self.stream_error is not None:
                raise self.stream_error
        finally:
            self.stream_closed = True


class SubclassProvider(LLMClient):
    """A provider written the LAIOS way, subclassing LLMClient."""

    def generate(self, messages, temperature=0.7, max_tokens=2048, **kwargs) -> LLMResponse:
        return LLMResponse(content="subclass", model=self.model, usage={"total_tokens": 3})

    def generate_with_system(self, system_prompt, user_message, **kwargs) -> LLMResponse:
        raise AssertionError("the router must build messages itself")


class RaisingOnCallStream(FakeProvider):
    """A provider whose ``generate_stream`` is a plain function raising on call."""

    def generate_stream(self, messages, **kwargs):  # type: ignore[override]  # a plain function, not a generator, on purpose
        self.stream_calls += 1
        raise ConnectionError("refused")


class NoStreamProvider:
    """A provider with ``generate`` only."""

    def __init__(self, model: str) -> None:
        self.model = model

    def generate(self, messages, **kwargs) -> LLMResponse:
        return LLMResponse(content="whole answer", model=self.model)


# -- construction ---------------------------------------------------------------------


def test_empty_providers_is_value_error() -> None:
    with pytest.raises(ValueError, match="at least one provider"):
        LLMRouter([])


def test_unknown_strategy_names_the_accepted_values() -> None:
    with pytest.raises(ValueError) as info:
        LLMRouter([FakeProvider("a")], strategy="random")
    message = str(info.value)
    assert "'random'" in message
    assert "'fallback'" in message and "'round_robin'" in message


def test_model_is_first_providers_model_and_router_is_a_client() -> None:
    router = LLMRouter([FakeProvider("first"), FakeProvider("second")])
    assert router.model == "first"
    assert router.strategy == "fallback"
    assert isinstance(router, LLMClient)


def test_constructor_kwargs_become_config() -> None:
    router = LLMRouter([FakeProvider("a")], timeout=5)
    assert router.config == {"timeout": 5}


# -- fallback ---------------------------------------------------------------------------


def test_fallback_uses_first_provider_when_it_works() -> None:
    first, second = FakeProvider("a"), FakeProvider("b")
    response = LLMRouter([first, second]).generate(MESSAGES)
    assert response.content == "from a"
    assert len(first.calls) == 1 and second.calls == []


def test_fallback_tries_next_provider_and_counts_the_failure() -> None:
    primary = FakeProvider("a", error=TimeoutError("slow"))
    backup = FakeProvider("b")
    router = LLMRouter([primary, backup])

    assert router.generate(MESSAGES).content == "from b"
    stats = router.get_usage_stats()
    assert stats["FakeProvider(a)"] == {"calls": 1, "failures": 1, "total_tokens": 0}
    assert stats["FakeProvider(b)"] == {"calls": 1, "failures": 0, "total_tokens": 0}


def test_subclassed_provider_works_as_fallback_behind_failing_primary() -> None:
    router = LLMRouter([FakeProvider("a", error=ValueError("bad")), SubclassProvider("sub")])
    assert router.generate(MESSAGES).content == "subclass"
    assert router.get_usage_stats()["SubclassProvider(sub)"]["total_tokens"] == 3


def test_fallback_order_is_list_order() -> None:
    order: list[str] = []

    class Recording(FakeProvider):
        def generate(self, messages, **kwargs):
            order.append(self.model)
            return super().generate(messages, **kwargs)

    providers = [Recording(m, error=RuntimeError(m)) for m in "abc"] + [Recording("d")]
    LLMRouter(providers).generate(MESSAGES)
    assert order == ["a", "b", "c", "d"]


def test_arguments_are_passed_through() -> None:
    provider = FakeProvider("a")
    LLMRouter([provider]).generate(MESSAGES, temperature=0.1, max_tokens=7, top_p=0.5)
    call = provider.calls[0]
    assert call["messages"] == MESSAGES
    assert (call["temperature"], call["max_tokens"], call["top_p"]) == (0.1, 7, 0.5)


def test_all_fail_runtime_error_names_every_provider_and_error() -> None:
    router = LLMRouter(
        [FakeProvider("m1", error=TimeoutError("too slow")), FakeProvider("m2", error=KeyError("no key"))]
    )
    with pytest.raises(RuntimeError) as info:
        router.generate(MESSAGES)
    message = str(info.value)
    assert "FakeProvider(m1)" in message and "TimeoutError" in message and "too slow" in message
    assert "FakeProvider(m2)" in message and "KeyError" in message and "no key" in message
    assert isinstance(info.value.__cause__, KeyError)


def test_base_exception_is_not_caught() -> None:
    backup = FakeProvider("b")
    router = LLMRouter([FakeProvider("a", error=KeyboardInterrupt()), backup])
    with pytest.raises(KeyboardInterrupt):
        router.generate(MESSAGES)
    assert backup.calls == []


# -- usage stats --------------------------------------------------------------------------


def test_usage_stats_keys_and_token_sums() -> None:
    a = FakeProvider("a", usage={"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10})
    b = FakeProvider("b")  # no usage
    router = LLMRouter([a, b], strategy="round_robin")
    for _ in range(4):
        router.generate(MESSAGES)

    stats = router.get_usage_stats()
    assert set(stats) == {"FakeProvider(a)", "FakeProvider(b)"}
    assert stats["FakeProvider(a)"] == {"calls": 2, "failures": 0, "total_tokens": 20}
    assert stats["FakeProvider(b)"] == {"calls": 2, "failures": 0, "total_tokens": 0}


def test_usage_stats_is_a_snapshot() -> None:
    router = LLMRouter([FakeProvider("a")])
    router.get_usage_stats()["FakeProvider(a)"]["calls"] = 99
    assert router.get_usage_stats()["FakeProvider(a)"]["calls"] == 0


# -- round robin ------------------------------------------------------------------------


def test_round_robin_rotates_the_starting_provider() -> None:
    router = LLMRouter([FakeProvider("a"), FakeProvider("b"), FakeProvider("c")], strategy="round_robin")
    answered = [router.generate(MESSAGES).model for _ in range(7)]
    assert answered == ["a", "b", "c", "a", "b", "c", "a"]


def test_round_robin_falls_back_in_rotated_order() -> None:
    a, b, c = FakeProvider("a"), FakeProvider("b", error=OSError("down")), FakeProvider("c")
    router = LLMRouter([a, b, c], strategy="round_robin")
    answered = [router.generate(MESSAGES).model for _ in range(3)]
    # Call 2 starts at b, which fails, so c answers; call 3 starts at c.
    assert answered == ["a", "c", "c"]
    assert router.get_usage_stats()["FakeProvider(b)"] == {"calls": 1, "failures": 1, "total_tokens": 0}


def test_round_robin_counts_are_exact_under_threads() -> None:
    providers = [FakeProvider(m) for m in "abcd"]
    router = LLMRouter(providers, strategy="round_robin")
    threads_n, calls_n = 8, 50
    barrier = threading.Barrier(threads_n)

    def worker() -> None:
        barrier.wait()
        for _ in range(calls_n):
            router.generate(MESSAGES)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    stats = router.get_usage_stats()
    expected = threads_n * calls_n // len(providers)
    assert {name: s["calls"] for name, s in stats.items()} == {f"FakeProvider({m})": expected for m in "abcd"}
    assert all(s["failures"] == 0 for s in stats.values())


# -- generate_with_system -------------------------------------------------------------


def test_generate_with_system_builds_two_messages_and_routes() -> None:
    primary = FakeProvider("a", error=RuntimeError("x"))
    backup = FakeProvider("b")
    router = LLMRouter([primary, backup])
    response = router.generate_with_system("be brief", "hello", temperature=0.2, max_tokens=5)

    assert response.content == "from b"
    call = backup.calls[0]
    assert [(m.role, m.content) for m in call["messages"]] == [("system", "be brief"), ("user", "hello")]
    assert all(isinstance(m, LLMMessage) for m in call["messages"])
    assert (call["temperature"], call["max_tokens"]) == (0.2, 5)


# -- streaming ------------------------------------------------------------------------


def test_stream_falls_back_when_first_chunk_fails() -> None:
    primary = FakeProvider("a", chunks=[], stream_error=ConnectionError("reset"))
    backup = FakeProvider("b", chunks=["x", "y"])
    router = LLMRouter([primary, backup])

    assert list(router.generate_stream(MESSAGES)) == ["x", "y"]
    stats = router.get_usage_stats()
    assert stats["FakeProvider(a)"]["failures"] == 1
    assert stats["FakeProvider(b)"] == {"calls": 1, "failures": 0, "total_tokens": 0}


def test_stream_falls_back_when_starting_the_stream_raises() -> None:
    router = LLMRouter([RaisingOnCallStream("a"), FakeProvider("b", chunks=["ok"])])
    assert list(router.generate_stream(MESSAGES)) == ["ok"]


def test_stream_does_not_fall_back_after_first_chunk() -> None:
    error = ConnectionError("dropped mid-answer")
    primary = FakeProvider("a", chunks=["partial"], stream_error=error)
    backup = FakeProvider("b")
    router = LLMRouter([primary, backup])

    received: list[str] = []
    with pytest.raises(ConnectionError) as info:
        for chunk in router.generate_stream(MESSAGES):
            received.append(chunk)
    assert info.value is error
    assert received == ["partial"]
    assert backup.stream_calls == 0 and backup.calls == []
    assert router.get_usage_stats()["FakeProvider(a)"]["failures"] == 1


def test_empty_stream_is_a_success_without_fallback() -> None:
    backup = FakeProvider("b")
    router = LLMRouter([FakeProvider("a", chunks=[]), backup])
    assert list(router.generate_stream(MESSAGES)) == []
    assert backup.stream_calls == 0
    assert router.get_usage_stats()["FakeProvider(a)"] == {"calls": 1, "failures": 0, "total_tokens": 0}


def test_stream_all_fail_names_every_provider() -> None:
    router = LLMRouter(
        [
            FakeProvider("a", chunks=[], stream_error=TimeoutError("t1")),
            RaisingOnCallStream("b"),
        ]
    )
    with pytest.raises(RuntimeError) as info:
        list(router.generate_stream(MESSAGES))
    message = str(info.value)
    assert "FakeProvider(a)" in message and "TimeoutError" in message and "t1" in message
    assert "RaisingOnCallStream(b)" in message and "ConnectionError" in message


def test_stream_base_exception_before_first_chunk_is_not_caught() -> None:
    backup = FakeProvider("b")
    router = LLMRouter([FakeProvider("a", chunks=[], stream_error=KeyboardInterrupt()), backup])
    with pytest.raises(KeyboardInterrupt):
        list(router.generate_stream(MESSAGES))
    assert backup.stream_calls == 0


def test_stream_provider_without_generate_stream_yields_one_chunk() -> None:
    assert list(LLMRouter([NoStreamProvider("n")]).generate_stream(MESSAGES)) == ["whole answer"]


def test_stream_closed_early_closes_provider_stream() -> None:
    provider = FakeProvider("a", chunks=["1", "2", "3"])
    stream = LLMRouter([provider]).generate_stream(MESSAGES)
    assert next(stream) == "1"
    stream.close()  # type: ignore[attr-defined]  # typed Iterator, but the router returns a generator
    assert provider.stream_closed


def test_stream_round_robin_rotates_at_call_time() -> None:
    router = LLMRouter([FakeProvider("a"), FakeProvider("b")], strategy="round_robin")
    first = router.generate_stream(MESSAGES)
    second = router.generate_stream(MESSAGES)
    assert list(second) == ["from b"]
    assert list(first) == ["from a"]
