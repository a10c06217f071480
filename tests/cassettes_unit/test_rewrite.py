"""Staged re-recording (``rewrite``/``all``) and the removal of interrupted writes' leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from laios_conformance.cassettes import serializer
from laios_conformance.cassettes.leftovers import clean_leftovers
from laios_conformance.cassettes.rewrite import StagedRewrite

from .helpers import write_yaml

GOOD = {
    "interactions": [
        {
            "request": {"method": "POST", "uri": "http://127.0.0.1/v1", "headers": {}, "body": "{}"},
            "response": {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": "{}"}},
        }
    ],
    "version": 1,
}


@pytest.fixture
def old(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "returns-response.yaml", GOOD)


@pytest.mark.parametrize("mode", ["rewrite", "all"])
def test_a_staged_recording_replaces_the_cassette_only_when_its_clause_judged(old: Path, mode: str) -> None:
    before = old.read_bytes()
    for passed, new_text, reason in [
        (False, "interactions: []\nversion: 1\n", "could not judge while recording"),
        (True, "- not a cassette\n", "the new recording does not read back: not a cassette"),
        (True, None, "nothing new was recorded"),
    ]:
        staged = StagedRewrite(old, mode)
        assert staged.directory.parent == old.parent and staged.directory.name.endswith(".tmp")
        assert staged.staged.exists() == (mode == "all")  # all: vcrpy keeps what is not re-recorded
        if new_text is not None:
            staged.staged.write_text(new_text)
        outcome = staged.finish(passed, serializer)
        assert not outcome.replaced and reason in outcome.reason
        assert outcome.line() == f"laios: kept returns-response -> {old} unchanged ({outcome.reason})"
        assert old.read_bytes() == before
        assert sorted(p.name for p in old.parent.iterdir()) == [old.name]

    staged = StagedRewrite(old, mode)
    write_yaml(staged.staged, {**GOOD, "interactions": GOOD["interactions"] * 2})
    assert staged.finish(True, serializer).replaced
    assert old.read_bytes() != before and len(serializer.deserialize(old.read_text())["interactions"]) == 2
    assert sorted(p.name for p in old.parent.iterdir()) == [old.name]


def test_leftovers_of_ended_writers_are_removed_and_a_live_writers_are_not(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    file = tmp_path / f".c.yaml.{dead_pid}.0a1b2c3d.tmp"
    folder = tmp_path / f".c.yaml.rewrite.{dead_pid}.0a1b2c3d.tmp"
    live = tmp_path / f".d.yaml.{os.getppid()}.0a1b2c3d.tmp"
    for path in (file, live):
        path.write_text("half")
    folder.mkdir()
    (folder / "c.yaml").write_text("half")
    keep = write_yaml(tmp_path / "c.yaml", GOOD)
    assert clean_leftovers(tmp_path) == sorted([file, folder])
    assert sorted(tmp_path.iterdir()) == sorted([keep, live])
