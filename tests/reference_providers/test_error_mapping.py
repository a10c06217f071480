"""Every recorded error answer, and the documented ones no recording holds, mapped to errors.

Each must raise the documented class with the HTTP status, the server's own message
(whatever the body's shape), the provider's error type, ``retry_after`` when a header
gives one - and never show the API key. Errors answering a stream request raise on the
first ``next()``, before any chunk.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import reference_providers
from reference_providers import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamError,
)

from ._support import API_KEY, MESSAGES, Sample, Server, client_for, documented_errors, load_samples, serve_sample

CLASS_BY_STATUS = {400: BadRequestError, 401: AuthenticationError, 404: NotFoundError, 429: RateLimitError}
ERROR_SAMPLES = [s for s in load_samples() if s.status >= 400]


def _server_message(body: str) -> str:
    """The message the server wrote, read independently of the provider's parser."""
    payload = json.loads(body)
    error = payload.get("error", payload)
    if isinstance(error, str):
        return error
    return error.get("message") or payload.get("detail")


def _raise_from(client: Any, stream: bool) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        if stream:
            next(iter(client.generate_stream(MESSAGES)))  # raises before any chunk
        else:
            client.generate(MESSAGES)
    return info.value


def _assert_secret_safe(client: Any, exc: BaseException) -> None:
    for text in (str(exc), repr(exc), exc.message, repr(client), repr(vars(client))):
        assert API_KEY not in text


def test_there_are_recorded_errors_for_every_api() -> None:
    assert {s.api for s in ERROR_SAMPLES} == {"openai", "openai-compatible", "anthropic"}


@pytest.mark.parametrize("sample", ERROR_SAMPLES, ids=lambda s: s.name)
def test_recorded_error_maps_to_documented_class(sample: Sample) -> None:
    client = client_for(sample.api, serve_sample(sample))
    exc = _raise_from(client, sample.stream)
    assert type(exc) is CLASS_BY_STATUS[sample.status]
    assert exc.status_code == sample.status
    assert exc.message.startswith(_server_message(sample.data["response"]["body_text"]))
    assert exc.provider == client.provider_name
    assert exc.retryable is (sample.status == 429)
    expected_wait = float(sample.headers["retry-after"]) if "retry-after" in sample.headers else None
    assert exc.retry_after == expected_wait
    _assert_secret_safe(client, exc)


@pytest.mark.parametrize(
    "name, error_type",
    [
        ("openai/err404-model-not-found.json", "model_not_found"),
        ("openai/err400-gpt5mini-unsupported-param.json", "unsupported_parameter"),
        ("openai/err401-invalid-key.json", "invalid_api_key"),
        ("anthropic/err404-model-not-found-stream.json", "not_found_error"),
        ("anthropic/err401-invalid-key.json", "authentication_error"),
        ("openai-compatible/err400-groq-tool-use-failed.json", "tool_use_failed"),
        ("openai-compatible/err429-azure-rate-limit.json", "RateLimitReached"),
        ("openai-compatible/err401-mistral-unauthorized.json", None),  # {"detail": ...}
        ("openai-compatible/err401-openrouter-no-auth.json", None),  # numeric code only
    ],
)
def test_error_type_is_the_providers_code_or_type(name: str, error_type: str | None) -> None:
    sample = next(s for s in ERROR_SAMPLES if s.name == name)
    assert _raise_from(client_for(sample.api, serve_sample(sample)), sample.stream).error_type == error_type


def test_mistral_detail_body_gives_the_message() -> None:
    sample = next(s for s in ERROR_SAMPLES if s.name == "openai-compatible/err401-mistral-unauthorized.json")
    assert _raise_from(client_for(sample.api, serve_sample(sample)), False).message == "Invalid API Key"


