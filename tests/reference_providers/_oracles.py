"""What the official SDKs make of a recorded body: the reference the providers are diffed against.

Each oracle parses a sample's body with the vendor SDK's own types and SSE decoder and
returns an ``Outcome``: the answer text, finish reason and usage, or the reason a LAIOS
provider must raise instead (``refusal``, ``empty``, ``stream_error``). The SDKs validate
leniently on the wire (``construct``), so strict validation falls back to that too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anthropic
import ollama
import pydantic
from anthropic._streaming import SSEDecoder as AnthropicSSEDecoder
from openai._streaming import SSEDecoder as OpenAISSEDecoder
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from ._support import Sample

_ANTHROPIC_EVENTS = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
_ANTHROPIC_DATA_EVENTS = {
    "message_start",
    "message_delta",
    "message_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
}


@dataclass
class Outcome:
    """The SDK's reading of a body."""

    text: str = ""
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    raises: str | None = None  # "refusal" | "empty" | "stream_error"


def _usage(prompt: Any, completion: Any, total: Any = None) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if total is not None else prompt + completion,
    }


def _lenient(model: Any, raw: Any) -> Any:
    data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    try:
        return model.model_validate(data)
    except pydantic.ValidationError:
        return model.construct(**data)  # what the SDK itself does with wire data


def _sse(decoder: Any, body: bytes) -> list[Any]:
    return list(decoder.iter_bytes(iter([body])))


# --- OpenAI -------------------------------------------------------------------------------


def openai_nonstream(body: bytes) -> Outcome:
    completion = _lenient(ChatCompletion, body.decode("utf-8"))
    choice = next(c for c in completion.choices if c.index == 0)
    usage = completion.usage
    out = Outcome(
        text=choice.message.content or "",
        finish_reason=choice.finish_reason,
        usage=_usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) if usage else None,
    )
    if choice.message.refusal:
        out.raises = "refusal"
    elif not out.text:
        out.raises = "empty"
    return out


def openai_stream(body: bytes) -> Outcome:
    out, refusal = Outcome(), ""
    for sse in _sse(OpenAISSEDecoder(), body):
        if sse.data.startswith("[DONE]"):
            break
        data = sse.json()
        if isinstance(data, dict) and data.get("error"):
            out.raises = "stream_error"  # the SDK raises APIError here
            return out
        chunk = _lenient(ChatCompletionChunk, data)
        for choice in chunk.choices or []:
            if choice.index == 0:
                out.text += choice.delta.content or ""
                refusal += getattr(choice.delta, "refusal", None) or ""
                out.finish_reason = choice.finish_reason or out.finish_reason
    if refusal:
        out.raises = "refusal"
    elif not out.text:
        out.raises = "empty"
    return out


# --- Anthropic ----------------------------------------------------------------------------


def anthropic_nonstream(body: bytes) -> Outcome:
    message = anthropic.types.Message.model_validate_json(body)
    usage = message.usage
    out = Outcome(
        text="".join(b.text for b in message.content if b.type == "text"),
        finish_reason=message.stop_reason,
        usage=_usage(usage.input_tokens, usage.output_tokens),
    )
    if message.stop_reason == "refusal":
        out.raises = "refusal"
    elif not out.text:
        out.raises = "empty"
    return out


def anthropic_stream(body: bytes) -> Outcome:
    out = Outcome()
    for sse in _sse(AnthropicSSEDecoder(), body):
        if sse.event == "error":
            out.raises = "stream_error"
            return out
        if sse.event not in _ANTHROPIC_DATA_EVENTS:
            continue  # ping and unknown events, as the SDK skips them
        event = _ANTHROPIC_EVENTS.validate_json(sse.data)
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            out.text += event.delta.text
        elif event.type == "content_block_start" and event.content_block.type == "text":
            out.text += event.content_block.text
        elif event.type == "message_delta":
            out.finish_reason = event.delta.stop_reason
    if not out.text:
        out.raises = "empty"
    return out


# --- Ollama -------------------------------------------------------------------------------


def _ollama_parts(body: bytes) -> list[ollama.ChatResponse]:
    return [ollama.ChatResponse.model_validate_json(line) for line in body.decode("utf-8").split("\n") if line.strip()]


def ollama_chat(body: bytes) -> Outcome:
    parts = _ollama_parts(body)
    last = parts[-1]
    out = Outcome(
        text="".join(p.message.content or "" for p in parts),
        finish_reason=last.done_reason,
        usage=_usage(last.prompt_eval_count or 0, last.eval_count or 0),
    )
    if not out.text:
        out.raises = "empty"
    return out


def oracle(sample: Sample) -> Outcome:
    """The SDK outcome for any 200 sample this kit's providers speak."""
    if sample.api in ("openai", "openai-compatible"):
        return openai_stream(sample.body) if sample.stream else openai_nonstream(sample.body)
    if sample.api == "anthropic":
        return anthropic_stream(sample.body) if sample.stream else anthropic_nonstream(sample.body)
    return ollama_chat(sample.body)
