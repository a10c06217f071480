"""A small, correct OpenAI-style provider: the kit's yardstick in its own tests.

Deliberately plain (httpx, one pooled client, SSE read line by line) so that each
defective variant in ``defective.py`` differs from it in exactly one habit. What does not
depend on httpx (the body, the answer, the deltas) is in ``openai_chat.py``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import os
import ssl
import threading
from collections.abc import Iterator
from time import monotonic, sleep
from typing import Any

import httpx

from laios_conformance import LLMResponse

from .openai_chat import OpenAIChatProvider, ProviderError

__all__ = ["GoodOpenAIStyle", "ProviderError"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every instance: building one loads the CA bundle."""
    return httpx.create_ssl_context()


class GoodOpenAIStyle(OpenAIChatProvider):
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(model, base_url, api_key)
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    # -- the request ---------------------------------------------------------------

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), verify=tls_context())
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self.client().post(f"{self.base_url}/chat/completions", json=body, headers=self.headers())
        except httpx.TransportError as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc
        self.check_status(response)
        return response

    @contextlib.contextmanager
    def open_stream(self, body: dict[str, Any]) -> Iterator[httpx.Response]:
        """The streamed response to ``body``, its status checked, closed on leaving."""
        with self.client().stream(
            "POST", f"{self.base_url}/chat/completions", json=body, headers=self.headers()
        ) as response:
            self.check_status(response)
            yield response

    def check_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            raise self.http_error(response.status_code, response.text)

    # -- the answer ------------------------------------------------------------------

    def parse(self, response: httpx.Response) -> LLMResponse:
        return self.answer(response.content)

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        return self.parse(self.post(self.payload(messages, temperature, max_tokens, stream=False)))

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        try:
            with self.open_stream(body) as response:
                yield from self.deltas(response.iter_lines())
        except httpx.TransportError as exc:
            raise ProviderError(f"stream broken: {type(exc).__name__}") from exc


class ChecksStatusWhenCalled(GoodOpenAIStyle):
    """Also correct: generate_stream() is not a generator function. It opens the response
    and checks its status when called, raising there, and only then returns the iterator
    of the text."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        stack = contextlib.ExitStack()
        response = stack.enter_context(self.open_stream(self.payload(messages, temperature, max_tokens, stream=True)))
        return self._text_of(stack, response)

    def _text_of(self, stack: contextlib.ExitStack, response: httpx.Response) -> Iterator[str]:
        with stack:
            try:
                yield from self.deltas(response.iter_lines())
            except httpx.TransportError as exc:
                raise ProviderError(f"stream broken: {type(exc).__name__}") from exc


class GenerateReadsStream(GoodOpenAIStyle):
    """Also correct: generate() asks for a stream with its usage chunk and builds the answer
    from the events (text, served model, finish reason, usage), as a provider on the
    Anthropic SDK's ``messages.stream(...).get_final_message()`` does."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        body["stream_options"] = {"include_usage": True}
        stated: dict[str, Any] = {}
        try:
            with self.open_stream(body) as response:
                text = "".join(self.deltas(self.noting(response.iter_lines(), stated)))
        except httpx.TransportError as exc:
            raise ProviderError(f"stream broken: {type(exc).__name__}") from exc
        return self.answer_of(text, stated)

    def answer_of(self, text: str, stated: dict[str, Any]) -> LLMResponse:
        return self.response(text, stated, stated.get("finish_reason"))

    @staticmethod
    def noting(lines: Iterator[str], stated: dict[str, Any]) -> Iterator[str]:
        """The lines, unchanged; what the chunks state about the answer goes into ``stated``."""
        for line in lines:
            data = line[5:].strip() if line.startswith("data:") else "[DONE]"
            chunk = json.loads(data) if data != "[DONE]" else {}
            if chunk.get("model") and "model" not in stated:
                stated["model"] = chunk["model"]
            for choice in chunk.get("choices") or []:
                stated["finish_reason"] = choice.get("finish_reason") or stated.get("finish_reason")
            if isinstance(chunk.get("usage"), dict):
                stated["usage"] = chunk["usage"]
            yield line


