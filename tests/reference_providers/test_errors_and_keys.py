"""The error hierarchy, retry-after parsing, and the API-key rules (construction, repr)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

import reference_providers
from reference_providers import AnthropicClient, AuthenticationError, OllamaClient, OpenAIClient, ProviderError
from reference_providers._http import is_loopback_url
from reference_providers._wire import parse_retry_after

from ._support import API_KEY

SUBCLASSES = [
    "AuthenticationError",
    "NotFoundError",
    "RateLimitError",
    "BadRequestError",
    "ServerError",
    "ProviderTimeout",
    "ProviderConnectionError",
    "ResponseFormatError",
    "StreamError",
    "ProviderRefusal",
]


@pytest.mark.parametrize("name", SUBCLASSES)
def test_every_error_is_a_provider_error(name: str) -> None:
    assert issubclass(getattr(reference_providers, name), ProviderError)


def test_error_attributes_and_text() -> None:
    exc = reference_providers.RateLimitError(
        "slow down", provider="openai", status_code=429, error_type="rate_limit_exceeded", retry_after=2.0
    )
    assert (exc.message, exc.provider, exc.status_code) == ("slow down", "openai", 429)
    assert (exc.retryable, exc.retry_after) == (True, 2.0)
    assert str(exc) == "[openai 429 rate_limit_exceeded] slow down"
    assert repr(exc).startswith("RateLimitError(provider='openai', status_code=429")


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "nonsense"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict, expected: object) -> None:
    assert parse_retry_after(headers) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": header}, now=now) == 30.0


@pytest.mark.parametrize(
    "url, loopback",
    [
        ("http://localhost:1234/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.8.9.10/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://api.localhost/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://localhost.evil.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://0.0.0.0:8000", False),
    ],
)
def test_loopback_detection(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize(
    "make",
    [
        lambda: OpenAIClient("gpt-4o"),
        lambda: OpenAIClient("x", base_url="https://api.groq.com/openai/v1"),
        lambda: OpenAIClient("x", base_url="http://localhost.evil.com/v1"),
        lambda: AnthropicClient("claude-haiku-4-5"),
    ],
)
def test_missing_key_for_a_remote_server_fails_at_construction(make: Callable[[], object]) -> None:
    with pytest.raises(AuthenticationError, match="API_KEY"):
        make()


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    assert OpenAIClient("gpt-4o")._api_key.reveal() == API_KEY
    assert AnthropicClient("claude-haiku-4-5")._api_key.reveal() == API_KEY


@pytest.mark.parametrize(
    "client, text",
    [
        (
            lambda: OpenAIClient("gpt-4o-mini", api_key=API_KEY),
            "OpenAIClient(model='gpt-4o-mini', base_url='https://api.openai.com/v1')",
        ),
        (
            lambda: AnthropicClient("claude-haiku-4-5", api_key=API_KEY),
            "AnthropicClient(model='claude-haiku-4-5', base_url='https://api.anthropic.com')",
        ),
        (lambda: OllamaClient("llama3.1"), "OllamaClient(model='llama3.1', base_url='http://localhost:11434')"),
    ],
)
def test_repr_shows_model_and_base_url_only(client: Callable[[], object], text: str) -> None:
    instance = client()
    assert repr(instance) == text
    assert API_KEY not in repr(vars(instance)) and API_KEY not in str(instance.config)


def test_count_tokens_is_no_worse_than_the_base() -> None:
    assert OllamaClient("m").count_tokens("x" * 40) == 10
