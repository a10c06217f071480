"""The ``laios-conformance`` command.

Synopsis::

    laios-conformance check TARGET [TARGET ...] [--kwargs JSON] [--strict] [--allow-partial]
                            [--secret-kwargs NAMES] [--secret-env NAMES] [--call-timeout SECONDS]
                            [--report-json PATH] [--report-md PATH] [--junit PATH]
                            [--badge PATH] [--cassette-dir DIR] [-v] [-- PYTEST_ARGS ...]
    laios-conformance merge VERDICT.json [VERDICT.json ...] [--strict] [--report-json PATH]
                            [--report-md PATH] [--junit PATH] [--badge PATH]
    laios-conformance clauses
    laios-conformance explain CLAUSE
    laios-conformance lint [DIR ...] [--laios-provider TARGET] [--kwargs JSON] [--max-size MB]
    laios-conformance drift TARGET [--kwargs JSON] [--cassette-dir DIR] [--report-md PATH]
    laios-conformance --version

``check`` runs the contract suite through pytest in a child process (one ``--laios-provider``
per TARGET, ``module:Class``), shows a progress bar on a terminal, then a clause x provider
table and the gate verdict. It passes only on a complete verdict file: a provider that ends
the process, or a crash, fails the gate with "the run ended without a verdict". pytest's
own output is kept back and printed only when the gate fails or pytest reports a problem
(``-v`` shows it live instead). ``merge`` judges
the JSON verdicts of several ``check`` runs (one CI job per provider, say) as one gate.

``drift`` records the clauses that use cassettes against the live API into a temporary
directory and prints one line per change of shape from the committed cassettes.

Exit codes: 0 gate passed (for ``lint``, no findings; for ``drift``, nothing breaking);
1 gate failed, pytest failed otherwise, ``lint`` found something, or ``drift`` found a
breaking change or could not record a clause; 2 usage error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._cli import UsageError
from ._version import __version__

__all__ = ["UsageError", "build_parser", "main", "split_pytest_args"]

PROG = "laios-conformance"
COMMANDS = ("check", "merge", "clauses", "explain", "lint", "drift")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="LAIOS provider conformance kit.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_check(commands)
    _add_merge(commands)
    commands.add_parser("clauses", help="list every clause: id, level, summary")
    explain = commands.add_parser("explain", help="print a clause's full description")
    explain.add_argument("clause", metavar="CLAUSE", help="clause id (returns-response, returns_response, ...)")
    _add_lint(commands)
    _add_drift(commands)
    return parser


def _add_check(commands: argparse._SubParsersAction[_Parser]) -> None:
    check = commands.add_parser(
        "check",
        help="run the contract suite against providers",
        usage="%(prog)s TARGET [TARGET ...] [options] [-- PYTEST_ARGS ...]",
        description="Run the contract suite against providers; arguments after -- go to pytest "
        "(e.g. -- -k returns_response, -- -n 4, -- --record-mode=once).",
        epilog="exit codes: 0 gate passed, 1 gate failed or pytest failed, 2 usage error",
    )
    check.add_argument("targets", nargs="+", metavar="TARGET", help="provider as module:Class")
    check.add_argument(
        "--kwargs",
        action="append",
        default=[],
        metavar="JSON",
        help="constructor arguments as a JSON object: once for all targets or once per target",
    )
    check.add_argument("--strict", action="store_true", help="failed should-level clauses fail the gate too")
    check.add_argument(
        "--secret-kwargs",
        metavar="NAME,...",
        help="constructor arguments that hold secrets besides api_key, token, *_key, *_secret, password...",
    )
    check.add_argument(
        "--secret-env",
        metavar="NAME,...",
        help="environment variables the provider reads a key from itself (unset ones get a fake key)",
    )
    check.add_argument(
        "--call-timeout",
        type=_call_timeout,
        metavar="SECONDS",
        help="error a clause whose provider call takes longer (default: 60; 0: no limit)",
    )
    check.add_argument(
        "--allow-partial",
        action="store_true",
        help="accept a verdict in which some clauses did not run (e.g. -- -k ...): the gate says partial",
    )
    check.add_argument("--report-json", metavar="PATH", help="write the JSON verdict")
    check.add_argument("--report-md", metavar="PATH", help="write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    check.add_argument("--junit", metavar="PATH", help="write JUnit XML (pytest --junitxml)")
    check.add_argument("--badge", metavar="PATH", help="write a shields.io endpoint badge JSON")
    check.add_argument("--cassette-dir", metavar="DIR", help="cassette directory (default: cassettes/)")
    check.add_argument("-v", "--verbose", action="store_true", help="show pytest's output live (no progress bar)")


def _call_timeout(text: str) -> float:
    from ._guards import call_timeout_seconds

    try:
        return call_timeout_seconds(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(
            f"{text!r} {str(problem).replace('--laios-call-timeout', '--call-timeout')}"
        ) from None


def _add_merge(commands: argparse._SubParsersAction[_Parser]) -> None:
    merge = commands.add_parser(
        "merge",
        help="judge the JSON verdicts of several check runs as one gate",
        description="Combine the JSON verdicts of several 'check --report-json' runs (one CI job per provider, "
        "say) into one verdict and judge it as check does. Refuses verdicts of different kit or schema "
        "versions, a provider judged twice, and a verdict that lacks a clause of the contract.",
        epilog="exit codes: 0 gate passed, 1 gate failed, 2 usage error (including a verdict it refuses)",
    )
    merge.add_argument("verdicts", nargs="+", metavar="VERDICT.json", help="a JSON verdict (check --report-json)")
    merge.add_argument("--strict", action="store_true", help="failed should-level clauses fail the gate too")
    merge.add_argument("--report-json", metavar="PATH", help="write the merged JSON verdict")
    merge.add_argument("--report-md", metavar="PATH", help="write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    merge.add_argument(
        "--junit", metavar="PATH", help="write JUnit XML: a testsuite per provider, a testcase per clause"
    )
    merge.add_argument("--badge", metavar="PATH", help="write a shields.io endpoint badge JSON")
    merge.set_defaults(verbose=False)


def _add_lint(commands: argparse._SubParsersAction[_Parser]) -> None:
    lint = commands.add_parser(
        "lint",
        help="find secrets (and, given providers, unused files) in cassettes",
        description="Report secrets in cassette files; with --laios-provider, also cassettes no clause uses.",
    )
    lint.add_argument("paths", nargs="*", default=["cassettes"], metavar="DIR", help="default: cassettes/")
    lint.add_argument(
        "--laios-provider",
        dest="providers",
        action="append",
        default=[],
        metavar="TARGET",
        help="also report <DIR>/<ProviderClass>/*.yaml files no clause replays; repeatable",
    )
    lint.add_argument("--kwargs", metavar="JSON", help="constructor arguments for the providers, if they need any")
    lint.add_argument("--max-size", metavar="MB", help="largest cassette to read (default: 50)")


def _add_drift(commands: argparse._SubParsersAction[_Parser]) -> None:
    drift = commands.add_parser(
        "drift",
        help="compare the live API's answers with the committed cassettes, by shape",
        description="Record the clauses that use cassettes against the live API (into a temporary directory, "
        "never the cassette dir) and report every change of shape from the committed cassettes.",
        epilog="exit codes: 0 nothing breaking, 1 a breaking change (or a clause recorded nothing), 2 usage error",
    )
    drift.add_argument("target", metavar="TARGET", help="provider as module:Class")
    drift.add_argument(
        "--kwargs", metavar="JSON", help='constructor arguments; "$NAME" values come from the environment'
    )
    drift.add_argument("--cassette-dir", metavar="DIR", help="committed cassettes (default: cassettes/)")
    drift.add_argument("--report-md", metavar="PATH", help="write the changes as a Markdown table")


def split_pytest_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(our arguments, pytest's): everything after the first ``--`` is pytest's."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    index = argv.index("--")
    return argv[:index], argv[index + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    ours, pytest_args = split_pytest_args(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(ours)
        if args.command is None:
            parser.error(f"choose a command: {', '.join(COMMANDS)}")
        if pytest_args and args.command != "check":
            parser.error("arguments after -- are passed to pytest, which only 'check' runs")
        return _dispatch(args, pytest_args)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped reading (``| head``): stop quietly, as a pipe's writer does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's own flush cannot fail
        return 141  # 128 + SIGPIPE, what a shell reports for a writer the pipe's end stopped


def _dispatch(args: argparse.Namespace, pytest_args: list[str]) -> int:
    if args.command == "check":
        from ._cli.check import run_check

        return run_check(args, pytest_args)
    if args.command == "merge":
        from ._cli.merge import run_merge

        return run_merge(args)
    if args.command == "clauses":
        from ._cli.catalog import list_clauses

        return list_clauses()
    if args.command == "explain":
        from ._cli.catalog import explain

        return explain(args.clause)
    if args.command == "drift":
        from ._cli.drift import run_drift

        return run_drift(args)
    from ._cli.lint import run_lint

    return run_lint(args.paths, args.providers, args.kwargs, args.max_size)


if __name__ == "__main__":
    # Through the package's module, so that there is one UsageError class (python -m runs a copy).
    from laios_conformance.cli import main as _main

    sys.exit(_main())