class RefusalAsAnswer(GoodOpenAIStyle):
    """Also correct: returns a refusal as the answer's content instead of raising with it."""

    def answer(self, raw: bytes) -> LLMResponse:
        data = json.loads(raw)
        message = data["choices"][0]["message"]
        refusal = self.refusal(message)
        if refusal and not message.get("content"):
            return LLMResponse(content=refusal, model=data.get("model") or self.model, finish_reason="stop")
        return super().answer(raw)


class RetriesConnectsTwice(GoodOpenAIStyle):
    """Also correct: its transport retries a refused connection twice
    (``httpx.HTTPTransport(retries=2)``, below the kit's seam), three attempts in all."""

    connect_retries = 2

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                transport = httpx.HTTPTransport(retries=self.connect_retries, verify=tls_context())
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), transport=transport)
            return self._client


class RetriesUntilADeadline(GoodOpenAIStyle):
    """Also correct: retries a server error or a broken connection once a second until
    2.5 s have passed on ``monotonic()``, three attempts in all; never a client error. Its
    ``sleep`` and ``monotonic`` are imported by name."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        deadline = monotonic() + 2.5
        while True:
            try:
                return super().post(body)
            except ProviderError as exc:
                if not str(exc).startswith(("HTTP 5", "transport error")) or monotonic() + 1 > deadline:
                    raise
            sleep(1)


class RetriesStreamBeforeText(GoodOpenAIStyle):
    """Also correct: retries a stream broken before it yielded anything, and raises once
    text has reached the caller."""

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        for attempt in range(3):
            yielded = False
            try:
                for piece in super().generate_stream(messages, temperature, max_tokens, **kwargs):
                    yielded = True
                    yield piece
                return
            except ProviderError as exc:
                if yielded or attempt == 2 or not isinstance(exc.__cause__, httpx.TransportError):
                    raise


class PassesArgumentsOn(GoodOpenAIStyle):
    """Also correct: its ``__init__`` takes ``*args, **kwargs`` and passes them on (to add
    an organization header), so ``api_key`` is its base class's argument."""

    def __init__(self, *args: Any, organization: str = "org-laios", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "openai-organization": self.organization}


class KeyInBasicCredentials(GoodOpenAIStyle):
    """Also correct: sends its key as the password of HTTP Basic credentials."""

    def headers(self) -> dict[str, str]:
        credentials = base64.b64encode(f"laios:{self._api_key}".encode()).decode("ascii")
        return {"authorization": f"Basic {credentials}"}


class KeyInBody(GoodOpenAIStyle):
    """Also correct: sends its key as an ``api_key`` field of the JSON body, no header."""

    def headers(self) -> dict[str, str]:
        return {}

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        return {**super().payload(messages, temperature, max_tokens, stream), "api_key": self._api_key}


class KeyNestedInBody(GoodOpenAIStyle):
    """Also correct: sends its key nested in the JSON body (``{"auth": {"api_key": ...}}``), no header."""

    def headers(self) -> dict[str, str]:
        return {}

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        return {**super().payload(messages, temperature, max_tokens, stream), "auth": {"api_key": self._api_key}}


class KeyFromItsEnvironment(GoodOpenAIStyle):
    """Also correct: takes no ``api_key``; reads its key from ``$LAIOS_TEST_PROVIDER_KEY``
    itself (judged with ``--laios-secret-env LAIOS_TEST_PROVIDER_KEY``)."""

    def __init__(self, model: str = "gpt-4o-mini", base_url: str = "https://api.openai.com/v1") -> None:
        super().__init__(model, base_url, os.environ["LAIOS_TEST_PROVIDER_KEY"])


class GenerateKeepsFirstFinishReason(GenerateReadsStream):
    """Also correct: generate() keeps the first finish_reason its stream states. OpenRouter
    repeats it on the usage chunk (tests/data/wire_samples/openai-compatible/
    openrouter-claude-haiku-stream-usage.json), always the same value."""

    @staticmethod
    def noting(lines: Iterator[str], stated: dict[str, Any]) -> Iterator[str]:
        for line in GenerateReadsStream.noting(lines, {}):
            data = line[5:].strip() if line.startswith("data:") else "[DONE]"
            chunk = json.loads(data) if data != "[DONE]" else {}
            if chunk.get("model"):
                stated.setdefault("model", chunk["model"])
            for choice in chunk.get("choices") or []:
                if choice.get("finish_reason") and not stated.get("finish_reason"):
                    stated["finish_reason"] = choice["finish_reason"]
            if isinstance(chunk.get("usage"), dict):
                stated["usage"] = chunk["usage"]
            yield line


