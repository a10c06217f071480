"""``check``: run the contract suite through pytest, in a child process, and judge its verdict."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pytest

from .._files import atomic_write_text
from .._paths import PathError, check_output_dir, check_output_files, check_replay_dir
from .._redact import redact, redact_value, redactable
from ..loading import declared_secrets, parse_secret_names
from ..report import dump_json, verdict_badge, verdict_from_dict, verdict_markdown
from . import UsageError, plugins
from .child import missing_verdict, run_child

_KIT_SECTION = "LAIOS conformance"


def run_check(args: argparse.Namespace, extra: list[str]) -> int:
    check_outputs(args, extra)
    from .probe import ProviderEndedProcess

    try:
        validate(args)
    except ProviderEndedProcess as ended:
        print(f"the run ended without a verdict: {ended}", file=sys.stderr)
        return 1
    secrets = declared_secrets(args.kwargs, parse_secret_names(args.secret_kwargs))
    secrets += [os.environ[name] for name in parse_secret_names(args.secret_env) if os.environ.get(name)]
    run = judged_run(pytest_arguments(args, extra), report_json=args.report_json, verbose=args.verbose)
    run.out, run.err = redact(run.out, secrets), redact(run.err, secrets)
    if run.code == pytest.ExitCode.USAGE_ERROR:
        if args.verbose:  # pytest has printed its error itself
            return 2
        raise UsageError(usage_message(run.err))
    if run.missing is not None:
        _show_pytest_output(run.out, run.err, to=sys.stdout)
        print(f"the run ended without a verdict: {run.missing}", file=sys.stderr)
        return 130 if run.code == pytest.ExitCode.INTERRUPTED else 1
    run.verdict = redact_value(run.verdict, redactable(secrets))
    return judge(args, run)


def validate(args: argparse.Namespace) -> None:
    """Check targets and kwargs with the plugin's own validator, before pytest starts.

    In a child process (see ``probe``): loading runs the provider's code, which may end the process.
    """
    from .._guards import DEFAULT_CALL_TIMEOUT
    from .probe import validate_in_child

    timeout = DEFAULT_CALL_TIMEOUT if args.call_timeout is None else (args.call_timeout or None)
    validate_in_child(
        {
            "targets": args.targets,
            "kwargs": args.kwargs,
            "secret_names": list(parse_secret_names(args.secret_kwargs)),
            "secret_env": list(parse_secret_names(args.secret_env)),
            "call_timeout": timeout,
        }
    )


@dataclass
class JudgedRun:
    """One judged pytest session: its exit code, its kept-back output, and the JSON verdict."""

    code: int
    out: str
    err: str
    verdict: dict[str, Any] | None
    missing: str | None = None  # why there is no complete verdict, if there is none


def judged_run(argv: list[str], *, report_json: str | None = None, verbose: bool = False) -> JudgedRun:
    """Run the contract suite (``argv`` for pytest, without ``--laios-report``) and read its verdict."""
    with tempfile.TemporaryDirectory(prefix="laios-conformance-") as scratch:
        report = Path(report_json) if report_json else Path(scratch) / "verdict.json"
        report.unlink(missing_ok=True)
        child = run_child([*argv, f"--laios-report={report}"], verbose=verbose, progress=_is_terminal())
        missing = missing_verdict(report, child)
        data = json.loads(report.read_text(encoding="utf-8")) if missing is None else None
    return JudgedRun(child.code, child.out, child.err, data, missing)


def pytest_arguments(args: argparse.Namespace, extra: list[str]) -> list[str]:
    argv = [f"--laios-provider={target}" for target in args.targets]
    argv += [f"--laios-provider-kwargs={text}" for text in args.kwargs]
    argv += ["-p", "no:cacheprovider", "-q", *plugins.LOAD]
    if args.strict:
        argv.append("--laios-strict")
    if args.secret_kwargs:
        argv.append(f"--laios-secret-kwargs={args.secret_kwargs}")
    if args.secret_env:
        argv.append(f"--laios-secret-env={args.secret_env}")
    if args.call_timeout is not None:
        argv.append(f"--laios-call-timeout={args.call_timeout}")
    if args.allow_partial:
        argv.append("--laios-allow-partial")
    if args.junit:
        argv.append(f"--junitxml={args.junit}")
    if args.cassette_dir:
        argv.append(f"--laios-cassette-dir={args.cassette_dir}")
    return argv + list(extra)


def refuse_overridden_options(args: argparse.Namespace, extra: list[str]) -> None:
    """A pytest option after ``--`` naming a file that check names itself: one of the two
    would silently not be written."""
    overridden = {"--laios-report": "--report-json PATH"}
    if args.junit:
        overridden |= {"--junitxml": "--junit PATH", "--junit-xml": "--junit PATH"}
    for argument in extra:
        option = argument.partition("=")[0]
        if option in overridden:
            raise UsageError(
                f"{option} after -- clashes with the file check writes itself (one of the two would not be "
                f"written): give {overridden[option]} to check instead (before --)"
            )


# pytest options that show the clauses instead of running them: no verdict comes of them.
_SHOW_ONLY = ("--co", "--collect-only", "--collectonly", "--fixtures", "--fixtures-per-test", "--setup-plan")
# pytest options that need its cache, which check turns off (-p no:cacheprovider): pytest calls them unknown.
_CACHE_OPTIONS = (
    *("--lf", "--last-failed", "--lfnf", "--last-failed-no-failures", "--ff", "--failed-first", "--nf", "--new-first"),
    *("--sw", "--stepwise", "--sw-skip", "--stepwise-skip", "--sw-reset", "--stepwise-reset"),
    *("--cache-show", "--cache-clear"),
)


# pytest options that print something and stop before any clause runs.
_PRINT_ONLY = ("-h", "--help", "-V", "--version")


def refuse_options_without_a_verdict(extra: list[str]) -> None:
    """pytest options after ``--`` that check cannot honour: one line saying what to run instead."""
    for argument in extra:
        option = argument.partition("=")[0]
        if option in _PRINT_ONLY:
            printed = "help" if option in ("-h", "--help") else "version"
            raise UsageError(
                f"{option} after -- makes pytest print its {printed} and stop, so check would get no verdict: "
                f"run pytest {option} for that "
                "(laios-conformance check --help lists check's own options)"
            )
        if option in _SHOW_ONLY:
            raise UsageError(
                f"{option} after -- shows the clauses without running them, so check would get no verdict: "
                f"run pytest --laios-provider=TARGET {option} to see them, or 'laios-conformance clauses'"
            )
        if option in _CACHE_OPTIONS:
            raise UsageError(
                f"{option} after -- needs pytest's cache, which check turns off: a gate judges every clause on every "
                f"run, whatever the last run found; drop it (to run again only what failed while you fix it: pytest "
                f"--laios-provider=TARGET {option} --laios-allow-partial)"
            )


def check_outputs(args: argparse.Namespace, extra: list[str]) -> None:
    """Every file ``check`` will write, and the cassette folder (written when recording, read
    when replaying), checked up front."""
    refuse_overridden_options(args, extra)
    refuse_options_without_a_verdict(extra)
    check_report_files(args)
    try:
        if _records(extra):
            check_output_dir("--cassette-dir (recording)", args.cassette_dir or "cassettes")
        elif args.cassette_dir:
            check_replay_dir("--cassette-dir", args.cassette_dir)
    except PathError as error:
        raise UsageError(str(error)) from None


def check_report_files(args: argparse.Namespace) -> None:
    """The report files ``check`` and ``merge`` write, checked before anything runs or is written."""
    files = [("--report-json", args.report_json), ("--report-md", args.report_md), ("--junit", args.junit)]
    files.append(("--badge", args.badge))
    try:
        check_output_files(files)
    except PathError as error:
        raise UsageError(str(error)) from None


def _records(extra: list[str]) -> bool:
    modes = [a.partition("=")[2] for a in extra if a.startswith("--record-mode=")]
    modes += [extra[i + 1] for i, a in enumerate(extra[:-1]) if a == "--record-mode"]
    return any(mode != "none" for mode in modes)


def usage_message(stderr: str) -> str:
    """pytest's usage error, as one line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line.lower() and "usage:" not in line.lower()]
    line = re.sub(r"^(?:ERROR:|E)\s+", "", (errors or lines or ["pytest reported a usage error"])[0])
    # pytest's own argparse error, under our program name ("python -m pytest: error:" from pytest 9.2)
    own = re.match(r"^[^:]*: error:\s*", line)
    return "pytest: " + line[own.end() :] if own else line


