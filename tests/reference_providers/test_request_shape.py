"""What each provider sends: body, headers, timeout, pooling, and closing streams early."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from laios_conformance.base.client import LLMMessage
from reference_providers import AnthropicClient, OllamaClient, OpenAIClient, ServerError
from reference_providers import _http as http_module

from ._support import API_KEY, Server

OPENAI_OK = json.dumps(
    {"id": "c1", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]}
)
ANTHROPIC_OK = json.dumps(
    {
        "id": "m1",
        "type": "message",
        "model": "m",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
)
OLLAMA_OK = json.dumps({"model": "m", "message": {"role": "assistant", "content": "hi"}, "done": True})
OPENAI_SSE = "".join(f'data: {{"choices":[{{"index":0,"delta":{{"content":"{w}"}}}}]}}\n\n' for w in "abcd")
OPENAI_SSE += "data: [DONE]\n\n"

CONVERSATION = [
    LLMMessage(role="system", content="Be brief."),
    LLMMessage(role="user", content="Hi"),
    LLMMessage(role="assistant", content="Hello!"),
    LLMMessage(role="system", content="Answer in French."),
    LLMMessage(role="user", content="  How are you?  "),
]


def _openai(model: str = "gpt-4o-mini", body: str = OPENAI_OK, **kw: Any) -> tuple[OpenAIClient, Server]:
    server = Server(body=body.encode(), **kw)
    return OpenAIClient(model, api_key=API_KEY, transport=server.transport), server


def test_openai_body_and_headers() -> None:
    client, server = _openai()
    client.generate(CONVERSATION, temperature=0.3, max_tokens=99)
    request = server.requests[0]
    assert request.method == "POST" and str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert server.bodies[0] == {
        "model": "gpt-4o-mini",
        "messages": [m.model_dump() for m in CONVERSATION],
        "stream": False,
        "temperature": 0.3,
        "max_tokens": 99,
    }


@pytest.mark.parametrize("model", ["o3-mini", "gpt-5-mini", "o1"])
def test_openai_reasoning_models_send_max_completion_tokens_without_temperature(model: str) -> None:
    client, server = _openai(model)
    client.generate(CONVERSATION[1:2], temperature=0.3, max_tokens=99)
    body = server.bodies[0]
    assert body["max_completion_tokens"] == 99
    assert "max_tokens" not in body and "temperature" not in body


def test_openai_stream_flag() -> None:
    client, server = _openai(body=OPENAI_SSE, headers={"content-type": "text/event-stream"})
    assert "".join(client.generate_stream(CONVERSATION[1:2])) == "abcd"
    assert server.bodies[0]["stream"] is True


def test_openai_loopback_server_gets_no_authorization_header() -> None:
    server = Server(body=OPENAI_OK.encode())
    OpenAIClient("llama3", base_url="http://127.0.0.1:8000/v1", transport=server.transport).generate(CONVERSATION[1:2])
    assert "authorization" not in server.requests[0].headers
    assert str(server.requests[0].url) == "http://127.0.0.1:8000/v1/chat/completions"


def test_anthropic_body_and_headers() -> None:
    server = Server(body=ANTHROPIC_OK.encode())
    client = AnthropicClient("claude-sonnet-4-5", api_key=API_KEY, transport=server.transport)
    client.generate(CONVERSATION, temperature=0.3, max_tokens=99)
    request = server.requests[0]
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert server.bodies[0] == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 99,
        "system": "Be brief.\n\nAnswer in French.",
        "messages": [m.model_dump() for m in CONVERSATION if m.role != "system"],
        "stream": False,
        "temperature": 0.3,
    }


def test_anthropic_new_models_omit_temperature_but_keep_max_tokens() -> None:
    server = Server(body=ANTHROPIC_OK.encode())
    AnthropicClient("claude-opus-4-7", api_key=API_KEY, transport=server.transport).generate(
        CONVERSATION[1:2], temperature=0.3
    )
    body = server.bodies[0]
    assert "temperature" not in body and body["max_tokens"] == 2048 and "system" not in body


def test_anthropic_generate_with_system_uses_the_system_field() -> None:
    server = Server(body=ANTHROPIC_OK.encode())
    client = AnthropicClient("claude-haiku-4-5", api_key=API_KEY, transport=server.transport)
    client.generate_with_system("You are terse.", "Hi")
    assert server.bodies[0]["system"] == "You are terse."
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "Hi"}]


def test_anthropic_rejects_unknown_roles_before_sending() -> None:
    server = Server(body=ANTHROPIC_OK.encode())
    client = AnthropicClient("claude-haiku-4-5", api_key=API_KEY, transport=server.transport)
    with pytest.raises(ValueError):
        client.generate([LLMMessage(role="tool", content="x")])
    assert server.requests == []


def test_ollama_body() -> None:
    server = Server(body=OLLAMA_OK.encode())
    OllamaClient("llama3.1", num_ctx=8192, transport=server.transport).generate(
        CONVERSATION, temperature=0.3, max_tokens=99
    )
    assert str(server.requests[0].url) == "http://localhost:11434/api/chat"
    assert "authorization" not in server.requests[0].headers
    assert server.bodies[0] == {
        "model": "llama3.1",
        "messages": [m.model_dump() for m in CONVERSATION],
        "stream": False,
        "options": {"temperature": 0.3, "num_predict": 99, "num_ctx": 8192},
        "keep_alive": "30m",
    }


def test_ollama_stream_flag_and_no_num_ctx_by_default() -> None:
    lines = '{"message":{"content":"hi"},"done":false}\n{"message":{"content":""},"done":true,"done_reason":"stop"}\n'
    server = Server(body=lines.encode())
    assert (
        "".join(OllamaClient("m", keep_alive=None, transport=server.transport).generate_stream(CONVERSATION[1:2]))
        == "hi"
    )
    body = server.bodies[0]
    assert body["stream"] is True and "num_ctx" not in body["options"] and "keep_alive" not in body


@pytest.mark.parametrize(
    "make, ok",
    [
        (lambda t: OpenAIClient("gpt-4o", api_key=API_KEY, timeout=12.5, transport=t), OPENAI_OK),
        (lambda t: AnthropicClient("claude-haiku-4-5", api_key=API_KEY, timeout=12.5, transport=t), ANTHROPIC_OK),
        (lambda t: OllamaClient("m", timeout=12.5, transport=t), OLLAMA_OK),
    ],
)
def test_every_request_carries_the_finite_timeout(make: Any, ok: str) -> None:
    server = Server(body=ok.encode())
    make(server.transport).generate(CONVERSATION[1:2])
    assert server.requests[0].extensions["timeout"] == {"connect": 12.5, "read": 12.5, "write": 12.5, "pool": 12.5}


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), None, "60"])
def test_timeout_must_be_finite_and_positive(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        OllamaClient("m", timeout=bad)


def test_one_pooled_client_is_reused_across_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[httpx.Client] = []

    class CountingClient(httpx.Client):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(http_module.httpx, "Client", CountingClient)
    client, server = _openai()
    for _ in range(3):
        client.generate(CONVERSATION[1:2])
    assert len(created) == 1 and len(server.requests) == 3


def test_lazy_client_creation_is_thread_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[int] = []
    original = httpx.Client

    def slow_client(*args: Any, **kwargs: Any) -> httpx.Client:
        created.append(1)
        threading.Event().wait(0.01)
        return original(*args, **kwargs)

    monkeypatch.setattr(http_module.httpx, "Client", slow_client)
    client, server = _openai()
    threads = [threading.Thread(target=client.generate, args=(CONVERSATION[1:2],)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 1 and len(server.requests) == 8


def test_close_and_context_manager_release_the_pool() -> None:
    client, _ = _openai()
    with client as same:
        same.generate(CONVERSATION[1:2])
        pooled = client._client
    assert same is client and client._client is None and pooled.is_closed
    client.generate(CONVERSATION[1:2])  # a later call opens a fresh pool
    client.close()
    client.close()  # idempotent


@pytest.mark.parametrize(
    "make, body",
    [
        (lambda t: OpenAIClient("gpt-4o", api_key=API_KEY, transport=t), OPENAI_SSE),
        (
            lambda t: AnthropicClient("claude-haiku-4-5", api_key=API_KEY, transport=t),
            "event: content_block_delta\n"
            'data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"a"}}\n\n'
            * 4
            + 'event: message_stop\ndata: {"type":"message_stop"}\n\n',
        ),
        (
            lambda t: OllamaClient("m", transport=t),
            '{"message":{"content":"a"},"done":false}\n' * 4 + '{"done":true}\n',
        ),
    ],
)
def test_breaking_out_of_a_stream_closes_the_response(make: Any, body: str) -> None:
    server = Server(body=body.encode(), chunk_size=8)
    stream = make(server.transport).generate_stream(CONVERSATION[1:2])
    for _ in stream:
        break
    stream.close()  # what a for-loop's break leaves to garbage collection, done explicitly
    tracked = server.streams[0]
    assert tracked.closed and tracked.delivered < len(tracked.chunks)


def test_break_in_a_for_loop_closes_the_response_at_once() -> None:
    client, server = _openai(body=OPENAI_SSE, chunk_size=8)
    for piece in client.generate_stream(CONVERSATION[1:2]):  # noqa: B007 -- the break is the point: it ends the stream
        break  # the generator's last reference goes with the loop: CPython closes it here
    assert piece == "a" and server.streams[0].closed


def test_stream_is_lazy_until_iterated() -> None:
    client, server = _openai(body=OPENAI_SSE)
    stream = client.generate_stream(CONVERSATION[1:2])
    assert server.requests == []
    next(stream)
    assert len(server.requests) == 1
    stream.close()


def test_no_transport_means_httpx_default_transport_the_kit_patches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The conformance kit patches HTTPTransport.handle_request on the class; it must see us."""
    seen: list[httpx.Request] = []

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=json.loads(OPENAI_OK))

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle_request)
    client = OpenAIClient("gpt-4o", api_key=API_KEY)
    assert client.generate(CONVERSATION[1:2]).content == "hi"
    assert len(seen) == 1 and isinstance(client._http()._transport, httpx.HTTPTransport)
    client.close()


