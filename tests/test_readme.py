"""The README's two commands are the project's contract with a fresh machine."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    main, tests = readme_commands()
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [tests]
    assert main.startswith("pip install -e . && pytest --laios-provider=reference_providers.")


def test_readme_test_command_lints_and_type_checks_before_testing() -> None:
    _, tests = readme_commands()
    steps = [step.strip() for step in tests.split("&&")]
    assert steps == ['pip install -e ".[dev]"', "ruff check .", "ruff format --check .", "mypy", "pytest"]


def test_main_command_replays_committed_cassettes() -> None:
    main, _ = readme_commands()
    target = main.split("--laios-provider=", 1)[1].split()[0]
    class_name = target.rsplit(":", 1)[1]
    assert sorted(p.stem for p in (ROOT / "cassettes" / class_name).glob("*.yaml"))


# Run in a subprocess that cannot import the dev extras: what the README's first command
# meets on a machine where only ``pip install -e .`` ran.
WITHOUT_DEV_EXTRAS = """
import importlib.abc, sys

BLOCKED = set(sys.argv[1].split(","))


class DevExtras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (a dev extra: not installed)")
        return None


sys.meta_path.insert(0, DevExtras())
import pytest

sys.exit(pytest.main(sys.argv[2:]))
"""


def _requirements(dist: str, extra: str = "") -> set[str]:
    found = set()
    for requirement in map(Requirement, metadata.requires(dist) or []):
        if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
            found.add(canonicalize_name(requirement.name))
    return found


def dev_only_modules() -> set[str]:
    """Top-level modules of the dev extras' packages that the kit's own dependencies do not
    bring in, as installed here."""
    runtime, todo = set(), list(_requirements("laios-conformance"))
    while todo:
        dist = todo.pop()
        if dist not in runtime:
            runtime.add(dist)
            with contextlib.suppress(metadata.PackageNotFoundError):
                todo.extend(_requirements(dist))
    dev_only = _requirements("laios-conformance", "dev") - runtime
    return {
        module
        for dist in metadata.distributions()
        if canonicalize_name(dist.metadata["Name"]) in dev_only
        for module in _top_level(dist)
    }


def _top_level(dist: metadata.Distribution) -> set[str]:
    """What ``packages_distributions()`` maps to ``dist`` on 3.11+: on 3.10 it reads only
    ``top_level.txt``, which wheels built by hatchling or flit (openai, jsonschema) lack."""
    listed = (dist.read_text("top_level.txt") or "").split()
    if listed:
        return set(listed)
    return {f.parts[0] if len(f.parts) > 1 else f.with_suffix("").name for f in dist.files or () if f.suffix == ".py"}


def test_main_command_runs_without_the_dev_extras(tmp_path: Path) -> None:
    main, _ = readme_commands()
    pytest_args = main.split("&& pytest ", 1)[1].split()
    blocked = dev_only_modules()
    assert {"jsonschema", "filelock", "xdist", "openai"} <= blocked  # the check has teeth
    report = tmp_path / "verdict.json"
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_DEV_EXTRAS, ",".join(sorted(blocked)), *pytest_args]
        + ["-p", "no:xdist", "-p", "no:xdist.looponfail", "-p", "no:cacheprovider", f"--laios-report={report}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert json.loads(report.read_text(encoding="utf-8"))["verdict"] == "passed"
