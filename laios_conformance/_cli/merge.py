"""``merge``: the JSON verdicts of several jobs (one per provider, say) as one gate.

The merged verdict is judged and shown exactly as ``check`` judges and shows its own, so
the exit codes, the table, the gate line and the report files are the same. Verdicts are
only merged when they can be compared: written by one kit version, in one schema version,
each provider judged once, on every clause of this kit's contract.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import atomic_write_text
from ..report import STATUSES, dump_json, verdict_from_dict
from . import UsageError

__all__ = ["load_verdict", "merge_verdicts", "run_merge"]

_WHAT_TO_PASS = "pass the JSON files that 'laios-conformance check --report-json' wrote"
_REJUDGE = (
    "check lists every clause at its level, not-run ones too, so this file was edited or written by another "
    "build of the kit; merge the verdicts that this kit's check writes"
)


@dataclass
class VerdictFile:
    path: str
    data: dict[str, Any]


def run_merge(args: argparse.Namespace) -> int:
    from .check import JudgedRun, check_report_files, judge, write_outputs

    check_report_files(args)  # all of them before any is written: no half-written set of reports
    files = [load_verdict(path) for path in args.verdicts]
    # A verdict judged strictly keeps that when merged: its job failed on should clauses too.
    args.strict = args.strict or any(f.data.get("strict", False) for f in files)
    data = merge_verdicts(files, strict=args.strict)
    if args.report_json:
        atomic_write_text(Path(args.report_json), dump_json(data))
    if args.junit:
        from .junit import verdict_junit

        atomic_write_text(Path(args.junit), verdict_junit(data))
    hollow = [f.path for f in files if not f.data["providers"]]
    if hollow:  # a job that judged nothing must not pass unseen among the others
        write_outputs(args, data)
        print(f"gate: FAILED ({hollow[0]} judges no provider: its check run judged no clause)")
        return 1
    return judge(args, JudgedRun(0, "", "", data))


def load_verdict(path: str) -> VerdictFile:
    """A JSON verdict read from ``path``, or a UsageError saying why it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"merge: no such file: {path}; {_WHAT_TO_PASS}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"merge: cannot read {path} ({error.__class__.__name__}); {_WHAT_TO_PASS}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"merge: {path} is not JSON ({error.msg} at line {error.lineno} column {error.colno}); {_WHAT_TO_PASS}"
        ) from None
    problem = _not_a_verdict(data)
    if problem:
        raise UsageError(f"merge: {path} is not a laios-conformance verdict ({problem}); {_WHAT_TO_PASS}")
    return VerdictFile(path, data)


def _not_a_verdict(data: Any) -> str:
    """What makes ``data`` something other than a JSON verdict ("" when it is one)."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if not isinstance(data.get("kit_version"), str):
        return 'no "kit_version" string'
    if "schema_version" in data and type(data["schema_version"]) is not int:
        return f'"schema_version" {data["schema_version"]!r} is not a whole number'
    lint = data.get("cassette_lint", [])
    if not (isinstance(lint, list) and all(isinstance(finding, str) for finding in lint)):
        return '"cassette_lint" is not a list of strings'
    if not isinstance(data.get("providers"), list):
        return 'no "providers" list'
    for entry in data["providers"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("provider"), str):
            return 'a "providers" entry without a "provider" name'
        clauses = entry.get("clauses")
        if not isinstance(clauses, dict):
            return f'provider {entry["provider"]} has no "clauses" object'
        for clause_id, result in clauses.items():
            problem = _result_problem(result)
            if problem:
                return f"clause {clause_id} of {entry['provider']} {problem}"
    return ""


def _result_problem(result: Any) -> str:
    """What is wrong with one clause's result, as the report writers read it ("" when nothing)."""
    if not (isinstance(result, dict) and isinstance(result.get("status"), str)):
        return "has no status"
    if result["status"] not in STATUSES:
        return f"has status {result['status']!r}, not one of {', '.join(STATUSES)}"
    if not isinstance(result.get("level"), str):
        return "has no level"
    if not isinstance(result.get("message", ""), str):
        return "has a message that is not a string"
    evidence, exception = result.get("evidence"), result.get("exception")
    if evidence is not None and not (isinstance(evidence, dict) and evidence.get("kind") in _EVIDENCE_KINDS):
        return f"has evidence that is not one of {', '.join(_EVIDENCE_KINDS)}"
    if exception is not None and not (
        isinstance(exception, dict) and all(isinstance(exception.get(key), str) for key in ("type", "message", "where"))
    ):
        return "has an exception without its type, message and where"
    return ""


