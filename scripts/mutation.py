"""Mutation testing of the reference providers (the code users copy from), with mutmut.

    python scripts/mutation.py [--suite own|contract] [--fresh] [--rerun-survivors] [--report PATH]

Mutates ``reference_providers/openai.py``, ``_http.py`` and ``_wire.py`` and runs, per
mutant, only the tests that execute the mutated function (mutmut's own selection), in two
suites, each in a work directory of its own under ``build/mutation/`` where mutmut keeps
its results between runs (a second run re-tests only mutants of functions that changed):

own
    the kit's own tests of the reference providers, ``tests/reference_providers/``;
contract
    the contract suite alone, replaying the committed cassettes:
    ``pytest --laios-provider=reference_providers.openai:OpenAIClient`` with ``CI`` set
    (replay only, network blocked, Hypothesis derandomized).

A mutant is killed by the own tests plus the contract suite when either suite kills it.
Mutants listed in ``scripts/mutation_equivalents.toml`` (matched by function and mutated
line, so renumbering does not stale them) behave exactly like the original and are left
out of the score, each with its reason. The score and every survivor (with its diff) go
to ``--report`` (default ``build/mutation/report.md``) and ``report.json`` beside it.

Run it niced on a shared machine: ``nice -n 15 python scripts/mutation.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "mutation"
EQUIVALENTS = REPO / "scripts" / "mutation_equivalents.toml"
PROVIDER = "reference_providers.openai:OpenAIClient"
# What each suite's work directory sees of the repository (symlinked, so always current).
LINKED = ("reference_providers", "laios_conformance", "tests", "cassettes")
SUITES = {
    "own": {
        "selection": ["tests/reference_providers"],
        "args": ["-p", "no:cacheprovider", "-p", "no:xdist"],
        "env": {},
    },
    "contract": {
        "selection": ["laios_conformance/contract"],
        # mutmut runs only the tests that reach the mutated function: without
        # --laios-allow-partial every such subset would fail the gate as not-run and "kill".
        # --laios-strict: a should clause that fails is a deviation the suite found.
        "args": [
            f"--laios-provider={PROVIDER}",
            "--laios-allow-partial",
            "--laios-strict",
            *("-p", "no:cacheprovider", "-p", "no:xdist"),
        ],
        "env": {"CI": "true"},
    },
}
# mutmut's exit-code classes (mutmut.stats.status_by_exit_code), as this script counts them.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass
class Mutant:
    name: str  # e.g. reference_providers.openai.x_parse_completion__mutmut_3
    function: str  # e.g. reference_providers.openai.x_parse_completion
    status: str
    diff: str = ""

    @property
    def changed_line(self) -> str:
        """The mutated line as the mutant has it (first added line of its diff), stripped."""
        added = [
            line[1:].strip() for line in self.diff.splitlines() if line.startswith("+") and not line.startswith("+++")
        ]
        return added[0] if added else ""


# --- the work directories ---------------------------------------------------------------


def mutmut_section(suite: str) -> str:
    """``[tool.mutmut]`` of the repository's pyproject.toml, with this suite's tests."""
    base = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    settings = {
        **base,
        "pytest_add_cli_args_test_selection": SUITES[suite]["selection"],
        "pytest_add_cli_args": SUITES[suite]["args"],
    }
    lines = ["[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def prepare(suite: str, fresh: bool) -> Path:
    """The suite's work directory: links to the sources and tests, its own pyproject.toml."""
    work = WORK / suite
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = work / name
        if not link.is_symlink():
            link.symlink_to(REPO / name, target_is_directory=True)
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    (work / "pyproject.toml").write_text(text.rstrip() + "\n\n" + mutmut_section(suite), encoding="utf-8")
    return work


# mutmut treats pytest's exit code 4 (usage error) as a broken test command. The kit exits
# with it when the provider cannot even be built (it builds one at start-up to check the
# arguments): under a mutant that is a failed run, so the mutant is killed. Outside a
# mutant (clean run, stats) exit code 4 still stops mutmut.
_LAUNCHER = """
import os, sys
from mutmut.mutation.trampoline import get_mutant_under_test
from mutmut.runners import harness

_execute = harness.PytestRunner.execute_pytest

def execute_pytest(self, params, **kwargs):
    try:
        return _execute(self, params, **kwargs)
    except harness.BadTestExecutionCommandsException:
        if get_mutant_under_test() in ("", "stats", "mutant_generation"):
            raise
        return 1

harness.PytestRunner.execute_pytest = execute_pytest
from mutmut.__main__ import cli
sys.exit(cli())
"""


