"""The kit finds a traceback line's statement once per source text, and finds the same one."""

from __future__ import annotations

import inspect

from _pytest._code import code
from _pytest._code.source import Source

import laios_conformance.contract.test_streaming as contract_module
from laios_conformance import _tracebacks


def test_each_statement_range_is_pytests_own_and_is_found_once(monkeypatch) -> None:
    _tracebacks.remember_statement_ranges()
    assert code.getstatementrange_ast is _tracebacks._statement_range
    pytests_own = _tracebacks._pytests_own[0]
    calls: list[int] = []

    def counted(lineno, source, assertion=False, astnode=None):
        calls.append(lineno)
        return pytests_own(lineno, source, assertion=assertion, astnode=astnode)

    monkeypatch.setattr(_tracebacks, "_pytests_own", [counted])
    monkeypatch.setattr(_tracebacks, "_found", {})
    source = Source(inspect.getsource(contract_module))
    lines = range(0, len(source.lines), 37)  # each line is a parse of the whole module: a sample
    first = [code.getstatementrange_ast(n, source) for n in lines]
    again = [code.getstatementrange_ast(n, Source(inspect.getsource(contract_module))) for n in lines]
    assert [r[1:] for r in first] == [pytests_own(n, source)[1:] for n in lines]
    assert [r[1:] for r in again] == [r[1:] for r in first]
    assert calls == list(lines)  # the second pass parsed nothing


def test_installing_twice_keeps_pytests_own_function() -> None:
    _tracebacks.remember_statement_ranges()
    own = _tracebacks._pytests_own[0]
    _tracebacks.remember_statement_ranges()
    assert _tracebacks._pytests_own == [own]
    assert own is not _tracebacks._statement_range
