"""The kit under pytest-xdist: ``-n 2`` gives the serial verdict, merged once by the controller.

Both runs judge the three reference providers in replay, as subprocesses from the
repository root (CI unset, ``-p no:cacheprovider``), started together to keep this module
short. A probe plugin (``-p laios_parallel_probe``, loaded by the controller *and* by every
worker, since xdist hands workers the controller's arguments) logs which process wrote a
report, and how many clause calls each process ran.

Results reach the controller in any order under xdist; the verdict is put back into
``--laios-provider`` order and the contract's subject order before it is written, so the
two reports list providers and clauses in the same order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from tests.conftest import load_verdict

pytest.importorskip("xdist")
# One pair of runs per session even when this suite itself runs under ``-n --dist loadgroup``.
pytestmark = pytest.mark.xdist_group("laios-parallel")

REPO = Path(__file__).resolve().parents[1]
PROVIDERS = (
    "reference_providers.openai:OpenAIClient",
    "reference_providers.anthropic:AnthropicClient",
    "reference_providers.ollama:OllamaClient",
)
SECTION = "LAIOS conformance"

PROBE = textwrap.dedent(
    '''
    """Logs, one JSON line per event, which process writes the verdict and what each ran."""
    import json
    import os

    import laios_conformance.session as _session

    _LOG = os.environ["LAIOS_PARALLEL_PROBE_LOG"]
    _calls = 0


    def _who(config):
        return getattr(config, "workerinput", {}).get("workerid", "controller")


    def _log(**event):
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(event, pid=os.getpid())) + "\\n")


    def pytest_configure(config):
        who = _who(config)
        real = _session.atomic_write_text

        def spy(path, text):
            _log(event="report-written", who=who, path=str(path))
            return real(path, text)

        _session.atomic_write_text = spy
        _log(event="configured", who=who)


    def pytest_runtest_call(item):
        global _calls
        _calls += 1


    def pytest_sessionfinish(session):
        _log(event="finished", who=_who(session.config), calls=_calls)
    '''
)


@dataclass
class Run:
    name: str
    result: subprocess.CompletedProcess
    report: Path
    events: list[dict]

    @property
    def output(self) -> str:
        return f"--- {self.name} stdout ---\n{self.result.stdout}\n--- stderr ---\n{self.result.stderr}"

    def verdict(self) -> dict:
        return load_verdict(self.report)

    def of(self, event: str) -> list[dict]:
        return [e for e in self.events if e["event"] == event]


def _env(probe_dir: Path, log: Path) -> dict[str, str]:
    drop = ("CI", "PYTEST_ADDOPTS", "COLUMNS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(probe_dir), str(REPO), env.get("PYTHONPATH")]))
    env["LAIOS_PARALLEL_PROBE_LOG"] = str(log)
    env["COLUMNS"] = "120"
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """A serial and an ``-n 2`` run of the three reference providers, started together."""
    root = tmp_path_factory.mktemp("parallel")
    probe_dir = root / "probe"
    probe_dir.mkdir()
    (probe_dir / "laios_parallel_probe.py").write_text(PROBE, encoding="utf-8")
    started = {}
    for name, extra in (("serial", []), ("xdist", ["-n", "2"])):
        out = root / name
        out.mkdir()
        log = root / f"{name}.events.jsonl"
        args = [f"--laios-provider={p}" for p in PROVIDERS]
        command = [
            sys.executable,
            "-m",
            "pytest",
            *args,
            f"--laios-report={out / 'verdict.json'}",
            "-p",
            "no:cacheprovider",
            "-p",
            "laios_parallel_probe",
            "-q",
            *extra,
        ]
        process = subprocess.Popen(
            command, cwd=REPO, env=_env(probe_dir, log), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        started[name] = (process, command, out, log)
    done = {}
    for name, (process, command, out, log) in started.items():
        try:
            stdout, stderr = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        done[name] = Run(name, result, out / "verdict.json", events)
    return done


def _statuses(verdict: dict) -> dict[str, dict[str, tuple[str, str]]]:
    return {
        entry["provider"]: {cid: (c["status"], c["level"]) for cid, c in entry["clauses"].items()}
        for entry in verdict["providers"]
    }


def _messages(verdict: dict) -> dict[tuple[str, str], list[str]]:
    """Each clause's message, as an order-insensitive list of its "; "-separated notes."""
    return {
        (entry["provider"], cid): sorted(c["message"].split("; "))
        for entry in verdict["providers"]
        for cid, c in entry["clauses"].items()
    }


