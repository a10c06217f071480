"""Error bodies are shaped as each API sends them, and each SDK's error path accepts them."""

from __future__ import annotations

import json

import anthropic
import ollama
import openai
import pytest

from laios_conformance.cassettes.shape import compare, response_shape
from laios_conformance.wire import by_name

from .clients import MESSAGES, anthropic_client, ollama_client, openai_client
from .samples import error_samples

STATUSES = [400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 529]

OPENAI_CLASSES = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@pytest.mark.parametrize("status", STATUSES)
def test_openai_error_body(status):
    body, ctype = by_name("openai").error_body(status)
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    with pytest.raises(openai.APIStatusError) as caught:
        openai_client(status, body, ctype).chat.completions.create(model="m", messages=MESSAGES)
    exc = caught.value
    assert exc.status_code == status and exc.type == error["type"]
    assert exc.code == (None if error["code"] is None else str(error["code"]))  # the SDK types code as str
    assert isinstance(
        exc, OPENAI_CLASSES.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    )


@pytest.mark.parametrize("status", STATUSES)
def test_anthropic_error_body(status):
    body, ctype = by_name("anthropic").error_body(status)
    obj = json.loads(body)
    assert obj["type"] == "error" and set(obj["error"]) == {"type", "message"}
    assert obj["error"]["type"] == ANTHROPIC_TYPES.get(status, obj["error"]["type"])
    with pytest.raises(anthropic.APIStatusError) as caught:
        anthropic_client(status, body, ctype).messages.create(model="m", max_tokens=8, messages=MESSAGES)
    assert caught.value.status_code == status and caught.value.body == obj
    if status == 529:
        assert isinstance(caught.value, anthropic.OverloadedError)


@pytest.mark.parametrize("status", STATUSES)
def test_ollama_error_body(status):
    body, ctype = by_name("ollama").error_body(status)
    message = json.loads(body)["error"]
    assert isinstance(message, str) and message
    with pytest.raises(ollama.ResponseError) as caught:
        ollama_client(status, body, ctype).chat(model="m", messages=MESSAGES)
    assert caught.value.status_code == status and caught.value.error == message


@pytest.mark.parametrize("family", ["openai", "anthropic", "ollama"])
def test_error_bodies_are_detected_as_their_family(family):
    from laios_conformance.wire import detect

    urls = {
        "openai": "https://api.example/v1/chat/completions",
        "anthropic": "https://api.example/v1/messages",
        "ollama": "http://localhost:11434/api/chat",
    }
    body, ctype = by_name(family).error_body(429)
    assert detect(urls[family], b"{}", {"content-type": ctype}, body).name == family


def test_recorded_error_shapes_match():
    """The generated shapes are those of the recorded errors of the same family."""
    for sample in error_samples():
        obj = json.loads(sample.body)
        if sample.api == "anthropic":
            assert obj["type"] == "error" and {"type", "message"} <= set(obj["error"])
        elif sample.api == "openai":
            assert set(obj["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("family", ["openai", "anthropic", "ollama"])
def test_a_given_message_is_the_error_message_the_sdk_reads(family):
    said = "The model `lc-0` does not exist or you do not have access to it."
    body, ctype = by_name(family).error_body(404, message=said)
    assert by_name(family).error_body(404)[0] != body  # the usual message is replaced, not kept
    client, error = {
        "openai": (
            lambda: openai_client(404, body, ctype).chat.completions.create(model="m", messages=MESSAGES),
            openai.APIStatusError,
        ),
        "anthropic": (
            lambda: anthropic_client(404, body, ctype).messages.create(model="m", max_tokens=5, messages=MESSAGES),
            anthropic.APIStatusError,
        ),
        "ollama": (lambda: ollama_client(404, body, ctype).chat(model="m", messages=MESSAGES), ollama.ResponseError),
    }[family]
    with pytest.raises(error) as caught:
        client()
    assert said in str(caught.value)


def _response_shape(status: int, content_type: str, body: bytes):
    """The shape the drift check compares (status, media type, every JSON path and its types)."""
    return response_shape(
        {"status": {"code": status}, "headers": {"content-type": [content_type]}, "body": {"string": body}}
    )


OTHER_SHAPE_SAMPLES = {
    401: "openai-compatible/err401-mistral-unauthorized",
    429: "openai-compatible/err429-openrouter-upstream-rate-limit",
}


def test_other_error_shapes_are_the_recorded_ones():
    """Mistral's and OpenRouter's shapes have the recorded keys and status; the FastAPI
    validation list has the fields FastAPI documents for each complaint."""
    shapes = {shape.status: shape for shape in by_name("openai").other_error_bodies("because")}
    recorded = {s.name: s for s in error_samples()}
    for status, name in OTHER_SHAPE_SAMPLES.items():
        sample, shape = recorded[name], shapes[status]
        assert sample.status == status
        written = _response_shape(shape.status, shape.content_type, shape.body)
        assert compare(_response_shape(sample.status, sample.headers["content-type"], sample.body), written) == []
    (complaint,) = json.loads(shapes[422].body)["detail"]
    assert {"loc", "msg", "type"} <= set(complaint) and complaint["msg"] == "because"
    assert by_name("anthropic").other_error_bodies("because") == []
    assert by_name("ollama").other_error_bodies("because") == []


def test_other_error_shapes_keep_the_cause_where_the_openai_sdk_does():
    """The official SDK's exception shows or keeps (in ``body``) each shape's cause."""
    said = "Request lc-0 failed upstream; retry shortly."
    for shape in by_name("openai").other_error_bodies(said):
        client = openai_client(shape.status, shape.body, shape.content_type)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="m", messages=MESSAGES)
        assert caught.value.status_code == shape.status
        assert said in str(caught.value) + str(caught.value.body), shape.label
