"""Pure wire-format helpers shared by the providers: lines, SSE events, JSON bodies, errors.

Nothing here does I/O; the functions take bytes or already-split lines, so each rule is
unit-testable and the providers stay short.

Line splitting works on bytes: a stream is cut at CR, LF or CRLF (the SSE line ends,
which also cover NDJSON) and each whole line is decoded as UTF-8. A line break byte never
occurs inside a multi-byte UTF-8 sequence, so a character split across two network reads
is decoded correctly, and characters such as U+2028 inside JSON strings (which
``str.splitlines`` - and so ``httpx.Response.iter_lines`` - would treat as line breaks)
stay inside their line.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

from ._errors import ProviderError, ResponseFormatError, StreamError, class_for_status, is_retryable_status

__all__ = [
    "SSEEvent",
    "describe_error",
    "error_from_http",
    "error_in_body",
    "guard_sse",
    "iter_lines",
    "iter_sse",
    "load_json",
    "json_object",
    "message_dicts",
    "parse_retry_after",
    "snippet",
    "usage_dict",
]

Redactor = Callable[[str], str]

_EOL = re.compile(rb"\r\n|\r|\n")
# Error types a provider reports for transient conditions (Anthropic, OpenAI).
_RETRYABLE_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error", "server_error"})


def _no_redaction(text: str) -> str:
    return text


def snippet(text: str, limit: int = 200) -> str:
    """A short single-line excerpt of a body, for error messages."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


# --- lines and events -------------------------------------------------------------------


