"""The verdict: one status per (provider, clause), its gate, and its views (JSON, table, Markdown, badge).

Every catalogued clause has a result for every provider, from the start of the run: it
is ``not-run`` until a report says otherwise. A clause with several cases already folds
them into one test outcome, so the verdict only merges the phases of one test (setup,
call, teardown): the worst status wins. The JSON form is described by the JSON Schema
shipped beside this module (``verdict.schema.json``, :data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "ClauseResult",
    "Gate",
    "RootCause",
    "Verdict",
    "dump_json",
    "must_counts",
    "verdict_badge",
    "verdict_from_dict",
    "verdict_markdown",
    "verdict_schema",
    "worse_status",
]

SCHEMA_VERSION = 1
STATUSES = ("passed", "failed", "error", "skipped", "not-run")
_RANK = {"not-run": -1, "passed": 0, "skipped": 1, "failed": 2, "error": 3}
_FAILING = ("failed", "error")
# A failing clause lists every case that failed (no-secret-leak can list dozens), so the
# limit is generous; it only bounds what a provider's enormous exception text can add.
MESSAGE_LIMIT = 16_000
ROOT_CAUSE_MIN_CLAUSES = 3


def _bounded(message: str) -> str:
    """``message``, or its first :data:`MESSAGE_LIMIT` characters and how much was left out."""
    if len(message) <= MESSAGE_LIMIT:
        return message
    left_out = len(message) - MESSAGE_LIMIT
    return f"{message[:MESSAGE_LIMIT]}... ({left_out} more characters: pytest's failure report has them all)"


def worse_status(status: str, than: str) -> bool:
    """Whether ``status`` is a worse outcome of a clause than ``than``."""
    return _RANK[status] > _RANK[than]


@dataclass
class ClauseResult:
    status: str
    level: str
    message: str = ""
    evidence: dict[str, Any] | None = None
    # The exception the provider raised that decided the result: type, first message line, where.
    exception: dict[str, str] | None = None


@dataclass
class RootCause:
    """One exception, raised at one place in the provider, behind several clauses' results."""

    provider: str
    exception: str
    message: str
    where: str
    clauses: list[str]

    @property
    def line(self) -> str:
        return (
            f"likely root cause: {self.exception}: {self.message} (raised at {self.where}) explains "
            f"{len(self.clauses)} clauses of {self.provider}: {', '.join(self.clauses)}"
        )


@dataclass
class Gate:
    """Whether a verdict lets the provider through, and the one line that says why."""

    result: str  # "passed", "failed" or "partial"
    failing: list[tuple[str, str]] = field(default_factory=list)
    not_run: list[tuple[str, str]] = field(default_factory=list)
    allow_partial: bool = False
    why_not_run: list[str] = field(default_factory=list)  # the distinct reasons, in order
    lint: list[str] = field(default_factory=list)  # cassette lint findings of the recording
    unjudged: list[str] = field(default_factory=list)  # providers not one clause was judged for
    providers: list[str] = field(default_factory=list)  # every provider of the verdict
    not_judged: list[tuple[str, str]] = field(default_factory=list)  # skipped, the kit unable to judge them

    @property
    def passed(self) -> bool:
        return self.result != "failed"

    def reason(self, short: bool = True) -> str:
        """The failing clauses, then the clauses that did not run and what to do about them.

        ``short`` names providers by class, unless two of them share a class name."""
        named = {p for p, _ in self.failing + self.not_run + self.not_judged} | set(self.unjudged) | set(self.providers)
        short = short and len({_short(p, True) for p in named}) == len(named)
        parts = []
        if self.unjudged:
            parts.append(f"no clause was judged for {', '.join(_short(p, short) for p in self.unjudged)}")
        if self.lint:
            parts.append(f"cassette lint: {len(self.lint)} finding(s)")
        if self.failing:
            parts.append("failing: " + ", ".join(f"{cid} [{_short(p, short)}]" for p, cid in self.failing))
        if self.not_run:
            ids, providers = _named(self.not_run, short)
            if not self.allow_partial:
                advice = (
                    "run them all (no -k, -m, --deselect, -x), or pass --laios-allow-partial to accept a partial "
                    "verdict"
                )
            elif self.unjudged:
                advice = "--laios-allow-partial accepts clauses left out, never a provider with no clause judged"
            else:
                advice = "accepted by --laios-allow-partial"
            why = "; ".join(self.why_not_run)
            parts.append(
                f"not run: {len(ids)} gating clause(s) for {', '.join(providers)} ({why}): {', '.join(ids)}; {advice}"
            )
        if self.not_judged:
            ids, providers = _named(self.not_judged, short)
            parts.append(
                f"not judged: {len(ids)} gating clause(s) for {', '.join(providers)}, skipped because the kit "
                f"could not judge them (each message says why): {', '.join(ids)}"
            )
        return "; ".join(parts)