@pytest.mark.parametrize("status", [500, 503])
def test_exactly_one_attempt_per_call(status: int) -> None:
    client, server = _openai(status=status, body='{"error": {"message": "boom"}}')
    with pytest.raises(ServerError):
        client.generate(CONVERSATION[1:2])
    assert len(server.requests) == 1


def test_caller_messages_are_not_mutated() -> None:
    messages = [LLMMessage(role="system", content="S"), LLMMessage(role="user", content=" u ")]
    before = [m.model_dump() for m in messages]
    ids = [id(m) for m in messages]
    server = Server(body=ANTHROPIC_OK.encode())
    client = AnthropicClient("claude-haiku-4-5", api_key=API_KEY, transport=server.transport)
    client.generate(messages)
    assert [m.model_dump() for m in messages] == before and [id(m) for m in messages] == ids and len(messages) == 2


def test_plain_dict_messages_are_accepted() -> None:
    client, server = _openai()
    client.generate([{"role": "user", "content": "Hi"}])
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("bad", [[], "hello", [{"role": "user"}], [LLMMessage(role="user", content="x"), 3]])
def test_bad_message_lists_raise_before_sending(bad: Any) -> None:
    client, server = _openai()
    with pytest.raises((TypeError, ValueError)):
        client.generate(bad)
    assert server.requests == []
