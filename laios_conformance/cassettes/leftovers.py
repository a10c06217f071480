"""Temporary files that an interrupted cassette write left behind, and their removal.

Every cassette write goes through a temporary dot-file beside the target
(``.NAME.<pid>.<hex>.tmp``, see :mod:`laios_conformance._files`), and a re-recording
stages the new cassette in a dot-folder (``.NAME.rewrite.<pid>.<hex>.tmp``, see
:mod:`.rewrite`). A crash or SIGKILL can leave either behind. Nothing reads them; the
next run in that folder removes those whose process is gone, and the linter reports them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_PID = re.compile(r"\.(\d+)\.[0-9a-f]+\.tmp$")


def is_leftover(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")


def clean_leftovers(directory: Path) -> list[Path]:
    """Remove the leftovers in ``directory`` (not below) whose writing process has ended; return them."""
    try:
        children = sorted(directory.iterdir())
    except OSError:
        return []
    removed = []
    for child in children:
        if is_leftover(child) and not writer_alive(child) and _remove(child):
            removed.append(child)
    return removed


def writer_alive(path: Path) -> bool:
    """Whether another process that is still running is writing the temporary file ``path``."""
    match = _PID.search(path.name)
    if match is None:
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        return False
    return True
