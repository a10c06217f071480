"""Fixtures for the cassette glue tests: a fake key and a loopback HTTP server."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

FAKE_KEY = "sk-" + "proj-" + "Zq7Fk2Lm9Xw4Rt8Yp3Nc6Vb1Hs5Jd0Gu" + "Ae4Ti9Oy2Pr7Wq3Ez8Lk5Mx1"


def sse_body(key: str) -> bytes:
    return (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1"}}\n\n'
        f'event: content_block_delta\ndata: {{"type":"content_block_delta","delta":{{"text":"echo {key}"}}}}\n\n'
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    ).encode()


MODELS_BODY = b'{"data": [{"id": "model-a"}, {"id": "model-\xc3\xa9"}]}\n'


@dataclass
class LoopbackServer:
    url: str
    key: str
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def fake_key() -> str:
    return FAKE_KEY


@pytest.fixture
def loopback(fake_key: str) -> Iterator[LoopbackServer]:
    state = LoopbackServer(url="", key=fake_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _handler(state: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            state.hits.append(self.path)
            body = gzip.compress(sse_body(state.key))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Set-Cookie", f"session={state.key}; Path=/; HttpOnly")
            self.send_header("OpenAI-Organization", "org-Loopback42")
            self.send_header("X-Echo-Key", state.key)
            self.send_header("X-Request-Id", "req_3af0bc791f38097b4ed5a817ea83c0ed")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(MODELS_BODY)))
            self.end_headers()
            self.wfile.write(MODELS_BODY)

    return Handler
