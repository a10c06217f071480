"""Test helpers: the recorded wire samples, MockTransport servers, and client factories."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from laios_conformance.base.client import LLMMessage
from reference_providers.anthropic import AnthropicClient
from reference_providers.ollama import OllamaClient
from reference_providers.openai import OpenAIClient

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = DATA / "wire_samples"
DOCUMENTED_ERRORS = DATA / "documented_errors.json"
API_KEY = "sk-test-NEVER-SHOW-ME-0123456789"
MESSAGES = [LLMMessage(role="user", content="Say hello")]


@dataclass
class Sample:
    """One recorded exchange from tests/data/wire_samples."""

    name: str  # "<api>/<file>.json"
    data: dict[str, Any]

    @property
    def api(self) -> str:
        return self.data["api"]

    @property
    def stream(self) -> bool:
        return bool(self.data["stream"])

    @property
    def status(self) -> int:
        return self.data["response"]["status"]

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.data["response"]["headers"])

    @property
    def body(self) -> bytes:
        return self.data["response"]["body_text"].encode("utf-8")

    @property
    def url(self) -> str:
        return self.data["request"]["url"]


def load_samples() -> list[Sample]:
    """Every sample file, sorted by name."""
    return [
        Sample(f"{path.parent.name}/{path.name}", json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(SAMPLES.glob("*/*.json"))
    ]


def documented_errors() -> list[dict[str, Any]]:
    """The error bodies shaped after each API's reference (tests/data/documented_errors.json)."""
    return json.loads(DOCUMENTED_ERRORS.read_text(encoding="utf-8"))["errors"]


def pieces(body: bytes, size: int) -> list[bytes]:
    """``body`` cut into ``size``-byte network reads (cuts fall inside UTF-8 characters)."""
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


class TrackedStream(httpx.SyncByteStream):
    """A response body delivered in pieces, recording how far it was read and if closed.

    ``fail_with`` is raised after the pieces run out (a connection dropped mid-body).
    """

    def __init__(self, chunks: Iterable[bytes], fail_with: Exception | None = None) -> None:
        self.chunks = list(chunks)
        self.fail_with = fail_with
        self.delivered = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.delivered += 1
            yield chunk
        if self.fail_with is not None:
            raise self.fail_with

    def close(self) -> None:
        self.closed = True


@dataclass
class Server:
    """A MockTransport that answers every request with one prepared response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    body: bytes = b""
    chunk_size: int | None = None
    fail_with: Exception | None = None
    raise_on_request: Exception | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    streams: list[TrackedStream] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.raise_on_request is not None:
            raise self.raise_on_request
        chunks = pieces(self.body, self.chunk_size) if self.chunk_size else [self.body]
        stream = TrackedStream(chunks, self.fail_with)
        self.streams.append(stream)
        return httpx.Response(self.status, headers=self.headers, stream=stream)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def serve_sample(sample: Sample, chunk_size: int | None = 7) -> Server:
    """A server replaying ``sample``'s recorded response, streams cut into small reads."""
    return Server(sample.status, sample.headers, sample.body, chunk_size if sample.stream else None)


Factory = Callable[[httpx.BaseTransport], Any]

FACTORIES: dict[str, Factory] = {
    "openai": lambda t: OpenAIClient("gpt-4o-mini", api_key=API_KEY, transport=t),
    "openai-compatible": lambda t: OpenAIClient(
        "some-model", base_url="https://llm.example.com/v1", api_key=API_KEY, transport=t
    ),
    "anthropic": lambda t: AnthropicClient("claude-sonnet-4-5", api_key=API_KEY, transport=t),
    "ollama": lambda t: OllamaClient("llama3.1", transport=t),
}


def client_for(api: str, server: Server) -> Any:
    """The reference client that speaks ``api``, wired to ``server``."""
    return FACTORIES[api](server.transport)


def run(client: Any, stream: bool) -> Any:
    """``generate`` (non-stream) or the joined ``generate_stream`` text (stream)."""
    if stream:
        return "".join(client.generate_stream(MESSAGES))
    return client.generate(MESSAGES)
