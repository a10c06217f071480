"""Running what the docs show: the site build, code blocks, the example provider, the CI workflow.

Every slow job (a subprocess running the kit, mkdocs, or a page's Python) is started on a
small thread pool as soon as the first docs test asks for the ``doc_jobs`` fixture, and
each test waits for its own: the subprocesses overlap, and the whole folder stays fast.
The repository is never written to: documented commands run from its root but only
replay (recording commands must be marked not-run), their output files are redirected to
temporary folders, and the workflow runs in a copy of the work tree.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._blocks import DOCS, REPO, Block, all_blocks, commands, redirect_outputs

TIMEOUT = 180
CLI_MISSING = (
    "laios_conformance.cli is not importable in this checkout: this documents the laios-conformance "
    "command, and runs wherever the command exists"
)
# Environment variables a docs run must not inherit: CI switches, pytest settings, real keys.
_DROPPED_ENV = (
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_CURRENT_TEST",
)
_DROPPED_SUFFIXES = ("_API_KEY",)

# Installed in every Python process the docs tests start: nothing may leave this machine.
NETWORK_GUARD = r"""
import ipaddress as _ip, socket as _socket

def _laios_docs_loopback(host):
    if host in (None, "", "localhost") or str(host).endswith(".localhost"):
        return True
    try:
        return _ip.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False

def _laios_docs_blocked(what):
    raise OSError(f"the docs tests block network access: {what!r}")

_laios_real_connect = _socket.socket.connect
def _laios_docs_connect(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6) and not _laios_docs_loopback(address[0]):
        _laios_docs_blocked(address)
    return _laios_real_connect(self, address)
_socket.socket.connect = _laios_docs_connect

_laios_real_getaddrinfo = _socket.getaddrinfo
def _laios_docs_getaddrinfo(host, *args, **kwargs):
    if not _laios_docs_loopback(host.decode() if isinstance(host, bytes) else host):
        _laios_docs_blocked(host)
    return _laios_real_getaddrinfo(host, *args, **kwargs)
_socket.getaddrinfo = _laios_docs_getaddrinfo
"""

_PYTHON_DRIVER = (
    NETWORK_GUARD
    + r"""