def mutmut(work: Path, suite: str, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **SUITES[suite]["env"], "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTHONPATH"):
        env.pop(name, None)
    if not SUITES[suite]["env"].get("CI"):
        env.pop("CI", None)
    command = [sys.executable, "-c", _LAUNCHER, *args]
    return subprocess.run(command, cwd=work, env=env, text=True, capture_output=capture, check=False)


# --- results ------------------------------------------------------------------------------


def load_results(work: Path) -> list[Mutant]:
    """Every mutant of the suite's last run, from mutmut's ``.meta`` files."""
    from mutmut.stats import status_by_exit_code

    found = []
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data["exit_code_by_key"].items():
            found.append(Mutant(name, name.rsplit("__mutmut_", 1)[0], status_by_exit_code[code]))
    return found


_DIFFS = (
    "import json, sys\n"
    "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
    "print(json.dumps({name: get_diff_for_mutant(name) for name in json.load(sys.stdin)}))"
)


def add_diffs(work: Path, mutants: list[Mutant]) -> None:
    """Each mutant's diff against the original function, as ``mutmut show`` prints it."""
    names = sorted({m.name for m in mutants})
    if not names:
        return
    done = subprocess.run(
        [sys.executable, "-c", _DIFFS],
        cwd=work,
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=True,
    )
    diffs = json.loads(done.stdout)
    for mutant in mutants:
        mutant.diff = diffs[mutant.name]


def load_equivalents() -> list[dict[str, str]]:
    if not EQUIVALENTS.exists():
        return []
    return tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8")).get("equivalent", [])


def equivalence_reason(mutant: Mutant, equivalents: list[dict[str, str]]) -> str | None:
    for entry in equivalents:
        if entry["function"] == mutant.function and entry["line"] == mutant.changed_line:
            return entry["reason"]
    return None


# --- the score ----------------------------------------------------------------------------


@dataclass
class Score:
    suite: str
    mutants: int
    equivalent: int
    killed: int

    @property
    def survived(self) -> int:
        return self.mutants - self.equivalent - self.killed

    @property
    def percent(self) -> float:
        judged = self.mutants - self.equivalent
        return 100.0 * self.killed / judged if judged else 0.0

    def row(self) -> str:
        return (
            f"| {self.suite} | {self.mutants} | {self.equivalent} | {self.killed} | {self.survived} "
            f"| {self.percent:.1f}% |"
        )


def score(suite: str, killed: set[str], names: list[str], equivalent: set[str]) -> Score:
    return Score(suite, len(names), len(equivalent), len(killed - equivalent))


def report(
    results: dict[str, list[Mutant]], equivalents: list[dict[str, str]], path: Path
) -> tuple[list[Score], list[Mutant]]:
    """Write the scores and the survivors; return them."""
    by_name = {m.name: m for suite in results.values() for m in suite}
    names = sorted(by_name)
    killed = {suite: {m.name for m in mutants if m.status in KILLED} for suite, mutants in results.items()}
    either = set().union(*killed.values())
    unkilled = [by_name[n] for n in names if n not in either]
    reasons = {m.name: equivalence_reason(m, equivalents) for m in unkilled}
    equivalent = {name for name, reason in reasons.items() if reason}
    scores = [score(suite, killed[suite], names, equivalent) for suite in results]
    if len(results) > 1:
        scores.append(score(" + ".join(results), either, names, equivalent))
    survivors = [m for m in unkilled if m.name not in equivalent]
    statuses = {suite: {m.name: m.status for m in mutants} for suite, mutants in results.items()}
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Mutation score of the reference providers",
        "",
        f"{date}, `python scripts/mutation.py`, mutmut {mutmut_version()}, files: {', '.join(mutated_files())}.",
        "",
        "| suite | mutants | equivalent | killed | survived | score (of non-equivalent) |",
        "| --- | --- | --- | --- | --- | --- |",
        *[s.row() for s in scores],
        "",
        f"## Surviving mutants ({len(survivors)})",
        "",
    ]
    for mutant in survivors:
        seen = ", ".join(f"{suite}: {statuses[suite].get(mutant.name, 'not run')}" for suite in results)
        lines += [f"### `{mutant.name}` ({seen})", "", "```diff", mutant.diff.strip(), "```", ""]
    lines += [f"## Equivalent mutants ({len(equivalent)})", ""]
    for mutant in unkilled:
        if mutant.name in equivalent:
            lines += [
                f"### `{mutant.name}`",
                "",
                reasons[mutant.name] or "",
                "",
                "```diff",
                mutant.diff.strip(),
                "```",
                "",
            ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    data = {
        "date": date,
        "scores": [dict(asdict(s), survived=s.survived, percent=round(s.percent, 2)) for s in scores],
        "survivors": [asdict(m) for m in survivors],
        "equivalent": [dict(asdict(m), reason=reasons[m.name]) for m in unkilled if m.name in equivalent],
    }
    path.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return scores, survivors


def mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def mutated_files() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]["only_mutate"]


