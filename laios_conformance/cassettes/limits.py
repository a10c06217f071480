"""What the kit refuses to read as a cassette, before and while parsing it.

Cassettes come from anywhere (a pull request, a hand edit), so the loader and the linter
share these bounds, and both turn a breach into one line instead of a hang or a traceback:

* a file larger than :func:`max_cassette_bytes` (50 MB unless
  ``LAIOS_CONFORMANCE_MAX_CASSETTE_MB`` says otherwise) is not read at all;
* YAML aliases may expand to at most ``MAX_ALIAS_NODES`` nodes in total. The kit's
  serializer never writes an alias, but PyYAML resolves a "billion laughs" document of
  nine levels of ten aliases into a graph that anything walking it (a linter, a deep copy,
  vcrpy) expands to 10^9 nodes. The expansion is counted while the document is composed,
  with each anchored node's expanded size memoised, so the count itself is linear;
* a cassette that is a symbolic link (to anywhere, or dangling) is refused: the kit
  writes cassettes by replacing the file, which would silently turn a link into a copy,
  and a link can make a pull request read or overwrite a file outside the cassette dir.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import yaml

MAX_SIZE_ENV = "LAIOS_CONFORMANCE_MAX_CASSETTE_MB"
DEFAULT_MAX_MB = 50.0
MAX_ALIAS_NODES = 10_000


class CassetteRefused(ValueError):
    """A file the kit will not read as a cassette; the message is one line, without the path."""


_MB = 1024 * 1024
_MAX_MB = 1024.0 * 1024  # a terabyte: no cassette is that large
# How a user raises the limit: the variable, or lint's option that overrides it.
RAISE_WITH_ENV = f"{MAX_SIZE_ENV}=MB"


def max_cassette_bytes() -> int:
    """The limit ``LAIOS_CONFORMANCE_MAX_CASSETTE_MB`` sets, or 50 MB; ValueError when it is not
    a positive number of megabytes (the kit checks it when a run starts)."""
    raw = os.environ.get(MAX_SIZE_ENV, "").strip()
    return megabytes_limit(raw, MAX_SIZE_ENV) if raw else int(DEFAULT_MAX_MB * _MB)


def megabytes_limit(text: str, named: str) -> int:
    """``text`` megabytes in bytes; ValueError, naming what the user set (``named``), unless it
    is a positive number (a wrong value used to be ignored, or an ``inf`` to crash the run)."""
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not 0 < megabytes <= _MAX_MB:  # nan and inf too
        raise ValueError(
            f"{named} {text!r} is not a number of megabytes between 0 and {_MAX_MB:.0f} "
            f"(the default is {DEFAULT_MAX_MB:.0f})"
        )
    return max(1, int(megabytes * _MB))


def check_file(path: Path, limit: int | None = None, raise_with: str = RAISE_WITH_ENV) -> None:
    """Raise :class:`CassetteRefused` unless ``path`` is a regular file (no link) within the size
    bound (``limit`` bytes, else the variable's); ``raise_with`` says how to raise the bound."""
    if path.is_symlink():
        raise CassetteRefused(symlink_reason(path))
    if not path.exists():
        raise CassetteRefused("no such file")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise CassetteRefused(f"{kind} named like a cassette; a cassette is a regular file")
    limit = max_cassette_bytes() if limit is None else limit
    size = path.stat().st_size
    if size > limit:
        raise CassetteRefused(
            f"{human_size(size)}, over the {human_size(limit)} limit for one cassette "
            f"(raise it with {raise_with} if the file is genuine)"
        )


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size / 1048576:.1f} MB"


def symlink_reason(path: Path) -> str:
    target = os.readlink(path)
    resolved = (path.parent / target).resolve()
    if not resolved.exists():
        where = "dangling"
    elif not resolved.is_relative_to(path.parent.resolve()):
        where = "outside the cassette dir"
    else:
        where = "inside the cassette dir"
    return (
        f"a symbolic link to {target} ({where}); the kit reads and writes only regular files: "
        "replace the link with the cassette itself"
    )


class AliasBudgetExceeded(yaml.YAMLError):
    def __str__(self) -> str:
        return (
            f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); "
            "the kit's cassettes use no aliases"
        )


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents whose aliases expand beyond ``MAX_ALIAS_NODES``."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        alias = self.check_event(yaml.AliasEvent)
        node = super().compose_node(parent, index)
        if alias and node is not None:
            self._alias_nodes += _expanded_size(node, self._sizes)
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise AliasBudgetExceeded()
        return node


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = min(size, MAX_ALIAS_NODES + 1)
    return sizes[id(node)]
