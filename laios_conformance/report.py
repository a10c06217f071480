"""The verdict: one status per (provider, clause), as JSON and as a terminal table.

A clause with several cases already folds them into one test outcome, so the verdict
only merges the phases of one test (setup, call, teardown): the worst status wins.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List

__all__ = ["ClauseResult", "Verdict", "write_atomically"]

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
        self.providers: Dict[str, Dict[str, ClauseResult]] = {}

    def add(self, provider: str, clause_id: str, level: str, status: str, message: str = "") -> None:
        clauses = self.providers.setdefault(provider, {})
        current = clauses.get(clause_id)
        if current is None or _RANK[status] > _RANK[current.status] or (
            _RANK[status] == _RANK[current.status] and message and not current.message
        ):
            clauses[clause_id] = ClauseResult(status, level, message[:_MESSAGE_LIMIT])

    def to_dict(self, kit_version: str) -> dict:
        return {
            "kit_version": kit_version,
            "providers": [
                {"provider": provider, "clauses": {cid: asdict(result) for cid, result in clauses.items()}}
                for provider, clauses in self.providers.items()
            ],
        }

    def clause_ids(self) -> List[str]:
        ids: List[str] = []
        for clauses in self.providers.values():
            ids.extend(cid for cid in clauses if cid not in ids)
        return ids

    def gate_failures(self, strict: bool) -> List[tuple[str, str]]:
        """(provider, clause) pairs that fail the gate: must clauses, and should ones when strict."""
        return [
            (provider, cid)
            for provider, clauses in self.providers.items()
            for cid, result in clauses.items()
            if result.status in ("failed", "error") and (result.level == "must" or strict)
        ]

    def table_lines(self) -> List[str]:
        """A clause x provider table, one short column per provider."""
        providers = list(self.providers)
        if not providers:
            return []
        ids = self.clause_ids()
        width = max(len(cid) for cid in ids) + len(" (should)")
        header = "clause".ljust(width) + "".join(f"  [{n}]" .ljust(10) for n in range(1, len(providers) + 1))
        lines = [header]
        for cid in ids:
            level = next(self.providers[p][cid].level for p in providers if cid in self.providers[p])
            label = cid if level == "must" else f"{cid} (should)"
            cells = [self.providers[p].get(cid) for p in providers]
            lines.append(label.ljust(width) + "".join(f"  {c.status if c else '-'}".ljust(10) for c in cells))
        lines.extend(f"[{n}] {provider}" for n, provider in enumerate(providers, 1))
        return lines


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
