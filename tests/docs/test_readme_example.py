"""The examples of a partial run in the README and in docs/verdicts.md show what the kit prints today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("page", "selection", "ran", "says"),
    [
        ("README.md", "stream_join", 1, "the one clause that ran passes"),
        ("docs/verdicts.md", "stream_join or returns_response", 2, "the two clauses that ran passed"),
    ],
)
def test_the_partial_run_example_has_todays_counts(
    pytester: pytest.Pytester, page: str, selection: str, ran: int, says: str
) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    result = pytester.runpytest_inprocess(
        "--laios-provider=reference_providers.openai:OpenAIClient",
        f"--laios-cassette-dir={ROOT / 'cassettes'}",
        "-k",
        selection,
        "-p",
        "no:cacheprovider",
    )
    gate = next(line for line in result.outlines if line.startswith("gate: FAILED"))
    actual = _not_run(gate)
    shown = _not_run(next(line for line in text.splitlines() if line.startswith("gate: FAILED")))
    assert f"not run: {len(actual)} gating clause(s)" in text
    assert f"`partial: {ran}/{len(actual) + ran} must`" in text
    assert says in text
    named = [name for name in shown if name != "..."]
    assert set(named) <= set(actual) and shown[0] == actual[0], (shown, actual)
    assert shown[-1] in ("...", actual[-1]), (shown, actual)


def _not_run(gate: str) -> list[str]:
    """The clauses a gate line names as not run, "..." where a page shortened the list."""
    found = re.search(r"\(deselected by -k, -m or --deselect\): (.*?); ", gate)
    assert found, gate
    return found.group(1).split(", ")
