"""The release workflow in docs/workflows/release.yml: tag -> build -> check -> publish.

Its build job is run locally, step by step, as the runner would (see
``run_workflow_locally``): the distributions it builds must pass ``twine check`` and the
wheel must carry the reference providers' cassettes. Only the publish step, which needs
the index and an OpenID Connect token, is left to GitHub.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from typing import Any

import pytest

from laios_conformance._version import __version__

from ._blocks import DOCS
from .conftest import clean_env, load_workflow, run_workflow_locally, triggers

RELEASE_WORKFLOW = "release.yml"
TAG = f"v{__version__}"


def with_tag(steps: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """The steps as GitHub hands them to the runner for a push of ``tag``."""
    return json.loads(json.dumps(steps).replace("${{ github.ref_name }}", tag))


def test_release_runs_on_version_tags_and_only_publishing_may_mint_a_token() -> None:
    workflow = load_workflow(RELEASE_WORKFLOW)
    assert triggers(workflow) == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read"}
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    assert "permissions" not in build, "the build job keeps the read-only default"
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}, "trusted publishing: an OIDC token, no stored secret"
    assert "secrets." not in (DOCS / "workflows" / RELEASE_WORKFLOW).read_text(encoding="utf-8")
    for step in build["steps"]:
        assert ("uses" in step) != ("run" in step), step
        if step.get("uses", "").startswith("actions/checkout"):
            assert step["with"]["persist-credentials"] is False
        if "run" in step:
            assert "${{" not in step["run"], "expressions go through env:, never into a script"
    scripts = [step.get("run", "") for step in build["steps"]]
    built = next(i for i, s in enumerate(scripts) if "python -m build" in s)
    checked = next(i for i, s in enumerate(scripts) if "twine check" in s)
    kept = next(i for i, s in enumerate(build["steps"]) if s.get("uses", "").startswith("actions/upload-artifact"))
    assert built < checked < kept
    assert re.fullmatch(r"pypa/gh-action-pypi-publish@release/v1", publish["steps"][-1]["uses"])


@pytest.fixture(scope="module")
def release_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    (job_steps,) = [load_workflow(RELEASE_WORKFLOW)["jobs"]["build"]["steps"]]
    return run_workflow_locally(tmp_path_factory.mktemp("release"), with_tag(job_steps, TAG), {})


def test_the_build_job_runs_locally_up_to_the_publish_step(release_run: Any) -> None:
    ran = [step for step in release_run.steps if step.ran is not None]
    assert [step.name for step in ran] == [
        "Build the sdist and the wheel",
        "Check that the tag names the version built",
        "Check the distributions",
    ]
    for step in ran:
        assert step.status == "passed", step.ran.explain()
    dist = release_run.workspace / "dist"
    assert sorted(p.name for p in dist.iterdir()) == [
        f"laios_conformance-{__version__}-py3-none-any.whl",
        f"laios_conformance-{__version__}.tar.gz",
    ]
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "reference_providers/cassettes/OpenAIClient/returns-response.yaml" in names


def test_a_tag_that_is_not_the_version_stops_the_release(release_run: Any) -> None:
    steps = load_workflow(RELEASE_WORKFLOW)["jobs"]["build"]["steps"]
    (check,) = [s for s in steps if s.get("name") == "Check that the tag names the version built"]
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", check["run"]],
        cwd=release_run.workspace,
        env=clean_env(TAG="v99.0.0"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "tag v99.0.0 does not match" in done.stdout
