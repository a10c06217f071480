"""The GitHub Actions workflows in docs/workflows/: well-formed, least privilege, and working.

``conformance.yml``, ``conformance-matrix.yml`` and ``api-drift.yml`` are also run locally, step by step (see
``run_workflow_locally`` and ``run_jobs_locally``).
"""

from __future__ import annotations

import json
import re
import secrets as _secrets
import shutil
import string
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import cli
from tests.conftest import load_verdict
from tests.support.fake_api import ChangedShapeAPI, FakeAPI

from ._blocks import DOCS
from .conftest import (
    CLI_MISSING,
    CONFORMANCE_WORKFLOW,
    MATRIX_WORKFLOW,
    JobsRun,
    WorkflowRun,
    cli_available,
    load_workflow,
    run_workflow_locally,
    triggers,
)

RECORD_WORKFLOW = "record-cassettes.yml"
DRIFT_WORKFLOW = "api-drift.yml"


def steps_of(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def all_permissions(workflow: dict[str, Any]) -> list[dict[str, str]]:
    found = [workflow.get("permissions")]
    found += [job["permissions"] for job in workflow["jobs"].values() if "permissions" in job]
    return found


@pytest.mark.parametrize(
    "name, trigger",
    [(CONFORMANCE_WORKFLOW, "pull_request"), (MATRIX_WORKFLOW, "pull_request"), (RECORD_WORKFLOW, "workflow_dispatch")],
)
def test_workflow_parses_with_its_trigger_and_least_privilege(name: str, trigger: str) -> None:
    workflow = load_workflow(name)
    on = triggers(workflow)
    assert set(on if isinstance(on, (dict, list)) else [on]) == {trigger}
    assert workflow.get("permissions") == {"contents": "read"}, "top-level permissions: contents: read, nothing more"
    for permissions in all_permissions(workflow):
        assert isinstance(permissions, dict) and set(permissions.values()) <= {"read", "none"}, permissions
    for step in steps_of(workflow):
        assert ("uses" in step) != ("run" in step), step
        if "uses" in step:
            assert re.fullmatch(r"actions/[a-z-]+@v\d+", step["uses"]), step["uses"]
        if step.get("uses", "").startswith("actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False
        if "run" in step:
            assert "${{" not in step["run"], "expressions go through env:, never into a script"


def test_replay_workflow_needs_no_secret() -> None:
    text = (DOCS / "workflows" / CONFORMANCE_WORKFLOW).read_text(encoding="utf-8")
    assert "secrets." not in text and "pull_request_target" not in text
    commands = " ".join(step.get("run", "") for step in steps_of(load_workflow(CONFORMANCE_WORKFLOW)))
    assert "--record-mode" not in commands or "--record-mode=none" in commands
    assert "laios-conformance check" in commands, "check is the gate: no verdict file, no pass"
    assert "--report-json" in commands and "--report-md" in commands and "$GITHUB_STEP_SUMMARY" in commands
    assert any(
        step.get("uses", "").startswith("actions/upload-artifact")
        for step in steps_of(load_workflow(CONFORMANCE_WORKFLOW))
    )


def test_record_workflow_keeps_the_key_in_one_step_and_lints_before_upload() -> None:
    workflow = load_workflow(RECORD_WORKFLOW)
    steps = steps_of(workflow)
    with_key = [i for i, s in enumerate(steps) if "secrets.OPENAI_API_KEY" in json.dumps(s)]
    assert len(with_key) == 1, "exactly one step sees the key"
    recording = steps[with_key[0]]
    assert recording["env"] == {"OPENAI_API_KEY": "${{ secrets.OPENAI_API_KEY }}"}
    assert "--record-mode=once" in recording["run"]
    assert '"$OPENAI_API_KEY"' in recording["run"], "the key reaches the kit as $NAME, so it is scrubbed"
    wide_env = [workflow.get("env", {}), *(job.get("env", {}) for job in workflow["jobs"].values())]
    assert not any("secrets." in json.dumps(env) for env in wide_env), "no workflow- or job-wide secret"
    lint = next(i for i, s in enumerate(steps) if "laios-conformance lint cassettes" in s.get("run", ""))
    upload = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/upload-artifact"))
    assert with_key[0] < lint < upload


@pytest.fixture(scope="module")
def replay_run(doc_jobs):
    return doc_jobs.conformance_workflow().result()


def test_replay_workflow_runs_locally(replay_run) -> None:
    ran = [step for step in replay_run.steps if step.ran is not None]
    assert ran, [(s.name, s.reason) for s in replay_run.steps]
    for step in ran:
        assert step.status == "passed", step.ran.explain()
    verdict = load_verdict(replay_run.workspace / "verdict.json")
    assert verdict["verdict"] == "passed" and verdict["complete"], verdict["gate_reason"]
    clauses = verdict["providers"][0]["clauses"]
    assert clauses and all(c["status"] not in ("failed", "error") for c in clauses.values()), clauses
    uploads = [
        s
        for s in steps_of(load_workflow(CONFORMANCE_WORKFLOW))
        if s.get("uses", "").startswith("actions/upload-artifact")
    ]
    for step in uploads:
        assert (replay_run.workspace / step["with"]["path"]).exists(), step["with"]["path"]


def test_replay_workflow_writes_the_job_summary(replay_run) -> None:
    if not cli_available():
        pytest.skip(CLI_MISSING)
    summary = replay_run.summary.read_text(encoding="utf-8")
    assert "returns-response" in summary, summary or "the step summary is empty"


# -- the matrix workflow: one job per provider, then a gate that merges their verdicts ----------


def test_matrix_workflow_runs_one_check_per_provider_then_merges() -> None:
    text = (DOCS / "workflows" / MATRIX_WORKFLOW).read_text(encoding="utf-8")
    assert "secrets." not in text and "pull_request_target" not in text
    workflow = load_workflow(MATRIX_WORKFLOW)
    check, gate = workflow["jobs"]["check"], workflow["jobs"]["gate"]
    strategy = check["strategy"]
    assert strategy["fail-fast"] is False, "one provider's failure must not cancel the others' verdicts"
    cells = strategy["matrix"]["include"]
    assert len(cells) >= 2 and all(set(cell) == {"name", "provider"} for cell in cells), cells
    assert len({cell["name"] for cell in cells}) == len(cells)
    runs = " ".join(step.get("run", "") for step in check["steps"])
    assert 'laios-conformance check "$PROVIDER" --report-json "verdict-$NAME.json"' in runs
    (upload,) = [s for s in check["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert "${{ matrix.name }}" in upload["with"]["name"], "an artifact name is taken once per workflow run"
    assert "!cancelled()" in upload["if"], "a failing provider's verdict is the one the gate needs"
    assert gate["needs"] == "check" and "!cancelled()" in gate["if"]
    (download,) = [s for s in gate["steps"] if s.get("uses", "").startswith("actions/download-artifact")]
    assert download["with"]["pattern"] == "verdict-*" and download["with"]["merge-multiple"] is True
    gate_runs = " ".join(step.get("run", "") for step in gate["steps"])
    assert "laios-conformance merge verdicts/*.json" in gate_runs and "$GITHUB_STEP_SUMMARY" in gate_runs
    assert gate["env"] == {"CHECK_JOBS": "${{ needs.check.result }}"}


@pytest.fixture(scope="module")
def matrix_run(doc_jobs) -> JobsRun:
    if not cli_available():
        pytest.skip(CLI_MISSING)
    return doc_jobs.matrix_workflow().result()


def failed_steps(run: WorkflowRun) -> list[str]:
    return [f"{s.name}: {s.ran.explain() if s.ran else s.reason}" for s in run.steps if s.status == "failed"]


def test_matrix_workflow_runs_locally(matrix_run: JobsRun) -> None:
    cells = load_workflow(MATRIX_WORKFLOW)["jobs"]["check"]["strategy"]["matrix"]["include"]
    assert len(matrix_run.jobs["check"]) == len(cells)
    per_job = {}
    for cell, run in zip(cells, matrix_run.jobs["check"], strict=True):
        assert not failed_steps(run), failed_steps(run)
        verdict = json.loads((run.workspace / f"verdict-{cell['name']}.json").read_text())
        assert [p["provider"] for p in verdict["providers"]] == [cell["provider"]]
        per_job[cell["provider"]] = verdict["providers"][0]["clauses"]
    (gate,) = matrix_run.jobs["gate"]
    assert not failed_steps(gate), failed_steps(gate)
    assert sorted(p.name for p in (gate.workspace / "verdicts").iterdir()) == sorted(
        f"verdict-{cell['name']}.json" for cell in cells
    )
    merged = json.loads((gate.workspace / "verdict.json").read_text())
    assert {p["provider"]: p["clauses"] for p in merged["providers"]} == per_job
    assert "✅ **gate passed**" in gate.summary.read_text(encoding="utf-8")
    suites = ET.parse(gate.workspace / "junit.xml").getroot().findall("testsuite")
    assert sorted(suite.get("name") for suite in suites) == sorted(per_job)


def run_gate_again(matrix_run: JobsRun, tmp_path: Path, check_jobs: str, edit) -> WorkflowRun:
    """The gate job once more, on an edited copy of the artifacts the matrix jobs uploaded."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(matrix_run.artifacts, artifacts, ignore=shutil.ignore_patterns("conformance-verdict"))
    edit(artifacts)
    gate = load_workflow(MATRIX_WORKFLOW)["jobs"]["gate"]
    env = {"CHECK_JOBS": check_jobs}
    return run_workflow_locally(tmp_path / "gate", gate["steps"], env, artifacts)


def step_status(run: WorkflowRun) -> dict[str, str]:
    return {step.name: step.status for step in run.steps}


def test_matrix_gate_fails_when_one_provider_fails(matrix_run: JobsRun, tmp_path: Path) -> None:
    def fail_openai(artifacts: Path) -> None:
        path = artifacts / "verdict-openai" / "verdict-openai.json"
        verdict = json.loads(path.read_text())
        verdict["providers"][0]["clauses"]["returns-response"].update(status="failed", message="empty content")
        path.write_text(json.dumps(verdict))

    gate = run_gate_again(matrix_run, tmp_path, "failure", fail_openai)
    assert step_status(gate)["Merge the verdicts into one gate"] == "failed"
    assert "❌ **gate failed**" in gate.summary.read_text(encoding="utf-8")


def test_matrix_gate_fails_when_a_provider_delivered_no_verdict(matrix_run: JobsRun, tmp_path: Path) -> None:
    gate = run_gate_again(matrix_run, tmp_path, "failure", lambda a: shutil.rmtree(a / "verdict-anthropic"))
    statuses = step_status(gate)
    assert statuses["Merge the verdicts into one gate"] == "passed", "what arrived passes"
    assert statuses["Every provider's job delivered its verdict"] == "failed", "but a provider is missing"


# -- the nightly drift check ------------------------------------------------------------------


def test_drift_workflow_runs_nightly_keeps_the_key_in_one_step_and_opens_nothing() -> None:
    workflow = load_workflow(DRIFT_WORKFLOW)
    on = triggers(workflow)
    assert "schedule" in on and set(on) <= {"schedule", "workflow_dispatch"}
    assert workflow.get("permissions") == {"contents": "read"}
    for permissions in all_permissions(workflow):
        assert set(permissions.values()) <= {"read", "none"}, permissions
    steps = steps_of(workflow)
    with_key = [step for step in steps if "secrets." in json.dumps(step)]
    assert len(with_key) == 1 and with_key[0]["env"] == {"OPENAI_API_KEY": "${{ secrets.OPENAI_API_KEY }}"}
    (job,) = workflow["jobs"].values()
    assert '"$OPENAI_API_KEY"' in job["env"]["PROVIDER_KWARGS"], "the key reaches the kit as $NAME, so it is scrubbed"
    script = with_key[0]["run"]
    assert "laios-conformance drift" in script and "--report-md" in script and "$GITHUB_STEP_SUMMARY" in script
    text = (DOCS / "workflows" / DRIFT_WORKFLOW).read_text(encoding="utf-8")
    assert not re.search(r"gh (issue|pr)|github-script|create-pull-request|git push", text), "the job opens nothing"


FAKE_KEY = "sk-proj-" + "".join(_secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


@pytest.fixture(scope="module")
def drift_runs() -> Iterator[dict[str, WorkflowRun]]:
    """The drift job, run locally against a loopback API in the cassettes' shape and in a changed one."""
    if not cli_available():
        pytest.skip(CLI_MISSING)
    (job,) = load_workflow(DRIFT_WORKFLOW)["jobs"].values()

    def run(name: str, api: FakeAPI, folder: Path) -> WorkflowRun:
        with api:
            kwargs = json.loads(job["env"]["PROVIDER_KWARGS"]) | {"base_url": api.url + "/v1"}
            env = {**job["env"], "PROVIDER_KWARGS": json.dumps(kwargs)}
            context = {"secrets": {"OPENAI_API_KEY": FAKE_KEY}}
            return run_workflow_locally(folder / name, job["steps"], env, context=context, cassettes=folder / "base")

    with tempfile.TemporaryDirectory(prefix="laios-drift-workflow-") as scratch, ThreadPoolExecutor(2) as pool:
        folder = Path(scratch)
        # The committed cassettes as the loopback API's version 1 answers (the repository's own mix in
        # answers from other services, such as the vllm answer finish-reason replays).
        record_cassettes_from(FakeAPI(), folder / "base")
        for name in ("same", "changed"):
            (folder / name).mkdir()
        same = pool.submit(run, "same", FakeAPI(), folder)
        changed = pool.submit(run, "changed", ChangedShapeAPI(), folder)
        runs = {"same": same.result(), "changed": changed.result()}
        yield runs


def record_cassettes_from(api: FakeAPI, root: Path) -> None:
    """Record the reference OpenAI provider's cassette clauses from ``api`` into ``root``."""
    with api:
        kwargs = json.dumps({"base_url": api.url + "/v1"})
        result = cli(
            "check", "reference_providers.openai:OpenAIClient", "--kwargs", kwargs, "--cassette-dir", str(root),
            "--", "--record-mode=once", "-m", "vcr", "--laios-allow-partial",
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def drift_step(run: WorkflowRun):
    (step,) = [s for s in run.steps if s.ran is not None]
    return step


def test_drift_workflow_passes_while_the_api_keeps_its_shape(drift_runs) -> None:
    step = drift_step(drift_runs["same"])
    assert step.status == "passed", step.ran.explain()
    assert "No change of shape" in drift_runs["same"].summary.read_text(encoding="utf-8")


def test_drift_workflow_fails_with_the_table_as_its_summary_and_never_shows_the_key(drift_runs) -> None:
    run = drift_runs["changed"]
    step = drift_step(run)
    assert step.status == "failed" and step.ran.returncode == 1, step.ran.explain()
    summary = run.summary.read_text(encoding="utf-8")
    assert "| change | clause | interaction | path | what changed |" in summary
    assert "| `choices[].message.content` | str -> list |" in summary and "| `usage` | removed |" in summary
    assert FAKE_KEY not in summary + step.ran.stdout + step.ran.stderr
    assert FAKE_KEY not in (run.workspace / "drift.md").read_text(encoding="utf-8")
