"""``drift``: record the cassette clauses against the live API and compare the shapes with the committed ones.

The clauses that replay a cassette run through pytest, in a child process (a provider may
end the process), with ``--record-mode=once`` into a temporary directory (the committed
cassette dir is only read), so keys come from ``$NAME`` kwargs and are scrubbed exactly as in any recording.
Each new cassette is then compared with the committed one, interaction by interaction,
with :mod:`laios_conformance.cassettes.shape`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pytest

from .._files import atomic_write_text
from . import UsageError, plugins

NOT_RECORDED = "not recorded"
NOT_COMPARED = "not compared"
MAX_REASON = 200


@dataclass(frozen=True)
class DriftLine:
    clause: str
    interaction: str  # "0 (POST /v1/chat/completions)", or "" for the whole cassette
    path: str
    change: str
    kind: str  # "breaking", "additive", NOT_RECORDED or NOT_COMPARED

    def __str__(self) -> str:
        where = f" interaction {self.interaction}" if self.interaction else ""
        return f"{self.kind}: {self.clause}{where}: {self.path}: {self.change}"


# Set in the child process that does the work: the file it writes its exit code to once it finished.
_DONE_FILE = "LAIOS_DRIFT_DONE_FILE"


def run_drift(args: argparse.Namespace) -> int:
    """In a child process, which runs the provider: one that ends the process (``os._exit(0)``)
    must not end drift with status 0 as if nothing had changed."""
    done = os.environ.get(_DONE_FILE)
    if not done:
        _check_report_file(args.report_md)  # before the recording, which may cost API calls
        return _run_in_child(args)
    try:
        code = _drift(args)
    except UsageError:
        Path(done).write_text("2", encoding="utf-8")
        raise
    Path(done).write_text(str(code), encoding="utf-8")
    return code


def _check_report_file(path: str | None) -> None:
    from .._paths import PathError, check_output_files

    try:
        check_output_files([("--report-md", path)])
    except PathError as error:
        raise UsageError(f"drift: {error}") from None


def _run_in_child(args: argparse.Namespace) -> int:
    from .child import ChildRun, ended_with_this_process

    command = [sys.executable, "-m", "laios_conformance.cli", "drift", args.target]
    for option, value in (
        ("--kwargs", args.kwargs),
        ("--cassette-dir", args.cassette_dir),
        ("--report-md", args.report_md),
    ):
        command += [option, value] if value is not None else []
    with tempfile.TemporaryDirectory(prefix="laios-drift-") as scratch:
        done = Path(scratch) / "done"
        with subprocess.Popen(command, env={**os.environ, _DONE_FILE: str(done)}) as child:
            try:
                with ended_with_this_process(child):
                    child.wait()
            except BaseException:  # as subprocess.run does
                child.kill()
                raise
        if done.exists() or child.returncode == 130:
            return child.returncode
    ending = ChildRun(child.returncode, "", "").describe_exit()
    print(
        f"drift: the recording run ended before drift finished (it {ending}): the provider (or a crash) may have "
        "ended the process; nothing was compared",
        file=sys.stderr,
    )
    return 1


def _drift(args: argparse.Namespace) -> int:
    class_name = _class_name(args.target, args.kwargs)
    committed = Path(args.cassette_dir or "cassettes") / class_name
    if not committed.is_dir():
        raise UsageError(f"drift: no committed cassettes for {class_name} in {committed}; record them first")
    # Inside the parent's scratch directory, which the parent removes even when the provider ends this process.
    parent_scratch = Path(os.environ[_DONE_FILE]).parent
    with tempfile.TemporaryDirectory(prefix="recording-", dir=parent_scratch) as scratch:
        code, output = _record(args.target, args.kwargs, Path(scratch))
        if code == pytest.ExitCode.USAGE_ERROR:
            from .check import usage_message

            raise UsageError(usage_message(output))
        if code == pytest.ExitCode.INTERRUPTED:
            print(
                "drift: the recording run was interrupted (Ctrl-C, or a KeyboardInterrupt the provider raised), "
                "so nothing was compared; run it again",
                file=sys.stderr,
            )
            return 130
        lines = compare_dirs(committed, Path(scratch) / class_name, _clause_messages(Path(scratch) / "verdict.json"))
    for text in collapsed(lines):
        print(text)
    print(summary(lines, len(_cassettes(committed))))
    if args.report_md:
        atomic_write_text(Path(args.report_md), markdown(lines, args.target))
    return 1 if any(line.kind != "additive" for line in lines) else 0


def compare_dirs(committed: Path, recorded: Path, why: dict[str, str] | None = None) -> list[DriftLine]:
    """Every change of shape from the committed cassettes to the new recordings, clause by clause.

    ``why`` maps a clause to what happened to it in the recording run, for clauses that recorded nothing.
    """
    from ..cassettes import CorruptCassetteError, read_cassette, serializer

    lines: list[DriftLine] = []
    new_files = _cassettes(recorded)
    for clause, old_path in _cassettes(committed).items():
        new_path = new_files.get(clause)
        if new_path is None:
            reason = (why or {}).get(clause, "the clause did not run")
            lines.append(DriftLine(clause, "", "cassette", f"its clause recorded nothing ({reason})", NOT_RECORDED))
            continue
        try:
            old, new = read_cassette(old_path, serializer), read_cassette(new_path, serializer)
        except CorruptCassetteError as error:  # the clause recorded; one of the two files cannot be read
            lines.append(DriftLine(clause, "", "cassette", str(error), NOT_COMPARED))
            continue
        lines += _compare_cassettes(clause, old, new)
    return lines


def _compare_cassettes(clause: str, old: tuple[Any, ...], new: tuple[Any, ...]) -> list[DriftLine]:
    from ..cassettes.shape import BREAKING, compare, response_shape

    lines = []
    for old_index, new_index in _pairs(old[0], new[0]):
        request = old[0][old_index]
        where = f"{old_index} ({request.method} {request.path})"
        for change in compare(response_shape(old[1][old_index]), response_shape(new[1][new_index])):
            lines.append(DriftLine(clause, where, change.path, change.description, change.kind))
    if len(old[0]) != len(new[0]):
        lines.append(DriftLine(clause, "", "interactions", f"{len(old[0])} -> {len(new[0])}", BREAKING))
    return lines


def _pairs(old: list[Any], new: list[Any]) -> list[tuple[int, int]]:
    """(old index, new index) of the interactions whose requests match, as replay matches them;
    the rest in order. Concurrent clauses record in any order."""
    unused = list(range(len(new)))
    pairs = []
    for index, request in enumerate(old):
        match = next((n for n in unused if _request_key(new[n]) == _request_key(request)), None)
        if match is None and unused and index < len(new):
            match = unused[0]
        if match is not None:
            unused.remove(match)
            pairs.append((index, match))
    return pairs


def _request_key(request: Any) -> tuple[str, str, str]:
    body = request.body or b""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True)
    except ValueError:
        canonical = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    return request.method, request.path, canonical


def collapsed(lines: list[DriftLine]) -> list[str]:
    """The lines to print: cassettes that recorded nothing for the same cause (an API that
    cannot be reached: every clause) in one line, naming them and how many."""
    groups: dict[tuple[str, str] | int, list[DriftLine]] = {}
    for index, line in enumerate(lines):
        key = (line.path, line.change) if line.kind == NOT_RECORDED else index
        groups.setdefault(key, []).append(line)
    printed = []
    for same in groups.values():
        if len(same) == 1:
            printed.append(str(same[0]))
            continue
        clauses = f"{len(same)} clauses ({', '.join(line.clause for line in same)})"
        printed.append(str(DriftLine(clauses, "", same[0].path, same[0].change, NOT_RECORDED)))
    return printed


def summary(lines: list[DriftLine], clauses: int) -> str:
    if not lines:
        return f"drift: no change of shape in {clauses} cassette(s)"
    labels = {
        "breaking": "breaking change(s)",
        "additive": "additive change(s)",
        NOT_RECORDED: "recorded nothing",
        NOT_COMPARED: "could not be compared",
    }
    counts = {kind: sum(line.kind == kind for line in lines) for kind in labels}
    parts = [f"{n} {labels[kind]}" for kind, n in counts.items() if n]
    return f"drift: {', '.join(parts)}, in {len({line.clause for line in lines})} of {clauses} cassette(s)"


def markdown(lines: list[DriftLine], target: str) -> str:
    head = f"## API drift: `{target}`\n\n"
    if not lines:
        return head + "No change of shape: the live API answers as the committed cassettes say.\n"
    rows = ["| change | clause | interaction | path | what changed |", "| --- | --- | --- | --- | --- |"]
    rows += [
        f"| {_cell(line.kind)} | {_cell(line.clause)} | {_cell(line.interaction)} | `{_cell(line.path)}` "
        f"| {_cell(line.change)} |"
        for line in lines
    ]
    return head + "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _class_name(target: str, kwargs: str | None) -> str:
    from .lint import provider_class_names

    if kwargs is not None:
        try:
            value = json.loads(kwargs)
        except json.JSONDecodeError as error:
            raise UsageError(f"--kwargs is not valid JSON ({error.msg} at position {error.pos}): {kwargs!r}") from None
        if not isinstance(value, dict):
            raise UsageError(f"--kwargs must be a JSON object, got {type(value).__name__}: {kwargs!r}")
    return provider_class_names([target], kwargs)[0]


def _clause_messages(report: Path) -> dict[str, str]:
    """Each clause's status and first message line from the recording run's verdict (secrets already redacted)."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        clauses = data["providers"][0]["clauses"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return {}
    found = {}
    for clause, result in clauses.items():
        message = " ".join(str(result.get("message", "")).split())
        text = f"{result.get('status')}: {message}" if message else str(result.get("status"))
        found[clause] = text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
    return found


