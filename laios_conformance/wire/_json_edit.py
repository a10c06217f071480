"""Surgical edits of JSON text: change one value and leave every other byte alone.

Recorded bodies differ in key order, indentation and trailing spaces; re-serialising a
whole document would lose all of that. Here a value is found by its path (keys and list
positions) and only its characters are replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ._base import WireError

__all__ = ["dumps", "locate", "replace"]

Path = Sequence[str | int]

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]  # public in CPython, missing from typeshed

# Characters JSON allows raw but that break things downstream: lone surrogates cannot be
# encoded as UTF-8, and U+0085/U+2028/U+2029 are line breaks to str.splitlines(), which
# httpx's line iterator uses. Go's encoder escapes U+2028/U+2029 for a similar reason.
_UNSAFE = re.compile("[\ud800-\udfff\u0085\u2028\u2029]")


def dumps(value: Any) -> str:
    """Compact JSON with raw UTF-8, except the characters in ``_UNSAFE``, which are escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _skip(doc: str, i: int) -> int:
    match = _WS.match(doc, i)
    assert match is not None, "a pattern of `*` always matches"
    return match.end()


def _value_end(doc: str, i: int) -> int:
    try:
        return _DECODER.raw_decode(doc, i)[1]
    except json.JSONDecodeError as exc:
        raise WireError(f"bad JSON at offset {i}: {exc.msg}") from None


def _member(doc: str, i: int, key: str) -> tuple[int, int] | None:
    """Span of the value of ``key`` in the object starting at ``i`` (last one wins, as in json)."""
    found = None
    i = _skip(doc, i + 1)
    if doc.startswith("}", i):
        return None
    while True:
        if not doc.startswith('"', i):
            raise WireError(f"expected a key at offset {i}")
        try:
            name, i = _scanstring(doc, i + 1)
        except json.JSONDecodeError as exc:
            raise WireError(f"bad JSON key at offset {i}: {exc.msg}") from None
        i = _skip(doc, i)
        if not doc.startswith(":", i):
            raise WireError(f"expected ':' at offset {i}")
        start = _skip(doc, i + 1)
        end = _value_end(doc, start)
        if name == key:
            found = (start, end)
        i = _skip(doc, end)
        if doc.startswith("}", i):
            return found
        if not doc.startswith(",", i):
            raise WireError(f"expected ',' at offset {i}")
        i = _skip(doc, i + 1)


def _item(doc: str, i: int, index: int) -> tuple[int, int] | None:
    i = _skip(doc, i + 1)
    if doc.startswith("]", i):
        return None
    position = 0
    while True:
        end = _value_end(doc, i)
        if position == index:
            return (i, end)
        i = _skip(doc, end)
        if not doc.startswith(",", i):
            return None
        i = _skip(doc, i + 1)
        position += 1


def locate(doc: str, path: Path) -> tuple[int, int]:
    """Character span of the value at ``path``; raises WireError if there is none."""
    start = _skip(doc, 0)
    span = (start, _value_end(doc, start))
    for step in path:
        opener = doc[span[0] : span[0] + 1]
        if isinstance(step, str) and opener == "{":
            found = _member(doc, span[0], step)
        elif isinstance(step, int) and opener == "[":
            found = _item(doc, span[0], step)
        else:
            found = None
        if found is None:
            raise WireError(f"no value at {list(path)!r}")
        span = found
    return span


def replace(doc: str, path: Path, value: Any) -> str:
    """``doc`` with the value at ``path`` replaced by ``value`` (serialised with :func:`dumps`)."""
    start, end = locate(doc, path)
    return doc[:start] + dumps(value) + doc[end:]