class GenerateReadsGroqUsage(GenerateReadsStream):
    """Also correct: generate() also takes the counts Groq streams in ``x_groq.usage`` on the
    last chunk (tests/data/wire_samples/openai-compatible/groq-llama3-hello-stream.json)."""

    @staticmethod
    def noting(lines: Iterator[str], stated: dict[str, Any]) -> Iterator[str]:
        for line in GenerateReadsStream.noting(lines, stated):
            data = line[5:].strip() if line.startswith("data:") else "[DONE]"
            chunk = json.loads(data) if data != "[DONE]" else {}
            groq = chunk.get("x_groq")
            if isinstance(groq, dict) and isinstance(groq.get("usage"), dict):
                stated["usage"] = groq["usage"]
            yield line


class JsonWithCharset(GoodOpenAIStyle):
    """Also correct: labels its body ``application/json; charset=utf-8`` where the recording
    sent ``application/json`` (the media type is what servers read)."""

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "content-type": "application/json; charset=utf-8"}


class KeyOnlyFromEnvironment(GoodOpenAIStyle):
    """Also correct: takes no ``api_key``; its constructor reads ``$LAIOS_TEST_ENV_ONLY_KEY``
    (unset in the kit's tests) and raises ``KeyError`` without it, as many providers do."""

    def __init__(self, model: str = "gpt-4o-mini", base_url: str = "https://api.openai.com/v1") -> None:
        super().__init__(model, base_url=base_url, api_key=os.environ["LAIOS_TEST_ENV_ONLY_KEY"])


class _KeyRedacted(logging.Filter):
    """Rewrites a record's text with the key replaced, as a logging setup that redacts does."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = record.getMessage().replace(self.key, "<API key>"), None
        return True


class LogsHeadersRedacted(GoodOpenAIStyle):
    """Logs its request headers at DEBUG through a logger whose own filter redacts the key (as
    botocore users add one to ``botocore.auth``), and more on a logger whose filter drops
    every record: neither leaks, so no-secret-leak passes."""

    def post(self, body: dict[str, Any]) -> httpx.Response:
        redacting = logging.getLogger("careful.redacted")
        if not redacting.filters:
            redacting.addFilter(_KeyRedacted(self._api_key))
        redacting.debug("sending with headers %s", self.headers())
        silenced = logging.getLogger("careful.silenced")
        if not silenced.filters:
            silenced.addFilter(lambda record: False)
        silenced.debug("and again %s", self.headers())
        return super().post(body)


class RefreshesAnOAuthToken(GoodOpenAIStyle):
    """Also correct: takes no key, and trades a client id for an OAuth access token before its
    first call, as a Vertex AI or Azure AD client does (a form-encoded ``grant_type`` request
    to a token endpoint, here one that nobody serves). The kit must judge the API calls that
    follow, never the token request, and stand in for the token service it cannot reach."""

    token_url = "http://127.0.0.1:9/token"  # a closed port: only the kit's stand-in answers

    def __init__(
        self, model: str = "gpt-4o-mini", base_url: str = "https://api.openai.com/v1", timeout: float = 30.0
    ) -> None:
        super().__init__(model=model, base_url=base_url, timeout=timeout)
        self._token: str | None = None

    def headers(self) -> dict[str, str]:
        if self._token is None:
            form = {"grant_type": "client_credentials", "client_id": "laios-test-client"}
            answer = self.client().post(self.token_url, data=form)
            self._token = answer.json()["access_token"]
        return {"authorization": f"Bearer {self._token}"}


class FoldsSystemAsDeclared(GoodOpenAIStyle):
    """Also correct: for a model without a system role, sends each system message as a user
    turn of its own, and declares it (``conformance_profile["folds_system"]``)."""

    conformance_profile = {"folds_system": "the model has no system role"}

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body = super().payload(messages, temperature, max_tokens, stream)
        body["messages"] = [{**m, "role": "user"} if m["role"] == "system" else m for m in body["messages"]]
        return body