def test_openrouter_upstream_detail_is_kept() -> None:
    sample = next(s for s in ERROR_SAMPLES if s.name == "openai-compatible/err429-openrouter-upstream-rate-limit.json")
    exc = _raise_from(client_for(sample.api, serve_sample(sample)), False)
    assert exc.message.startswith("Provider returned error")
    assert "temporarily rate-limited upstream" in exc.message


def test_error_body_read_whatever_its_content_type() -> None:
    """DeepSeek has answered an error as application/octet-stream; the body still counts.

    The copied DeepSeek sample is labelled application/json, so its recorded body is
    re-served here under the octet-stream content type.
    """
    sample = next(s for s in ERROR_SAMPLES if s.name == "openai-compatible/err401-deepseek-invalid-key.json")
    server = Server(401, {"content-type": "application/octet-stream"}, sample.body)
    exc = _raise_from(client_for(sample.api, server), False)
    assert type(exc) is AuthenticationError
    assert exc.message == "Authentication Fails, Your api key: ****-key is invalid"


# --- documented errors (tests/data/documented_errors.json) ------------------------------


def test_documented_errors_are_labelled_as_not_recordings() -> None:
    for entry in documented_errors():
        assert entry["label"].startswith("shaped as documented by ") and entry["label"].endswith("not a recording")


@pytest.mark.parametrize("entry", documented_errors(), ids=lambda e: e["id"])
def test_documented_error_maps_to_documented_class(entry: dict[str, Any]) -> None:
    expect = entry["expect"]
    server = Server(entry["status"], entry["headers"], entry["body_text"].encode("utf-8"), chunk_size=5)
    client = client_for(entry["api"], server)
    received = []
    with pytest.raises(ProviderError) as info:
        if entry["stream"]:
            for piece in client.generate_stream(MESSAGES):
                received.append(piece)
        else:
            client.generate(MESSAGES)
    exc = info.value
    assert type(exc) is getattr(reference_providers, expect["class"])
    assert (exc.status_code, exc.error_type) == (expect["status_code"], expect["error_type"])
    assert (exc.retryable, exc.retry_after) == (expect["retryable"], expect["retry_after"])
    if "message" in expect:
        assert exc.message == expect["message"]
    else:
        assert expect["message_contains"] in exc.message
    assert "".join(received) == expect.get("text_before", "")
    assert all(stream.closed for stream in server.streams)
    _assert_secret_safe(client, exc)


# --- synthetic edge cases ---------------------------------------------------------------


def test_key_echoed_by_a_server_is_redacted() -> None:
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {API_KEY}.", "code": "invalid_api_key"}})
    client = client_for("openai", Server(401, body=body.encode()))
    exc = _raise_from(client, False)
    assert "[REDACTED]" in exc.message
    _assert_secret_safe(client, exc)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_empty_error_body_still_names_the_status(status: int) -> None:
    exc = _raise_from(client_for("openai", Server(status, {}, b"")), False)
    assert type(exc) is ServerError and exc.retryable and str(status) in exc.message


@pytest.mark.parametrize("status, retryable", [(408, True), (409, True), (418, False)])
def test_other_statuses_raise_the_base_class(status: int, retryable: bool) -> None:
    exc = _raise_from(client_for("ollama", Server(status, body=b'{"error": "nope"}')), False)
    assert type(exc) is ProviderError and exc.retryable is retryable and exc.message == "nope"


def test_should_retry_header_overrides_status() -> None:
    server = Server(500, {"content-type": "application/json", "x-should-retry": "false"}, b'{"error": "x"}')
    assert _raise_from(client_for("anthropic", server), False).retryable is False


def test_error_inside_a_200_body_raises() -> None:
    server = Server(200, body=b'{"error": {"message": "Provider returned error", "code": 502}}')
    exc = _raise_from(client_for("openai-compatible", server), False)
    assert type(exc) is ServerError and exc.status_code == 502 and exc.retryable


def test_stream_error_is_a_stream_error_subclass_of_provider_error() -> None:
    assert issubclass(StreamError, ProviderError)
