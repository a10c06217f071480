"""Writing files so that no reader, and no crash, ever leaves half of one.

Cassettes and reports go through :func:`atomic_write_text`: the text is written to a
temporary dot-file in the same directory (``.NAME.<pid>.<random>.tmp``), synced, then
``os.replace``-d over the target, and the directory is synced. A reader sees the old file
or the new one; a crash leaves at most the temporary file, which nothing reads.
"""

from __future__ import annotations

import os
import secrets as _secrets
from contextlib import suppress
from pathlib import Path

__all__ = ["atomic_write_text", "sync_directory"]


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) so that no reader ever sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{_secrets.token_hex(4)}.tmp")
    try:
        _write_synced(temporary, text.encode("utf-8"))
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    sync_directory(path.parent)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    with open(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def sync_directory(directory: Path) -> None:
    with suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
