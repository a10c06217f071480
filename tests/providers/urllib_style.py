"""A careful OpenAI-compatible provider on the standard library alone (``urllib.request``).

A finite ``timeout`` on every ``urlopen``, a raise on every failure (``HTTPError`` for a
status, ``URLError``/``OSError`` for the transport, ``IncompleteRead`` for a body cut
short), and SSE lines split from ``read1`` pieces of a response closed by its ``with`` block. Each
defective twin in ``defective_stacks.py`` differs from it in exactly one habit.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from laios_conformance import LLMClient, LLMMessage, LLMResponse

_LINE_END = re.compile(rb"\r\n|\r|\n")

TRANSPORT_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


class ProviderError(Exception):
    """Raised on every failure: HTTP status, transport, unusable body."""


class UrllibOpenAIStyle(LLMClient):
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(model=model)
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key or ""
        self.timeout = timeout
        self.tls = ssl.create_default_context()  # loading the CA store for every call is slow

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # -- the request ---------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}", "content-type": "application/json"}

    def payload(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if stream:
            body["stream"] = True
        return body

    def open(self, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode("utf-8"),
            headers=self.headers(),
            method="POST",
        )
        try:
            return self.send(request)
        except urllib.error.HTTPError as exc:
            raise self.status_error(exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc

    def send(self, request: urllib.request.Request) -> Any:
        return urllib.request.urlopen(request, timeout=self.timeout, context=self.tls)

    def status_error(self, error: urllib.error.HTTPError) -> Exception:
        with error:
            text = error.read()[:200].decode("utf-8", errors="replace")
        return ProviderError(f"HTTP {error.code}: {text}")

    # -- the answer ------------------------------------------------------------------

    def parse(self, raw: bytes) -> LLMResponse:
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"unusable response body: {exc!r}") from exc
        if not isinstance(content, str) or not content:
            raise ProviderError("the response carries no text")
        return LLMResponse(
            content=content,
            model=data.get("model") or self.model,
            finish_reason=choice.get("finish_reason"),
            usage=self.usage(data),
        )

    @staticmethod
    def usage(data: dict[str, Any]) -> dict[str, int] | None:
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return None
        return {k: int(usage[k]) for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in usage}

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        body = self.payload(messages, temperature, max_tokens, stream=False)
        try:
            with self.open(body) as response:
                raw = response.read()
        except TRANSPORT_ERRORS as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc
        return self.parse(raw)

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        messages = [LLMMessage(role="system", content=system_prompt), LLMMessage(role="user", content=user_message)]
        return self.generate(messages, temperature, max_tokens, **kwargs)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        body = self.payload(messages, temperature, max_tokens, stream=True)
        try:
            with self.open(body) as response:
                yield from self.deltas(self.lines(response))
        except TRANSPORT_ERRORS as exc:
            raise ProviderError(f"stream broken: {type(exc).__name__}") from exc

    @staticmethod
    def lines(response: Any) -> Iterator[bytes]:
        """Lines as they arrive, ended by LF, CRLF or a lone CR (as SSE allows). ``read1``
        (unlike ``readline``) raises ``IncompleteRead`` when the connection drops mid-stream,
        instead of ending the lines quietly."""
        pending = b""
        while piece := response.read1(65536):
            pending += piece
            # A CR at the very end may be the first half of a CRLF: keep it for the next read.
            *complete, pending = _LINE_END.split(pending[:-1] if pending.endswith(b"\r") else pending)
            pending += b"\r" if piece.endswith(b"\r") else b""
            yield from complete
        if pending:
            yield pending.removesuffix(b"\r")

    def deltas(self, lines: Iterator[bytes]) -> Iterator[str]:
        finished = False
        for raw in lines:
            line = raw.decode("utf-8")
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            chunk = json.loads(data)
            if "error" in chunk:
                raise ProviderError(f"error inside the stream: {chunk['error']}")
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text
                finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise ProviderError("the stream ended before its end marker")
