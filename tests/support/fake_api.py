"""A stand-in for the live LLM APIs, served on 127.0.0.1 by the tests.

It answers each request with a *real* recorded response from ``tests/data/wire_samples``
(chosen by wire family and by whether the request asked to stream), so that recording
against it exercises the kit's record path exactly as a live API would.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "wire_samples"

# (family, stream) -> the wire sample whose recorded response is served.
DEFAULT_SAMPLES: dict[tuple[str, bool], str] = {
    ("openai", False): "openai/gpt4omini-hello-nonstream.json",
    ("openai", True): "openai/gpt4omini-ocean-stream.json",
    ("anthropic", False): "anthropic/opus3-hello-nonstream.json",
    ("anthropic", True): "anthropic/haiku3-hello-stream.json",
    ("ollama", False): "ollama/chat-llama3-joke-nonstream.json",
    ("ollama", True): "ollama/chat-llama31-hello-stream.json",
}


# Served instead when a streamed OpenAI request asks for its usage (``stream_options.include_usage``).
OPENAI_STREAM_WITH_USAGE = "openai/gpt4omini-ocean-stream-usage.json"


def load_sample(relative: str) -> dict:
    return json.loads((SAMPLES / relative).read_text(encoding="utf-8"))


def family_of(path: str) -> str | None:
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/api/chat"):
        return "ollama"
    return None


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeAPI:
    """A running loopback server; ``received`` lists what it was sent."""

    samples: dict[tuple[str, bool], str] = field(default_factory=lambda: dict(DEFAULT_SAMPLES))
    received: list[ReceivedRequest] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                api.received.append(ReceivedRequest("POST", self.path, dict(self.headers), body))
                if api.drops(body):
                    self.close_connection = True  # hang up without an answer
                    return
                status, headers, payload = api.answer(self.path, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def drops(self, body: bytes) -> bool:
        """Whether to hang up on this request without answering (an outage)."""
        return False

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        family = family_of(path)
        if family is None:
            return 404, {"content-type": "application/json"}, b'{"error": {"message": "unknown path"}}'
        request = json.loads(body or b"{}")
        stream = bool(request.get("stream", family == "ollama"))
        sample = load_sample(self.samples[(family, stream)])
        if stream and (request.get("stream_options") or {}).get("include_usage"):
            sample = load_sample(OPENAI_STREAM_WITH_USAGE)  # as the live API does: a last chunk with usage
        response = sample["response"]
        headers = {"content-type": response["headers"].get("content-type", "application/json")}
        return response["status"], headers, response["body_text"].encode("utf-8")

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class ChangedShapeAPI(FakeAPI):
    """The same API, a version later: message content is a list of parts, ``usage`` is gone,
    ``safety`` is new (JSON answers only; streams are unchanged)."""

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, headers, payload = super().answer(path, body)
        if status != 200 or not headers["content-type"].startswith("application/json"):
            return status, headers, payload
        document = json.loads(payload)
        for choice in document.get("choices", []):
            choice["message"]["content"] = [{"type": "text", "text": choice["message"]["content"]}]
        document.pop("usage", None)
        document["safety"] = {"flagged": False}
        return status, headers, json.dumps(document).encode()


@dataclass
class RefusingAPI(FakeAPI):
    """The same API refusing the key: every request gets OpenAI's recorded 401."""

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        response = load_sample("openai/err401-invalid-key.json")["response"]
        return response["status"], {"content-type": "application/json"}, response["body_text"].encode("utf-8")


@dataclass
class StreamOutageAPI(FakeAPI):
    """The same API with its streaming side down: it hangs up on every streamed request."""

    def drops(self, body: bytes) -> bool:
        return bool(json.loads(body or b"{}").get("stream"))
