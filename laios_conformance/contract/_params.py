"""Where a request body carries the sampling parameters, and where its protocol reads them.

The wire format decides (``WireFormat.param_places``): Ollama reads ``options.temperature``
and ignores a top-level ``temperature``, so a value found there never reached the model.
For a format that declares no places (an unknown one, or a decoder registered without
them) any of the usual keys anywhere in the body counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..wire import WireFormat
from ._support import MAX_TOKENS_KEYS

# The keys each parameter goes by, in one API or another.
PARAM_KEYS = {"temperature": ("temperature",), "max_tokens": MAX_TOKENS_KEYS}


@dataclass(frozen=True)
class Sent:
    """One parameter in a request body: the values where the protocol reads it, the ones
    it does not read, and the places it reads (empty when the protocol is unknown)."""

    param: str
    read: list[tuple[str, Any]]
    unread: list[tuple[str, Any]]
    places: tuple[str, ...]
    protocol: str

    @property
    def values(self) -> list[Any]:
        return [value for _, value in self.read]

    @property
    def anywhere(self) -> list[tuple[str, Any]]:
        return self.read + self.unread

    def misplaced(self, value: Any) -> str | None:
        """Where the body puts the parameter that the protocol does not read it (``value``
        there first, else any other), and where the protocol reads it; None if nowhere."""
        if not self.unread:
            return None
        where, sent = next(((p, v) for p, v in self.unread if v == value), self.unread[0])
        return (
            f"sent {sent!r} at {describe(where)}, where the {self.protocol!r} protocol does not read it "
            f"(it reads {' or '.join(self.places)})"
        )

    def missing(self) -> str:
        """That the body has no value where the protocol reads one."""
        if not self.places:
            return "no such key"
        return f"nothing at {' or '.join(self.places)}, where the {self.protocol!r} protocol reads it"


def sent_params(body: dict[str, Any], wire_format: WireFormat | None) -> dict[str, Sent]:
    """Each sampling parameter of a request body, located as its wire format reads it."""
    declared = wire_format.param_places if wire_format is not None else {}
    protocol = wire_format.name if wire_format is not None else ""
    found = {}
    for param, keys in PARAM_KEYS.items():
        anywhere = [(".".join(path), value) for key in keys for path, value in _entries(body, key)]
        places = declared.get(param, ())
        if not places:
            found[param] = Sent(param, anywhere, [], (), protocol)
            continue
        read = [(place, value) for place in places for value in _at(body, place)]
        unread = [(where, value) for where, value in anywhere if where not in places]
        found[param] = Sent(param, read, unread, places, protocol)
    return found


def describe(place: str) -> str:
    return f"{place} (top level)" if "." not in place else place


def _at(body: dict[str, Any], place: str) -> list[Any]:
    """The value at a dotted path of ``body``, as a list of none or one."""
    node: Any = body
    for key in place.split("."):
        if not isinstance(node, dict) or key not in node:
            return []
        node = node[key]
    return [node]


def _entries(data: Any, key: str, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every value stored under ``key`` anywhere in a JSON document, with its path of keys
    (list positions shown as numbers)."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k == key:
                yield (*path, k), v
            yield from _entries(v, key, (*path, str(k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _entries(v, key, (*path, str(i)))
