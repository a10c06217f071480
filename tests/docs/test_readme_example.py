"""The README's example of a partial run shows what the kit prints today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_partial_run_example_has_todays_counts(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--laios-provider=reference_providers.openai:OpenAIClient",
        f"--laios-cassette-dir={Path(__file__).parents[2] / 'cassettes'}",
        "-k",
        "stream_join",
        "-p",
        "no:cacheprovider",
    )
    gate = next(line for line in result.outlines if line.startswith("gate: FAILED"))
    not_run = re.search(r"not run: (\d+) gating clause\(s\)", gate)
    assert not_run, gate
    assert f"not run: {not_run.group(1)} gating clause(s)" in README
    assert f"`partial: 1/{int(not_run.group(1)) + 1} must`" in README
    assert "the one clause that ran passes" in README