import json, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for block in blocks:
    print(f"--- {block['id']}", flush=True)
    try:
        exec(compile("\n" * block["line"] + block["code"], block["path"], "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(f"FAILED: the python block at {block['id']} raised", file=sys.stderr)
        sys.exit(1)
"""
)

_CLI_MAIN = "import sys; from laios_conformance.cli import main; sys.exit(main())"
# Child pytest runs load the kit's plugin and pytest-recording explicitly and nothing else,
# as `laios-conformance check` does under PYTEST_DISABLE_PLUGIN_AUTOLOAD: whatever other
# plugins this environment has installed cost a second and a half per process and play no
# part in what the docs show.
_PYTEST_PLUGINS = ["-p", "laios_conformance.plugin", "-p", "pytest_recording.plugin"]


def cli_available() -> bool:
    return importlib.util.find_spec("laios_conformance.cli") is not None


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED_ENV and not key.startswith("PYTEST_XDIST") and not key.endswith(_DROPPED_SUFFIXES)
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra)
    return env


def program(argv: list[str]) -> list[str]:
    """The documented command as this interpreter runs it (no reliance on PATH)."""
    if argv[0] == "pytest":
        return [sys.executable, "-m", "pytest", *_PYTEST_PLUGINS, *argv[1:], "-p", "no:cacheprovider"]
    if argv[0] == "laios-conformance":
        return [sys.executable, "-c", _CLI_MAIN, *argv[1:]]
    raise ValueError(f"not a runnable command: {argv}")


@dataclass
class Ran:
    what: str
    returncode: int
    stdout: str
    stderr: str
    outputs: list[Path]

    def explain(self) -> str:
        return (
            f"{self.what}\nexit {self.returncode}\n--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-4000:]}"
        )


def run(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    what: str,
    stdin: str | None = None,
    outputs: list[Path] | None = None,
) -> Ran:
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return Ran(what, -1, str(exc.stdout or ""), f"timed out after {TIMEOUT}s", outputs or [])
    return Ran(what, done.returncode, done.stdout, done.stderr, outputs or [])


# -- the jobs --------------------------------------------------------------------------------


class DocJobs:
    """Futures of every slow docs job; each job runs once, on a small thread pool."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pool = ThreadPoolExecutor(max_workers=max(2, min(4, (os.cpu_count() or 2) + 1)))
        self.futures: dict[Any, Future] = {}
        self._count = 0

    def _submit(self, key: Any, job: Callable[[], Any]) -> Future:
        if key not in self.futures:
            self.futures[key] = self.pool.submit(job)
        return self.futures[key]

    def folder(self, name: str) -> Path:
        self._count += 1
        path = self.workdir / f"{self._count:03d}-{name}"
        path.mkdir(parents=True)
        return path

    # -- the jobs ------------------------------------------------------------------------------

    def site(self) -> Future:
        """``mkdocs build --strict`` into a temporary folder, with the network blocked."""
        return self._submit("site", self._build_site)

    def command(self, argv: list[str]) -> Future:
        """One documented command, from the repository root, its output files redirected."""
        return self._submit(("command", *argv), lambda: self._command(argv))

    def python_page(self, page: str, blocks: list[Block]) -> Future:
        """The runnable python blocks of one page, in order, in one namespace, in an empty folder."""
        return self._submit(("python", page), lambda: self._python_page(page, blocks))

    def example_provider(self) -> Future:
        """The kit, strict, on the provider the guide saves, replaying the reference cassettes."""
        return self._submit(
            "example", lambda: self._example_provider(saved_modules(), EXAMPLE_TARGET, EXAMPLE_RECORDED_AS)
        )

    def conformance_workflow(self) -> Future:
        """The steps of the replay workflow's job, run locally."""
        workflow = load_workflow(CONFORMANCE_WORKFLOW)
        (job,) = workflow["jobs"].values()
        job_env = {k: str(v) for k, v in (job.get("env") or {}).items()}
        return self._submit("workflow", lambda: run_workflow_locally(self.folder("workflow"), job["steps"], job_env))

    def matrix_workflow(self) -> Future:
        """Every job of the matrix workflow, run locally: one run per matrix cell, then the gate."""
        workflow = load_workflow(MATRIX_WORKFLOW)
        return self._submit("matrix", lambda: run_jobs_locally(workflow, self.folder))

    def start_all(self) -> None:
        """Submit every job, slowest first."""
        self.matrix_workflow()
        self.conformance_workflow()
        self.example_provider()
        self.site()
        for block in all_blocks():
            if block.lang == "bash" and block.runs:
                for argv in runnable_commands(block):
                    if argv[0] != "laios-conformance" or cli_available():
                        self.command(argv)
        for page, blocks in python_pages().items():
            self.python_page(page, blocks)

    # -- what they run -------------------------------------------------------------------------

    def _build_site(self) -> Ran:
        site = self.folder("site")
        code = NETWORK_GUARD + "\nfrom mkdocs.__main__ import cli\ncli()"
        argv = [sys.executable, "-c", code, "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)]
        return run(argv, REPO, clean_env(), "mkdocs build --strict", outputs=[site])

    def _command(self, argv: list[str]) -> Ran:
        moved, outputs = redirect_outputs(argv, self.folder(argv[0]))
        return run(program(moved), REPO, clean_env(), " ".join(argv), outputs=outputs)

    def _python_page(self, page: str, blocks: list[Block]) -> Ran:
        payload = [{"id": b.id, "line": b.line, "path": str(DOCS / b.page), "code": b.code} for b in blocks]
        return run(
            [sys.executable, "-c", _PYTHON_DRIVER],
            self.folder("python"),
            clean_env(),
            f"python blocks of {page}",
            stdin=json.dumps(payload),
        )

    def _example_provider(self, files: dict[str, str], target: str, recorded_as: str) -> Ran:
        folder = self.folder("example")
        for name, code in files.items():
            (folder / name).write_text(code, encoding="utf-8")
        shutil.copytree(REPO / "cassettes" / recorded_as, folder / "cassettes" / target.split(":")[1])
        report = folder / "verdict.json"
        argv = program(
            [
                "pytest",
                f"--laios-provider={target}",
                "--laios-cassette-dir=cassettes",
                f"--laios-report={report}",
                "--laios-strict",
            ]
        )
        return run(argv, folder, clean_env(), " ".join(argv[2:]), outputs=[report])


@dataclass
class StepRun:
    name: str
    status: str  # "passed", "failed", "skipped"
    reason: str
    ran: Ran | None


@dataclass
class WorkflowRun:
    workspace: Path
    summary: Path
    steps: list[StepRun]


def run_workflow_locally(
    folder: Path,
    steps: list[dict[str, Any]],
    job_env: dict[str, str],
    artifacts: Path | None = None,
    context: dict[str, Any] | None = None,
    cassettes: Path | None = None,
) -> WorkflowRun:
    """The ``run:`` steps of a GitHub Actions job, in order, as the runner would run them.

    ``actions/checkout`` is a copy of the work tree; ``pip install`` steps are skipped (the kit
    is importable through PYTHONPATH); other ``uses:`` steps are skipped, except that, given an
    ``artifacts`` folder, upload-artifact and download-artifact copy files in and out of it;
    steps that need the laios-conformance command are skipped while it does not exist. Like
    the runner: CI and GITHUB_ACTIONS are set, GITHUB_STEP_SUMMARY is a file, scripts run under
    ``bash --noprofile --norc -eo pipefail``, and ``${{ matrix.* }}`` / ``${{ needs.* }}`` in
    ``env:`` and ``with:`` are filled from ``context``. ``cassettes`` replaces the checkout's
    ``cassettes/`` folder.
    """
    context = context or {}
    workspace = folder / "workspace"
    shutil.copytree(
        REPO,
        workspace,
        ignore=shutil.ignore_patterns(
            ".git",
            ".hypothesis",
            ".pytest_cache",
            ".benchmarks",
            "__pycache__",
            "*.egg-info",
            "site",
            "tests",
            "docs",
            "build",  # local build and mutation-testing output, never in a fresh clone
            "dist",
        ),
    )
    if cassettes is not None:  # the job's checkout holds these cassettes instead of the repository's
        shutil.rmtree(workspace / "cassettes")
        shutil.copytree(cassettes, workspace / "cassettes")
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    shims = {
        "pytest": f'exec "{sys.executable}" -m pytest {" ".join(_PYTEST_PLUGINS)} -p no:cacheprovider "$@"\n',
        "laios-conformance": f'exec "{sys.executable}" -c \'{_CLI_MAIN}\' "$@"\n',
    }
    for name, body in shims.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    summary = folder / "step-summary.md"
    summary.write_text("")
    env = clean_env(
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(folder),
        PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
    )
    env["PYTHONPATH"] = str(workspace)
    env.update(job_env)
    results = []
    for index, step in enumerate(steps):
        name = step.get("name") or step.get("uses") or f"step {index + 1}"
        script = step.get("run")
        if script is None and artifacts is not None and _is_artifact_action(step):
            results.append(run_artifact_step(name, step, workspace, artifacts, context))
            continue
        if script is None:
            results.append(StepRun(name, "skipped", f"uses: {step.get('uses')} (an action; not run locally)", None))
            continue
        lines = [line.strip() for line in script.splitlines() if line.strip()]
        if all(line.startswith(("pip install", "python -m pip install")) for line in lines):
            results.append(StepRun(name, "skipped", "pip install (the kit is on PYTHONPATH)", None))
            continue
        if "laios-conformance" in script and not cli_available():
            results.append(StepRun(name, "skipped", CLI_MISSING, None))
            continue
        script_file = folder / f"step-{index + 1}.sh"
        script_file.write_text(script)
        step_env = {**env, **{k: expand(str(v), context) for k, v in (step.get("env") or {}).items()}}
        ran = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)], workspace, step_env, name)
        results.append(StepRun(name, "passed" if ran.returncode == 0 else "failed", "", ran))
    return WorkflowRun(workspace, summary, results)


