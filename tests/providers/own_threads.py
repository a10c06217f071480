"""Providers that send from threads of their own, or do not send at all: the seam must
tell the provider's own traffic from other threads', and a clause must not judge an
answer the kit never served.

``SendsFromItsPool`` is correct: a common way to put a hard timeout on a call is to run
it in a ``ThreadPoolExecutor`` and wait on the future. The pool's worker threads start
during one call and send every later request, so the kit must count them as the
provider's in every later block, not as "threads already running elsewhere".
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from laios_conformance import LLMResponse

from .openai_style import GoodOpenAIStyle

HARD_TIMEOUT = 30.0
_END = object()


class SendsFromItsPool(GoodOpenAIStyle):
    """Correct: requests are sent, and streams read, by the worker threads of its own pool."""

    _pool: ThreadPoolExecutor | None = None

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="provider-pool")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        super().close()

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        body = self.payload(messages, temperature, max_tokens, stream=False)
        return self.parse(self.pool().submit(self.post, body).result(timeout=HARD_TIMEOUT))

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        pieces: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        self.pool().submit(self._pump, pieces, stop, messages, temperature, max_tokens)
        try:
            while (piece := pieces.get(timeout=HARD_TIMEOUT)) is not _END:
                if isinstance(piece, BaseException):
                    raise piece
                yield piece
        finally:
            stop.set()  # the caller stopped: the reader closes the response at its next piece

    def _pump(self, pieces: queue.Queue[Any], stop: threading.Event, *call: Any) -> None:
        stream = GoodOpenAIStyle.generate_stream(self, *call)
        try:
            for piece in stream:
                if stop.is_set():
                    break
                pieces.put(piece)
        except BaseException as exc:
            pieces.put(exc)
        finally:
            stream.close()
            pieces.put(_END)


class ReadsOnAfterTheCallerStops(SendsFromItsPool):
    """Defective (stream-closes): its reader thread reads the whole answer whether or not
    anyone still wants it, and only then closes the response."""

    def _pump(self, pieces: queue.Queue[Any], stop: threading.Event, *call: Any) -> None:
        super()._pump(pieces, threading.Event(), *call)  # a stop flag nobody sets


class StripsInItsPool(SendsFromItsPool):
    """Defective: strips every message's content, in requests its pool sends."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        body["messages"] = [{**m, "content": m["content"].strip()} for m in body["messages"]]
        return body


class AnswersFromCache(GoodOpenAIStyle):
    """Keeps the answer to each conversation and asks the API once: the kit cannot judge a
    repeated call by an answer it serves, since no request carries it to the provider."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        answers: dict[Any, LLMResponse] = self.__dict__.setdefault("_answers", {})
        key = (tuple((m.role, m.content) for m in messages), temperature, max_tokens)
        if key not in answers:
            answers[key] = super().generate(messages, temperature, max_tokens)
        return answers[key]


class RaisesBeforeSending(GoodOpenAIStyle):
    """Defective: generate() raises before it sends anything (an SDK called with an argument
    it does not take), while generate_stream() works. Every clause that needs generate()'s
    request must name that error, not a cache or an unwatched stack."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        raise TypeError("Messages.create() got an unexpected keyword argument 'temprature'")
