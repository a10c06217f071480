"""The shape of a recorded response, and what changed between two shapes.

A cassette is compared with a new recording by shape, not by value: the model's words,
ids and token counts change on every call, while a client breaks when a field it reads
disappears, changes type, or a stream's events change. The shape of one response is:

* its status code;
* the presence of the response headers the kit keeps (those clients read, see
  :data:`.scrub.RESPONSE_HEADERS_KEPT`), and the media type of ``content-type``;
* its body: for JSON, every path and the set of types found there (list items merged
  under ``[]``); for SSE, the pattern of event types (repeats collapsed, ``delta+``;
  keep-alive events such as ``ping`` left out of the order) and the JSON shape of each
  event type's data under ``events[TYPE]``; for NDJSON, the merged shape of its lines
  under ``lines[]``.

A change is *breaking* when a client that worked before may fail now: a removed field,
header or event type (a keep-alive, or a field the API leaves out of some answers,
excepted), a field whose types no longer include what it had (``str -> list``,
``str -> null``), a list that had items and is now always empty, another status code or
media type, another event order. It is *additive* when everything old is still there: an
added field, header or event type, a field that may now also be something else while
keeping its old type (``null -> str``), or a list that was always empty and now has items.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .scrub import RESPONSE_HEADERS_KEPT

BREAKING = "breaking"
ADDITIVE = "additive"
# Keep-alive events: sent when the server sees fit, so where they fall, and whether a
# short answer has one at all, is timing, not shape. Anthropic's ``ping`` falls before the
# first delta, between deltas or after them in recordings of the same API
# (tests/data/wire_samples/anthropic/haiku3-hello-stream.json, sonnet4-sum-stream.json,
# opus3-count-stream.json); clients skip it.
KEEP_ALIVE_EVENTS = frozenset({"ping"})
# Fields an API leaves out of some answers for their values, not for a change of shape, so
# that a client must already do without them. Ollama leaves ``prompt_eval_count`` out when it
# answers a prompt it has cached: the same request, recorded an hour apart with the model
# still loaded, has it and then has not (tests/data/wire_samples/ollama/
# chat-llama3-joke-nonstream.json, chat-llama3-joke-2-nonstream.json); ``usage-fidelity``
# serves such an answer. Their coming and going is additive.
LEFT_OUT_BY_VALUE = frozenset({"prompt_eval_count"})
_ID_HEADERS = frozenset({"x-request-id", "request-id"})


@dataclass(frozen=True)
class Change:
    path: str
    description: str
    kind: str  # BREAKING or ADDITIVE

    def __str__(self) -> str:
        return f"{self.path}: {self.description}"


@dataclass
class Shape:
    status: int
    headers: dict[str, str]  # kept header -> media type for content-type, "" for the others
    body_kind: str  # "json", "sse", "ndjson", "text" or "empty"
    paths: dict[str, set[str]] = field(default_factory=dict)
    empty_lists: set[str] = field(default_factory=set)
    events: tuple[str, ...] = ()


def response_shape(response: dict[str, Any]) -> Shape:
    """The shape of a vcrpy response dict (``status``, ``headers``, ``body.string``)."""
    headers = {name.lower(): _first(values) for name, values in (response.get("headers") or {}).items()}
    kept = {
        name: _media_type(value) if name == "content-type" else ""
        for name, value in headers.items()
        if name in RESPONSE_HEADERS_KEPT and name not in _ID_HEADERS
    }
    body = (response.get("body") or {}).get("string", "")
    text = body.decode("utf-8", errors="replace") if isinstance(body, (bytes, bytearray)) else str(body or "")
    shape = Shape(int(response["status"]["code"]), kept, "empty")
    _read_body(shape, text, kept.get("content-type", ""))
    return shape


def compare(old: Shape, new: Shape) -> list[Change]:
    """Every change from ``old`` to ``new``, most important first."""
    changes = []
    if old.status != new.status:
        changes.append(Change("status", f"{old.status} -> {new.status}", BREAKING))
    changes += _header_changes(old.headers, new.headers)
    if old.body_kind != new.body_kind:
        changes.append(Change("body", f"{old.body_kind} -> {new.body_kind}", BREAKING))
        return changes
    changes += _event_changes(old.events, new.events)
    changes += _path_changes(old, new)
    return changes


# -- reading a body ---------------------------------------------------------------------------


def _read_body(shape: Shape, text: str, media_type: str) -> None:
    if not text.strip():
        return
    if media_type == "text/event-stream" or _looks_like_sse(text):
        shape.body_kind = "sse"
        _read_sse(shape, text)
        return
    document = _json(text)
    if document is not _NOT_JSON:
        shape.body_kind = "json"
        _walk(document, "", shape)
        return
    lines = [_json(line) for line in text.splitlines() if line.strip()]
    if lines and all(line is not _NOT_JSON for line in lines):
        shape.body_kind = "ndjson"
        for line in lines:
            _walk(line, "lines[]", shape)
        return
    shape.body_kind = "text"


def _read_sse(shape: Shape, text: str) -> None:
    pattern: list[str] = []
    for event, data in _sse_events(text):
        document = _json(data)
        name = event or (document.get("type") if isinstance(document, dict) else None)
        name = str(name) if name else ("[DONE]" if data.strip() == "[DONE]" else "message")
        if pattern and pattern[-1].rstrip("+") == name:
            pattern[-1] = name + "+"
        else:
            pattern.append(name)
        if document is not _NOT_JSON:
            _walk(document, f"events[{name}]", shape)
    shape.events = tuple(pattern)


def _sse_events(text: str) -> Iterator[tuple[str | None, str]]:
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if event or data:
            yield event, "\n".join(data)


def _looks_like_sse(text: str) -> bool:
    return text.lstrip().startswith(("data:", "event:"))


_NOT_JSON = object()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _walk(value: Any, path: str, shape: Shape) -> None:
    shape.paths.setdefault(path or "$", set()).add(_type_name(value))
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}.{key}" if path else str(key), shape)
    elif isinstance(value, list):
        if not value:
            shape.empty_lists.add(path)
        for item in value:
            _walk(item, f"{path}[]", shape)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, dict) else type(value).__name__


def _first(values: Any) -> str:
    if isinstance(values, (list, tuple)):
        return str(values[0]) if values else ""
    return str(values)


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


# -- comparing ----------------------------------------------------------------------------------


def _header_changes(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    changes = []
    for name in sorted(old.keys() - new.keys()):
        changes.append(Change(f"headers.{name}", "removed", BREAKING))
    for name in sorted(new.keys() - old.keys()):
        changes.append(Change(f"headers.{name}", "added", ADDITIVE))
    for name in sorted(old.keys() & new.keys()):
        if old[name] != new[name]:
            changes.append(Change(f"headers.{name}", f"{old[name]} -> {new[name]}", BREAKING))
    return changes


def _event_changes(old: tuple[str, ...], new: tuple[str, ...]) -> list[Change]:
    old_types, new_types = {e.rstrip("+") for e in old}, {e.rstrip("+") for e in new}
    changes = [
        Change(f"events[{name}]", "removed", ADDITIVE if name in KEEP_ALIVE_EVENTS else BREAKING)
        for name in sorted(old_types - new_types)
    ]
    changes += [Change(f"events[{name}]", "added", ADDITIVE) for name in sorted(new_types - old_types)]
    if _order(old, new_types - KEEP_ALIVE_EVENTS) != _order(new, old_types - KEEP_ALIVE_EVENTS):
        changes.append(Change("events", f"{' '.join(old)} -> {' '.join(new)}", BREAKING))
    return changes


def _order(pattern: tuple[str, ...], shared: set[str]) -> list[str]:
    """The order of the event types in ``shared``; how often one repeats is a value, not a shape."""
    order: list[str] = []
    for event in pattern:
        name = event.rstrip("+")
        if name in shared and (not order or order[-1] != name):
            order.append(name)
    return order


def _path_changes(old: Shape, new: Shape) -> list[Change]:
    changes = []
    for path in sorted(old.paths.keys() | new.paths.keys(), key=_path_order):
        root = _event_root(path)
        if root and not (root in old.paths and root in new.paths):
            continue  # an added or removed event type is reported once, in _event_changes
        if path.endswith("[]") and not _under_empty_list(path[:-2], old, new):
            changes += _emptied_or_filled(path[:-2], old, new)
        if _under_empty_list(path, old, new):
            continue  # nothing to compare inside a list that is empty on one side
        before, after = old.paths.get(path), new.paths.get(path)
        if before is None:
            if _topmost(path, old):
                changes.append(Change(path, "added", ADDITIVE))
        elif after is None:
            if _topmost(path, new):
                changes.append(_removed(path))
        elif before != after:
            lost = (before - {"null"}) - after
            kind = BREAKING if lost or ("null" in after and "null" not in before) else ADDITIVE
            changes.append(Change(path, f"{_types(before)} -> {_types(after)}", kind))
    return changes


def _removed(path: str) -> Change:
    if path.rsplit(".", 1)[-1] in LEFT_OUT_BY_VALUE:
        return Change(path, "left out (as the API does for some answers, such as a cached prompt)", ADDITIVE)
    return Change(path, "removed", BREAKING)


def _emptied_or_filled(path: str, old: Shape, new: Shape) -> list[Change]:
    """A list that always had items and is now always empty (a client reading its first item
    fails), or the other way round."""
    items = path + "[]"
    if items in old.paths and items not in new.paths and path in new.empty_lists:
        return [Change(path, "had items, now always empty", BREAKING)]
    if items in new.paths and items not in old.paths and path in old.empty_lists:
        return [Change(path, "was always empty, now has items", ADDITIVE)]
    return []


def _under_empty_list(path: str, old: Shape, new: Shape) -> bool:
    """Whether ``path`` is inside a list that is empty on one side (nothing to compare there)."""
    index = path.find("[]")
    while index != -1:
        prefix = path[:index]
        if prefix in old.empty_lists | new.empty_lists and (
            prefix + "[]" not in old.paths or prefix + "[]" not in new.paths
        ):
            return True
        index = path.find("[]", index + 2)
    return False


def _topmost(path: str, other: Shape) -> bool:
    """Whether ``other`` had the container of ``path``, so the change is reported here and not above."""
    parent = _parent(path)
    if not parent:
        return True
    return ("list" if path.endswith("[]") else "object") in other.paths.get(parent, set())


def _parent(path: str) -> str:
    if path.endswith("[]"):
        return path[:-2]
    cut = path.rfind(".")
    return path[:cut] if cut > 0 else ""


def _event_root(path: str) -> str | None:
    if not path.startswith("events["):
        return None
    return path[: path.index("]") + 1]


def _path_order(path: str) -> tuple[int, str]:
    return path.count(".") + path.count("[]"), path


def _types(types: set[str]) -> str:
    return "|".join(sorted(types))