_EXPRESSION = re.compile(r"\$\{\{\s*(?P<path>[A-Za-z_][\w.-]*)\s*\}\}")


def expand(value: str, context: dict[str, Any]) -> str:
    """``value`` with its ``${{ a.b }}`` expressions looked up in ``context`` (nothing else is evaluated)."""

    def lookup(match: re.Match[str]) -> str:
        found: Any = context
        for part in match.group("path").split("."):
            if not isinstance(found, dict) or part not in found:
                raise ValueError(f"the local runner cannot evaluate {match.group(0)} in {value!r}")
            found = found[part]
        return str(found)

    return _EXPRESSION.sub(lookup, value)


def _is_artifact_action(step: dict[str, Any]) -> bool:
    return step.get("uses", "").startswith(("actions/upload-artifact@", "actions/download-artifact@"))


def run_artifact_step(
    name: str, step: dict[str, Any], workspace: Path, artifacts: Path, context: dict[str, Any]
) -> StepRun:
    """upload-artifact copies files into ``artifacts/<name>/``; download-artifact copies them back."""
    given = {key: expand(str(value), context) for key, value in (step.get("with") or {}).items()}
    if step["uses"].startswith("actions/upload-artifact@"):
        paths = [workspace / line.strip() for line in given["path"].splitlines() if line.strip()]
        missing = [path.name for path in paths if not path.exists()]
        if missing and given.get("if-no-files-found") == "error":
            return StepRun(name, "failed", f"upload-artifact: no such file: {missing[0]}", None)
        store = artifacts / given.get("name", "artifact")
        store.mkdir(parents=True)  # on GitHub too, an artifact name is taken once per workflow run
        for path in paths:
            if path.is_dir():
                shutil.copytree(path, store / path.name)
            elif path.exists():
                shutil.copy2(path, store / path.name)
        return StepRun(name, "passed", f"uploaded artifact {store.name}", None)
    pattern = given.get("pattern") or given.get("name") or "*"
    target = workspace / given.get("path", ".")
    found = sorted(store for store in artifacts.iterdir() if fnmatch.fnmatchcase(store.name, pattern))
    for store in found:
        merged = given.get("merge-multiple", "").lower() == "true" or "name" in given
        shutil.copytree(store, target if merged else target / store.name, dirs_exist_ok=True)
    if not found:
        return StepRun(name, "failed", f"download-artifact: no artifact matches {pattern!r}", None)
    return StepRun(name, "passed", f"downloaded {[store.name for store in found]}", None)


