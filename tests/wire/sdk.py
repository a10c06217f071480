"""What the official SDKs read from a body: the independent reference for the decoders.

Bodies are decoded the way each SDK does at run time (its own SSE decoder, its own
models), so a decoder that agrees with these agrees with the clients people use.
"""

from __future__ import annotations

import json

import ollama
from anthropic._streaming import SSEDecoder as AnthropicSSE  # the SDK's own SSE decoder
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from openai._models import construct_type
from openai._streaming import SSEDecoder as OpenAISSE
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import TypeAdapter, ValidationError

# Samples whose chunks fail the SDK's strict models for a legitimate reason; for them the
# chunk is built the way openai.Stream builds it at run time (construct_type, no checks):
# - Gemini's OpenAI-compatible endpoint sends chunks without an "id".
# - Perplexity ends with an object of type "chat.completion.done", not "...chunk".
LENIENT_OPENAI_CHUNKS = {
    "openai-compatible/gemini-openai-compat-hello-stream",
    "openai-compatible/perplexity-sonar-count-stream",
}

_ANTHROPIC_EVENT = TypeAdapter(RawMessageStreamEvent)


def _choice0(choices):
    return next((c for c in choices if c.index == 0), None)


def openai_text(name: str, body: bytes, stream: bool) -> str:
    if not stream:
        message = _choice0(ChatCompletion.model_validate_json(body).choices).message
        return message.content or message.refusal or ""
    parts = []
    for sse in OpenAISSE().iter_bytes(iter([body])):
        if sse.data.startswith("[DONE]"):  # openai.Stream stops here
            break
        data = json.loads(sse.data)
        if isinstance(data, dict) and data.get("error"):
            break  # openai.Stream raises APIError on such a chunk
        try:
            chunk = ChatCompletionChunk.model_validate_json(sse.data)
        except ValidationError:
            assert name in LENIENT_OPENAI_CHUNKS, name
            chunk = construct_type(type_=ChatCompletionChunk, value=data)
        choice = _choice0(chunk.choices)
        if choice is not None:
            parts.append((choice.delta.content or "") + (choice.delta.refusal or ""))
    return "".join(parts)


def anthropic_text(body: bytes, stream: bool) -> str:
    if not stream:
        message = Message.model_validate_json(body)
    else:
        message, buffers = None, {}
        for sse in AnthropicSSE().iter_bytes(iter([body])):
            if sse.event == "ping":  # anthropic.Stream skips pings and raises on "error"
                continue
            assert sse.event != "error", sse.data
            event = _ANTHROPIC_EVENT.validate_json(sse.data)
            message = accumulate_event(event=event, current_snapshot=message, json_bufs=buffers)
        assert message is not None
    return "".join(block.text for block in message.content if block.type == "text")


def ollama_text(url: str, body: bytes, stream: bool) -> str:
    chat = url.rstrip("/").endswith("/api/chat")
    model = ollama.ChatResponse if chat else ollama.GenerateResponse
    # ollama-python reads a stream line by line (httpx iter_lines), one model per line.
    lines = [line for line in body.split(b"\n") if line.strip()] if stream else [body]
    parts = [model.model_validate_json(line) for line in lines]
    return "".join((p.message.content or "") if chat else (p.response or "") for p in parts)


def sdk_text(sample_name: str, api: str, url: str, body: bytes, stream: bool) -> str:
    if api.startswith("openai"):
        return openai_text(sample_name, body, stream)
    if api == "anthropic":
        return anthropic_text(body, stream)
    return ollama_text(url, body, stream)
