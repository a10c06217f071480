"""Streaming and fidelity clauses proven both ways, one defective provider per bad habit.

Each defective provider must fail exactly the clauses listed for it and pass every other
clause; correct OpenAI-, Anthropic- and Ollama-style providers pass them all.
"""

from __future__ import annotations

import pytest

from laios_conformance.clauses import all_clauses
from tests.conftest import GOOD, NON_STREAMING

ALL = {c.id for c in all_clauses()}
OPT_IN = {"cassettes-fresh"}  # skipped unless --laios-max-cassette-age is given
D = "tests.providers.defective:"

DEFECTS = {
    "DropsLastDelta": {"stream-join", "stream-rechunk", "content-fidelity", "stream-incremental"},
    "StripsDeltas": {"stream-join", "stream-rechunk", "content-fidelity"},
    "DecodesEachRead": {"stream-rechunk"},
    "BuffersWholeStream": {"stream-incremental"},
    "SwallowsDisconnect": {"stream-raises"},
    "NeverClosesResponse": {"stream-closes"},
    "FormatsJsonByHand": {"message-fidelity"},
    "StripsReply": {"content-fidelity"},
    "KeepsAnswerOnSelf": {"thread-safety"},
}


def test_correct_provider_passes_every_clause(run_kit) -> None:
    run = run_kit(GOOD)
    assert set(run.statuses()) == ALL
    assert {c: s for c, s in run.statuses().items() if s != "passed"} == {c: "skipped" for c in OPT_IN}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defective_provider_fails_exactly_its_clauses(run_kit, name: str) -> None:
    run = run_kit(D + name)
    failed = {c for c, s in run.statuses().items() if s != "passed" and c not in OPT_IN}
    assert failed == DEFECTS[name], run.report
    assert {run.statuses()[c] for c in failed} == {"failed"}


def test_failures_show_the_minimal_example(run_kit) -> None:
    run = run_kit(D + "DecodesEachRead", "-k", "rechunk")
    assert "stream-rechunk" in run.message("stream-rechunk")
    assert "cuts inside multi-byte UTF-8 characters" in run.message("stream-rechunk") or \
        "1-byte pieces" in run.message("stream-rechunk")
    run = run_kit(D + "FormatsJsonByHand", "-k", "message_fidelity")
    assert "minimal counter-example" in run.message("message-fidelity")


def test_non_streaming_provider_is_judged_on_join_and_raises_only(run_kit) -> None:
    run = run_kit(NON_STREAMING)
    statuses = run.statuses()
    for clause in ("stream-incremental", "stream-rechunk", "stream-end-marker"):
        assert statuses[clause] == "skipped"
        assert run.message(clause).startswith("not applicable: the provider does not stream")
    assert statuses["stream-join"] == statuses["stream-raises"] == "passed"
    assert "not applicable" in run.message("stream-raises")
    not_passed = {c for c, s in statuses.items() if s != "passed"}
    assert not_passed == {"stream-incremental", "stream-rechunk", "stream-end-marker"} | OPT_IN


def test_duck_typed_provider_passes_without_subclassing(run_kit) -> None:
    """Clauses check behaviour structurally: no LLMClient base class, no LLMResponse needed."""
    run = run_kit("tests.providers.duck:DuckTyped")
    assert {c: s for c, s in run.statuses().items() if s != "passed"} == {c: "skipped" for c in OPT_IN}
