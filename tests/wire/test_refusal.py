"""The refusal a decoder writes is the one api.openai.com sent, and the readers agree on it."""

from __future__ import annotations

import pytest

from laios_conformance.cassettes.shape import compare, response_shape
from laios_conformance.wire import by_name

from .clients import MESSAGES, openai_client
from .samples import all_samples

REFUSAL = "I'm very sorry, but I can't assist with that request."


def _shape(content_type: str, body: bytes):
    return response_shape(
        {"status": {"code": 200}, "headers": {"content-type": [content_type]}, "body": {"string": body}}
    )


def test_openai_refusal_has_the_recorded_shape() -> None:
    (sample,) = [s for s in all_samples() if s.name == "openai/gpt4o-refusal-nonstream"]
    written = by_name("openai").refusal_body(REFUSAL, "gpt-4o-2024-08-06")
    assert written is not None
    assert compare(_shape(sample.headers["content-type"], sample.body), _shape("application/json", written)) == []


def test_the_decoder_and_the_official_sdk_read_the_refusal_back() -> None:
    wire = by_name("openai")
    body = wire.refusal_body(REFUSAL, "gpt-4o")
    assert body is not None
    assert wire.refusal(body, stream=False) == REFUSAL
    completion = openai_client(200, body, "application/json").chat.completions.create(model="gpt-4o", messages=MESSAGES)
    message = completion.choices[0].message
    assert message.content is None and message.refusal == REFUSAL


@pytest.mark.parametrize("family", ["anthropic", "ollama"])
def test_protocols_without_a_refusal_field_write_none(family: str) -> None:
    assert by_name(family).refusal_body(REFUSAL, "m") is None
