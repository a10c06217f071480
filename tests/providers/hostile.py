"""Providers that attack the kit rather than merely fail its clauses: they end the process,
hang, leave threads behind, leak their key through every channel, or phone out while
being built. Each is :class:`GoodOpenAIStyle` with one hostile habit; the docstring says
what the kit must do about it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .openai_style import GoodOpenAIStyle, ProviderError

_NEVER = threading.Event()  # nobody sets it: waiting on it is a hang


class ExitsInGenerate(GoodOpenAIStyle):
    """Ends the process from generate() with status 0: ``check`` must fail without a verdict."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        os._exit(0)


class EndsProcessInConstructor(GoodOpenAIStyle):
    """Ends the process from its constructor with status 0: ``check`` loads it first, and must survive."""

    def __init__(self, **kwargs: Any) -> None:
        os._exit(0)


class HangsOnce(GoodOpenAIStyle):
    """The first generate() of the run never returns; every later call (on fresh instances) works."""

    hung = False

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        if not HangsOnce.hung:
            HangsOnce.hung = True
            _NEVER.wait()
        return super().generate(messages, temperature, max_tokens, **kw)


class HangsOnFailure(GoodOpenAIStyle):
    """Every generate() whose request fails never returns (a backoff no virtual clock shortens)."""

    def post(self, body: dict[str, Any]) -> Any:
        try:
            return super().post(body)
        except ProviderError:
            _NEVER.wait()
            raise


class RetriesForever(GoodOpenAIStyle):
    """Retries every failed request once a second without a bound, on ``time.sleep`` (which
    the kit's virtual clock returns from at once): the call never returns while the API
    fails, and the kit's call timeout must say why. It gives up after 2 s of real time
    (``os.times().elapsed``, a clock the kit leaves alone), so that the abandoned call ends."""

    give_up_after = 2.0

    def post(self, body: dict[str, Any]) -> Any:
        give_up = os.times().elapsed + self.give_up_after
        while True:
            try:
                return super().post(body)
            except ProviderError:
                if os.times().elapsed > give_up:
                    raise
                time.sleep(1.0)


class RetriesForAlmostEver(RetriesForever):
    """:class:`RetriesForever` giving up after 20 s of real time only: long enough that only the
    kit can stop its calls early, even on a loaded machine."""

    give_up_after = 20.0


class StreamHangs(GoodOpenAIStyle):
    """generate_stream() yields its first chunk, then never yields again."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any
    ) -> Iterator[str]:
        yield "Hello"
        _NEVER.wait()


class CountTokensHangs(GoodOpenAIStyle):
    """count_tokens() never returns, as one that fetches a tokenizer over a network that never
    answers (tiktoken downloads its encodings on first use)."""

    def count_tokens(self, text: str) -> int:
        _NEVER.wait()
        return 0


class BlocksInConstructor(GoodOpenAIStyle):
    """Its constructor never returns."""

    def __init__(self, **kwargs: Any) -> None:
        _NEVER.wait()


class ExitsInConstructor(GoodOpenAIStyle):
    """Its constructor calls sys.exit: a usage error in one line."""

    def __init__(self, **kwargs: Any) -> None:
        sys.exit(3)


class LeavesThreadRunning(GoodOpenAIStyle):
    """Starts a non-daemon thread that never ends (telemetry gone wrong); answers correctly."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        if not any(t.name == "hostile-telemetry" for t in threading.enumerate()):
            threading.Thread(target=_NEVER.wait, name="hostile-telemetry", daemon=False).start()
        return super().generate(messages, temperature, max_tokens, **kw)


class LeaksKeyEverywhere(GoodOpenAIStyle):
    """Shows its key in every channel a provider has: stdout, stderr (also at descriptor
    level, and already when built), log records, warnings, and the text of its exceptions.
    no-secret-leak fails it; the kit must repeat the key nowhere."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        print(f"debug: built with key {self._api_key}")
        os.write(2, f"debug: built, key on descriptor 2: {self._api_key}\n".encode())

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        print(f"debug: calling with key {self._api_key}")
        print(f"debug: key on stderr {self._api_key}", file=sys.stderr)
        logging.getLogger("hostile.provider").warning("using key %s", self._api_key)
        warnings.warn(f"key in a warning: {self._api_key}", UserWarning, stacklevel=1)
        return super().generate(messages, temperature, max_tokens, **kw)

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise ProviderError(f"HTTP {response.status_code} with key {self._api_key}")


class PhonesHomeWhenBuilt(GoodOpenAIStyle):
    """Its constructor opens a connection to a public address and writes what happened to
    the file named by ``$LAIOS_TEST_PHONE_HOME_LOG``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            socket.create_connection(("203.0.113.7", 443), timeout=0.2).close()
            outcome = "connected"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        with Path(os.environ["LAIOS_TEST_PHONE_HOME_LOG"]).open("a") as log:
            log.write(outcome + "\n")


