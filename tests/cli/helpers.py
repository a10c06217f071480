"""Run the ``laios-conformance`` command in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m laios_conformance.cli ARGS``, with the repo importable and CI settings unset
    (``env``: variables to set on top)."""
    given = env or {}
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "COLUMNS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "200"
    env.update(given)
    return subprocess.run(
        [sys.executable, "-m", "laios_conformance.cli", *args],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a usage error (asserts there is exactly one, and no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def unwritable_outputs(directory: str, under_a_file: str, unwritable: str) -> Any:
    """``parametrize`` over the output paths no command may write, one per option given: a
    directory, a path under a file (made by :func:`make_unwritable_places`) and a path in
    ``/proc``; each case is (option, the path for a ``tmp_path``, the expected message)."""
    cases: list[tuple[str, Callable[[Path], Path], str, str]] = [
        (directory, lambda p: p / "a-dir", "is a directory; give the path of a file", "is-a-dir"),
        (
            under_a_file,
            lambda p: p / "a-file" / "summary.md",
            "is a file, so nothing can be written under it",
            "parent-is-a-file",
        ),
        (unwritable, lambda p: Path("/proc/output"), "cannot write in '/proc' (permission denied)", "unwritable"),
    ]
    return pytest.mark.parametrize(
        "option, make, expected",
        [
            pytest.param(option, make, expected, id=f"{option.strip('-')}-{kind}")
            for option, make, expected, kind in cases
        ],
    )


def make_unwritable_places(tmp_path: Path) -> None:
    """The directory and the file that :func:`unwritable_outputs`' paths point at."""
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a-file").write_text("")
