"""The clause registry: what a clause is, and every clause the contract declares.

A clause is a test function in a contract module, decorated with :func:`clause`::

    @clause("stream-join", "must")
    @pytest.mark.vcr
    def test_stream_join(provider, cassette): ...

Decorating registers it: its id (written here and nowhere else; the function must be named
``test_<id with _>``), its level, its subject (the module it lives in), whether it replays a
cassette (``@pytest.mark.vcr``) and its docstring, split into sections (the first line says
what the provider must do; then **Why**, **Not applicable when**, **How to fix**...). The
catalogue, the run order, ``explain``, ``clauses``, the docs' clause reference and every
How to fix are read from here. Which modules exist, and in which order a reader meets them,
is declared once by ``laios_conformance.contract`` importing them.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

__all__ = [
    "LEVELS",
    "NOT_JUDGED",
    "Clause",
    "ClauseCannotJudge",
    "ClauseRegistrationError",
    "clause",
    "clause_of",
    "find",
    "how_to_fix",
    "note",
    "notes_of",
    "registered",
    "running",
    "running_clause",
]

LEVELS = ("must", "should")
# How a clause's skip says the kit could not judge it (as opposed to "not applicable: ..."):
# the gate names such clauses (report.Verdict.not_judged reads this prefix).
NOT_JUDGED = "not judged: "
MARKER = "laios_clause"
_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_SECTION = re.compile(r"^\*\*(?P<name>[^*]+)\*\*:?\s*", re.MULTILINE)
_NOTE_KEY = pytest.StashKey[list[str]]()

F = TypeVar("F", bound=Callable[..., Any])


class ClauseCannotJudge(Exception):
    """The kit could not observe what the clause needs, so it will not give a verdict.

    Raised, for example, when no request crossed the transport seam (the provider does
    not speak through httpx) or when no wire decoder recognises the recorded response.
    Reported as ``error``: never a pass.
    """


class ClauseRegistrationError(Exception):
    """A contract module declares a clause the registry cannot take (bad id, name, level)."""


@dataclass(frozen=True)
class Clause:
    """One registered clause."""

    id: str
    level: str
    function: Callable[..., Any] = field(repr=False, compare=False)

    @property
    def module(self) -> str:
        return str(self.function.__module__)

    @property
    def subject(self) -> str:
        """The contract module's subject: ``laios_conformance.contract.test_streaming`` -> ``streaming``."""
        return self.module.rsplit(".", 1)[-1].removeprefix("test_")

    @property
    def uses_cassette(self) -> bool:
        """Whether the clause replays a cassette (its function carries ``@pytest.mark.vcr``)."""
        return any(mark.name == "vcr" for mark in getattr(self.function, "pytestmark", []))

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.function) or ""

    @property
    def summary(self) -> str:
        """The docstring's first line: what the provider must do."""
        return self.doc.split("\n", 1)[0]

    @property
    def sections(self) -> dict[str, str]:
        """The docstring's ``**Name**:`` paragraphs by name, each on one line."""
        return _sections(self.doc)

    @property
    def how_to_fix(self) -> str:
        return self.sections.get("How to fix", "")


_REGISTRY: dict[str, Clause] = {}


def clause(clause_id: str, level: str = "must") -> Callable[[F], F]:
    """Register the decorated test function as the judge of ``clause_id`` at ``level``.

    The function must be named ``test_`` + the id with ``-`` as ``_`` (``stream-join`` ->
    ``test_stream_join``), so that ``-k stream_join`` and the id agree.
    """
    if not isinstance(clause_id, str) or not _ID.match(clause_id):
        raise ClauseRegistrationError(
            f"clause id {clause_id!r} is not lower-case words joined by '-' (e.g. 'stream-join')"
        )
    if level not in LEVELS:
        raise ClauseRegistrationError(f"clause {clause_id!r}: level must be one of {LEVELS}, got {level!r}")

    def register(function: F) -> F:
        expected = "test_" + clause_id.replace("-", "_")
        if function.__name__ != expected:
            raise ClauseRegistrationError(
                f"clause {clause_id!r} is judged by {function.__module__}.{function.__name__}; "
                f"name the function {expected} so that the id and the test name agree"
            )
        known = _REGISTRY.get(clause_id)
        if known is not None and _where(known.function) != _where(function):
            raise ClauseRegistrationError(
                f"clause id {clause_id!r} is declared twice: by {_where(known.function)} and by {_where(function)}"
            )
        _REGISTRY[clause_id] = Clause(clause_id, level, function)  # a reloaded module replaces its own entry
        pytest.mark.laios_clause(clause_id, level)(function)  # marks the function itself
        return function

    return register


def _where(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def registered() -> list[Clause]:
    """Every clause registered so far, in registration order (subject, then source order)."""
    return list(_REGISTRY.values())


def find(clause_id: str) -> Clause | None:
    return _REGISTRY.get(clause_id)


def how_to_fix(clause_id: str) -> str:
    """The **How to fix** part of a clause's docstring, on one line ("" if it has none)."""
    found = _REGISTRY.get(clause_id)
    return found.how_to_fix if found else ""


def clause_of(item: Any) -> tuple[str, str] | None:
    """(id, level) of a collected test item, or None for a test that is not a clause."""
    marker = item.get_closest_marker(MARKER) if hasattr(item, "get_closest_marker") else None
    if marker is None:
        return None
    return marker.args[0], marker.args[1]


def _sections(doc: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for paragraph in doc.split("\n\n"):
        match = _SECTION.match(paragraph.strip())
        if match:
            found[match.group("name").strip()] = " ".join(paragraph.strip()[match.end() :].split())
    return found


# -- the clause that is running ------------------------------------------------------------

_RUNNING: ContextVar[Clause | None] = ContextVar("laios_running_clause", default=None)


def running() -> Clause | None:
    """The clause whose test function is running now (set by the kit around each call)."""
    return _RUNNING.get()


@contextlib.contextmanager
def running_clause(clause_id: str | None) -> Iterator[None]:
    token = _RUNNING.set(_REGISTRY.get(clause_id) if clause_id else None)
    try:
        yield
    finally:
        _RUNNING.reset(token)


def note(request: pytest.FixtureRequest, text: str) -> None:
    """Attach ``text`` to the clause's verdict message (shown even when it passes)."""
    request.node.stash.setdefault(_NOTE_KEY, []).append(text)


def notes_of(item: pytest.Item) -> list[str]:
    return item.stash.get(_NOTE_KEY, [])