def test_both_runs_pass_the_gate(runs: dict[str, Run]) -> None:
    for run in runs.values():
        assert run.result.returncode == 0, run.output
        assert "gate: passed" in run.result.stdout, run.output


def test_xdist_really_ran_on_two_workers(runs: dict[str, Run]) -> None:
    """Otherwise the comparison below would prove nothing about merging."""
    run = runs["xdist"]
    configured = {e["who"] for e in run.of("configured")}
    assert configured == {"controller", "gw0", "gw1"}, run.output
    calls = {e["who"]: e["calls"] for e in run.of("finished")}
    assert calls.get("gw0", 0) > 0 and calls.get("gw1", 0) > 0, (calls, run.output)
    assert calls.get("controller", 0) == 0, calls


def test_xdist_verdict_matches_serial(runs: dict[str, Run]) -> None:
    serial, parallel = runs["serial"].verdict(), runs["xdist"].verdict()
    assert parallel["kit_version"] == serial["kit_version"]
    assert [e["provider"] for e in parallel["providers"]] == list(PROVIDERS)
    assert [e["provider"] for e in serial["providers"]] == list(PROVIDERS)
    assert [list(e["clauses"]) for e in parallel["providers"]] == [list(e["clauses"]) for e in serial["providers"]]
    assert _statuses(parallel) == _statuses(serial)
    assert _messages(parallel) == _messages(serial)
    # Every clause of the contract was judged for every provider (nothing lost in the merge).
    from laios_conformance.contract import catalogue

    expected = {c.id for c in catalogue()}
    for provider, clauses in _statuses(parallel).items():
        assert set(clauses) == expected, provider


def test_only_the_controller_writes_the_report(runs: dict[str, Run]) -> None:
    for run in runs.values():
        writes = run.of("report-written")
        assert [w["who"] for w in writes] == ["controller"], (writes, run.output)
        assert writes[0]["path"] == str(run.report)
        # One merged file, no temporary files left behind by anyone.
        assert sorted(p.name for p in run.report.parent.iterdir()) == ["verdict.json"]


def test_the_table_is_printed_once(runs: dict[str, Run]) -> None:
    for run in runs.values():
        lines = run.result.stdout.splitlines()
        sections = [line for line in lines if SECTION in line and line.startswith("=")]
        assert len(sections) == 1, run.output
        assert sum(line.startswith("gate: ") for line in lines) == 1, run.output
        legend = sorted(line.split(" ", 1)[1] for line in lines if line.startswith("[") and "] reference_" in line)
        assert legend == sorted(PROVIDERS), run.output


def test_benchmarks_are_not_collected() -> None:
    """``python benchmarks/run.py`` is run by hand; a bare ``pytest`` never collects it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    ini = config["tool"]["pytest"]["ini_options"]
    assert ini["testpaths"] == ["tests"]
    assert "python_files" not in ini, "the check below assumes pytest's default test_*.py / *_test.py"
    bench = REPO / "benchmarks"
    if bench.is_dir():
        names = [p.name for p in bench.rglob("*.py")]
        assert not [n for n in names if n.startswith("test_") or n.endswith("_test.py")], names


def test_reference_providers_pass_every_must_and_should_clause(runs: dict[str, Run]) -> None:
    """What --laios-strict gates on: no clause of either level fails or errors; the skips are
    exactly the ones that do not apply (no key for a local Ollama, no refusal field outside
    OpenAI's protocol, no required header in Ollama's, no age limit given)."""
    not_applicable = {
        "reference_providers.ollama:OllamaClient": {
            *("no-secret-leak", "key-reaches-request", "refusal-visible", "headers-reach-request"),
        },
        "reference_providers.anthropic:AnthropicClient": {"refusal-visible"},
    }
    for provider, clauses in _statuses(runs["serial"].verdict()).items():
        not_passed = {cid: status for cid, (status, _) in clauses.items() if status != "passed"}
        expected = {"cassettes-fresh"} | not_applicable.get(provider, set())
        assert not_passed == dict.fromkeys(expected, "skipped"), provider