@dataclass
class JobsRun:
    artifacts: Path
    jobs: dict[str, list[WorkflowRun]]


def run_jobs_locally(workflow: dict[str, Any], new_folder: Callable[[str], Path]) -> JobsRun:
    """Every job of a workflow, in file order (a job's ``needs`` come before it), one run per
    ``matrix.include`` cell, sharing one artifact store; ``needs.JOB.result`` is ``success``
    when every step of every run of JOB passed, ``failure`` otherwise."""
    artifacts = new_folder("artifacts")
    runs: dict[str, list[WorkflowRun]] = {}
    for job_id, job in workflow["jobs"].items():
        needs = job.get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        context: dict[str, Any] = {"needs": {n: {"result": _result(runs[n])} for n in needs}}
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        if set(matrix) - {"include"}:
            raise ValueError(f"job {job_id}: the local runner knows only matrix.include, got {sorted(matrix)}")
        runs[job_id] = []
        for cell in matrix.get("include") or [{}]:
            cell_context = {**context, "matrix": cell}
            job_env = {key: expand(str(value), cell_context) for key, value in (job.get("env") or {}).items()}
            folder = new_folder(f"{job_id}-{cell.get('name', 'job')}")
            runs[job_id].append(run_workflow_locally(folder, job["steps"], job_env, artifacts, cell_context))
    return JobsRun(artifacts, runs)


def _result(runs: list[WorkflowRun]) -> str:
    return "success" if all(step.status != "failed" for run in runs for step in run.steps) else "failure"


def load_workflow(name: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((DOCS / "workflows" / name).read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> Any:
    """The ``on:`` section (YAML 1.1 reads the bare key ``on`` as True)."""
    return workflow.get("on", workflow.get(True))


def runnable_commands(block: Block) -> list[list[str]]:
    return [c.argv for c in commands(block) if c.kind == "run"]


def python_pages() -> dict[str, list[Block]]:
    found: dict[str, list[Block]] = {}
    for block in all_blocks():
        if block.lang == "python" and block.runs:
            found.setdefault(block.page, []).append(block)
    return found


def saved_modules() -> dict[str, str]:
    return {b.markers["save-as"]: b.code for b in all_blocks() if "save-as" in b.markers}


# The example provider the guide builds, and the reference provider whose cassettes it replays.
EXAMPLE_TARGET = "mini_chat:MiniChatClient"
EXAMPLE_RECORDED_AS = "OpenAIClient"
CONFORMANCE_WORKFLOW = "conformance.yml"
MATRIX_WORKFLOW = "conformance-matrix.yml"


@pytest.fixture(scope="session")
def doc_jobs() -> Iterator[DocJobs]:
    """The docs jobs, all started at once so that the subprocesses overlap.

    Under pytest-xdist each worker has a session of its own: there a job starts only when a
    test asks for it, so that no job runs once per worker.
    """
    with tempfile.TemporaryDirectory(prefix="laios-docs-") as workdir:
        jobs = DocJobs(Path(workdir))
        try:
            if not os.environ.get("PYTEST_XDIST_WORKER"):
                jobs.start_all()
            yield jobs
        finally:
            jobs.pool.shutdown(wait=True, cancel_futures=True)
