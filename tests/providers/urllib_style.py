"""A careful OpenAI-compatible provider on the standard library alone (``urllib.request``).

A finite ``timeout`` on every ``urlopen``, a raise on every failure (``HTTPError`` for a
status, ``URLError``/``OSError`` for the transport, ``IncompleteRead`` for a body cut
short), and SSE lines split from ``read1`` pieces of a response closed by its ``with`` block. Each
defective twin in ``defective_stacks.py`` differs from it in exactly one habit.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from laios_conformance import LLMResponse

from .openai_chat import OpenAIChatProvider, ProviderError

_LINE_END = re.compile(rb"\r\n|\r|\n")

TRANSPORT_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every call and instance: building one loads the CA store."""
    return ssl.create_default_context()


class UrllibOpenAIStyle(OpenAIChatProvider):
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(model, base_url, api_key)
        self.timeout = timeout
        self.tls = tls_context()

    # -- the request ---------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "content-type": "application/json"}

    def open(self, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url(),
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

    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def send(self, request: urllib.request.Request) -> Any:
        return urllib.request.urlopen(request, timeout=self.timeout, context=self.tls)

    def status_error(self, error: urllib.error.HTTPError) -> Exception:
        with error:
            text = error.read().decode("utf-8", errors="replace")
        return self.http_error(error.code, text)

    # -- the answer ------------------------------------------------------------------

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        body = self.payload(messages, temperature, max_tokens, stream=False)
        try:
            with self.open(body) as response:
                raw = response.read()
        except TRANSPORT_ERRORS as exc:
            raise ProviderError(f"transport error: {type(exc).__name__}") from exc
        return self.answer(raw)

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


class KeyInQueryString(UrllibOpenAIStyle):
    """Also correct: sends its key as a ``?key=`` query parameter (as Gemini's API takes
    it), no ``authorization`` header. Nothing it uses logs the URL, and its errors do not
    chain urllib's ``HTTPError``, which holds the URL."""

    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json"}

    def open(self, body: dict[str, Any]) -> Any:
        try:
            return super().open(body)
        except ProviderError as exc:
            error = ProviderError(str(exc))
        raise error

    def url(self) -> str:
        return f"{super().url()}?{urllib.parse.urlencode({'key': self._api_key})}"
