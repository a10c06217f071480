"""The verdict: one status per (provider, clause), as JSON and as a terminal table.

A clause with several cases already folds them into one test outcome, so the verdict
only merges the phases of one test (setup, call, teardown): the worst status wins.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "ClauseResult",
    "Verdict",
    "must_counts",
    "verdict_badge",
    "verdict_from_dict",
    "verdict_markdown",
]

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
_MESSAGE_LIMIT = 2000


@dataclass
class ClauseResult:
    status: str
    level: str
    message: str = ""


class Verdict:
    """Clause results keyed by provider id, then clause id, in the order they arrive."""

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, ClauseResult]] = {}

    def add(self, provider: str, clause_id: str, level: str, status: str, message: str = "") -> None:
        clauses = self.providers.setdefault(provider, {})
        current = clauses.get(clause_id)
        if (
            current is None
            or _RANK[status] > _RANK[current.status]
            or (_RANK[status] == _RANK[current.status] and message and not current.message)
        ):
            clauses[clause_id] = ClauseResult(status, level, message[:_MESSAGE_LIMIT])

    def ordered(self, providers: list[str], clauses: list[str]) -> Verdict:
        """The same results in the given provider and clause order (results arrive in any
        order under pytest-xdist); anything not named keeps its arrival order, last."""

        def rank(order: list[str]) -> dict[str, int]:
            return {name: index for index, name in enumerate(order)}

        provider_rank, clause_rank = rank(providers), rank(clauses)
        result = Verdict()
        for provider in sorted(self.providers, key=lambda p: provider_rank.get(p, len(providers))):
            found = self.providers[provider]
            result.providers[provider] = {
                cid: found[cid] for cid in sorted(found, key=lambda c: clause_rank.get(c, len(clauses)))
            }
        return result

    def to_dict(self, kit_version: str) -> dict[str, Any]:
        return {
            "kit_version": kit_version,
            "providers": [
                {"provider": provider, "clauses": {cid: asdict(result) for cid, result in clauses.items()}}
                for provider, clauses in self.providers.items()
            ],
        }

    def clause_ids(self) -> list[str]:
        ids: list[str] = []
        for clauses in self.providers.values():
            ids.extend(cid for cid in clauses if cid not in ids)
        return ids

    def gate_failures(self, strict: bool) -> list[tuple[str, str]]:
        """(provider, clause) pairs that fail the gate: must clauses, and should ones when strict."""
        return [
            (provider, cid)
            for provider, clauses in self.providers.items()
            for cid, result in clauses.items()
            if result.status in ("failed", "error") and (result.level == "must" or strict)
        ]

    def table_lines(self) -> list[str]:
        """A clause x provider table, one short column per provider."""
        providers = list(self.providers)
        if not providers:
            return []
        ids = self.clause_ids()
        width = max(len(cid) for cid in ids) + len(" (should)")
        header = "clause".ljust(width) + "".join(f"  [{n}]".ljust(10) for n in range(1, len(providers) + 1))
        lines = [header]
        for cid in ids:
            level = next(self.providers[p][cid].level for p in providers if cid in self.providers[p])
            label = cid if level == "must" else f"{cid} (should)"
            cells = [self.providers[p].get(cid) for p in providers]
            lines.append(label.ljust(width) + "".join(f"  {c.status if c else '-'}".ljust(10) for c in cells))
        lines.extend(f"[{n}] {provider}" for n, provider in enumerate(providers, 1))
        return lines


def dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# -- views of a JSON verdict (the dict that ``Verdict.to_dict`` returns) ----------------

_FAILING = ("failed", "error")
_MARKDOWN_STATUS = {"passed": "✅ passed", "failed": "❌ failed", "error": "💥 error", "skipped": "⏭️ skipped"}


def verdict_from_dict(data: dict[str, Any]) -> Verdict:
    """The :class:`Verdict` a JSON verdict was written from."""
    verdict = Verdict()
    for entry in data.get("providers", []):
        clauses = verdict.providers.setdefault(entry["provider"], {})
        for cid, result in entry.get("clauses", {}).items():
            clauses[cid] = ClauseResult(result["status"], result["level"], result.get("message", ""))
    return verdict


def must_counts(data: dict[str, Any]) -> tuple[int, int]:
    """(passed, total) must-level results, counted over every provider."""
    results = [r for _, _, r in _results(data) if r["level"] == "must"]
    return sum(r["status"] == "passed" for r in results), len(results)


def verdict_badge(data: dict[str, Any]) -> dict[str, Any]:
    """A shields.io endpoint badge: passed/total must clauses, coloured by the worst outcome.

    Red when a must clause failed or errored; yellow when every must clause ran without
    failing but a should clause failed or errored, or a must clause was skipped; bright
    green otherwise; light grey when the verdict holds no clause at all.
    """
    passed, total = must_counts(data)
    results = [r for _, _, r in _results(data)]
    if not results:
        return _badge("no clauses", "lightgrey")
    if any(r["level"] == "must" and r["status"] in _FAILING for r in results):
        color = "red"
    elif any(r["status"] in _FAILING for r in results) or passed < total:
        color = "yellow"
    else:
        color = "brightgreen"
    return _badge(f"{passed}/{total} must", color)


def _badge(message: str, color: str) -> dict[str, Any]:
    return {"schemaVersion": 1, "label": "conformance", "message": message, "color": color}


def verdict_markdown(data: dict[str, Any], *, strict: bool = False) -> str:
    """A Markdown summary (for ``$GITHUB_STEP_SUMMARY``): gate line, clause table, failures."""
    verdict = verdict_from_dict(data)
    lines = ["# LAIOS conformance", "", _markdown_gate(data, verdict, strict), ""]
    lines += _markdown_table(verdict)
    lines += _markdown_failures(data)
    lines.append(f"<sub>laios-conformance {data.get('kit_version', '?')}</sub>")
    return "\n".join(lines) + "\n"


def _markdown_gate(data: dict[str, Any], verdict: Verdict, strict: bool) -> str:
    passed, total = must_counts(data)
    failures = verdict.gate_failures(strict)
    counts = f"{passed}/{total} must clauses passed" + (" (strict: should clauses gate too)" if strict else "")
    if not verdict.providers:
        return "❌ **gate failed**: the verdict holds no provider"
    if failures:
        named = ", ".join(f"`{cid}` ({_md_text(provider)})" for provider, cid in failures)
        return f"❌ **gate failed**: {counts}; failing: {named}"
    return f"✅ **gate passed**: {counts}"


def _markdown_table(verdict: Verdict) -> list[str]:
    providers = list(verdict.providers)
    if not providers:
        return []
    lines = [
        "| clause | level | " + " | ".join(f"`{_md_cell(p)}`" for p in providers) + " |",
        "|---|---|" + "---|" * len(providers),
    ]
    for cid in verdict.clause_ids():
        level = next(verdict.providers[p][cid].level for p in providers if cid in verdict.providers[p])
        cells = [verdict.providers[p].get(cid) for p in providers]
        statuses = [_MARKDOWN_STATUS.get(c.status, c.status) if c else "–" for c in cells]
        lines.append(f"| `{cid}` | {level} | " + " | ".join(statuses) + " |")
    return lines + [""]


def _markdown_failures(data: dict[str, Any]) -> list[str]:
    failing = [(p, cid, r) for p, cid, r in _results(data) if r["status"] in _FAILING]
    if not failing:
        return []
    lines = ["## Failures", ""]
    for provider, cid, result in failing:
        lines.append(f"### `{cid}` ({result['level']}, {result['status']}): {_md_text(provider)}")
        lines += ["", *_fenced(result.get("message") or "(no message)"), ""]
    return lines


def _fenced(text: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", text.rstrip("\n"), fence]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def _md_text(text: str) -> str:
    return _md_cell(text).replace("*", "\\*").replace("_", "\\_")


def _results(data: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (entry["provider"], cid, result)
        for entry in data.get("providers", [])
        for cid, result in entry.get("clauses", {}).items()
    ]
