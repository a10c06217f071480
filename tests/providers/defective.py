"""Providers with exactly one bad habit each, to prove that each clause catches its defect.

Each class is the correct :class:`GoodOpenAIStyle` with one method changed; its docstring
names the clause(s) it must fail.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import re
import socket
import time
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from laios_conformance import LLMClient, LLMMessage, LLMResponse

from .openai_chat import StreamState
from .openai_style import (
    GenerateReadsStream,
    GoodOpenAIStyle,
    KeyFromItsEnvironment,
    KeyInBasicCredentials,
    ProviderError,
    RetriesConnectsTwice,
    tls_context,
)
from .sdk_wrappers import AnthropicSDKProvider, AnthropicSDKStreamedGenerate


class EmptyModelName(GoodOpenAIStyle):
    """Fails returns-response: the response's ``model`` is empty."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        return super().parse(response).model_copy(update={"model": ""})


class FailsEveryOtherCall(GoodOpenAIStyle):
    """Fails returns-response, flakily: every other response it parses (the first one, the
    third...) has an empty ``model``, so the clause passes when run again (``--reruns``).
    The count is the class's: reset ``calls`` before a run."""

    calls = itertools.count()

    def parse(self, response: httpx.Response) -> LLMResponse:
        parsed = super().parse(response)
        return parsed.model_copy(update={"model": ""}) if next(FailsEveryOtherCall.calls) % 2 == 0 else parsed


