"""``clauses`` and ``explain``: the clause catalogue, read from the clause registry."""

from __future__ import annotations

import difflib

from ..clauses import Clause
from . import UsageError


def normalise(name: str) -> str:
    """``test_returns_response`` / ``returns_response`` / ``Returns-Response`` -> ``returns-response``."""
    name = name.strip().lower()
    name = name.removeprefix("test_").removeprefix("test-")
    return name.replace("_", "-")


def all_clauses() -> list[Clause]:
    """The bundled contract's clauses, in catalogue order."""
    from ..contract import catalogue

    return catalogue()


def find_clause(name: str, clauses: list[Clause] | None = None) -> Clause | None:
    wanted = normalise(name)
    return next((c for c in clauses or all_clauses() if c.id == wanted), None)


def cassette_clause_ids() -> set[str]:
    """Ids of the clauses that replay a cassette."""
    return {c.id for c in all_clauses() if c.uses_cassette}


def list_clauses() -> int:
    clauses = all_clauses()
    width = max((len(c.id) for c in clauses), default=0)
    for c in clauses:
        print(f"{c.id.ljust(width)}  {c.level.ljust(6)}  {c.summary}")
    return 0


def explain(name: str) -> int:
    clauses = all_clauses()
    found = find_clause(name, clauses)
    if found is None:
        close = difflib.get_close_matches(normalise(name), [c.id for c in clauses], n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; 'laios-conformance clauses' lists them"
        raise UsageError(f"no clause named {name!r}{hint}")
    replays = " (replays a cassette)" if found.uses_cassette else ""
    print(f"{found.id} ({found.level}){replays}")
    print()
    print(found.doc)
    return 0