def _cassettes(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        return {}
    return {path.stem: path for path in sorted(directory.glob("*.yaml")) if not path.name.startswith(".")}


def _record(target: str, kwargs: str | None, scratch: Path) -> tuple[int, str]:
    """Run the cassette clauses once, recording into ``scratch``; (pytest's exit code, its output)."""
    argv = [f"--laios-provider={target}", f"--laios-cassette-dir={scratch}", "--record-mode=once", "-m", "vcr"]
    argv += [f"--laios-report={scratch / 'verdict.json'}", "--laios-allow-partial"]
    argv += [f"--laios-provider-kwargs={kwargs}"] if kwargs is not None else []
    argv += ["-p", "no:cacheprovider", "-q", *plugins.LOAD]
    progress = RecordingProgress(_stderr_copy())
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pytest.main(argv, plugins=[progress])
    finally:
        progress.close()
    return int(code), out.getvalue()


class RecordingProgress:
    """One line per clause as it records, on the real stderr (pytest's output is kept back)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.done += 1
            clause = report.nodeid.split("::")[-1].split("[")[0].removeprefix("test_").replace("_", "-")
            self._write(f"drift: recorded {clause} ({self.done}/{self.total}): {report.outcome}")

    def _write(self, line: str) -> None:
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None


def _stderr_copy() -> TextIO | None:
    try:
        sys.stderr.flush()
        return os.fdopen(os.dup(2), "w", encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None