def judge(args: argparse.Namespace, run: JudgedRun) -> int:
    """Print the verdict, write the requested files, and return the exit code."""
    from rich.console import Console

    code, data = run.code, run.verdict
    console = Console(highlight=False, width=None if _is_terminal() else _plain_width())
    verdict = verdict_from_dict(data) if data else None
    gate_failed = verdict is None or not verdict.gate().passed
    if gate_failed or code != pytest.ExitCode.OK:
        _show_pytest_output(run.out, run.err)
    if data is not None:
        write_outputs(args, data)
    if verdict is None or not verdict.providers:
        console.print(f"[bold red]gate: FAILED[/] (pytest exited with {_code_name(code)} and judged no clause)")
        return 130 if code == pytest.ExitCode.INTERRUPTED else 1
    from .table import gate_line, root_cause_lines, verdict_table

    # The gate and root-cause lines are read by scripts (grep, CI logs): never wrapped.
    for line in root_cause_lines(verdict):
        console.print(line, soft_wrap=True)
    console.print(verdict_table(verdict))
    for finding in verdict.lint:
        console.print(f"cassette lint: {finding}", soft_wrap=True, markup=False)
    console.print(gate_line(data or {}, verdict), soft_wrap=True)
    if code == pytest.ExitCode.INTERRUPTED:
        return 130
    if not gate_failed and code != pytest.ExitCode.OK:
        console.print(f"[bold red]pytest exited with {_code_name(code)}[/] (see its output above)")
    return 1 if gate_failed or code != pytest.ExitCode.OK else 0


def write_outputs(args: argparse.Namespace, data: dict[str, Any]) -> None:
    if args.report_md:
        atomic_write_text(Path(args.report_md), verdict_markdown(data))
    if args.badge:
        atomic_write_text(Path(args.badge), dump_json(verdict_badge(data)))


def without_section(text: str, title: str) -> str:
    """pytest's output minus one ``=== title ===`` section (the kit's plain table, shown again by us)."""
    kept, skipping = [], False
    for line in text.splitlines():
        header = re.fullmatch(r"=+ (.*?) =+", line.strip())
        if header:
            skipping = header.group(1) == title
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def _show_pytest_output(out: str, err: str, to: TextIO | None = None) -> None:
    """pytest's output (its stderr to ours, or to ``to`` when one line must stay alone there)."""
    text = without_section(out, _KIT_SECTION).strip("\n")
    if text:
        print(text, flush=True)
    if err.strip():
        print(err.rstrip("\n"), file=to or sys.stderr, flush=True)


def _code_name(code: int) -> str:
    try:
        return f"{pytest.ExitCode(code).name} ({code})"
    except ValueError:
        return str(code)


def _is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _plain_width() -> int:
    try:
        return max(80, int(os.environ.get("COLUMNS", "120")))
    except ValueError:
        return 120