class DropsSystemPrompt(GoodOpenAIStyle):
    """Fails system-prompt: generate_with_system sends only the user message."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return self.generate([LLMMessage(role="user", content=user_message)], temperature, max_tokens)


class QuotesEchoedKey(GoodOpenAIStyle):
    """Fails no-secret-leak, on an error body that repeats the key only: it quotes the body
    as it came (as LiteLLM's proxy 401 repeats the key it was sent, BerriAI/litellm#39787)."""

    def http_error(self, status: int, body_text: str) -> ProviderError:
        return ProviderError(f"HTTP {status}: {body_text[:200]}")


class ChatHalted(BaseException):
    """An error class derived from BaseException, as ``KeyboardInterrupt`` and ``SystemExit`` are."""


class ErrorsAreBaseExceptions(GoodOpenAIStyle):
    """Fails every clause that answers with an HTTP error: raises ``ChatHalted``, which
    ``except Exception`` (LAIOS's router and breaker, and the clauses) lets through."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            raise ChatHalted(f"HTTP {response.status_code}: {response.text[:200]}")


class KeepsLastFiftyTurns(GoodOpenAIStyle):
    """Fails message-fidelity: sends the system messages and the last 50 other turns only, a
    "context window guard" that drops the start of a long history without a word."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        system = [m for m in messages if m.role == "system"]
        turns = [m for m in messages if m.role != "system"]
        return super().payload([*system, *turns[-50:]], temperature, max_tokens, stream)


class TrimsHistoryToCharacterBudget(GoodOpenAIStyle):
    """Fails message-fidelity: drops the oldest turns while the history is over 60 000 characters."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        kept = list(messages)
        while sum(len(m.content) for m in kept) > 60_000 and len(kept) > 1:
            kept.pop(next(i for i, m in enumerate(kept) if m.role != "system"))
        return super().payload(kept, temperature, max_tokens, stream)


class MapsRolesWithUserDefault(GoodOpenAIStyle):
    """Fails message-fidelity: a role map copied from another API, with ``"user"`` for any
    role it lacks, so the history's assistant turns reach the model as the user's words."""

    ROLES = {"system": "system", "user": "user", "human": "user", "ai": "assistant"}

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        body["messages"] = [{**m, "role": self.ROLES.get(m["role"], "user")} for m in body["messages"]]
        return body


class SendsSystemAsUser(GoodOpenAIStyle):
    """Fails message-fidelity: sends every system message as a ``user`` turn."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        body["messages"] = [{**m, "role": "user"} if m["role"] == "system" else m for m in body["messages"]]
        return body


class FoldsSystemPromptIntoUser(GoodOpenAIStyle):
    """Fails message-fidelity: ``generate_with_system()`` sends one user message, the system
    prompt and a blank line before the user's text, and declares nothing."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        folded = [LLMMessage(role="user", content=f"{system_prompt}\n\n{user_message}")]
        return self.generate(folded, temperature, max_tokens, **kwargs)


class DeclaresFoldingButSendsSystem(GoodOpenAIStyle):
    """Fails message-fidelity: declares ``folds_system`` and still sends system messages."""

    conformance_profile = {"folds_system": "the model has no system role"}


class SharesOneLineSplitter(GoodOpenAIStyle):
    """Fails thread-safety: one buffer on the instance holds the bytes of a stream's unfinished
    line between reads ("no need to build a splitter per call"), so two streams read at once
    mix their lines; alone, it splits every stream right."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = b""

    def _lines(self, pieces: Iterable[bytes]) -> Iterator[str]:
        for piece in pieces:
            self._pending += piece
            while (end := re.search(rb"\r\n|\r(?=.)|\n", self._pending, re.DOTALL)) is not None:
                line, self._pending = self._pending[: end.start()], self._pending[end.end() :]
                yield line.decode("utf-8")
        rest, self._pending = self._pending.rstrip(b"\r"), b""
        if rest:
            yield rest.decode("utf-8")

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        with self.open_stream(self.payload(messages, temperature, max_tokens, stream=True)) as response:
            yield from self.deltas(self._lines(response.iter_raw()))


class RetriesReadTimeouts(GoodOpenAIStyle):
    """Fails retry-bounded, on a read timeout only: it tries a timed-out request five more
    times, so one call can wait six timeouts (openai/openai-python#3828)."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        for _ in range(5):
            try:
                return super().post(body)
            except ProviderError as exc:
                if not isinstance(exc.__cause__, httpx.ReadTimeout):
                    raise
        return super().post(body)


class SendsSystemPromptTwice(GoodOpenAIStyle):
    """Fails system-prompt: generate_with_system() sends the system prompt as a system message
    and again at the head of the user message (run-llama/llama_index#19509)."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        messages = [
            LLMMessage(role="system", content=system_prompt),
            LLMMessage(role="user", content=f"{system_prompt}\n\n{user_message}"),
        ]
        return self.generate(messages, temperature, max_tokens)


class IgnoresParams(GoodOpenAIStyle):
    """Fails params-reach-request: always sends its own temperature and max_tokens."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        return super().payload(messages, 0.7, 2048, stream)


class DropsZeroTemperature(GoodOpenAIStyle):
    """Fails params-reach-request: sends ``temperature`` only ``if temperature:``, so a
    caller's 0.0 is dropped and the API's default (1.0 on OpenAI) applies."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        if not temperature:
            del body["temperature"]
        return body


class StreamDropsZeroTemperature(GoodOpenAIStyle):
    """Fails params-reach-request: the stream's request sends ``temperature`` only ``if
    temperature:``, so a streaming caller's 0.0 is dropped; ``generate()`` sends it."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        if stream and not temperature:
            del body["temperature"]
        return body


class DeclaresButSendsTemperature(GoodOpenAIStyle):
    """Fails params-reach-request: declares temperature omitted, still sends it."""

    conformance_profile = {"omits_params": {"temperature": "rejected by this model"}}


class DeclaresAndOmitsTemperature(GoodOpenAIStyle):
    """Passes params-reach-request: declares temperature omitted, and omits it."""

    conformance_profile = {"omits_params": {"temperature": "rejected by this model"}}

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        del body["temperature"]
        return body


class MutatesMessages(GoodOpenAIStyle):
    """Fails no-input-mutation: appends its answer to the caller's history."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        response = super().generate(messages, temperature, max_tokens, **kwargs)
        messages.append(LLMMessage(role="assistant", content=response.content))
        return response


class ShortDefaultMaxTokens(GoodOpenAIStyle):
    """Fails interface-defaults (a should clause): generate and generate_stream default to
    max_tokens=256 instead of LAIOS's 2048."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 256, **kwargs: Any
    ) -> LLMResponse:
        return super().generate(messages, temperature, max_tokens, **kwargs)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 256, **kwargs: Any
    ) -> Iterator[str]:
        return super().generate_stream(messages, temperature, max_tokens, **kwargs)


class NoDefaultTemperature(GoodOpenAIStyle):
    """Fails interface-defaults: sends a temperature only when the caller gives one, so the
    API's default (1.0) applies instead of LAIOS's 0.7."""

    def generate(
        self, messages: list[Any], temperature: float | None = None, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return super().generate(messages, temperature, max_tokens, **kwargs)

    def payload(self, messages: list[Any], temperature: Any, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        if temperature is None:
            del body["temperature"]
        return body


class NoDefaults(GoodOpenAIStyle):
    """Fails interface-defaults: generate and generate_stream take temperature and max_tokens
    without defaults, so LAIOS's ``generate(messages)`` is a TypeError."""

    def generate(self, messages: list[Any], temperature: float, max_tokens: int, **kwargs: Any) -> LLMResponse:
        return super().generate(messages, temperature, max_tokens, **kwargs)

    def generate_stream(self, messages: list[Any], temperature: float, max_tokens: int, **kwargs: Any) -> Iterator[str]:
        return super().generate_stream(messages, temperature, max_tokens, **kwargs)


class HotSystemDefaults(GoodOpenAIStyle):
    """Fails interface-defaults: only generate_with_system has defaults of its own
    (temperature=1.0, max_tokens=1024)."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 1.0, max_tokens: int = 1024, **kwargs: Any
    ) -> LLMResponse:
        return super().generate_with_system(system_prompt, user_message, temperature, max_tokens, **kwargs)


class NoTimeout(GoodOpenAIStyle):
    """Fails timeout-set and timeout-honoured: its client waits forever, whatever its timeout."""

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=None, verify=tls_context())
        return self._client


class ReturnsEmptyOnHttpError(GoodOpenAIStyle):
    """Fails raises-on-http-error (and the router/breaker clauses that rely on it)."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise _Empty()

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except _Empty:
            return LLMResponse(content="", model=self.model)


class _Empty(Exception):
    pass


class SwallowsTransportErrors(GoodOpenAIStyle):
    """Fails raises-on-transport-error: a broken connection becomes a polite placeholder."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        try:
            return super().generate(messages, temperature, max_tokens, **kwargs)
        except ProviderError as exc:
            if isinstance(exc.__cause__, httpx.TransportError):
                return LLMResponse(content="Sorry, the service is unavailable.", model=self.model)
            raise


class TrustsTheBody(GoodOpenAIStyle):
    """Fails raises-on-bad-body: whatever the 200 body holds becomes content, "" if nothing."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        try:
            content = response.json()["choices"][0]["message"]["content"] or ""
        except Exception:
            content = ""
        return LLMResponse(content=content, model=self.model)


class StreamedGenerateReportsOnlyText(GenerateReadsStream):
    """Fails usage-reported, finish-reason and model-reported: its generate() reads a stream
    and reports only the text (the usage chunk, finish reason and served model dropped)."""

    def answer_of(self, text: str, stated: dict[str, Any]) -> LLMResponse:
        return LLMResponse(content=text, model=self.model)


class StreamedGenerateEstimatesUsage(GenerateReadsStream):
    """Fails usage-fidelity: its generate() reads a stream and estimates the completion
    tokens from the text (``count_tokens``) instead of reading the usage chunk's count."""

    def answer_of(self, text: str, stated: dict[str, Any]) -> LLMResponse:
        answer = super().answer_of(text, stated)
        prompt = (answer.usage or {}).get("prompt_tokens", 0)
        completion = self.count_tokens(text)
        answer.usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        return answer


class StreamedGenerateAddsUpUsage(GenerateReadsStream):
    """Fails usage-fidelity: its generate() reads a stream and adds up the usage of every
    chunk that states one, taking them for increments; Perplexity states a running total on
    every chunk, so the sum is several times the answer's counts."""

    @staticmethod
    def noting(lines: Iterator[str], stated: dict[str, Any]) -> Iterator[str]:
        for line in GenerateReadsStream.noting(lines, {}):
            chunk = json.loads(line[5:]) if line.startswith("data:") and "[DONE]" not in line else {}
            usage = chunk.get("usage")
            if isinstance(usage, dict):
                counts = {key: value for key, value in usage.items() if isinstance(value, int)}
                total = stated.get("usage", {})
                stated["usage"] = {key: total.get(key, 0) + value for key, value in counts.items()}
            for choice in chunk.get("choices") or []:
                stated["finish_reason"] = choice.get("finish_reason") or stated.get("finish_reason")
            if chunk.get("model"):
                stated.setdefault("model", chunk["model"])
            yield line


class StreamedGenerateKeepsFirstUsage(GenerateReadsStream):
    """Fails usage-fidelity: its generate() reads a stream and keeps the first usage a chunk
    states; where every chunk states a running total, that is the count after one token."""

    @staticmethod
    def noting(lines: Iterator[str], stated: dict[str, Any]) -> Iterator[str]:
        first: dict[str, Any] = {}
        for line in GenerateReadsStream.noting(lines, stated):
            if "usage" in stated:
                first.setdefault("usage", stated["usage"])
                stated["usage"] = first["usage"]
            yield line


class StreamedGenerateAddsUpInputTokens(AnthropicSDKStreamedGenerate):
    """Fails usage-fidelity: its generate() reads an Anthropic stream (on the SDK) and adds
    the ``input_tokens`` of ``message_delta`` to those of ``message_start``; the API repeats
    them there (claude-haiku-4-5), so the prompt is counted twice."""

    def _message(self, system: Any, turns: list[dict[str, str]], max_tokens: int) -> Any:
        prompt = 0
        with self._stream(system, turns, max_tokens) as stream:
            for event in stream:
                if event.type == "message_start":
                    prompt += event.message.usage.input_tokens
                elif event.type == "message_delta":
                    prompt += getattr(event.usage, "input_tokens", None) or 0
            message = stream.get_final_message()
        message.usage.input_tokens = prompt
        return message


class KeepsStreamedAnswerFactsOnSelf(GenerateReadsStream):
    """Fails thread-safety: its generate() reads a stream and collects what the chunks state
    (served model, finish reason, usage) on ``self.last_stated``, "handy for callers"; the
    text stays local, so only the counts and model of another call come back."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        body["stream_options"] = {"include_usage": True}
        self.last_stated: dict[str, Any] = {}
        with self.open_stream(body) as response:
            text = "".join(self.deltas(self.noting(response.iter_lines(), self.last_stated)))
        return self.answer_of(text, self.last_stated)


class StreamedGenerateReadsStartUsage(AnthropicSDKStreamedGenerate):
    """Fails usage-fidelity: its generate() reads an Anthropic stream (on the SDK) and keeps
    the usage of ``message_start``, whose output count is only the first running figure
    (``message_delta`` carries the final one)."""

    def _message(self, system: Any, turns: list[dict[str, str]], max_tokens: int) -> Any:
        with self._client.messages.stream(
            model=self.model, max_tokens=max_tokens, system=system, messages=turns
        ) as stream:
            first = next(event.message.usage.model_copy() for event in stream if event.type == "message_start")
            message = stream.get_final_message()
        message.usage = first
        return message


class StreamedGenerateTrustsTheSDK(AnthropicSDKStreamedGenerate):
    """Fails raises-on-bad-body: returns what the Anthropic SDK's ``get_final_message()``
    gives for a stream cut short mid-answer (no ``stop_reason``) as a complete answer."""

    generate = AnthropicSDKProvider.generate


class StreamedGenerateIgnoresItsEnd(GenerateReadsStream):
    """Fails raises-on-bad-body: its generate() reads a stream and returns what it carried
    whether or not ``[DONE]`` or a finish reason arrived (a stream cut short)."""

    def stream_cut_short(self) -> None:
        pass


class StreamedGenerateTrustsNoText(GenerateReadsStream):
    """Fails raises-on-bad-body: its generate() reads a stream and returns what it carried,
    ``""`` when no delta had text (a null or empty text)."""

    def stream_carried_no_text(self) -> None:
        pass


class PoisonedAfterFailure(GoodOpenAIStyle):
    """Fails router-fallback and circuit-breaker: after one failure it never answers again."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            self._broken = True
        if getattr(self, "_broken", False):
            raise ProviderError("the client is in a failed state")


class LeaksKeyInErrors(GoodOpenAIStyle):
    """Fails no-secret-leak: error messages carry the Authorization header."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise ProviderError(f"HTTP {response.status_code} for request with headers {self.headers()}")


class ShowsSentHeadersInRepr(GoodOpenAIStyle):
    """Fails no-secret-leak: keeps the headers of its last request, and its ``repr`` shows its
    attributes but the key: clean before the first call, the key in it after."""

    def headers(self) -> dict[str, str]:
        self.last_headers = super().headers()
        return self.last_headers

    def __repr__(self) -> str:
        shown = {name: value for name, value in vars(self).items() if name != "_api_key"}
        return f"{type(self).__name__}({shown})"


class LeaksKeyOnBadBody(GoodOpenAIStyle):
    """Fails no-secret-leak: the error for a 200 body it cannot parse names the headers it
    sent, the key among them; its errors for error statuses are clean."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        try:
            return super().parse(response)
        except Exception as exc:
            raise ProviderError(f"unusable answer to a request with headers {self.headers()}") from exc


class LeaksKeyOnStreamError(GoodOpenAIStyle):
    """Fails no-secret-leak: the stream path checks the status itself, and its error names
    the request it answered, headers and key included; ``generate()``'s errors are clean."""

    @contextlib.contextmanager
    def open_stream(self, body: dict[str, Any]) -> Iterator[httpx.Response]:
        with self.client().stream(
            "POST", f"{self.base_url}/chat/completions", json=body, headers=self.headers()
        ) as response:
            if response.status_code >= 400:
                response.read()
                request = response.request
                raise ProviderError(f"HTTP {response.status_code} for {request.method} {dict(request.headers)}")
            yield response


class LeaksKeyOnBrokenStream(GoodOpenAIStyle):
    """Fails no-secret-leak: a stream it cannot read (an event broken off) raises an error
    naming the headers it sent, the key among them; every other error is clean."""

    def deltas(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        try:
            yield from super().deltas(lines)
        except (ProviderError, ValueError) as exc:
            raise ProviderError(f"unreadable stream from a request with headers {self.headers()}") from exc


class RetriesTooMuch(GoodOpenAIStyle):
    """Fails retry-bounded (a should clause): six attempts for every failing call."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        for _ in range(5):
            try:
                return super().post(body)
            except ProviderError:
                continue
        return super().post(body)


class TransportRetriesConnects(RetriesConnectsTwice):
    """Fails retry-bounded: its transport retries a refused connection five times
    (``httpx.HTTPTransport(retries=5)``), six attempts for a call whose connection fails."""

    connect_retries = 5


class RawSocketProvider(GoodOpenAIStyle):
    """Speaks HTTP over a bare socket, a stack the kit does not watch: it must say so (error)."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        # Loopback port 9 (discard): refused at once, and no traffic leaves the machine.
        try:
            with socket.create_connection(("127.0.0.1", 9), timeout=0.01) as connection:
                connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n\r\n")
        except OSError as exc:
            raise ProviderError("unreachable") from exc
        return LLMResponse(content="never", model=self.model)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        yield self.generate(messages, temperature, max_tokens).content


# -- streaming and fidelity defects ----------------------------------------------------------


class NonStreaming(GoodOpenAIStyle):
    """Keeps the base class's one-chunk generate_stream: a correct provider that does not stream."""

    generate_stream = LLMClient.generate_stream


class LagsOneDelta:
    """The habit of DropsLastDelta, for any of the yardsticks (put it first in the bases):
    each delta is yielded only when the next arrives, and the last is lost."""

    def deltas(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        pending = None
        for text in super().deltas(lines):  # the yardstick's, next in the MRO
            if pending is not None:
                yield pending
            pending = text


class DropsLastDelta(LagsOneDelta, GoodOpenAIStyle):
    """Fails stream-join, stream-rechunk, content-fidelity (and, lagging one delta behind,
    stream-incremental): it yields each delta only when the next arrives, and loses the last."""


class LagsOneEventYieldingEmpties(GoodOpenAIStyle):
    """Fails stream-incremental: it yields every event's ``delta.content``, ``""`` for the
    role and finish chunks, each only when the next event arrives; so what reaches the
    caller first, while it holds the first text back, is the role chunk's ``""``."""

    def deltas(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        events: list[str] = []  # in order: "" for each event without text, then each text

        def noting_empty_events() -> Iterator[str | bytes]:
            for raw in lines:
                line = raw.decode() if isinstance(raw, bytes) else raw
                data = line[5:].strip() if line.startswith("data:") else "[DONE]"
                choices = json.loads(data).get("choices") or [] if data != "[DONE]" else []
                events.extend("" for c in choices if not (c.get("delta") or {}).get("content"))
                yield raw

        pending: str | None = None
        for text in super().deltas(noting_empty_events()):
            events.append(text)
            while events:
                if pending is not None:
                    yield pending
                pending = events.pop(0)
        yield from filter(None, [pending, *events])


class StripsDeltas(GoodOpenAIStyle):
    """Fails stream-join, stream-rechunk, content-fidelity: ``.strip()`` eats the spaces between words."""

    def deltas(self, lines: Iterator[str]) -> Iterator[str]:
        for text in super().deltas(lines):
            if text.strip():
                yield text.strip()


class DecodesEachRead(GoodOpenAIStyle):
    """Fails stream-rechunk: decodes every network read on its own and splits it into lines."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        with self.open_stream(body) as response:
            yield from self.deltas(self._lines_of_each_read(response))

    @staticmethod
    def _lines_of_each_read(response: httpx.Response) -> Iterator[str]:
        for raw in response.iter_raw():
            for line in raw.decode("utf-8", errors="replace").split("\n"):
                yield line.rstrip("\r")


class BuffersWholeStream(GoodOpenAIStyle):
    """Fails stream-incremental: reads the whole body before yielding anything."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        response = self.post(body)
        yield from self.deltas(iter(response.text.splitlines()))


class ReturnsStreamAsList(GoodOpenAIStyle):
    """Fails stream-incremental: generate_stream() returns the list of all the stream's pieces."""

    def generate_stream(  # type: ignore[override]  # the defect is in the returned type
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> list[str]:
        return list(super().generate_stream(messages, temperature, max_tokens, **kwargs))


class SwallowsDisconnect(GoodOpenAIStyle):
    """Fails stream-raises: a connection dropped mid-stream ends the stream quietly."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        try:
            yield from super().generate_stream(messages, temperature, max_tokens, **kwargs)
        except ProviderError as exc:
            if not isinstance(exc.__cause__, httpx.TransportError):
                raise


class RetriesStreamAfterText(GoodOpenAIStyle):
    """Fails stream-raises: a stream broken mid-answer is started again, up to three times,
    after its first attempt has yielded text (the caller gets the text twice)."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        for attempt in range(3):
            try:
                yield from super().generate_stream(messages, temperature, max_tokens, **kwargs)
                return
            except ProviderError as exc:
                if attempt == 2 or not isinstance(exc.__cause__, httpx.TransportError):
                    raise


class FallsBackToGenerate(GoodOpenAIStyle):
    """Fails stream-raises: when a stream breaks, yields a whole ``generate()`` answer
    instead, after the text the broken stream already yielded."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        try:
            yield from super().generate_stream(messages, temperature, max_tokens, **kwargs)
        except ProviderError as exc:
            if not isinstance(exc.__cause__, httpx.TransportError):
                raise
            yield self.generate(messages, temperature, max_tokens, **kwargs).content


class SwallowsGeneratorExit(GoodOpenAIStyle):
    """Fails stream-closes: treats the caller's ``close()`` as a disconnect to log, and goes
    on yielding (Python then raises "generator ignored GeneratorExit")."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        for piece in super().generate_stream(messages, temperature, max_tokens, **kwargs):
            try:
                yield piece
            except GeneratorExit:
                logging.getLogger(__name__).info("the caller stopped reading the stream")


class SwallowsGeneratorExitInACycle(SwallowsGeneratorExit):
    """Fails stream-closes as its base does, but its generator sits in a reference cycle (its
    frame holds a list holding it), so only the garbage collector finalizes it."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        holder: list[Iterator[str]] = []
        stream = self._held(holder, super().generate_stream(messages, temperature, max_tokens, **kwargs))
        holder.append(stream)
        return stream

    @staticmethod
    def _held(holder: list[Iterator[str]], pieces: Iterator[str]) -> Iterator[str]:
        yield from pieces


class NeverClosesResponse(GoodOpenAIStyle):
    """Fails stream-closes: opens the response without a ``with`` block and never closes it."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        request = self.client().build_request(
            "POST", f"{self.base_url}/chat/completions", json=body, headers=self.headers()
        )
        response = self.client().send(request, stream=True)
        self.check_status(response)
        self._open.append(response)  # keeps a reference, as a response cache would
        yield from self.deltas(response.iter_lines())

    @property
    def _open(self) -> list[httpx.Response]:
        return self.__dict__.setdefault("_responses", [])


class FormatsJsonByHand(GoodOpenAIStyle):
    """Fails message-fidelity: builds the JSON body with string formatting."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        messages = ", ".join(f'{{"role": "{m["role"]}", "content": "{m["content"]}"}}' for m in body["messages"])
        raw = (
            f'{{"model": "{body["model"]}", "messages": [{messages}], '
            f'"temperature": {body["temperature"]}, "max_tokens": {body["max_tokens"]}}}'
        )
        try:
            response = self.client().post(
                f"{self.base_url}/chat/completions",
                content=raw.encode("utf-8"),
                headers={**self.headers(), "content-type": "application/json"},
            )
        except httpx.TransportError as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc
        self.check_status(response)
        return response


class StripsReply(GoodOpenAIStyle):
    """Fails content-fidelity: returns ``content.strip()``."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        parsed = super().parse(response)
        return parsed.model_copy(update={"content": parsed.content.strip() or parsed.content})


class KeepsAnswerOnSelf(GoodOpenAIStyle):
    """Fails thread-safety: accumulates the in-flight answer on ``self`` across the network wait."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        self._answer_parts: list[str] = []
        parsed = self.parse(self.post(self.payload(messages, temperature, max_tokens, stream=False)))
        self._answer_parts.append(parsed.content)
        return parsed.model_copy(update={"content": "".join(self._answer_parts)})


class KeepsConversation(GoodOpenAIStyle):
    """Fails thread-safety: keeps a chat history on the instance and sends it with every
    ``generate()``, so each caller's request carries the earlier callers' prompts."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        history: list[Any] = self.__dict__.setdefault("_history", [])
        history.extend(messages)
        answer = super().generate(history, temperature, max_tokens, **kwargs)
        history.append(LLMMessage(role="assistant", content=answer.content))
        return answer


class KeepsSystemPrompt(GoodOpenAIStyle):
    """Fails thread-safety: ``generate_with_system()`` sets the instance's system prompt,
    which every later ``generate()`` without one sends (and a concurrent call overwrites)."""

    system_prompt: str | None = None

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        self.system_prompt = system_prompt
        return self.generate([LLMMessage(role="user", content=user_message)], temperature, max_tokens, **kwargs)

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        if self.system_prompt and all(m["role"] != "system" for m in body["messages"]):
            body["messages"].insert(0, {"role": "system", "content": self.system_prompt})
        return body


class IgnoresEndMarker(GoodOpenAIStyle):
    """Fails stream-end-marker (a should clause): a stream cut cleanly before ``[DONE]`` looks complete."""

    def stream_cut_short(self) -> None:
        return None


class StreamReturnsStr(GoodOpenAIStyle):
    """Fails stream-join: generate_stream() reads the whole stream and returns the text as one
    str, which a ``for`` loop splits into single characters."""

    def generate_stream(  # type: ignore[override]  # the defect is in the returned type
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> str:
        return "".join(super().generate_stream(messages, temperature, max_tokens, **kwargs))


class StreamYieldsBytes(GoodOpenAIStyle):
    """Fails every clause that joins the stream: generate_stream() yields each delta as UTF-8
    ``bytes`` (as a provider passing ``iter_bytes()`` pieces on would), not ``str``."""

    def generate_stream(  # type: ignore[override]  # the defect is in the returned type
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[bytes]:
        for text in super().generate_stream(messages, temperature, max_tokens, **kwargs):
            yield text.encode()


class EndsTextlessStreamQuietly(GoodOpenAIStyle):
    """Fails stream-raises: a complete stream whose deltas carry no text yields nothing and
    ends, which the caller joins into ``content=""`` (as LAIOS's guide example does)."""

    def stream_carried_no_text(self) -> None:
        return None


class IgnoresRefusal(GoodOpenAIStyle):
    """Fails refusal-visible (a should clause): reads only ``content``, so a refusal raises
    "the response carries no text" without the model's reason."""

    @staticmethod
    def refusal(message: dict[str, Any]) -> str | None:
        return None


class _ReadsChunks(GoodOpenAIStyle):
    """Reads each ``data:`` chunk with :meth:`chunk_text`, the one habit its subclasses change."""

    def line_text(self, raw: str | bytes, stream: StreamState) -> list[str]:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = line[5:].strip() if line.startswith("data:") else ""
        chunk = json.loads(data) if data and data != "[DONE]" else None
        if chunk is None or "error" in chunk:
            return super().line_text(raw, stream)
        stream.finished = stream.finished or any(self.ends_answer(c) for c in chunk.get("choices") or [])
        texts = self.chunk_text(chunk)
        stream.carried_text = stream.carried_text or any(texts)
        return texts

    def chunk_text(self, chunk: dict[str, Any]) -> list[Any]:
        raise NotImplementedError


class IndexesFirstChoice(_ReadsChunks):
    """Fails stream-join, on a usage chunk only: ``chunk["choices"][0]`` raises IndexError on
    the last chunk api.openai.com sends with ``stream_options.include_usage`` (empty
    ``choices``), as llama_index's AzureOpenAI stream did (run-llama/llama_index#7640)."""

    def chunk_text(self, chunk: dict[str, Any]) -> list[Any]:
        text = chunk["choices"][0]["delta"].get("content")
        return [text] if text else []


class SkipsRoleChunk(_ReadsChunks):
    """Fails stream-join, on Gemini's shape only: it takes a chunk that names the role for a
    role-only chunk and drops its text (ivangabriele/mistralai-client-rs#22)."""

    def chunk_text(self, chunk: dict[str, Any]) -> list[Any]:
        delta = chunk["choices"][0]["delta"] if chunk.get("choices") else {}
        return [delta["content"]] if delta.get("content") and "role" not in delta else []


class IgnoresFinishChunkText(_ReadsChunks):
    """Fails stream-join, on Gemini's shape only: it takes the ``finish_reason`` chunk for the
    end and drops its text (vllm-project/vllm#36944)."""

    def chunk_text(self, chunk: dict[str, Any]) -> list[Any]:
        choice = chunk["choices"][0] if chunk.get("choices") else {}
        text = (choice.get("delta") or {}).get("content")
        return [text] if text and choice.get("finish_reason") is None else []


class YieldsNullContent(_ReadsChunks):
    """Fails stream-join, on ``"content": null`` only: ``delta.get("content", "")`` is None
    there, and None reaches the caller as a chunk."""

    def chunk_text(self, chunk: dict[str, Any]) -> list[Any]:
        choice = chunk["choices"][0] if chunk.get("choices") else {}
        delta = choice.get("delta") or {}
        return [delta.get("content", "")] if "content" in delta and delta.get("content") != "" else []


class YieldsReasoningAsText(_ReadsChunks):
    """Fails stream-join, on a reasoning model's stream only: it yields ``reasoning_content``
    deltas as the answer (HKUDS/nanobot#2821)."""

    def chunk_text(self, chunk: dict[str, Any]) -> list[Any]:
        delta = (chunk["choices"][0].get("delta") or {}) if chunk.get("choices") else {}
        return [text for text in (delta.get("reasoning_content"), delta.get("content")) if text]


class NeedsSpaceAfterDataColon(GoodOpenAIStyle):
    """Fails stream-rechunk, on ``data:{...}`` only: it reads ``data: `` lines alone, as
    openai-python's SSE parser once did (openai/openai-python#498)."""

    def line_text(self, raw: str | bytes, stream: StreamState) -> list[str]:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return super().line_text(raw, stream) if line.startswith("data: ") else []


class ParsesEveryLine(GoodOpenAIStyle):
    """Fails stream-join, only after SSE comment lines: it takes every non-blank line for a
    ``data:`` line and cuts off its first six characters, so OpenRouter's keep-alive
    ``: OPENROUTER PROCESSING`` reaches ``json.loads`` as ``ENROUTER PROCESSING``; and
    stream-rechunk, where ``data:{...}`` loses its opening brace."""

    def deltas(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        return super().deltas(self._every_line_as_data(lines))

    @staticmethod
    def _every_line_as_data(lines: Iterable[str | bytes]) -> Iterator[str]:
        for raw in lines:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            yield f"data: {line[6:]}" if line.strip() else line


class RequiresDoneMarker(GoodOpenAIStyle):
    """Fails stream-end-marker (a should clause), only on a complete stream without
    ``[DONE]``: it takes ``data: [DONE]`` for the only end of an answer, so it rejects every
    complete Perplexity stream as cut short."""

    @staticmethod
    def ends_answer(choice: dict[str, Any]) -> bool:
        return False


class TrustsEndOfBody(GoodOpenAIStyle):
    """Fails stream-raises (a stream with no text, a bare JSON error instead of events) and
    stream-end-marker: like LAIOS's guide example, it yields the ``data:`` deltas it finds
    and takes the end of the body for the end of the answer."""

    def stream_cut_short(self) -> None:
        return None

    def stream_carried_no_text(self) -> None:
        return None


class PassesRawUsage(GoodOpenAIStyle):
    """One bug behind many failures: it hands the API's raw ``usage`` object to ``LLMResponse``
    (as the LAIOS guide's own example does), whose nested ``prompt_tokens_details`` is not an
    int, so pydantic rejects every successful answer. The verdict names one likely root cause."""

    @staticmethod
    def usage(data: dict[str, Any]) -> Any:
        return data.get("usage")


# -- inputs of every shape (no-input-mutation, message-fidelity) ----------------------------


class InsertsDefaultSystemPrompt(GoodOpenAIStyle):
    """Fails no-input-mutation: puts a system prompt of its own into the caller's list when it
    has none, so its requests also differ from those of the provider it was recorded from."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        if not any(m.role == "system" for m in messages):
            messages.insert(0, LLMMessage(role="system", content="You are a helpful assistant."))
        return super().payload(messages, temperature, max_tokens, stream)


class MovesSystemFirst(GoodOpenAIStyle):
    """Fails no-input-mutation, only when a system message is not first: sorts the caller's list."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        messages.sort(key=lambda m: m.role != "system")
        return super().payload(messages, temperature, max_tokens, stream)


class MergesSystemMessages(GoodOpenAIStyle):
    """Fails no-input-mutation, only with two system messages: merges them in the caller's list."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        systems = [m for m in messages if m.role == "system"]
        if len(systems) > 1:
            systems[0].content = "\n\n".join(m.content for m in systems)
            for extra in systems[1:]:
                messages.remove(extra)
        return super().payload(messages, temperature, max_tokens, stream)


class StripsContentInPlace(GoodOpenAIStyle):
    """Fails no-input-mutation and message-fidelity, only for padded content: strips it in place."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        for message in messages:
            message.content = message.content.strip()
        return super().payload(messages, temperature, max_tokens, stream)


class EscapesQuotesInPlace(GoodOpenAIStyle):
    """Fails no-input-mutation and message-fidelity, only for content with a quote (no named
    shape has one, so hypothesis must find it): escapes quotes in the caller's messages."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        for message in messages:
            message.content = message.content.replace('"', '\\"')
        return super().payload(messages, temperature, max_tokens, stream)


class DropsSecondSystemMessage(GoodOpenAIStyle):
    """Fails message-fidelity, only with two system messages: sends the first one alone."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        first = next((m for m in messages if m.role == "system"), None)
        return super().payload(
            [m for m in messages if m.role != "system" or m is first], temperature, max_tokens, stream
        )


class SystemDropsUserMessage(GoodOpenAIStyle):
    """Fails message-fidelity: generate_with_system() sends the system prompt alone, so the
    caller's question never reaches the model (the cassette it records replays fine)."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return self.generate([LLMMessage(role="system", content=system_prompt)], temperature, max_tokens, **kwargs)


class SystemStripsTexts(GoodOpenAIStyle):
    """Fails message-fidelity, only for texts padded with whitespace: generate_with_system()
    strips its system prompt and user message."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return super().generate_with_system(system_prompt.strip(), user_message.strip(), temperature, max_tokens)


class SystemIgnoresParams(GoodOpenAIStyle):
    """Fails params-reach-request: generate_with_system() drops the caller's temperature and
    max_tokens, so every system-prompted call runs on LAIOS's defaults."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return super().generate_with_system(system_prompt, user_message)


class SystemDropsZeroTemperature(GoodOpenAIStyle):
    """Fails params-reach-request, only for ``temperature=0.0``: generate_with_system() passes
    ``temperature or 0.7`` on."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return super().generate_with_system(system_prompt, user_message, temperature or 0.7, max_tokens)


class StreamNotImplemented(GoodOpenAIStyle):
    """Leaks nothing, but cannot be judged by no-secret-leak on the stream path: generate_stream()
    raises NotImplementedError."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        raise NotImplementedError("streaming is not supported by this provider")


class StreamNotImplementedNamingHeaders(GoodOpenAIStyle):
    """Fails no-secret-leak: generate_stream() raises on every call, the key among the headers
    its message names."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        raise NotImplementedError(f"streaming is not supported with headers {self.headers()}")


# -- races (thread-safety) ---------------------------------------------------------------------


class LastAnswerOnSelf(GoodOpenAIStyle):
    """Fails thread-safety only on real time: keeps the parsed answer on ``self`` across a short
    pause after the network call (invisible when ``time.sleep`` is virtual)."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        self._last = self.parse(self.post(self.payload(messages, temperature, max_tokens, stream=False)))
        time.sleep(0.002)  # e.g. pacing calls to respect a rate limit
        return self._last


class SharesStreamLines(GoodOpenAIStyle):
    """Fails thread-safety: keeps the stream's line iterator on ``self`` between reads."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        with self.open_stream(body) as response:
            self._lines = response.iter_lines()
            yield from self.deltas(self._shared_lines())

    def _shared_lines(self) -> Iterator[str]:
        while True:
            line = next(self._lines, None)
            if line is None:
                return
            yield line


# -- usage, finish reason, model, token counts ------------------------------------------------


class RawUsage(GoodOpenAIStyle):
    """Fails usage-fidelity: passes the raw usage object through, nested details and all
    (as LAIOS's guide example does with ``data.get("usage")``)."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        parsed = super().parse(response)  # LLMResponse would refuse the nested dicts: build it unchecked
        return LLMResponse.model_construct(**{**dict(parsed), "usage": response.json().get("usage")})


class RenamesUsageKeys(GoodOpenAIStyle):
    """Fails usage-fidelity: reports Anthropic-style ``input_tokens``/``output_tokens``."""

    @staticmethod
    def usage(data: dict[str, Any]) -> dict[str, int] | None:
        usage = data.get("usage") or {}
        return {"input_tokens": usage.get("prompt_tokens", 0), "output_tokens": usage.get("completion_tokens", 0)}


class HardCodedUsage(GoodOpenAIStyle):
    """Fails usage-fidelity: the counts of the recording it was written against, whatever the body says."""

    @staticmethod
    def usage(data: dict[str, Any]) -> dict[str, int] | None:
        return {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18}


class NoUsage(GoodOpenAIStyle):
    """Fails usage-reported (a should clause): never reports usage."""

    @staticmethod
    def usage(data: dict[str, Any]) -> dict[str, int] | None:
        return None


class ConstantFinishReason(GoodOpenAIStyle):
    """Fails finish-reason (a should clause): always ``"stop"``."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        return super().parse(response).model_copy(update={"finish_reason": "stop"})


class MapsFinishReason(GoodOpenAIStyle):
    """Fails finish-reason: maps every reason onto ``stop``/``length``, losing the API's own name."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        parsed = super().parse(response)
        reason = "length" if parsed.finish_reason in ("length", "max_tokens") else "stop"
        return parsed.model_copy(update={"finish_reason": reason})


class ReportsRequestedModel(GoodOpenAIStyle):
    """Fails model-reported (a should clause): reports the requested model, not the served one."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        return super().parse(response).model_copy(update={"model": self.model})


class FloatTokenCount(GoodOpenAIStyle):
    """Fails count-tokens (a should clause): returns ``len(text) / 4``, a float."""

    def count_tokens(self, text: str) -> int:
        return len(text) / 4  # type: ignore[return-value]  # the defect: a float


class CountsWords(GoodOpenAIStyle):
    """Fails count-tokens: counts words, so a long word is one token."""

    def count_tokens(self, text: str) -> int:
        return len(text.split())


# -- retries, keys, statuses, line endings ------------------------------------------------------


class RetriesClientErrors(GoodOpenAIStyle):
    """Fails no-retry-on-client-error (a should clause): one retry on every error, within retry-bounded."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            return super().post(body)
        except ProviderError:
            return super().post(body)


class RetriesAuthFailure(GoodOpenAIStyle):
    """Fails no-retry-on-client-error: retries a 401 once, hoping a token refresh helps."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code == 401 and not getattr(self, "_retrying", False):
            self._retrying = True
            try:
                super().check_status(self.client().send(response.request))
            finally:
                self._retrying = False
        super().check_status(response)


class ClientOnLibraryDefaults(GoodOpenAIStyle):
    """Fails timeout-honoured: keeps its ``timeout`` but builds ``httpx.Client()`` without it,
    so every request gives up after httpx's default 5 s (finite: timeout-set passes)."""

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client()
            return self._client


class HardCodedTimeout(GoodOpenAIStyle):
    """Fails timeout-honoured: sends every request with a read timeout of 60 s, whatever
    ``timeout`` it was built with."""

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(60.0))
            return self._client


class SendsTextContentType(GoodOpenAIStyle):
    """Fails headers-reach-request: labels its JSON body ``text/plain``, where the recording
    (which the live API accepted) sent ``application/json``; replay matches the body
    whatever its label, an OpenAI-compatible server answers 400."""

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "content-type": "text/plain"}


class SendsNoContentType(GoodOpenAIStyle):
    """Fails headers-reach-request: sends its JSON body with ``content=`` instead of
    ``json=``, so httpx labels it with no ``content-type`` at all (vLLM answers 400)."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        url = f"{self.base_url}/chat/completions"
        response = self.client().post(url, content=json.dumps(body), headers=self.headers())
        self.check_status(response)
        return response

    @contextlib.contextmanager
    def open_stream(self, body: dict[str, Any]) -> Iterator[httpx.Response]:
        url = f"{self.base_url}/chat/completions"
        with self.client().stream("POST", url, content=json.dumps(body), headers=self.headers()) as response:
            self.check_status(response)
            yield response


class NeverSendsKey(GoodOpenAIStyle):
    """Fails key-reaches-request: sends no credentials at all."""

    def headers(self) -> dict[str, str]:
        return {}


class SendsKeyInAnotherHeader(GoodOpenAIStyle):
    """Fails key-reaches-request, only against cassettes that keep the key's place: sends its
    key in Azure's ``api-key`` header where the recording (which the live API accepted) had
    ``authorization``; replay, which does not match credentials, would pass it."""

    def headers(self) -> dict[str, str]:
        return {"api-key": self._api_key}


class SendsKeyWithoutBearer(GoodOpenAIStyle):
    """Fails key-reaches-request, only against cassettes that keep the key's form: sends
    ``Authorization: <key>`` where the recording (which the live API accepted) had
    ``Bearer <key>``; OpenAI answers that with a 401."""

    def headers(self) -> dict[str, str]:
        return {"authorization": self._api_key}


class KeyFromEnvironment(GoodOpenAIStyle):
    """Fails key-reaches-request: sends the environment's key, not the one it was given."""

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', 'sk-from-the-environment')}"}


class KeyMovesAround(GoodOpenAIStyle):
    """Fails key-reaches-request: a header for generate, a query parameter for streams."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        url = f"{self.base_url}/chat/completions"
        with self.client().stream("POST", url, json=body, params={"key": self._api_key}) as response:
            self.check_status(response)
            yield from self.deltas(response.iter_lines())


class HidesStatus(GoodOpenAIStyle):
    """Fails error-carries-status and (stream-)error-carries-message: every HTTP error is "the request failed"."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise ProviderError("the request failed")


class StatusOnlyInCause(GoodOpenAIStyle):
    """Fails error-carries-status and (stream-)error-carries-message: status and body only in the chained error."""

    def check_status(self, response: httpx.Response) -> None:
        try:
            response.read()
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise ProviderError("the LLM call failed") from exc


class StatusWithoutMessage(GoodOpenAIStyle):
    """Fails (stream-)error-carries-message (should): the error names its status, not what the API said."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise ProviderError(f"HTTP {response.status_code} {response.reason_phrase}")


class CutsErrorBodyShort(GoodOpenAIStyle):
    """Fails (stream-)error-carries-message: shows the error body, cut after 40 characters."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            raise self.http_error(response.status_code, response.text[:40])


class _QuotesErrorBody(GoodOpenAIStyle):
    """Raises with the status and what ``described`` makes of a JSON error body, or
    ``undescribed`` of a body that is not JSON."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            try:
                payload = response.json()
            except ValueError:
                message = self.undescribed(response)
            else:
                message = self.described(payload)
            raise self.http_error(response.status_code, message)

    def described(self, payload: Any) -> str:
        raise NotImplementedError

    def undescribed(self, response: httpx.Response) -> str:
        return response.text[:200]


class DropsNonJsonErrorBody(_QuotesErrorBody):
    """Fails error-carries-message: quotes a JSON error body, but nothing of an error page that is not JSON."""

    def described(self, payload: Any) -> str:
        return json.dumps(payload)

    def undescribed(self, response: httpx.Response) -> str:
        return "the error body is not JSON"


class IgnoresDetail(_QuotesErrorBody):
    """Fails error-carries-message: reads OpenAI's error object (and OpenRouter's upstream
    cause), not the ``detail`` of a FastAPI server such as Mistral's."""

    def described(self, payload: Any) -> str:
        error = payload.get("error") or {}
        raw = (error.get("metadata") or {}).get("raw")
        return str(error.get("message", "unknown error")) + (f" ({raw})" if raw else "")


class DropsOpenRouterRaw(_QuotesErrorBody):
    """Fails error-carries-message: reads ``error.message`` and FastAPI's ``detail``, not
    OpenRouter's ``error.metadata.raw``, so its upstream errors say only "Provider returned error"."""

    def described(self, payload: Any) -> str:
        if "detail" in payload:
            return json.dumps(payload["detail"])
        return str((payload.get("error") or {}).get("message", "unknown error"))


class StreamErrorWithoutMessage(GoodOpenAIStyle):
    """Fails stream-error-carries-message (a should clause): raises on an in-stream error, without what it said."""

    def deltas(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        try:
            yield from super().deltas(lines)
        except ProviderError as exc:
            if "inside the stream" not in str(exc):
                raise
            raise ProviderError("the stream reported an error") from None


class StreamStatusWithoutBody(GoodOpenAIStyle):
    """Fails stream-error-carries-message (a should clause), only on an error status: the
    stream path raises from httpx's ``raise_for_status()``, which names the status and not
    what the body said (a streamed body is read only on ``response.read()``)."""

    @contextlib.contextmanager
    def open_stream(self, body: dict[str, Any]) -> Iterator[httpx.Response]:
        url = f"{self.base_url}/chat/completions"
        with self.client().stream("POST", url, json=body, headers=self.headers()) as response:
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                raise ProviderError(str(exc)) from exc
            yield response


class SplitsOnLFOnly(GoodOpenAIStyle):
    """Fails stream-rechunk, only with CR line endings: buffers reads correctly but ends lines at LF."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        with self.open_stream(body) as response:
            yield from self.deltas(self._lf_lines(response.iter_bytes()))

    @staticmethod
    def _lf_lines(chunks: Iterator[bytes]) -> Iterator[str]:
        buffer = b""
        for chunk in chunks:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line.decode("utf-8").rstrip("\r")
        if buffer:
            yield buffer.decode("utf-8").rstrip("\r")


class KeepsCarriageReturn(SplitsOnLFOnly):
    """Fails stream-rechunk, only with CRLF or CR line endings: ``data: [DONE]\\r`` is not the end marker."""

    @staticmethod
    def _lf_lines(chunks: Iterator[bytes]) -> Iterator[str]:
        buffer = b""
        for chunk in chunks:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            yield from (line.decode("utf-8") for line in lines)

    def deltas(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            if line == "data: [DONE]":
                return
            if line.startswith("data:"):
                yield from (c["delta"]["content"] for c in json.loads(line[5:])["choices"] if c["delta"].get("content"))
        raise ProviderError("the stream ended before [DONE]")


# -- every leak channel (no-secret-leak) -----------------------------------------------------------


class LeaksKeyBehindKwargs(LeaksKeyInErrors):
    """Fails no-secret-leak as LeaksKeyInErrors does; its ``__init__`` takes ``**kwargs`` and
    passes them on, so ``api_key`` is only its base class's argument."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)


class WarnsWithKey(GoodOpenAIStyle):
    """Fails no-secret-leak: a deprecation warning that quotes the key."""

    def headers(self) -> dict[str, str]:
        warnings.warn(f"header style is deprecated: Bearer {self._api_key}", DeprecationWarning, stacklevel=2)
        return super().headers()


class WritesKeyToStderr(GoodOpenAIStyle):
    """Fails no-secret-leak: writes the request headers straight to file descriptor 2, as C code would."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        os.write(2, f"debug: {self.headers()}\n".encode())
        return super().post(body)


class LogsKeyAtDebug(GoodOpenAIStyle):
    """Fails no-secret-leak: logs the headers at DEBUG on its own non-propagating logger."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        logger = logging.getLogger("defective.quiet")
        logger.propagate = False
        logger.setLevel(logging.WARNING)
        logger.debug("sending with headers %s", self.headers())
        return super().post(body)


class LogsBasicCredentialsAtDebug(KeyInBasicCredentials):
    """Fails no-secret-leak: sends its key as the password of HTTP Basic credentials and logs
    the headers at DEBUG, the key in base64 (decoded, it is the key). Judged on
    GoodOpenAIStyle's cassettes, it fails key-reaches-request too: they show ``Bearer <key>``."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        logging.getLogger("defective.basic").debug("sending with headers %s", self.headers())
        return super().post(body)


class KeyInContextBehindCause(GoodOpenAIStyle):
    """Fails no-secret-leak: the key hides in ``__context__``, behind a harmless ``__cause__``."""

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            raise RuntimeError(f"request headers were {self.headers()}")
        except RuntimeError:
            raise ProviderError(f"HTTP {response.status_code}") from ValueError("bad status")


class KeyInResponse(GoodOpenAIStyle):
    """Fails no-secret-leak: keeps the request headers in the response's metadata (so in its repr)."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        return super().parse(response).model_copy(update={"metadata": {"headers": self.headers()}})


class ShowsEnvironmentKeyInRepr(KeyFromItsEnvironment):
    """Fails no-secret-leak: its repr shows the key it read from the environment."""

    def __repr__(self) -> str:
        return f"ShowsEnvironmentKeyInRepr(key={self._api_key!r})"


class DropsRepeatedMessages(GoodOpenAIStyle):
    """Fails message-fidelity: sends each (role, content) once, dropping a message that
    repeats an earlier one (an agent's second "Continue.")."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        kept: dict[tuple[str, str], dict[str, Any]] = {}
        for message in body["messages"]:
            kept.setdefault((message["role"], message["content"]), message)
        return {**body, "messages": list(kept.values())}


class DecodesEachReadKeepingLines(GoodOpenAIStyle):
    """Fails stream-rechunk: keeps a partial line until its line break arrives, but decodes
    each network read on its own, so a character split across two reads is garbled."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        with self.open_stream(body) as response:
            yield from self.deltas(self._lines(response.iter_bytes()))

    @staticmethod
    def _lines(reads: Iterable[bytes]) -> Iterator[str]:
        decoder = httpx._decoders.LineDecoder()  # the line splitting httpx's iter_lines does
        for read in reads:
            yield from decoder.decode(read.decode("utf-8", errors="replace"))
        yield from decoder.flush()


class SplitsEventsOnLFLF(GoodOpenAIStyle):
    """Fails stream-incremental: splits events at ``\\n\\n`` and lines with ``splitlines()``,
    so a CRLF stream (Perplexity's) is one event until the body ends: the whole answer is
    read before any of it is yielded, though it joins right."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        with self.open_stream(body) as response:
            yield from self.deltas(self._lines(response.iter_bytes()))

    @staticmethod
    def _lines(reads: Iterable[bytes]) -> Iterator[str]:
        pending = b""
        for read in reads:
            pending += read
            while b"\n\n" in pending:
                event, pending = pending.split(b"\n\n", 1)
                yield from event.decode("utf-8").splitlines()
        yield from pending.decode("utf-8").splitlines()


class TurnsGeneratorExitIntoError(GoodOpenAIStyle):
    """Fails stream-closes: a bare ``except:`` around the ``yield`` raises its own error, so
    closing the stream raises ProviderError (the response itself is closed)."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        try:
            with self.open_stream(body) as response:
                yield from self.deltas(response.iter_lines())
        except ProviderError:
            raise
        except:  # noqa: E722  # the habit under test
            raise ProviderError("the stream failed") from None


class ClosesResponseOnSelf(GoodOpenAIStyle):
    """Fails thread-safety: keeps its streamed response on ``self`` and closes ``self``'s
    when a stream ends, which under concurrent calls is another caller's, mid-stream."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        request = self.client().build_request(
            "POST", f"{self.base_url}/chat/completions", json=body, headers=self.headers()
        )
        self._response = self.client().send(request, stream=True)
        try:
            self.check_status(self._response)
            yield from self.deltas(self._response.iter_lines())
        except httpx.TransportError as exc:
            raise ProviderError(f"stream broken: {type(exc).__name__}") from exc
        finally:
            self._response.close()


class TruncatesLongMessages(GoodOpenAIStyle):
    """Fails message-fidelity: cuts every message to 8000 characters to spare the context
    window, so a long tool output or pasted document reaches the model cut short."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        return {**body, "messages": [{**m, "content": m["content"][:8000]} for m in body["messages"]]}


class DropsTrailingNewline(GoodOpenAIStyle):
    """Fails content-fidelity: ``generate()`` returns ``content.rstrip("\\n")``, so an answer
    ending in a code block or a list loses its last line break."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        parsed = super().parse(response)
        return parsed.model_copy(update={"content": parsed.content.rstrip("\n") or parsed.content})


class KeyInClassAttribute(GoodOpenAIStyle):
    """Fails key-reaches-request: sets its key in a dict that is a class attribute (a
    mutable default shared by every instance), so the last instance built sends its key
    for all of them: a router holding two of this class for two accounts bills one."""

    default_headers: dict[str, str] = {}  # the habit under test

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_headers["authorization"] = f"Bearer {self._api_key}"

    def headers(self) -> dict[str, str]:
        return dict(self.default_headers)


class PassesArgumentsOnToHardCodedTimeout(HardCodedTimeout):
    """Fails timeout-honoured: its ``__init__(*args, **kwargs)`` hides ``timeout`` from its
    signature, but passes it on to a base class that takes it and then ignores it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
