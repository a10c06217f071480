"""Exact behaviour of the shared HTTP plumbing in ``reference_providers._http``.

Construction checks, the headers every request carries, key redaction, and the errors of
a 200 answer that is not what the protocol allows, each pinned to its message and the
provider it names. Written against mutation testing (``scripts/mutation.py``).
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pytest

from reference_providers import AuthenticationError, RateLimitError, ResponseFormatError, ServerError
from reference_providers._http import HTTPProvider, Secret, is_loopback_url
from reference_providers.openai import OpenAIClient

from ._support import API_KEY, MESSAGES, Server

SSE = {"content-type": "text/event-stream"}


class Bare(HTTPProvider):
    """The shared base with nothing added: what every reference provider starts from."""

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
        raise NotImplementedError


def openai_on(server: Server, key: str = API_KEY) -> OpenAIClient:
    return OpenAIClient("gpt-4o-mini", api_key=key, transport=server.transport)


def error_of(call: Any) -> Any:
    with pytest.raises(Exception) as info:
        call()
    return info.value


# --- construction --------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["5", None, True])
def test_a_timeout_that_is_not_a_number_is_a_type_error(timeout: Any) -> None:
    with pytest.raises(TypeError) as info:
        Bare("m", base_url="http://localhost", timeout=timeout)
    assert str(info.value) == f"timeout must be a number of seconds, got {timeout!r}"


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan")])
def test_a_timeout_must_be_finite_and_positive(timeout: float) -> None:
    with pytest.raises(ValueError) as info:
        Bare("m", base_url="http://localhost", timeout=timeout)
    assert str(info.value) == f"timeout must be finite and positive, got {timeout!r}"


def test_a_timeout_under_one_second_is_fine() -> None:
    assert Bare("m", base_url="http://localhost", timeout=0.5).timeout == 0.5


def _tls_of(client: httpx.Client) -> ssl.SSLContext:
    transport = client._transport_for_url(httpx.URL("https://api.example/v1"))
    assert isinstance(transport, httpx.HTTPTransport)
    context = transport._pool._ssl_context
    assert isinstance(context, ssl.SSLContext)
    return context


def test_every_client_verifies_tls_with_one_shared_context() -> None:
    first = Bare("m", base_url="https://api.example/v1", timeout=5)._http()
    second = OpenAIClient("gpt-4o-mini", api_key=API_KEY)._http()
    context = _tls_of(first)
    assert context is _tls_of(second)  # built once: loading the CA bundle costs ~15 ms a client
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.get_ca_certs() or context.cert_store_stats()["x509_ca"] > 0


def test_the_base_keeps_its_settings_in_config_and_strips_only_slashes() -> None:
    bare = Bare("m", base_url="http://localhost/v1X//", timeout=3, region="eu")
    assert bare.base_url == "http://localhost/v1X"
    assert bare.config == {"base_url": "http://localhost/v1X", "timeout": 3.0, "region": "eu"}
    assert repr(bare) == "Bare(model='m', base_url='http://localhost/v1X')"


def test_the_openai_client_defaults() -> None:
    client = OpenAIClient(api_key=API_KEY)
    assert client.config == {"base_url": "https://api.openai.com/v1", "timeout": 60.0}
    assert OpenAIClient(base_url="http://localhost:8000/v1X/").base_url == "http://localhost:8000/v1X"


@pytest.mark.parametrize("url", [None, "http://[::1", "not a url"])
def test_what_is_not_a_url_is_not_loopback(url: Any) -> None:
    assert is_loopback_url(url) is False


def test_a_missing_key_is_an_authentication_error_that_retrying_does_not_cure() -> None:
    exc = error_of(lambda: OpenAIClient(base_url="https://llm.example.com/v1/"))
    assert type(exc) is AuthenticationError
    assert (exc.provider, exc.status_code, exc.retryable) == ("openai", None, False)
    assert exc.message == (
        "no API key for https://llm.example.com/v1: pass api_key= or set OPENAI_API_KEY "
        "(only loopback servers such as localhost may run without one)"
    )


def test_the_secret_shows_only_stars() -> None:
    assert repr(Secret(API_KEY)) == "Secret('********')"
    assert str(Secret(API_KEY)) == "Secret('********')"


# --- requests ------------------------------------------------------------------------------


def test_every_request_accepts_json() -> None:
    server = Server(body=json.dumps({"choices": [{"message": {"content": "hi"}}]}).encode())
    openai_on(server).generate(MESSAGES)
    assert server.requests[0].headers["accept"] == "application/json"


def test_generate_with_system_sends_the_defaults() -> None:
    server = Server(body=json.dumps({"choices": [{"message": {"content": "hi"}}]}).encode())
    openai_on(server).generate_with_system("be brief", "hi")
    body = server.bodies[0]
    assert (body["temperature"], body["max_tokens"]) == (0.7, 2048)
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    openai_on(server).generate_with_system("s", "u", temperature=0.1, max_tokens=9)
    assert (server.bodies[1]["temperature"], server.bodies[1]["max_tokens"]) == (0.1, 9)


def test_generate_with_system_passes_extra_arguments_on() -> None:
    seen: dict[str, Any] = {}

    class Recording(OpenAIClient):
        def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
            seen.update(kwargs, temperature=temperature, max_tokens=max_tokens)

    Recording(api_key=API_KEY).generate_with_system("s", "u", seed=7)
    assert seen == {"seed": 7, "temperature": 0.7, "max_tokens": 2048}


# --- redaction -----------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "hidden"), [("sk-12345", True), ("sk-1234", False)])
def test_keys_of_eight_characters_or_more_are_redacted(key: str, hidden: bool) -> None:
    server = Server(status=401, body=json.dumps({"error": {"message": f"bad key {key}"}}).encode())
    exc = error_of(lambda: openai_on(server, key).generate(MESSAGES))
    assert exc.message == ("bad key [REDACTED]" if hidden else f"bad key {key}")


def test_an_error_without_a_body_names_the_status_and_reason() -> None:
    exc = error_of(lambda: openai_on(Server(status=503, body=b"")).generate(MESSAGES))
    assert (type(exc), exc.message) == (ServerError, "HTTP 503 Service Unavailable")


# --- 200 answers the protocol does not allow -----------------------------------------------


def test_a_body_that_is_not_json_names_the_provider_and_hides_the_key() -> None:
    exc = error_of(lambda: openai_on(Server(body=f"oops {API_KEY}".encode())).generate(MESSAGES))
    assert (type(exc), exc.provider) == (ResponseFormatError, "openai")
    assert exc.message == "response body is not valid JSON: 'oops [REDACTED]'"


def test_a_json_body_that_is_not_an_object_is_named() -> None:
    exc = error_of(lambda: openai_on(Server(body=b"[1, 2]")).generate(MESSAGES))
    assert (type(exc), exc.provider, exc.message) == (ResponseFormatError, "openai", "expected a JSON object, got list")


def test_an_error_in_a_200_body_is_classed_by_its_code_and_hides_the_key() -> None:
    body = {"error": {"message": f"slow down {API_KEY}", "code": 429}}
    exc = error_of(lambda: openai_on(Server(body=json.dumps(body).encode())).generate(MESSAGES))
    assert (type(exc), exc.provider, exc.status_code) == (RateLimitError, "openai", 429)
    assert exc.message == "slow down [REDACTED]"


def test_a_stream_chunk_that_is_not_an_object_is_quoted_up_to_80_characters() -> None:
    chunk = json.dumps(list(range(40)))
    server = Server(headers=SSE, body=f"data: {chunk}\n\n".encode())
    exc = error_of(lambda: list(openai_on(server).generate_stream(MESSAGES)))
    assert (type(exc), exc.provider) == (ResponseFormatError, "openai")
    assert exc.message == f"stream chunk is not a JSON object: {chunk[:80]!r}"


def test_a_stream_chunk_that_is_not_json_names_the_chunk_and_hides_the_key() -> None:
    server = Server(headers=SSE, body=f"data: {{{API_KEY}\n\n".encode())
    exc = error_of(lambda: list(openai_on(server).generate_stream(MESSAGES)))
    assert (type(exc), exc.provider) == (ResponseFormatError, "openai")
    assert exc.message == "stream chunk is not valid JSON: '{[REDACTED]'"


def test_a_single_json_document_answering_a_stream_names_the_provider_and_hides_the_key() -> None:
    body = json.dumps({"error": {"message": f"key {API_KEY} revoked", "code": "invalid_api_key"}})
    exc = error_of(lambda: list(openai_on(Server(body=body.encode())).generate_stream(MESSAGES)))
    assert (exc.provider, exc.error_type, exc.message) == ("openai", "invalid_api_key", "key [REDACTED] revoked")


def test_the_stream_request_goes_to_chat_completions_with_the_defaults() -> None:
    server = Server(headers=SSE, body=b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n')
    assert list(openai_on(server).generate_stream(MESSAGES)) == ["hi"]
    request = server.requests[0]
    assert request.url == httpx.URL("https://api.openai.com/v1/chat/completions")
    body = server.bodies[0]
    assert (body["temperature"], body["max_tokens"], body["stream"]) == (0.7, 2048, True)


def test_generate_sends_the_defaults() -> None:
    server = Server(body=json.dumps({"choices": [{"message": {"content": "hi"}}]}).encode())
    openai_on(server).generate(MESSAGES)
    body = server.bodies[0]
    assert (body["temperature"], body["max_tokens"], body["stream"]) == (0.7, 2048, False)
