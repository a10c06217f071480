"""Providers with exactly one bad habit each, to prove that each clause catches its defect.

Each class is the correct :class:`GoodOpenAIStyle` with one method changed; its docstring
names the clause(s) it must fail.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx

from laios_conformance import LLMClient, LLMMessage, LLMResponse

from .openai_style import GoodOpenAIStyle, ProviderError


class EmptyModelName(GoodOpenAIStyle):
    """Fails returns-response: the response's ``model`` is empty."""

    def parse(self, response: httpx.Response) -> LLMResponse:
        return super().parse(response).model_copy(update={"model": ""})


class DropsSystemPrompt(GoodOpenAIStyle):
    """Fails system-prompt: generate_with_system sends only the user message."""

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return self.generate([LLMMessage(role="user", content=user_message)], temperature, max_tokens)


class IgnoresParams(GoodOpenAIStyle):
    """Fails params-reach-request: always sends its own temperature and max_tokens."""

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        return super().payload(messages, 0.7, 2048, stream)


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


class NoTimeout(GoodOpenAIStyle):
    """Fails timeout-set: its client waits forever."""

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=None)
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


class RetriesTooMuch(GoodOpenAIStyle):
    """Fails retry-bounded (a should clause): six attempts for every failing call."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        for _ in range(5):
            try:
                return super().post(body)
            except ProviderError:
                continue
        return super().post(body)


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


class DropsLastDelta(GoodOpenAIStyle):
    """Fails stream-join, stream-rechunk, content-fidelity (and, lagging one delta behind,
    stream-incremental): it yields each delta only when the next arrives, and loses the last."""

    def deltas(self, lines: Iterator[str]) -> Iterator[str]:
        pending = None
        for text in super().deltas(lines):
            if pending is not None:
                yield pending
            pending = text


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
        with self.client().stream(
            "POST", f"{self.base_url}/chat/completions", json=body, headers=self.headers()
        ) as response:
            self.check_status(response)
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
        response = self.post(self.payload(messages, temperature, max_tokens, stream=False))
        self._answer_parts.append(self.parse(response).content)
        return LLMResponse(content="".join(self._answer_parts), model=self.model)


class IgnoresEndMarker(GoodOpenAIStyle):
    """Fails stream-end-marker (a should clause): a stream cut cleanly before ``[DONE]`` looks complete."""

    def deltas(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            data = line[5:].strip() if line.startswith("data:") else ""
            if data == "[DONE]":
                return
            chunk = json.loads(data) if data else {}
            if "error" in chunk:
                raise ProviderError(f"error inside the stream: {chunk['error']}")
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text


class PassesRawUsage(GoodOpenAIStyle):
    """One bug behind many failures: it hands the API's raw ``usage`` object to ``LLMResponse``
    (as the LAIOS guide's own example does), whose nested ``prompt_tokens_details`` is not an
    int, so pydantic rejects every successful answer. The verdict names one likely root cause."""

    @staticmethod
    def usage(data: dict[str, Any]) -> Any:
        return data.get("usage")