def _named(pairs: list[tuple[str, str]], short: bool) -> tuple[list[str], list[str]]:
    """The clause ids and the provider names of (provider, clause) pairs, each once, in order."""
    return list(dict.fromkeys(cid for _, cid in pairs)), list(dict.fromkeys(_short(p, short) for p, _ in pairs))


def _short(provider: str, short: bool) -> str:
    return (provider.rpartition(":")[2] or provider) if short else provider


class Verdict:
    """Clause results keyed by provider id, then clause id."""

    def __init__(self, strict: bool = False, allow_partial: bool = False) -> None:
        self.providers: dict[str, dict[str, ClauseResult]] = {}
        self.strict = strict
        self.allow_partial = allow_partial
        self.stored_root_causes: list[RootCause] | None = None
        # What cassette lint found in the cassettes this run recorded: each fails the gate.
        self.lint: list[str] = []

    def expect(self, provider: str, clause_id: str, level: str, reason: str) -> None:
        """A catalogued clause, ``not-run`` until a result arrives."""
        self.providers.setdefault(provider, {}).setdefault(clause_id, ClauseResult("not-run", level, reason))

    def mark_not_run(self, provider: str, clause_id: str, reason: str) -> None:
        """Say why a clause that is still ``not-run`` did not run."""
        result = self.providers.get(provider, {}).get(clause_id)
        if result is not None and result.status == "not-run":
            result.message = reason

    def add(
        self,
        provider: str,
        clause_id: str,
        level: str,
        status: str,
        message: str = "",
        exception: dict[str, str] | None = None,
        supersede: bool = False,
    ) -> None:
        """The clause's result, unless it already has a worse one. ``supersede``: a later
        attempt's result of the same clause (run again) replaces an earlier one as bad."""
        clauses = self.providers.setdefault(provider, {})
        current = clauses.get(clause_id)
        if (
            current is None
            or current.status == "not-run"
            or _RANK[status] > _RANK[current.status]
            or (_RANK[status] == _RANK[current.status] and ((message and not current.message) or supersede))
        ):
            evidence = current.evidence if current else None
            clauses[clause_id] = ClauseResult(status, level, _bounded(message), evidence, exception)

    def set_evidence(self, provider: str, clause_id: str, evidence: dict[str, Any] | None) -> None:
        result = self.providers.get(provider, {}).get(clause_id)
        if result is not None and result.status != "not-run":
            result.evidence = evidence

    def ordered(self, providers: list[str], clauses: list[str]) -> Verdict:
        """The same results in the given provider and clause order (results arrive in any
        order under pytest-xdist); anything not named keeps its arrival order, last."""

        def rank(order: list[str]) -> dict[str, int]:
            return {name: index for index, name in enumerate(order)}

        provider_rank, clause_rank = rank(providers), rank(clauses)
        result = Verdict(self.strict, self.allow_partial)
        result.lint = list(self.lint)
        for provider in sorted(self.providers, key=lambda p: provider_rank.get(p, len(providers))):
            found = self.providers[provider]
            result.providers[provider] = {
                cid: found[cid] for cid in sorted(found, key=lambda c: clause_rank.get(c, len(clauses)))
            }
        return result

    # -- judging ------------------------------------------------------------------------

    def _gating(self, result: ClauseResult) -> bool:
        return result.level == "must" or self.strict

    def gate_failures(self, strict: bool | None = None) -> list[tuple[str, str]]:
        """(provider, clause) pairs that failed or errored at a gating level."""
        strict = self.strict if strict is None else strict
        return [
            (provider, cid)
            for provider, clauses in self.providers.items()
            for cid, result in clauses.items()
            if result.status in _FAILING and (result.level == "must" or strict)
        ]

    def not_gating_failures(self) -> list[tuple[str, str, ClauseResult]]:
        """(provider, clause, result) of the clauses that failed or errored at a level that
        does not gate the run (*should*, without ``--laios-strict``): reported, not gating."""
        return [
            (provider, cid, result)
            for provider, clauses in self.providers.items()
            for cid, result in clauses.items()
            if result.status in _FAILING and not self._gating(result)
        ]

    def not_judged(self) -> list[tuple[str, str]]:
        """(provider, clause) pairs at a gating level that the kit could not judge: skipped with
        a message that starts ``not judged`` (``clauses.NOT_JUDGED``), not as not applicable."""
        return [
            (provider, cid)
            for provider, clauses in self.providers.items()
            for cid, result in clauses.items()
            if result.status == "skipped" and result.message.startswith("not judged") and self._gating(result)
        ]

    def not_run(self) -> list[tuple[str, str]]:
        """(provider, clause) pairs at a gating level that never ran."""
        return [
            (provider, cid)
            for provider, clauses in self.providers.items()
            for cid, result in clauses.items()
            if result.status == "not-run" and self._gating(result)
        ]

    @property
    def complete(self) -> bool:
        """Every clause ran for every provider."""
        return all(r.status != "not-run" for clauses in self.providers.values() for r in clauses.values())

    def gate(self) -> Gate:
        failing, not_run = self.gate_failures(), self.not_run()
        # --laios-allow-partial accepts a run that left clauses out, never one that judged none.
        unjudged = [p for p, clauses in self.providers.items() if all(r.status == "not-run" for r in clauses.values())]
        if not self.providers or failing or self.lint or unjudged or (not_run and not self.allow_partial):
            result = "failed"
        elif not_run:
            result = "partial"
        else:
            result = "passed"
        why = list(dict.fromkeys(self.providers[p][cid].message for p, cid in not_run))
        return Gate(
            result,
            failing,
            not_run,
            self.allow_partial,
            why,
            list(self.lint),
            unjudged,
            list(self.providers),
            self.not_judged(),
        )

    def root_causes(self) -> list[RootCause]:
        """Exceptions raised at one place in a provider behind 3 or more failing clauses."""
        if self.stored_root_causes is not None:
            return self.stored_root_causes
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for provider, clauses in self.providers.items():
            for cid, result in clauses.items():
                exc = result.exception
                if result.status not in _FAILING or not exc:
                    continue
                group = groups.setdefault((provider, exc["type"], exc["message"]), {"where": [], "clauses": []})
                group["where"].append(exc["where"])
                group["clauses"].append(cid)
        causes = []
        for (provider, exception, message), group in groups.items():
            if len(group["clauses"]) >= ROOT_CAUSE_MIN_CLAUSES:
                where = max(set(group["where"]), key=group["where"].count)
                causes.append(RootCause(provider, exception, message, where, group["clauses"]))
        return causes

    # -- views --------------------------------------------------------------------------

    def to_dict(self, kit_version: str) -> dict[str, Any]:
        gate = self.gate()
        return {
            "schema_version": SCHEMA_VERSION,
            "kit_version": kit_version,
            "verdict": gate.result,
            "complete": self.complete,
            "strict": self.strict,
            "allow_partial": self.allow_partial,
            "gate_reason": gate.reason(short=False),
            "root_causes": [dict(asdict(cause), line=cause.line) for cause in self.root_causes()],
            "cassette_lint": list(self.lint),
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

    def gate_line(self) -> str:
        """``gate: passed``, ``gate: partial (...)`` or ``gate: FAILED (...)``, on one line."""
        gate = self.gate()
        if not self.providers:
            return "gate: FAILED (no provider was judged)"
        label = {"passed": "passed", "partial": "partial", "failed": "FAILED"}[gate.result]
        reason = gate.reason()
        return f"gate: {label} ({reason})" if reason else f"gate: {label}"


def dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def verdict_schema() -> dict[str, Any]:
    """The JSON Schema a JSON verdict follows (shipped as ``verdict.schema.json``)."""
    text = resources.files("laios_conformance").joinpath("verdict.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# -- views of a JSON verdict (the dict that ``Verdict.to_dict`` returns) ----------------

_MARKDOWN_STATUS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "error": "💥 error",
    "skipped": "⏭️ skipped",
    "not-run": "⬜ not run",
}


def verdict_from_dict(data: dict[str, Any], *, strict: bool | None = None) -> Verdict:
    """The :class:`Verdict` a JSON verdict was written from."""
    verdict = Verdict(
        bool(data.get("strict", False)) if strict is None else strict, bool(data.get("allow_partial", False))
    )
    for entry in data.get("providers", []):
        clauses = verdict.providers.setdefault(entry["provider"], {})
        for cid, result in entry.get("clauses", {}).items():
            clauses[cid] = ClauseResult(
                result["status"],
                result["level"],
                result.get("message", ""),
                result.get("evidence"),
                result.get("exception"),
            )
    verdict.lint = [str(finding) for finding in data.get("cassette_lint", [])]
    if "root_causes" in data:
        verdict.stored_root_causes = [
            RootCause(c["provider"], c["exception"], c["message"], c["where"], list(c["clauses"]))
            for c in data["root_causes"]
        ]
    return verdict


def must_counts(data: dict[str, Any]) -> tuple[int, int]:
    """(passed, total) must-level results, counted over every provider."""
    results = [r for _, _, r in _results(data) if r["level"] == "must"]
    return sum(r["status"] == "passed" for r in results), len(results)


def verdict_badge(data: dict[str, Any]) -> dict[str, Any]:
    """A shields.io endpoint badge: passed/total must clauses, coloured by the worst outcome.

    Red when the gate failed (a must clause failed, errored or did not run); yellow when it
    passed only partially (``partial`` in the message), or a should clause failed or
    errored, or a must clause was skipped; bright green otherwise; light grey when the
    verdict holds no clause at all.
    """
    passed, total = must_counts(data)
    results = [r for _, _, r in _results(data)]
    if not results:
        return _badge("no clauses", "lightgrey")
    gate = verdict_from_dict(data).gate()
    message = f"{passed}/{total} must"
    if gate.result == "partial":
        return _badge(f"partial: {message}", "yellow")
    if gate.result == "failed":
        return _badge(message, "red")
    if any(r["status"] in _FAILING for r in results) or passed < total:
        return _badge(message, "yellow")
    return _badge(message, "brightgreen")


def _badge(message: str, color: str) -> dict[str, Any]:
    return {"schemaVersion": 1, "label": "conformance", "message": message, "color": color}


def verdict_markdown(data: dict[str, Any], *, strict: bool | None = None) -> str:
    """A Markdown summary (for ``$GITHUB_STEP_SUMMARY``): gate line, root causes, clause table, failures."""
    verdict = verdict_from_dict(data, strict=strict)
    lines = ["# LAIOS conformance", "", _markdown_gate(data, verdict), ""]
    if verdict.lint:
        lines += [f"- cassette lint: {_md_text(finding)}" for finding in verdict.lint] + [""]
    causes = verdict.root_causes()
    if causes:
        lines += [f"- **{_md_text(cause.line)}**" for cause in causes] + [""]
    lines += _markdown_table(verdict)
    lines += _markdown_failures(data)
    lines.append(f"<sub>laios-conformance {data.get('kit_version', '?')}</sub>")
    return "\n".join(lines) + "\n"


def _markdown_gate(data: dict[str, Any], verdict: Verdict) -> str:
    passed, total = must_counts(data)
    gate = verdict.gate()
    counts = f"{passed}/{total} must clauses passed" + (" (strict: should clauses gate too)" if verdict.strict else "")
    if not verdict.providers:
        return "❌ **gate failed**: the verdict holds no provider"
    reason = _md_text(gate.reason(short=False))
    if gate.result == "failed":
        return f"❌ **gate failed**: {counts}; {reason}"
    if gate.result == "partial":
        return f"⚠️ **gate passed, partial verdict**: {counts}; {reason}"
    return f"✅ **gate passed**: {counts}" + (f"; {reason}" if reason else "")


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
        statuses = [_MARKDOWN_STATUS.get(c.status, c.status) + _evidence_mark(c) if c else "–" for c in cells]
        lines.append(f"| `{cid}` | {level} | " + " | ".join(statuses) + " |")
    lines += ["", *_markdown_evidence(verdict)]
    return lines + [""]


def _evidence_mark(result: ClauseResult) -> str:
    kind = (result.evidence or {}).get("kind")
    return {"replayed": " ▶", "recorded": " ⏺"}.get(str(kind), "")


def _markdown_evidence(verdict: Verdict) -> list[str]:
    """Which cassettes the verdict was replayed from (or recorded into), and when they were recorded."""
    rows = []
    for provider, clauses in verdict.providers.items():
        for cid, result in clauses.items():
            evidence = result.evidence or {}
            if evidence.get("kind") in ("replayed", "recorded"):
                rows.append(
                    f"| `{cid}` | `{_md_cell(provider)}` | {evidence['kind']} | `{_md_cell(evidence['cassette'])}` "
                    f"| {evidence.get('recorded_at') or 'unknown'} | `{str(evidence['sha256'])[:12]}` |"
                )
    synthetic = sum(
        (r.evidence or {}).get("kind") == "synthetic" for c in verdict.providers.values() for r in c.values()
    )
    if not rows and not synthetic:
        return []
    lines = [
        "<details><summary>Evidence: ▶ replayed from a cassette, ⏺ recorded in this run; "
        f"{synthetic} result(s) synthetic (every response made by the kit)</summary>",
        "",
    ]
    if rows:
        lines += [
            "| clause | provider | evidence | cassette | recorded at | sha256 |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    return [*lines, "", "</details>"]


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
