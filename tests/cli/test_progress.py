"""The progress plugin counts one step per clause test and draws on a terminal stream."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from laios_conformance._cli.progress import ProgressPlugin
from tests.conftest import GOOD


class FakeTerminal(io.StringIO):
    """Collects what the bar draws; claims to be a terminal; survives close()."""

    def isatty(self) -> bool:
        return True

    def close(self) -> None:
        self.seen = self.getvalue()


def test_progress_advances_per_clause(pytester: pytest.Pytester, tmp_path: Path) -> None:
    empty = tmp_path / "no-cassettes"
    empty.mkdir()
    stream = FakeTerminal()
    plugin = ProgressPlugin(stream)
    result = pytester.runpytest_inprocess(
        f"--laios-provider={GOOD}",
        f"--laios-cassette-dir={empty}",
        "-p",
        "no:cacheprovider",
        "-k",
        "returns_response or timeout_set",
        plugins=[plugin],
    )
    result.assert_outcomes(passed=1, errors=1)  # returns-response has no cassette: its setup fails
    assert len(plugin.labels) == 2 and plugin.done == set(plugin.labels)
    assert "timeout-set [GoodOpenAIStyle]" in stream.seen and "2/2" in stream.seen
    assert plugin.progress is None and plugin.stream is None


def test_silent_without_a_terminal() -> None:
    plugin = ProgressPlugin.for_terminal(enabled=False)
    assert plugin.stream is None
    plugin.close()
