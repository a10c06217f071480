"""A rich progress bar over the collected clause tests, fed by pytest hooks.

It draws only from inside hooks (``auto_refresh=False``), which pytest runs between test
phases with output capture suspended, and it writes to a duplicate of the terminal's file
descriptor, so pytest's capturing never swallows or records it.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

import pytest

from ..clauses import clause_of


class ProgressPlugin:
    """Advances one step per clause test: its call phase, or a setup that failed or skipped."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.labels: dict[str, str] = {}
        self.done: set[str] = set()
        self.progress: Any = None
        self.task: Any = None

    @classmethod
    def for_terminal(cls, enabled: bool) -> ProgressPlugin:
        """A plugin that draws on the real terminal, or a silent one when ``enabled`` is false."""
        return cls(_terminal_stream() if enabled else None)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            found = clause_of(item)
            if found is not None:
                self.labels[item.nodeid] = _label(item, found[0])
        if self.stream is not None and self.labels:
            self._start(len(self.labels))

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if self.progress is not None and nodeid in self.labels:
            self.progress.update(self.task, description=self.labels[nodeid])
            self.progress.refresh()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.labels or report.nodeid in self.done:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.done.add(report.nodeid)
            if self.progress is not None:
                self.progress.advance(self.task)
                self.progress.refresh()

    def pytest_sessionfinish(self) -> None:
        self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(file=self.stream, stderr=False)
        self.progress = Progress(
            TextColumn("[bold]{task.description}", table_column=None),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.progress.add_task("collecting", total=total)
        self.progress.start()
        self.progress.refresh()


def _label(item: pytest.Item, clause_id: str) -> str:
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get("laios_provider_spec") if callspec else None
    name = getattr(spec, "class_name", "") or ""
    return f"{clause_id} [{name}]" if name else clause_id


def _terminal_stream() -> TextIO | None:
    try:
        return os.fdopen(os.dup(1), "w", encoding="utf-8", errors="replace")
    except OSError:
        return None
