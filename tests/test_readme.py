"""The README's two commands are the project's contract with a fresh machine."""

from __future__ import annotations

import re
from pathlib import Path

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
