"""What a clause is: an id, a level, and the test function that judges it.

A clause is a test function in ``laios_conformance/contract/`` named ``test_<id with _>``
and marked with :func:`clause`. Its docstring says what the provider must do, why, when it
does not apply, and how to fix a failure; the docs' clause reference is built from it.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CALL_PASSED",
    "CASSETTE_KEY",
    "CONTRACT_DIR",
    "CassetteWatch",
    "Clause",
    "ClauseCannotJudge",
    "LEVELS",
    "all_clauses",
    "clause",
    "clause_of",
    "subject_rank",
    "file_signature",
    "how_to_fix",
    "note",
    "notes_of",
]

CONTRACT_DIR = Path(__file__).parent / "contract"
LEVELS = ("must", "should")
MARKER = "laios_clause"
_NOTE_KEY = pytest.StashKey[list[str]]()


@dataclass(frozen=True)
class CassetteWatch:
    """A clause's cassette file and its (mtime, size) before the clause ran."""

    path: Path
    before: tuple[int, int] | None

    def changed(self) -> bool:
        return file_signature(self.path) not in (None, self.before)


def file_signature(path: Path) -> tuple[int, int] | None:
    """(mtime, size) of a file, or None when it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


CASSETTE_KEY = pytest.StashKey[CassetteWatch]()
CALL_PASSED = pytest.StashKey[bool]()


class ClauseCannotJudge(Exception):
    """The kit could not observe what the clause needs, so it will not give a verdict.

    Raised, for example, when no request crossed the transport seam (the provider does
    not speak through httpx) or when no wire decoder recognises the recorded response.
    Reported as ``error``: never a pass.
    """


@dataclass(frozen=True)
class Clause:
    id: str
    level: str
    function: Callable[..., Any]

    @property
    def summary(self) -> str:
        return (inspect.getdoc(self.function) or "").split("\n", 1)[0]

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.function) or ""


def clause(clause_id: str, level: str = "must") -> pytest.MarkDecorator:
    """Mark a test function as the judge of ``clause_id`` at ``level`` ("must" or "should")."""
    if level not in LEVELS:
        raise ValueError(f"clause level must be one of {LEVELS}, got {level!r}")
    return pytest.mark.laios_clause(clause_id, level)


def clause_of(item: Any) -> tuple[str, str] | None:
    """(id, level) of a collected test item, or None for a test that is not a clause."""
    marker = item.get_closest_marker(MARKER) if hasattr(item, "get_closest_marker") else None
    if marker is None:
        return None
    return marker.args[0], marker.args[1]


# The order a reader meets the subjects in: what a provider returns, how it fails, how it
# behaves under a router and a breaker, how it streams, fidelity, secrets, the cassettes.
SUBJECTS = ("responses", "failures", "routing", "circuit_breaker", "streaming", "fidelity", "secrets", "cassettes")


def subject_rank(module_name: str) -> int:
    """Position of a contract module (``test_<subject>``) in :data:`SUBJECTS`."""
    subject = module_name.rsplit(".", 1)[-1].removeprefix("test_")
    return SUBJECTS.index(subject) if subject in SUBJECTS else len(SUBJECTS)


def all_clauses() -> list[Clause]:
    """Every clause in the bundled contract, by subject, then in source order."""
    found: list[Clause] = []
    names = [info.name for info in pkgutil.iter_modules([str(CONTRACT_DIR)]) if info.name.startswith("test_")]
    for name in sorted(names, key=subject_rank):
        module = importlib.import_module(f"laios_conformance.contract.{name}")
        functions = [f for f in vars(module).values() if inspect.isfunction(f) and f.__module__ == module.__name__]
        for function in sorted(functions, key=lambda f: f.__code__.co_firstlineno):
            for mark in getattr(function, "pytestmark", []):
                if mark.name == MARKER:
                    found.append(Clause(mark.args[0], mark.args[1], function))
    return found


@functools.cache
def how_to_fix(clause_id: str) -> str:
    """The **How to fix** part of a clause's docstring, on one line ("" if it has none)."""
    clause = next((c for c in all_clauses() if c.id == clause_id), None)
    if clause is None or "**How to fix**:" not in clause.doc:
        return ""
    section = clause.doc.split("**How to fix**:", 1)[1].split("\n\n**", 1)[0]
    return " ".join(section.split())


def note(request: pytest.FixtureRequest, text: str) -> None:
    """Attach ``text`` to the clause's verdict message (shown even when it passes)."""
    request.node.stash.setdefault(_NOTE_KEY, []).append(text)


def notes_of(item: pytest.Item) -> list[str]:
    return item.stash.get(_NOTE_KEY, [])
