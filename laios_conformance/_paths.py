"""Checking the paths the kit will write, and the cassette folder it will replay, before anything runs.

A report that cannot be written should stop the run at once with one line, not after
minutes of clauses with a traceback (or, worse, a run that passes and writes nothing); a
mistyped cassette folder, with one line, not one "cassette not found" per clause.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["PathError", "check_output_dir", "check_output_file", "check_output_files", "check_replay_dir"]


class PathError(Exception):
    """A path the kit could not write or read; the message names the option and the path."""


def check_output_file(option: str, path: str | os.PathLike[str]) -> None:
    """Raise :class:`PathError` unless a file can be written at ``path`` (its folders
    may be missing: they are created)."""
    target = Path(path)
    if target.is_dir():
        raise PathError(f"{option} {str(target)!r} is a directory; give the path of a file to write")
    if target.exists() and not os.access(target, os.W_OK):
        raise PathError(f"{option} {str(target)!r} is not writable; fix its permissions or choose another path")
    _check_parent(option, target, target.parent)


def check_output_files(files: list[tuple[str, str | None]]) -> None:
    """:func:`check_output_file` for each ``(option, path)`` given a path, and no two of them
    the same file: the one written last would replace the other (a JSON verdict read back
    as JUnit XML, say)."""
    named: dict[Path, str] = {}
    for option, path in files:
        if path is None:
            continue
        if not path.strip():  # ``--report-json=$REPORT`` with the variable unset: the report was silently not written
            raise PathError(f"{option} is given an empty path; give the path of a file to write")
        check_output_file(option, path)
        same = named.setdefault(Path(path).resolve(), option)
        if same != option:
            raise PathError(f"{same} and {option} both name {path!r}; give each report a file of its own")


def check_output_dir(option: str, path: str | os.PathLike[str]) -> None:
    """Raise :class:`PathError` unless files can be written inside the directory ``path``."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise PathError(f"{option} {str(target)!r} is a file, not a directory; give a directory")
    if target.is_dir():
        _require_writable(option, target, target)
        return
    _check_parent(option, target, target)


def check_replay_dir(option: str, path: str | os.PathLike[str]) -> None:
    """Raise :class:`PathError` unless ``path`` is a folder that replay can read cassettes from."""
    target = Path(path)
    if target.is_dir():
        return
    what = "is a file, not a folder" if target.exists() else "does not exist"
    raise PathError(
        f"{option} {str(target)!r} {what}: replay reads each provider's cassettes from "
        "<folder>/<ProviderClass>/<clause>.yaml; fix the path, or record into it with --record-mode=once"
    )


def _check_parent(option: str, target: Path, parent: Path) -> None:
    """The nearest existing folder from ``parent`` up must be a writable directory."""
    existing = parent
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link: mkdir would fail on it
            raise PathError(
                f"{option} {str(target)!r}: {str(existing)!r} is a broken symbolic link "
                f"(to {os.readlink(existing)!r}); create what it points to, or choose another path"
            )
        existing = existing.parent
    if not existing.is_dir():
        raise PathError(
            f"{option} {str(target)!r}: {str(existing)!r} is a file, so nothing can be written under it; "
            "choose another path"
        )
    _require_writable(option, target, existing)


def _require_writable(option: str, target: Path, directory: Path) -> None:
    if not (os.access(directory, os.W_OK | os.X_OK) and _can_create_in(directory)):
        raise PathError(
            f"{option} {str(target)!r}: cannot write in {str(directory)!r} (permission denied); choose a writable path"
        )


def _can_create_in(directory: Path) -> bool:
    """Try it (root passes ``os.access`` even on read-only mounts); the probe file is anonymous
    where the OS allows it, and removed at once everywhere else."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False
