"""Detection order and user-registered decoders."""

from __future__ import annotations

import pytest

from laios_conformance.wire import (
    AnthropicWire,
    OllamaWire,
    OpenAIWire,
    WireFormat,
    by_name,
    detect,
    register,
    registered,
    unregister,
)


class Echo(WireFormat):
    """A made-up format: the body is the answer."""

    name = "echo"

    def __init__(self, claims_all=False):
        self.claims_all = claims_all

    def recognises(self, url, request_body, response_headers, response_body):
        return self.claims_all or url.endswith("/echo")

    def extract_text(self, response_body, *, stream):
        return response_body.decode()


@pytest.fixture
def echo():
    fmt = Echo()
    yield fmt
    unregister(fmt)


def test_built_ins_in_order():
    assert [type(f) for f in registered()] == [OpenAIWire, AnthropicWire, OllamaWire]
    assert by_name("anthropic").name == "anthropic"


def test_a_registered_decoder_is_found(echo):
    register(echo)
    fmt = detect("http://x/echo", b"", {}, b"hello")
    assert fmt is echo and fmt.extract_text(b"hello", stream=False) == "hello"
    assert list(fmt.iter_text([b"hel", b"lo"], stream=True)) == ["hello"]
    assert detect("http://x/v1/chat/completions", b"", {}, b"{}").name == "openai"


def test_a_registered_decoder_wins_over_built_ins():
    greedy = Echo(claims_all=True)
    register(greedy)
    try:
        assert detect("http://x/v1/chat/completions", b"", {}, b"{}") is greedy
    finally:
        unregister(greedy)
    assert detect("http://x/v1/chat/completions", b"", {}, b"{}").name == "openai"


def test_registered_last_is_a_fallback():
    fallback = Echo(claims_all=True)
    register(fallback, first=False)
    try:
        assert registered()[-1] is fallback
        assert detect("http://x/api/chat", b"", {}, b"{}").name == "ollama"
        assert detect("http://x/unknown", b"", {}, b"<html/>") is fallback
    finally:
        unregister(fallback)


def test_unknown_formats_are_not_detected():
    assert detect("http://x/unknown", b"", {"content-type": "text/html"}, b"<html>hi</html>") is None
    assert detect("", b"", {}, b"") is None
    assert detect("", b"", {}, b'{"detail": "Invalid API Key"}') is None
    assert detect("", b"", {"content-type": "text/event-stream"}, b'data: {"x": 1}\n\n') is None


def test_detect_accepts_text_and_any_header_case():
    body = '{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi"},"done":true}'
    assert detect("", None, {"Content-Type": "application/json"}, body).name == "ollama"


def test_a_declared_endpoint_settles_detection_without_a_look_at_the_body():
    class Suffixed(Echo):
        name = "suffixed"
        endpoints = ("/v9/suffixed",)
        recognises = WireFormat.recognises  # the default: endpoints first, then the body

        def recognises_body(self, request_body, response_headers, response_body):
            return False

    fmt = Suffixed()
    register(fmt)
    try:
        assert detect("http://x/v9/suffixed/", b"", {}, b"not json at all") is fmt
        # the built-ins refuse it too: a body they would accept does not make it theirs
        assert OpenAIWire().recognises("http://x/v9/suffixed", b"", {}, b'{"choices": []}') is False
        assert detect("http://x/v1/chat/completions", b"", {}, b"{}").name == "openai"
    finally:
        unregister(fmt)
