"""The declared-limits tables: which parameters each provider leaves out, for which model."""

from __future__ import annotations

import pytest

from laios_conformance.profile import read_profile
from reference_providers import AnthropicClient, OllamaClient, OpenAIClient

from ._support import API_KEY

OPENAI_REASONING = [
    "o1",
    "o1-mini",
    "o1-preview",
    "o1-2024-12-17",
    "o3",
    "o3-mini",
    "o3-mini-2025-01-31",
    "o3-pro",
    "o4-mini",
    "o4-mini-2025-04-16",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5-2025-08-07",
    "gpt-5.1",
    "gpt-5.1-chat-latest",
    "gpt-5-mini-2025-08-07",
    "openai/o3-mini",
    "openai/gpt-5",
    "ft:o4-mini-2025-04-16:acme::abc123",
    "GPT-5",
]
OPENAI_CLASSIC = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4o-2024-08-06",
    "gpt-4.1",
    "gpt-4.1-nano",
    "gpt-4-turbo",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-0613",
    "chatgpt-4o-latest",
    "gpt-oss:120b",
    "gpt-oss-20b",
    "llama3.1",
    "deepseek-chat",
    "mistral-large-latest",
    "sonar",
    "omni-moderation-latest",
    "ft:gpt-4o-mini-2024-07-18:acme::x",
]
ANTHROPIC_OMITS = [
    "claude-opus-4-7",
    "claude-opus-4-7-20260101",
    "claude-opus-4-8",
    "claude-opus-5",
    "claude-opus-5-1",
    "claude-sonnet-5",
    "claude-sonnet-5-1",
    "claude-sonnet-5-20270101",
    "claude-fable-5",
    "claude-fable-5-2",
    "claude-haiku-5",
    "anthropic/claude-opus-4.7",
    "anthropic.claude-opus-4-7-20260101-v1:0",
    "claude-opus-4-7@20260101",
    "Claude-Sonnet-5",
]
ANTHROPIC_SENDS = [
    "claude-3-haiku-20240307",
    "claude-3-opus-20240229",
    "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-latest",
    "claude-sonnet-4-0",
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-6",
    "claude-opus-4-1-20250805",
    "claude-opus-4-20250514",
    "claude-haiku-4-5",
    "claude-instant-1.2",
    "claude-2.1",
    "my-proxy-model",
]


@pytest.mark.parametrize("model", OPENAI_REASONING)
def test_openai_reasoning_models(model: str) -> None:
    profile = OpenAIClient(model, api_key=API_KEY).conformance_profile
    assert profile["omits_params"] == {"temperature": "reasoning models reject a non-default temperature"}
    assert profile["max_tokens_key"] == "max_completion_tokens"


@pytest.mark.parametrize("model", OPENAI_CLASSIC)
def test_openai_other_models(model: str) -> None:
    profile = OpenAIClient(model, base_url="http://localhost:1234/v1").conformance_profile
    assert profile["omits_params"] == {} and profile["max_tokens_key"] == "max_tokens"


@pytest.mark.parametrize("model", ANTHROPIC_OMITS)
def test_anthropic_models_that_reject_temperature(model: str) -> None:
    profile = AnthropicClient(model, api_key=API_KEY).conformance_profile
    assert list(profile["omits_params"]) == ["temperature"] and profile["max_tokens_key"] == "max_tokens"


@pytest.mark.parametrize("model", ANTHROPIC_SENDS)
def test_anthropic_models_that_take_temperature(model: str) -> None:
    assert AnthropicClient(model, api_key=API_KEY).conformance_profile["omits_params"] == {}


@pytest.mark.parametrize("model", ["llama3.1", "gpt-oss:20b", "qwen3:8b", "o3-mini", "claude-opus-4-7"])
def test_ollama_omits_nothing(model: str) -> None:
    assert OllamaClient(model).conformance_profile["omits_params"] == {}


@pytest.mark.parametrize(
    "client",
    [
        OpenAIClient("o3-mini", api_key=API_KEY),
        OpenAIClient("gpt-4o", api_key=API_KEY),
        AnthropicClient("claude-opus-4-7", api_key=API_KEY),
        AnthropicClient("claude-haiku-4-5", api_key=API_KEY),
        OllamaClient("llama3.1"),
    ],
    ids=repr,
)
def test_profiles_pass_the_kits_own_validation(client: object) -> None:
    profile = read_profile(client)
    assert profile["streams"] is True
