"""With plugin autoloading off, ``check`` loads the kit's plugin and pytest-recording once,
however the user already named them, and a run without pytest-recording says how to load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import REPO, cli, one_line_error
from tests.conftest import GOOD

AUTOLOAD_OFF = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
BY_ENTRY_POINT = "-p laios_conformance -p recording"  # pytest's documented way, by entry-point name


def named_in(where: str, folder: Path) -> tuple[dict[str, str], list[str]]:
    """(environment, pytest arguments) of a user who loads the plugins ``where``."""
    if where == "PYTEST_ADDOPTS":
        return {**AUTOLOAD_OFF, "PYTEST_ADDOPTS": BY_ENTRY_POINT}, []
    if where == "after --":
        return AUTOLOAD_OFF, BY_ENTRY_POINT.split()
    if where == "ini addopts":
        (folder / "pytest.ini").write_text(f"[pytest]\naddopts = {BY_ENTRY_POINT}\n", encoding="utf-8")
        return AUTOLOAD_OFF, []
    if where == "--disable-plugin-autoload":  # the flag (pytest 8.4+), nothing named
        return {}, ["--disable-plugin-autoload"]
    return AUTOLOAD_OFF, []


@pytest.mark.parametrize("where", ["nowhere", "PYTEST_ADDOPTS", "after --", "ini addopts", "--disable-plugin-autoload"])
def test_check_loads_each_plugin_once_however_they_are_named(tmp_path: Path, good_cassettes: Path, where: str) -> None:
    env, named = named_in(where, tmp_path)
    result = cli(
        "check",
        GOOD,
        "--cassette-dir",
        str(good_cassettes),
        "--allow-partial",
        "--",
        "-k",
        "returns_response",
        *named,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gate: partial (" in result.stdout
    assert "already registered" not in result.stdout + result.stderr


def test_check_keeps_a_block_of_pytest_recording(tmp_path: Path) -> None:
    result = cli("check", GOOD, "--", "-p", "no:recording", cwd=tmp_path, env=AUTOLOAD_OFF)
    assert result.returncode == 2, result.stdout + result.stderr
    assert one_line_error(result).endswith("but it is not loaded: drop -p no:recording and run again")


def test_pytest_without_pytest_recording_says_to_name_it_when_autoload_is_off(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env.update(AUTOLOAD_OFF, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "pytest", "-p", "laios_conformance.plugin", f"--laios-provider={GOOD}"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert (
        "but it is not loaded: PYTEST_DISABLE_PLUGIN_AUTOLOAD is set, so pytest loads only the plugins named "
        "with -p: add -p recording (or -p pytest_recording.plugin)"
    ) in result.stderr
    assert "no:recording" not in result.stderr
