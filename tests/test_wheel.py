"""The built wheel works where it is installed: the README's main command, run from an empty
folder outside the checkout on the installed package, gives the verdict it gives here.

The wheel is built from a copy of the sources (the repository is never written to) without
build isolation, and installed into a fresh venv that sees this environment's packages
(``--system-site-packages``), so nothing is downloaded. The venv's own copy of the kit
shadows any other one; ``PYTHONPATH`` is cleared so the checkout cannot leak in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TARGET = "reference_providers.openai:OpenAIClient"
SOURCES = ("pyproject.toml", "README.md", "laios_conformance", "reference_providers", "cassettes")
TIMEOUT = 300


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS") and not k.startswith("PYTEST_XDIST")
    }
    return {**env, **extra}


def main_command(python: Path | str, report: Path) -> list[str]:
    return [
        str(python),
        "-m",
        "pytest",
        f"--laios-provider={TARGET}",
        f"--laios-report={report}",
        "-p",
        "no:cacheprovider",
    ]


def checked(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, (
        f"{' '.join(argv)}\nexit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


def build_wheel(work: Path) -> Path:
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():  # symlinks are followed: the wheel carries the files
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    dist = work / "dist"
    checked([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)], source, clean_env())
    (wheel,) = dist.glob("laios_conformance-*.whl")
    return wheel


def install(wheel: Path, work: Path) -> Path:
    env_dir = work / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    if sys.prefix != sys.base_prefix:  # run from a venv: "system" site-packages is the base interpreter's
        site_dir = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (Path(site_dir) / "_outer_env.pth").write_text("".join(f"{p}\n" for p in sorted(outer)), encoding="utf-8")
    checked([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)], work, clean_env())
    return python


def statuses(report: Path) -> dict[str, str]:
    (provider,) = json.loads(report.read_text(encoding="utf-8"))["providers"]
    return {clause: result["status"] for clause, result in provider["clauses"].items()}


def test_the_installed_wheel_gives_the_repository_verdict_from_an_empty_folder(tmp_path: Path) -> None:
    pytest.importorskip("build", reason='the wheel test needs `build`: pip install -e ".[dev]"')
    here_report = tmp_path / "here.json"
    # The run in the checkout overlaps with building and installing the wheel.
    here = subprocess.Popen(
        main_command(sys.executable, here_report),
        cwd=REPO,
        env=clean_env(PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        python = install(build_wheel(tmp_path), tmp_path)
        empty = tmp_path / "elsewhere"
        empty.mkdir()
        where = checked(
            [str(python), "-c", "import laios_conformance; print(laios_conformance.__file__)"], empty, clean_env()
        )
        assert where.stdout.startswith(str(tmp_path / "venv")), where.stdout
        there_report = tmp_path / "there.json"
        checked(main_command(python, there_report), empty, clean_env())
    finally:
        output, _ = here.communicate(timeout=TIMEOUT)
    assert here.returncode == 0, output[-3000:]
    assert statuses(there_report) == statuses(here_report)
    assert "passed" in statuses(there_report).values()
    assert not (empty / "cassettes").exists(), "the cassettes shipped in the wheel were not the ones replayed"