def _decode_line(raw: bytes, provider: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResponseFormatError(f"stream line is not valid UTF-8: {exc}", provider=provider) from exc


def iter_lines(chunks: Iterable[bytes], provider: str) -> Iterator[str]:
    """Yield the lines of a byte stream, split at CR, LF or CRLF, each decoded as UTF-8."""
    buffer = b""
    for chunk in chunks:
        if not chunk:
            continue
        scan_from = max(len(buffer) - 1, 0)  # a held-back CR may pair with a leading LF
        buffer += chunk
        start = 0
        for match in _EOL.finditer(buffer, scan_from):
            if match.group() == b"\r" and match.end() == len(buffer):
                break  # maybe the first half of a CRLF split across reads
            yield _decode_line(buffer[start : match.start()], provider)
            start = match.end()
        buffer = buffer[start:]
    if buffer.endswith(b"\r"):
        buffer = buffer[:-1]
    if buffer:
        yield _decode_line(buffer, provider)


class SSEEvent(NamedTuple):
    """One server-sent event: its ``event:`` name (or None) and its joined ``data:`` lines."""

    event: str | None
    data: str


def guard_sse(lines: Iterable[str], provider: str, redact: Redactor = _no_redaction) -> Iterator[str]:
    """Pass SSE lines through, unless the body is one JSON document instead of a stream.

    Some servers and proxies answer a stream request with a plain JSON body (often an
    error) and a 200 status. Its first non-blank line starts with ``{``, which no SSE
    field does: an error document raises its error, anything else ResponseFormatError.
    """
    iterator = iter(lines)
    for line in iterator:
        if not line.strip():
            yield line
            continue
        if line.lstrip().startswith("{"):
            payload = load_json("\n".join([line, *iterator]), provider, "stream body", redact)
            if isinstance(payload, dict) and payload.get("error"):
                raise error_in_body(provider, payload, in_stream=True, redact=redact)
            raise ResponseFormatError("asked for a stream, got a single JSON document", provider=provider)
        yield line
        break
    yield from iterator


def iter_sse(lines: Iterable[str]) -> Iterator[SSEEvent]:
    """Group SSE lines into events; comment lines (``:`` ...) and ``id``/``retry`` are ignored.

    An event still open when the stream ends is dispatched too (the spec drops it), so a
    final ``data: [DONE]`` without its blank line still counts.
    """
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if not line:
            if data or event is not None:
                yield SSEEvent(event, "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
    if data or event is not None:
        yield SSEEvent(event, "\n".join(data))


# --- JSON bodies ------------------------------------------------------------------------


def load_json(raw: Any, provider: str, what: str = "response body", redact: Redactor = _no_redaction) -> Any:
    """Parse a JSON document, raising ResponseFormatError for empty, HTML or malformed text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    if not text.strip():
        raise ResponseFormatError(f"{what} is empty", provider=provider)
    try:
        return json.loads(raw)
    except ValueError as exc:
        kind = "an HTML page" if text.lstrip().startswith("<") else "not valid JSON"
        raise ResponseFormatError(f"{what} is {kind}: {redact(snippet(text))!r}", provider=provider) from exc


def json_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for optional parts of a payload)."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int_code(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _from_error_object(err: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    message = _text(err.get("message")) or _text(err.get("msg")) or snippet(json.dumps(err))
    metadata = err.get("metadata")
    raw = _text(metadata.get("raw")) if isinstance(metadata, Mapping) else None
    if raw and raw not in message:
        message = f"{message} (upstream: {snippet(raw, 500)})"  # OpenRouter's upstream detail
    code, kind = err.get("code"), err.get("type")
    error_type = _text(code) or _text(kind)
    return message, error_type, _int_code(code)


def _from_detail(detail: Any) -> str | None:
    """FastAPI-style ``detail`` (Mistral): a string, or a list of ``{"msg": ...}`` items."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = [str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in detail]
        return "; ".join(parts) or None
    return None


def describe_error(payload: Any) -> tuple[str, str | None, int | None] | None:
    """``(message, error_type, numeric_code)`` of a parsed error body, or None if it is none.

    Knows ``{"error": {...}}`` (OpenAI, Anthropic, most compatible servers; string or
    numeric ``code``), ``{"error": "..."}`` (Ollama), ``{"detail": ...}`` (Mistral,
    FastAPI) and a top-level ``{"message": ..., "type": ..., "code": ...}`` (vLLM).
    """
    if not isinstance(payload, Mapping):
        return None
    err = payload.get("error")
    if isinstance(err, Mapping):
        return _from_error_object(err)
    message = _text(err)
    if message:
        return message, None, None
    detail = _from_detail(payload.get("detail"))
    if detail:
        return detail, None, None
    if _text(payload.get("message")):
        code = payload.get("code")
        return payload["message"], _text(code) or _text(payload.get("type")), _int_code(code)
    return None


def _error_from_bytes(body: bytes) -> tuple[str, str | None, int | None]:
    """Describe an error body whatever its content type (DeepSeek once sent octet-stream)."""
    text = body.decode("utf-8", "replace")
    try:
        described = describe_error(json.loads(text)) if text.strip() else None
    except ValueError:
        described = None
    return described or (snippet(text, 500), None, None)


# --- errors -----------------------------------------------------------------------------


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        seconds: float | None
        try:
            seconds = float(value) / scale
        except ValueError:
            seconds = _seconds_until(value, now)
        if seconds is not None and math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - (now or datetime.now(timezone.utc))).total_seconds()


def _should_retry_header(headers: Mapping[str, str]) -> bool | None:
    value = (headers.get("x-should-retry") or "").strip().lower()
    return {"true": True, "false": False}.get(value)


def error_from_http(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    redact: Redactor = _no_redaction,
    reason: str = "",
) -> ProviderError:
    """The exception for a non-2xx response: class by status, message from the body."""
    message, error_type, _ = _error_from_bytes(body)
    message = message or f"HTTP {status} {reason}".strip()
    cls = class_for_status(status)
    return cls(
        redact(message),
        provider=provider,
        status_code=status,
        error_type=error_type,
        retryable=_should_retry_header(headers),
        retry_after=parse_retry_after(headers),
    )


def error_in_body(provider: str, payload: Any, *, in_stream: bool, redact: Redactor = _no_redaction) -> ProviderError:
    """The exception for an error a server put inside a 200 body or stream.

    In a stream it is a StreamError; in a plain body the class follows the numeric code
    the server reported, if any. ``status_code`` is that code; ``retryable`` follows the
    code or the error type (``overloaded_error`` and the like).
    """
    message, error_type, code = describe_error(payload) or (snippet(json.dumps(payload)), None, None)
    retryable = is_retryable_status(code) or error_type in _RETRYABLE_TYPES
    cls = StreamError if in_stream else class_for_status(code)
    return cls(redact(message), provider=provider, status_code=code, error_type=error_type, retryable=retryable)


# --- requests and results ---------------------------------------------------------------


def message_dicts(messages: Iterable[Any]) -> list[dict[str, str]]:
    """Fresh ``{"role", "content"}`` dicts from LLMMessage objects or mappings (never mutated)."""
    if isinstance(messages, (str, bytes, Mapping)):
        raise TypeError("messages must be a list of LLMMessage")
    out: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, Mapping):
            role, content = message.get("role"), message.get("content")
        else:
            role, content = getattr(message, "role", None), getattr(message, "content", None)
        if not isinstance(role, str) or not isinstance(content, str):
            raise TypeError(f"each message needs a str role and str content, got {message!r}")
        out.append({"role": role, "content": content})
    if not out:
        raise ValueError("messages must not be empty")
    return out


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def usage_dict(prompt: Any, completion: Any, total: Any = None) -> dict[str, int] | None:
    """LAIOS usage ``{"prompt_tokens", "completion_tokens", "total_tokens"}``, or None if absent."""
    p, c, t = _count(prompt), _count(completion), _count(total)
    if p is None and c is None and t is None:
        return None
    p, c = p or 0, c or 0
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": t if t is not None else p + c}
