"""The terminal view of a verdict: a clause x provider table and a one-line gate verdict."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from ..report import ClauseResult, Verdict, must_counts

STYLES = {"passed": "green", "failed": "bold red", "error": "bold magenta", "skipped": "yellow", "not-run": "dim"}
HEADLINE_CHARS = 200


def verdict_table(verdict: Verdict) -> Table:
    providers = list(verdict.providers)
    table = Table(title="LAIOS conformance", title_justify="left", show_lines=False)
    table.add_column("clause", no_wrap=True)
    table.add_column("level")
    for name in short_names(providers):
        table.add_column(Text(name), overflow="fold")
    for cid in verdict.clause_ids():
        level = next(verdict.providers[p][cid].level for p in providers if cid in verdict.providers[p])
        cells = [_cell(verdict.providers[p].get(cid)) for p in providers]
        table.add_row(Text(cid), Text(level, style="bold" if level == "must" else "dim"), *cells)
    return table


def _cell(result: ClauseResult | None) -> Text:
    if result is None:
        return Text("-", style="dim")
    text = Text(result.status, style=STYLES.get(result.status, ""))
    if result.status != "passed" and result.message:
        text.append("\n" + headline(result.message), style="dim")
    return text


def headline(message: str) -> str:
    """The first line of a message (and the first case, when that line only introduces a list)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0] + (" " + lines[1] if lines[0].endswith(":") and len(lines) > 1 else "")
    return first if len(first) <= HEADLINE_CHARS else first[: HEADLINE_CHARS - 1] + "…"


def short_names(providers: list[str]) -> list[str]:
    """Column headers: the part after ':' when that is unique, else the full target."""
    short = [p.rpartition(":")[2] or p for p in providers]
    return short if len(set(short)) == len(short) else list(providers)


def root_cause_lines(verdict: Verdict) -> list[Text]:
    """One ``likely root cause:`` line per exception behind several failures: read these first."""
    return [Text(cause.line, style="bold red") for cause in verdict.root_causes()]


def gate_line(data: dict[str, Any], verdict: Verdict) -> Text:
    gate = verdict.gate()
    passed, total = must_counts(data)
    counts = f"{passed}/{total} must clauses passed"
    if not verdict.providers:
        return Text("gate: FAILED (no clause was judged)", style="bold red")
    reason = gate.reason()
    if gate.result == "failed":
        return Text(f"gate: FAILED ({counts}; {reason})", style="bold red")
    if gate.result == "partial":
        return Text(f"gate: partial ({counts}; {reason})", style="bold yellow")
    others = sum(r.status in ("failed", "error") for c in verdict.providers.values() for r in c.values())
    note = f"; {others} should clause(s) failed, not gating (--strict makes them gate)" if others else ""
    return Text(f"gate: passed ({counts}{note})", style="bold green")
