"""The GitHub Actions workflows in docs/workflows/: well-formed, least privilege, and working.

``conformance.yml`` is also run locally, step by step (see ``run_workflow_locally``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ._blocks import DOCS
from .conftest import CLI_MISSING, CONFORMANCE_WORKFLOW, cli_available, load_workflow, triggers

RECORD_WORKFLOW = "record-cassettes.yml"


def steps_of(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def all_permissions(workflow: dict[str, Any]) -> list[dict[str, str]]:
    found = [workflow.get("permissions")]
    found += [job["permissions"] for job in workflow["jobs"].values() if "permissions" in job]
    return found


@pytest.mark.parametrize(
    "name, trigger", [(CONFORMANCE_WORKFLOW, "pull_request"), (RECORD_WORKFLOW, "workflow_dispatch")]
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
    assert "--laios-report=" in commands and "--report-md" in commands and "$GITHUB_STEP_SUMMARY" in commands
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
    verdict = json.loads((replay_run.workspace / "verdict.json").read_text())
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