_EVIDENCE_KINDS = ("synthetic", "replayed", "recorded")


def merge_verdicts(files: list[VerdictFile], *, strict: bool = False) -> dict[str, Any]:
    """One JSON verdict holding every provider of ``files``, rebuilt as the kit writes one."""
    _same(files, "kit_version", "kit versions", "run every job with the same laios-conformance version")
    _same(files, "schema_version", "schema versions", "run every job with the same laios-conformance version")
    _each_provider_once(files)
    _judged_against_this_contract(files)
    first = files[0].data
    combined = {
        "kit_version": first["kit_version"],
        "strict": strict,
        # A partial verdict is accepted only if every job accepted one.
        "allow_partial": all(f.data.get("allow_partial", False) for f in files),
        "providers": [entry for f in files for entry in f.data["providers"]],
        "cassette_lint": [finding for f in files for finding in f.data.get("cassette_lint", [])],
    }
    return verdict_from_dict(combined).to_dict(first["kit_version"])


def _same(files: list[VerdictFile], key: str, what: str, advice: str) -> None:
    first = files[0]
    for other in files[1:]:
        if other.data.get(key) != first.data.get(key):
            raise UsageError(
                f"merge: cannot merge verdicts of different {what}: {first.path} has {_shown(first.data, key)}, "
                f"{other.path} has {_shown(other.data, key)}; {advice}"
            )


def _shown(data: dict[str, Any], key: str) -> str:
    return str(data[key]) if key in data else f"no {key} (an older kit)"


def _each_provider_once(files: list[VerdictFile]) -> None:
    given = [os.path.realpath(file.path) for file in files]
    repeated = next((file.path for file, path in zip(files, given, strict=True) if given.count(path) > 1), None)
    if repeated is not None:
        raise UsageError(f"merge: {repeated} is given twice; name each verdict file once")
    seen: dict[str, str] = {}
    for file in files:
        for entry in file.data["providers"]:
            name = entry["provider"]
            if name in seen:
                where = f"both {seen[name]} and {file.path}" if seen[name] != file.path else f"{file.path} twice"
                raise UsageError(
                    f"merge: provider {name} is judged in {where}; give each provider's verdict once "
                    "(one job per provider)"
                )
            seen[name] = file.path


def _judged_against_this_contract(files: list[VerdictFile]) -> None:
    """Each provider's clauses must be this kit's whole contract, at its levels: a verdict that
    ``check`` wrote lists every clause (not-run ones too), so a file that lacks one, or lowers
    one to ``should``, was edited or written by another build of the kit, and its gate is not ours."""
    from ..contract import catalogue

    contract = catalogue()
    known_ids = {known.id for known in contract}
    for file in files:
        for entry in file.data["providers"]:
            clauses, name = entry["clauses"], entry["provider"]
            unknown = [clause_id for clause_id in clauses if clause_id not in known_ids]
            if unknown:
                raise UsageError(
                    f"merge: {file.path} has clause {unknown[0]!r} for {name}, which is not in this kit's contract; "
                    f"{_REJUDGE}"
                )
            missing = [known.id for known in contract if known.id not in clauses]
            if missing:
                shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                raise UsageError(
                    f"merge: {file.path} lacks {len(missing)} clause(s) of the contract for {name} ({shown}); "
                    f"{_REJUDGE}"
                )
            for known in contract:
                if clauses[known.id]["level"] != known.level:
                    raise UsageError(
                        f"merge: {file.path} gives clause {known.id} of {name} the level "
                        f"{clauses[known.id]['level']!r}, but the contract says {known.level!r}; {_REJUDGE}"
                    )
