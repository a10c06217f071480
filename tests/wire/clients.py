"""Real SDK clients answered by an in-memory transport: how each SDK reacts to a body.

Used to check that bodies the decoders *write* (rebuilt answers, in-stream errors, error
bodies) are read by the official clients the way the decoders say they will be.
"""

from __future__ import annotations

import importlib
from functools import cache

import anthropic
import httpx
import ollama
import openai

# Recent anthropic releases run on the "httpx2" fork; older ones on httpx.
try:
    _ahttpx = importlib.import_module("httpx2")
except ImportError:  # pragma: no cover
    _ahttpx = httpx

MESSAGES = [{"role": "user", "content": "hi"}]


class _Reply:
    """What the in-memory server answers next; clients are built once and reused."""

    status, body, ctype = 200, b"", "application/json"

    @classmethod
    def transport(cls, lib):
        return lib.MockTransport(
            lambda request: lib.Response(cls.status, content=cls.body, headers={"content-type": cls.ctype})
        )


def _answer(status: int, body: bytes, ctype: str) -> None:
    _Reply.status, _Reply.body, _Reply.ctype = status, body, ctype


@cache
def _openai() -> openai.OpenAI:
    http = httpx.Client(transport=_Reply.transport(httpx))
    return openai.OpenAI(api_key="sk-test", base_url="http://wire.test/v1", http_client=http, max_retries=0)


@cache
def _anthropic() -> anthropic.Anthropic:
    http = _ahttpx.Client(transport=_Reply.transport(_ahttpx))
    return anthropic.Anthropic(api_key="sk-test", base_url="http://wire.test", http_client=http, max_retries=0)


@cache
def _ollama() -> ollama.Client:
    return ollama.Client(host="http://wire.test", transport=_Reply.transport(httpx))


def openai_client(status: int, body: bytes, ctype: str) -> openai.OpenAI:
    """The OpenAI client, whose next request gets this answer."""
    _answer(status, body, ctype)
    return _openai()


def anthropic_client(status: int, body: bytes, ctype: str) -> anthropic.Anthropic:
    _answer(status, body, ctype)
    return _anthropic()


def ollama_client(status: int, body: bytes, ctype: str) -> ollama.Client:
    _answer(status, body, ctype)
    return _ollama()


def _openai_read(body: bytes, stream: bool, ctype: str) -> str:
    client = openai_client(200, body, ctype)
    if not stream:
        message = client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message
        return (message.content or "") + (message.refusal or "")
    chunks = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    parts = []
    for chunk in chunks:
        for choice in chunk.choices:
            if choice.index == 0:
                parts.append((choice.delta.content or "") + (choice.delta.refusal or ""))
    return "".join(parts)


def _anthropic_read(body: bytes, stream: bool, ctype: str) -> str:
    client = anthropic_client(200, body, ctype)
    if not stream:
        message = client.messages.create(model="m", max_tokens=8, messages=MESSAGES)
    else:
        with client.messages.stream(model="m", max_tokens=8, messages=MESSAGES) as events:
            message = events.get_final_message()
    return "".join(block.text for block in message.content if block.type == "text")


def _ollama_read(url: str, body: bytes, stream: bool, ctype: str) -> str:
    client = ollama_client(200, body, ctype)
    if url.rstrip("/").endswith("/api/chat"):
        parts = client.chat(model="m", messages=MESSAGES, stream=stream)
        return "".join(p.message.content or "" for p in (parts if stream else [parts]))
    parts = client.generate(model="m", prompt="hi", stream=stream)
    return "".join(p.response or "" for p in (parts if stream else [parts]))


def client_text(family: str, url: str, body: bytes, stream: bool) -> str:
    """The answer text the official client of ``family`` reads from a 200 response."""
    ctype = {"openai": "text/event-stream", "anthropic": "text/event-stream", "ollama": "application/x-ndjson"}
    ctype = ctype[family] if stream else "application/json"
    if family == "openai":
        return _openai_read(body, stream, ctype)
    if family == "anthropic":
        return _anthropic_read(body, stream, ctype)
    return _ollama_read(url, body, stream, ctype)
