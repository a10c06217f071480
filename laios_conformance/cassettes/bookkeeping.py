"""What the kit keeps about each clause's cassette during a run.

Before a clause opens its cassette the kit notes the file's signature (a
:class:`CassetteWatch` in the test item's stash); from that it tells whether the clause
recorded the file, whether a replay can be judged at all, whether every recorded
interaction was played, and what the clause's evidence is (see :func:`evidence`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .persister import CorruptCassetteError, file_signature, read_cassette, written_here
from .serializer import cassette_recorded_at

__all__ = [
    "CALL_PASSED",
    "CASSETTE_KEY",
    "CassetteWatch",
    "cassette_hint",
    "corrupt_cassette_problem",
    "evidence",
    "file_signature",
    "folder_problem",
    "missing_cassette_problem",
    "unplayed_problem",
]


@dataclass(frozen=True)
class CassetteWatch:
    """A clause's cassette file and its (mtime, size) before the clause ran."""

    path: Path
    before: tuple[int, int] | None

    def changed(self) -> bool:
        return file_signature(self.path) not in (None, self.before)

    def recorded_here(self) -> bool:
        """Whether this process recorded the cassette during the clause: another process
        recording into the same folder at the same time may have written it instead."""
        return self.changed() and written_here(self.path)


CASSETTE_KEY = pytest.StashKey[CassetteWatch]()
CALL_PASSED = pytest.StashKey[bool]()


def cassette_hint(target: str, clause_id: str, rewrite: bool = False, also: str = "") -> str:
    """The command that records the cassette a clause needs; ``also``: the run's options it
    must repeat (cassette folder, constructor arguments)."""
    mode = "rewrite" if rewrite else "once"
    return (
        f"pytest --laios-provider={target} --record-mode={mode} -k {clause_id.replace('-', '_')} "
        f"--laios-allow-partial{also}"
    )


def corrupt_cassette_problem(path: Path, target: str, clause_id: str, also: str = "") -> str | None:
    """One clear line for a corrupt cassette, before vcrpy trips over it with a traceback."""
    from . import serializer

    if not os.path.lexists(path):  # a dangling link exists too, and is refused
        return None
    try:
        read_cassette(path, serializer)
    except CorruptCassetteError as exc:
        return exc.explain(
            f"record it again (replacing it) with: {cassette_hint(target, clause_id, rewrite=True, also=also)}"
        )
    return None


def folder_problem(directory: Path, target: str) -> str | None:
    """Why no cassette of ``target`` can be read or recorded in ``directory`` (None when one can)."""
    if os.path.lexists(directory) and not directory.is_dir():
        return (
            f"{directory} is a file where the cassette folder of {target} should be, so its cassettes can be "
            "neither replayed nor recorded; move that file away"
        )
    return None


def missing_cassette_problem(watch: CassetteWatch, target: str, record_mode: str, also: str = "") -> str | None:
    """Why a replay cannot be judged when the cassette does not exist (None when it can)."""
    if record_mode != "none" or watch.before is not None:
        return None
    return (
        f"cassette {watch.path} not found (replay mode); record it against the live API with: "
        f"{cassette_hint(target, watch.path.stem, also=also)}"
    )


def unplayed_problem(watch: CassetteWatch, vcr: Any) -> str | None:
    """Why a replayed cassette no longer matches: interactions recorded but never played."""
    unplayed = [index for index in range(len(vcr.data)) if not vcr.play_counts[index]]
    if not unplayed:
        return None
    return (
        f"cassette {watch.path}: {len(unplayed)} of {len(vcr.data)} recorded "
        "interaction(s) were not replayed, so it no longer matches what the provider sends; "
        "re-record it with --record-mode=rewrite"
    )


def _relative(path: Path, root: Path) -> str:
    for base in (root, root.resolve()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def evidence(watch: CassetteWatch | None, root: Path, recording: bool) -> dict[str, Any] | None:
    """How a clause saw the provider's traffic.

    ``synthetic``: no cassette, every response was made by the kit. ``replayed``: from the
    cassette (its path relative to the cassette directory, sha256 and recording date).
    ``recorded``: the cassette was written by this run. None: the cassette it needed is missing.
    """
    if watch is None:
        return {"kind": "synthetic"}
    if not watch.path.is_file():
        return None
    relative = _relative(watch.path, root)
    kind = "recorded" if recording and watch.recorded_here() else "replayed"
    data = watch.path.read_bytes()
    recorded_at = _leading_date(data) or cassette_recorded_at(watch.path)
    return {
        "kind": kind,
        "cassette": relative,
        "sha256": hashlib.sha256(data).hexdigest(),
        "recorded_at": recorded_at.isoformat() if isinstance(recorded_at, dt.date) else None,
    }


def _leading_date(data: bytes) -> dt.date | None:
    """``recorded_at`` from the first line, where the kit's serializer writes it (no YAML parse)."""
    match = re.match(rb"recorded_at: '?(\d{4}-\d{2}-\d{2})'?\r?\n", data)
    return dt.date.fromisoformat(match.group(1).decode()) if match else None
