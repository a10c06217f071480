"""The sdist holds every file the repository tracks: distributions' packagers build from it
and run its tests (conftest.py, the test providers, their data and the cassettes included).

It is built from a copy of the tracked files (the repository is never written to), without
build isolation, so nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tracked_files() -> list[str]:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist, say): which files are tracked is unknown")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [name for name in listed.split("\0") if name and (REPO / name).exists()]


def copy_of(names: list[str], into: Path) -> Path:
    for name in names:
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = REPO / name
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)
    return into


def sdist_names(source: Path, out: Path) -> set[str]:
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    (archive,) = out.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        return {member.name.split("/", 1)[1] for member in tar.getmembers() if "/" in member.name}


def test_the_sdist_holds_every_tracked_file(tmp_path: Path) -> None:
    tracked = tracked_files()
    names = sdist_names(copy_of(tracked, tmp_path / "source"), tmp_path / "dist")
    # A tracked symlink to a folder (reference_providers/cassettes) is packed as the folder.
    missing = [name for name in tracked if name not in names and not any(n.startswith(f"{name}/") for n in names)]
    assert not missing, f"{len(missing)} tracked files are not in the sdist (MANIFEST.in): {missing[:20]}"
    assert "tests/conftest.py" in names and "cassettes/OpenAIClient/returns-response.yaml" in names