class Deployment(GoodOpenAIStyle):
    """Takes a ``deployment`` argument that its repr shows: a secret only when the user says so."""

    def __init__(self, deployment: str = "", api_key: str | None = None) -> None:
        super().__init__(api_key=api_key)
        self.deployment = deployment

    def __repr__(self) -> str:
        return f"Deployment(model={self.model!r}, deployment={self.deployment!r})"


class BlocksWhenBuiltAgain(GoodOpenAIStyle):
    """The kit's first instance (its probe) is built at once; every later constructor blocks."""

    built = 0

    def __init__(self, **kwargs: Any) -> None:
        BlocksWhenBuiltAgain.built += 1
        if BlocksWhenBuiltAgain.built > 1:
            _NEVER.wait()
        super().__init__(**kwargs)


class StartsThreadWhenBuilt(GoodOpenAIStyle):
    """Its constructor starts a non-daemon thread that never ends (the kit's probe builds one too)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        threading.Thread(target=_NEVER.wait, name="hostile-pool-warmer", daemon=False).start()


class InterruptedAfterFirstAnswer(GoodOpenAIStyle):
    """Raises ``KeyboardInterrupt`` once its first answer has arrived, as Ctrl-C would in the
    middle of a clause that makes two calls: the cassette being recorded holds one exchange
    of two, and must not be kept."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        answer = super().generate(messages, temperature, max_tokens, **kw)
        raise KeyboardInterrupt(f"after an answer of {len(answer.content)} characters")


class ChangesDirectory(GoodOpenAIStyle):
    """Its constructor changes the working directory to ``$LAIOS_TEST_CHDIR_TO`` (a local
    model runner moving to its model folder): the user's relative paths must not follow it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        os.chdir(os.environ["LAIOS_TEST_CHDIR_TO"])


class SetsSignalHandlerWhenBuilt(GoodOpenAIStyle):
    """Its constructor installs a SIGTERM handler (the one already there), which Python
    allows in the main thread only: the kit builds providers in a helper thread."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGTERM))


