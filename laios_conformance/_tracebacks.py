"""pytest's tracebacks of failing clauses, built without parsing the same file again and again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_PYTESTS_NAME = "getstatementrange_ast"  # in _pytest._code.code, not a public API
_pytests_own: list[Callable[..., Any]] = []  # pytest's getstatementrange_ast, once replaced
_found: dict[str, dict[tuple[int, bool], Any]] = {}  # source text -> (line, assertion) -> range


def remember_statement_ranges() -> None:
    """Let pytest find the statement of a traceback line once per source text, not once per failure.

    To show a failing line pytest parses the whole file and walks its syntax tree, for every
    frame of every failure (``getstatementrange_ast``, cached within one failure only). A
    provider that fails many clauses fails them through the same frames of the contract, and
    that parsing was most of such a run's time. The answer depends on the source text and the
    line alone, so pytest prints the same tracebacks; where pytest has moved the function,
    nothing changes. Installed once per process; a no-op after that.
    """
    from _pytest._code import code

    find = getattr(code, _PYTESTS_NAME, None)
    if find is None or find is _statement_range:
        return
    _pytests_own[:] = [find]
    setattr(code, _PYTESTS_NAME, _statement_range)  # code.py calls it by this global name


def _statement_range(lineno: int, source: Any, assertion: bool = False, astnode: Any = None) -> Any:
    per_line = _found.setdefault("\n".join(source.lines), {})
    if (lineno, assertion) not in per_line:
        per_line[lineno, assertion] = _pytests_own[0](lineno, source, assertion=assertion, astnode=astnode)
    return per_line[lineno, assertion]