# --- the command --------------------------------------------------------------------------


def sources_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in mutated_files():
        digest.update((REPO / path).read_bytes())
    return digest.hexdigest()


def forget_stale_test_map(work: Path) -> bool:
    """Drop mutmut's map of which tests run which function if the sources changed since.

    mutmut keeps results per function and re-tests changed functions, but it never maps
    the tests of a function that is new: its mutants would count as "no tests".
    """
    stamp, stats = work / "mutated-sources.sha256", work / "mutants" / "mutmut-stats.json"
    stale = stats.exists() and (not stamp.exists() or stamp.read_text() != sources_fingerprint())
    if stale:
        stats.unlink()
    return stale


def run_suite(work: Path, suite: str, max_children: int, survivors_only: bool) -> bool:
    """Run mutmut for one suite (or only on last time's survivors); False if mutmut failed."""
    stale = forget_stale_test_map(work)
    names = [m.name for m in load_results(work) if m.status not in KILLED] if survivors_only else []
    print(f"--- mutmut, suite {suite}" + (f", {len(names)} survivors again" if survivors_only else ""), flush=True)
    wanted = bool(names) or not survivors_only
    if wanted and mutmut(work, suite, "run", "--max-children", str(max_children), *names).returncode:
        return False
    again = [m.name for m in load_results(work) if m.status == "no tests"] if stale and not survivors_only else []
    # On a busy machine a mutant can run out of CPU time without hanging: test each
    # timeout once more, alone, before counting it as killed.
    again += [m.name for m in load_results(work) if m.status == "timeout"]
    if again and mutmut(work, suite, "run", "--max-children", "1", *again).returncode:
        return False
    (work / "mutated-sources.sha256").write_text(sources_fingerprint())
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=sorted(SUITES), action="append", help="run only this suite (repeatable)")
    parser.add_argument("--fresh", action="store_true", help="forget mutmut's cached results first")
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="test again the mutants that survived last time (after adding tests; killed ones stay killed)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="write the report from the last results, run nothing"
    )
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once; default 2")
    parser.add_argument("--report", type=Path, default=WORK / "report.md", help="where the score and survivors go")
    args = parser.parse_args(argv)
    if importlib_missing("mutmut"):
        print('mutmut is not installed: pip install -e ".[dev]"', file=sys.stderr)
        return 2
    suites = args.suite or list(SUITES)
    results: dict[str, list[Mutant]] = {}
    for suite in suites:
        work = prepare(suite, args.fresh)
        if not args.report_only and not run_suite(work, suite, args.max_children, args.rerun_survivors):
            print(f"mutmut failed for suite {suite}: see the output above", file=sys.stderr)
            return 1
        results[suite] = load_results(work)
    killed = {m.name for mutants in results.values() for m in mutants if m.status in KILLED}
    add_diffs(WORK / suites[0], [m for mutants in results.values() for m in mutants if m.name not in killed])
    scores, survivors = report(results, load_equivalents(), args.report)
    for s in scores:
        print(f"{s.suite}: {s.killed} of {s.mutants - s.equivalent} non-equivalent mutants killed ({s.percent:.1f}%)")
    print(f"{len(survivors)} survivors; report: {args.report}")
    return 0


def importlib_missing(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is None


if __name__ == "__main__":
    sys.exit(main())
