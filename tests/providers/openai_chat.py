"""What the kit's OpenAI-style yardstick providers share, whatever HTTP stack sends for them.

The request body, reading a completion, the usage counts and the SSE deltas of a stream
are the same on httpx (``openai_style.py``), requests (``requests_style.py``) and
urllib.request (``urllib_style.py``); each of those adds only how it sends and reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from laios_conformance import LLMClient, LLMMessage, LLMResponse


class ProviderError(Exception):
    """Raised on every failure: HTTP status, transport, unusable body."""


@dataclass
class StreamState:
    """What a stream has said so far: whether it finished the answer, carried text, and sent [DONE]."""

    finished: bool = False
    carried_text: bool = False
    done: bool = False


class OpenAIChatProvider(LLMClient):
    """Chat Completions as the yardsticks speak it; subclasses send the requests."""

    def __init__(self, model: str, base_url: str, api_key: str | None) -> None:
        super().__init__(model=model)
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key or ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # -- the request ---------------------------------------------------------------

    def http_error(self, status: int, body_text: str) -> ProviderError:
        """The error for an HTTP error status, quoting the start of its body with the key
        replaced: a proxy's 401 may repeat the key it was sent (LiteLLM's does)."""
        quoted = body_text[:200]
        if self._api_key:
            quoted = quoted.replace(self._api_key, "<API key>")
        return ProviderError(f"HTTP {status}: {quoted}")

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}"}

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

    # -- the answer ------------------------------------------------------------------

    def answer(self, raw: bytes) -> LLMResponse:
        """The completion in a response body."""
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"unusable response body: {exc!r}") from exc
        if not isinstance(content, str) or not content:
            refusal = self.refusal(choice["message"])
            raise ProviderError(f"the model refused: {refusal}" if refusal else "the response carries no text")
        return self.response(content, data, choice.get("finish_reason"))

    def response(self, content: str, data: dict[str, Any], finish_reason: Any) -> LLMResponse:
        """The answer, with the served model, usage and finish reason ``data`` states."""
        return LLMResponse(
            content=content, model=data.get("model") or self.model, finish_reason=finish_reason, usage=self.usage(data)
        )

    @staticmethod
    def refusal(message: dict[str, Any]) -> str | None:
        """The model's reason for declining (OpenAI keeps it apart from ``content``)."""
        refusal = message.get("refusal")
        return refusal if isinstance(refusal, str) and refusal else None

    @staticmethod
    def usage(data: dict[str, Any]) -> dict[str, int] | None:
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return None
        return {k: int(usage[k]) for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in usage}

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        messages = [LLMMessage(role="system", content=system_prompt), LLMMessage(role="user", content=user_message)]
        return self.generate(messages, temperature, max_tokens, **kwargs)

    def deltas(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        """The text of a stream's SSE lines (str, or UTF-8 bytes), checking for its end."""
        stream = StreamState()
        for raw in lines:
            yield from self.line_text(raw, stream)
            if stream.done:
                break
        self.check_end(stream)

    def line_text(self, raw: str | bytes, stream: StreamState) -> list[str]:
        """The text one SSE line of a stream carries; what it says of the end goes in ``stream``."""
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if not line.startswith("data:"):
            return []
        data = line[5:].strip()
        if data == "[DONE]":
            stream.done = stream.finished = True
            return []
        chunk = json.loads(data)
        if "error" in chunk:
            raise ProviderError(f"error inside the stream: {chunk['error']}")
        texts = []
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                texts.append(text)
            stream.finished = stream.finished or self.ends_answer(choice)
        stream.carried_text = stream.carried_text or bool(texts)
        return texts

    def check_end(self, stream: StreamState) -> None:
        """Raise for a stream that ended without its end, or without any text."""
        if not stream.finished:
            self.stream_cut_short()
        if not stream.carried_text:
            self.stream_carried_no_text()

    @staticmethod
    def ends_answer(choice: dict[str, Any]) -> bool:
        """Whether a stream chunk's choice finishes the answer (servers such as Perplexity
        send no ``[DONE]`` after it)."""
        return bool(choice.get("finish_reason"))

    def stream_cut_short(self) -> None:
        """The stream ended without ``[DONE]`` or a ``finish_reason``: the answer is incomplete."""
        raise ProviderError("the stream ended before its end marker")

    def stream_carried_no_text(self) -> None:
        """The stream ended properly but no delta carried text: joined, it is ``content=""``."""
        raise ProviderError("the stream carried no text")