class _SameWhenStripped(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.strip() == other.strip()

    __hash__ = str.__hash__


class StripsBehindALyingStr(GoodOpenAIStyle):
    """Strips every answer, and hides it behind a str subclass whose ``__eq__`` ignores
    surrounding whitespace (built with ``model_construct``, which skips validation)."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        response = super().generate(messages, temperature, max_tokens, **kw)
        fields = dict(response.__dict__, content=_SameWhenStripped(response.content.strip()))
        return type(response).model_construct(**fields)


class LeaksKeyOnRateLimit(GoodOpenAIStyle):
    """Its error for HTTP 429 (only) names the key it sent: no-secret-leak hunted only 401's and 500's."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            raise ProviderError(f"rate limited; request sent with {self.headers()}")
        super().check_status(response)


class SkipsWhenAnswering(GoodOpenAIStyle):
    """Never answers: every successful generate() ends in ``pytest.skip()``, a BaseException
    that LLMRouter and every caller catching Exception let through."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        import pytest

        super().generate(messages, temperature, max_tokens, **kw)
        pytest.skip("model busy")


class BlocksAfterSayingSo(GoodOpenAIStyle):
    """generate() touches the file named by ``$LAIOS_TEST_STARTED``, then never returns: a
    run to press Ctrl-C in, at a known moment."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        Path(os.environ["LAIOS_TEST_STARTED"]).touch()
        _NEVER.wait()


class PrintsBytesWhenBuilt(GoodOpenAIStyle):
    """Its constructor writes bytes that are not UTF-8 to stdout (a C library's output, a
    log line in Latin-1): what the kit reads back from a child must not choke on them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        os.write(1, b"caf\xe9 \xff\xfe\n")


def _canned_answer(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    """What a patched transport answers instead of the API: a well-formed chat completion."""
    message = {"role": "assistant", "content": "canned"}
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "model": "gpt-4o-mini"}
    return httpx.Response(200, content=json.dumps(body).encode(), request=request)


class PatchesTransportWhenBuilt(GoodOpenAIStyle):
    """Its constructor replaces ``httpx.HTTPTransport.handle_request`` with a canned answer:
    replay never reaches that layer, so the kit must refuse it rather than pass it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        httpx.HTTPTransport.handle_request = _canned_answer  # type: ignore[method-assign]  # the hostile habit


class InstrumentsTransportWhenBuilt(GoodOpenAIStyle):
    """Its constructor wraps ``httpx.HTTPTransport.handle_request`` as tracing does: the
    wrapper calls through and keeps ``__wrapped__``, so the kit judges it as usual."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        original = httpx.HTTPTransport.handle_request
        if hasattr(original, "__wrapped__"):
            return

        @functools.wraps(original)
        def traced(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            return original(transport, request)

        httpx.HTTPTransport.handle_request = traced  # type: ignore[method-assign]  # the hostile habit


class SkipTestWhenAnswering(GoodOpenAIStyle):
    """Never answers: every successful generate() ends in ``unittest.SkipTest``, which pytest
    takes as a skip as it takes ``pytest.skip()``."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        import unittest

        super().generate(messages, temperature, max_tokens, **kw)
        raise unittest.SkipTest("model busy")


class SlotsWrapper:
    """A correct provider whose instances take no attributes (``__slots__``): it wraps
    :class:`GoodOpenAIStyle`. The kit must put its calls under the timeout all the same."""

    __slots__ = ("_inner", "model")

    def __init__(self, api_key: str | None = None) -> None:
        self._inner = GoodOpenAIStyle(api_key=api_key)
        self.model = self._inner.model

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        return self._inner.generate(messages, temperature, max_tokens, **kw)

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kw: Any
    ) -> Any:
        return self._inner.generate_with_system(system_prompt, user_message, temperature, max_tokens, **kw)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any
    ) -> Iterator[str]:
        return self._inner.generate_stream(messages, temperature, max_tokens, **kw)

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)


class SlotsWrapperHangsOnce(SlotsWrapper):
    """:class:`SlotsWrapper` whose first generate() of the run never returns."""

    __slots__ = ()
    hung = False

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        if not SlotsWrapperHangsOnce.hung:
            SlotsWrapperHangsOnce.hung = True
            _NEVER.wait()
        return super().generate(messages, temperature, max_tokens, **kw)


class YieldsEmptyForever(GoodOpenAIStyle):
    """The end-of-stream bug that spins: ``next(lines, "")`` in a loop that ends only on
    ``data: [DONE]``, yielding "" for every line without text, so a body cut short (or one
    without the marker) makes a stream that never ends."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        with self.open_stream(body) as response:
            lines = response.iter_lines()
            while True:
                line = next(lines, "")
                if line.strip() == "data: [DONE]":
                    return
                chunk = json.loads(line[len("data: ") :]) if line.startswith("data: ") else {}
                delta = (chunk.get("choices") or [{}])[0].get("delta") or {}
                yield delta.get("content") or ""


class StreamBlocksInIter(GoodOpenAIStyle):
    """generate_stream() returns an object whose ``__iter__`` never returns (a lazy stream
    that opens its request there, to a server that never answers)."""

    class _Lazy:
        def __iter__(self) -> Iterator[str]:
            _NEVER.wait()
            return iter(())

    def generate_stream(  # type: ignore[override]  # the hostile habit is in the returned type
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any
    ) -> Any:
        return self._Lazy()


class QuotesItsHeadersInErrors(GoodOpenAIStyle):
    """Puts its request headers, key and all, in the message of every HTTP error: the kit
    cuts long messages, and must not leave the start of the key in what it prints."""

    def http_error(self, status: int, body_text: str) -> ProviderError:
        # The key starts 93 characters in: the kit's cut of a message at 120 leaves its first 27.
        return ProviderError(f"HTTP {status}: {'request failed; ' * 3}headers: {self.headers()}")


class AssertsOnItsAnswer(GoodOpenAIStyle):
    """Checks its own answer with ``assert`` (no backslash in it): the AssertionError is the
    provider raising on a good answer, not the kit's property failing."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        response = super().generate(messages, temperature, max_tokens, **kw)
        assert "\\" not in response.content, "unexpected escape in the answer"
        return response
