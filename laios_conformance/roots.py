"""Where an exception came from: the provider's own code, the clause, or around the clause.

The verdict groups clauses that failed on the same exception raised at the same place in
the provider into one *likely root cause* (:meth:`laios_conformance.report.Verdict.root_causes`);
this module finds that place in a traceback. A frame belongs to the provider when its module
is in the provider's top-level package (``my_pkg`` for ``my_pkg.client:MyClient``).
"""

from __future__ import annotations

import os
import traceback
import unittest
from types import FrameType
from typing import Any

import pytest

from .clauses import Clause, ClauseCannotJudge
from .loading import ProviderSpec, redact

__all__ = ["is_uncaught", "provider_exception", "raised_in_clause", "skip_raised_by_provider", "success_case_failure"]

_DETAIL_LINES = 8


def provider_exception(
    excinfo: pytest.ExceptionInfo[BaseException], spec: ProviderSpec, secrets: Any
) -> dict[str, str] | None:
    """The exception that decided a clause's result, when the provider raised it: its type,
    the first line of its message, where in the provider it was raised, and the provider
    method that was called (``generate``...). None when it did not come from the provider."""
    exc: BaseException | None = excinfo.value
    if isinstance(exc, ClauseCannotJudge):
        exc = exc.__cause__
    elif isinstance(exc, (pytest.fail.Exception, pytest.skip.Exception)):
        exc = None
    if exc is None:
        return None
    frames = _provider_frames(exc, spec)
    if not frames:
        return None
    entry, (innermost, lineno) = frames[0][0], frames[-1]
    text = redact(str(exc), tuple(secrets))
    return {
        "type": type(exc).__name__,
        "message": _headline(text),
        "where": _where(innermost, lineno),
        "call": f"{entry.f_code.co_name}()",
        "detail": "\n".join(text.strip().splitlines()[1 : 1 + _DETAIL_LINES]),
    }


def _headline(text: str, limit: int = 300) -> str:
    """The first line of a message; when it only opens what the next lines hold (``HTTP 400: {``,
    a JSON body quoted as it came), the whole message on one line instead."""
    lines = text.strip().splitlines() or [""]
    if len(lines) > 1 and lines[0].rstrip().endswith(("{", "[", "(", ":")):
        return " ".join(text.split())[:limit]
    return lines[0][:limit]


def skip_raised_by_provider(excinfo: pytest.ExceptionInfo[BaseException], spec: ProviderSpec) -> str | None:
    """Where in the provider a skip was raised (``pytest.skip()`` or ``unittest.SkipTest``, which
    pytest takes as a skip too, in its code), or None when the clause skipped itself: such a
    skip is the provider's answer to its caller, not a verdict."""
    if not excinfo.errisinstance((pytest.skip.Exception, unittest.SkipTest)) or spec.target.startswith(
        "laios_conformance."
    ):
        return None
    frames = _provider_frames(excinfo.value, spec)
    if not frames:
        return None
    return _where(*frames[-1])


def _provider_frames(exc: BaseException, spec: ProviderSpec) -> list[tuple[FrameType, int]]:
    package = spec.target.partition(":")[0].split(".")[0]
    return [
        (frame, lineno)
        for frame, lineno in traceback.walk_tb(exc.__traceback__)
        if str(frame.f_globals.get("__name__", "")).split(".")[0] == package
    ]


def _where(frame: FrameType, lineno: int) -> str:
    return f"{_shown_path(frame.f_code.co_filename)}:{lineno}"


def _shown_path(filename: str) -> str:
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


def is_uncaught(excinfo: pytest.ExceptionInfo[BaseException] | None) -> bool:
    """Whether the clause let an exception escape (rather than failing or skipping on purpose)."""
    if excinfo is None:
        return False
    return not excinfo.errisinstance((pytest.fail.Exception, pytest.skip.Exception, ClauseCannotJudge))


def success_case_failure(clause_id: str, cause: dict[str, str], clause: Clause | None, exception: bool = True) -> str:
    """What a clause reports when the provider raised on a response that should have worked;
    or, when what it raised is no ``Exception`` (``exception`` false), that it is none."""
    recorded = (
        "a recorded successful response" if clause is not None and clause.uses_cassette else "a successful response"
    )
    raised = f"{clause_id}: {cause['call']} raised {cause['type']}: {cause['message']}"
    if not exception:  # it got past the clause's own ``except Exception``, whatever the kit was answering
        lines = [
            f"{raised} (raised at {cause['where']}); {cause['type']} derives from BaseException, not "
            "Exception: LAIOS's LLMRouter and CircuitBreaker catch Exception, so it passes through them "
            "and ends the caller; derive your errors from Exception"
        ]
    else:
        lines = [f"{raised} on {recorded} (raised at {cause['where']})"]
    lines += [f"  {line}" for line in cause["detail"].splitlines()]
    if clause is not None and clause.how_to_fix:
        lines.append(f"How to fix: {clause.how_to_fix}")
    lines.append(f"More: laios-conformance explain {clause_id}")
    return "\n".join(lines)


def raised_in_clause(excinfo: pytest.ExceptionInfo[BaseException] | None, item: pytest.Item) -> bool:
    """Whether an exception was raised while the clause's own test function was running
    (a skip from inside the clause is its verdict; one from a mark or a hook is not)."""
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    if excinfo is None or code is None:
        return False
    return any(frame.f_code is code for frame, _ in traceback.walk_tb(excinfo.tb))
