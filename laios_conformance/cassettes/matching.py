"""Request matching for replay: compare request bodies as JSON documents.

Provider SDKs serialise the same request with different key orders and
whitespace from one release to the next, so raw-byte body matching would make
every SDK upgrade look like a new conversation. ``json_body`` compares the
parsed documents instead, and still tells ``true`` from ``1`` and ``1`` from
``1.0`` (it compares canonical dumps, not Python equality). Bodies that are
not JSON are compared byte for byte.

vcrpy matchers signal a mismatch by raising ``AssertionError``; vcrpy shows
the message when no recorded interaction matches, so it names the first few
JSON paths that differ rather than dumping both bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from vcr.util import read_body

from .scrub import PLACEHOLDER, body_as_sent

MATCHER_NAME = "json_body"
MATCH_ON = ("method", "scheme", "host", "port", "path", "query", MATCHER_NAME)
MAX_REPORTED_DIFFERENCES = 3
MAX_VALUE_CHARS = 60

_NOT_JSON = object()


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: r1 is the request being made, r2 the recorded one."""
    new, recorded = _as_bytes(read_body(r1)), _as_bytes(read_body(r2))
    new_doc, recorded_doc = _parse(new), _parse(recorded)
    if new_doc is _NOT_JSON or recorded_doc is _NOT_JSON:
        if new != recorded:
            raise AssertionError(_raw_message(new, recorded))
        return
    if _canonical(new_doc) != _canonical(recorded_doc):
        raise AssertionError(_json_message(new_doc, recorded_doc))


def query(r1: Any, r2: Any) -> None:
    """vcrpy's ``query`` matcher, blind to parameters whose value is the scrubbed key: a
    cassette keeps where the key went (``?key=<REDACTED>``), and one recorded before it did
    must still match."""
    new, recorded = _without_key(r1.query), _without_key(r2.query)
    if new != recorded:
        raise AssertionError(f"queries differ: recorded {recorded}, this request {new}")


def _without_key(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in pairs if value != PLACEHOLDER]


def register_matchers(vcr: Any) -> None:
    vcr.register_matcher(MATCHER_NAME, json_body)
    vcr.register_matcher("query", query)  # replaces vcrpy's own


def _as_bytes(body: Any) -> bytes:
    body = body_as_sent(body)
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def _parse(body: bytes) -> Any:
    if not body.strip():
        return _NOT_JSON
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


def _canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _raw_message(new: bytes, recorded: bytes) -> str:
    return f"bodies differ (not JSON): recorded {_short(recorded)}, this request {_short(new)}"


def _json_message(new: Any, recorded: Any) -> str:
    found = []
    for difference in _differences(recorded, new, "$"):
        found.append(difference)
        if len(found) > MAX_REPORTED_DIFFERENCES:
            found[-1] = "…"
            break
    return "JSON bodies differ: " + "; ".join(found)


def _differences(recorded: Any, new: Any, path: str) -> Iterator[str]:
    if isinstance(recorded, dict) and isinstance(new, dict):
        yield from _dict_differences(recorded, new, path)
    elif isinstance(recorded, list) and isinstance(new, list):
        yield from _list_differences(recorded, new, path)
    elif _canonical(recorded) != _canonical(new):
        yield f"{path}: recorded {_short(recorded)}, this request {_short(new)}"


def _dict_differences(recorded: dict[str, Any], new: dict[str, Any], path: str) -> Iterator[str]:
    for key in sorted(recorded.keys() - new.keys()):
        yield f"{path}.{key}: missing from this request"
    for key in sorted(new.keys() - recorded.keys()):
        yield f"{path}.{key}: not in the recorded request"
    for key in sorted(recorded.keys() & new.keys()):
        yield from _differences(recorded[key], new[key], f"{path}.{key}")


def _list_differences(recorded: list[Any], new: list[Any], path: str) -> Iterator[str]:
    if len(recorded) != len(new):
        yield f"{path}: recorded {len(recorded)} items, this request {len(new)}"
    for index, (old_item, new_item) in enumerate(zip(recorded, new, strict=False)):
        yield from _differences(old_item, new_item, f"{path}[{index}]")


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
        return f"{_clip(text)!r} ({len(value)} bytes)"
    return _clip(_canonical(value))


def _clip(text: str) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return text[:MAX_VALUE_CHARS] + "…"
