"""``check`` runs the judged session in a child process, and trusts only the verdict file.

A provider runs inside the session: it can end the process (``os._exit(0)``), crash the
interpreter, or leave threads that never finish. In-process, any of these would end
``check`` too, with whatever exit status the provider chose. In a child, ``check``
survives it and judges by the one thing a finished session leaves behind, a complete
verdict file: no verdict, no pass, whatever the child's exit status.

Loaded into the child with ``-p laios_conformance._cli.child``, this module also draws the
progress bar there, on a duplicate of ``check``'s terminal handed over as a file
descriptor (``LAIOS_PROGRESS_FD``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ChildRun", "ended_with_this_process", "missing_verdict", "run_child"]

PROGRESS_FD_VARIABLE = "LAIOS_PROGRESS_FD"
_THIS_PLUGIN = "laios_conformance._cli.child"


class ChildRun:
    """How the child ended: its exit status (negative: killed by that signal) and its output."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def describe_exit(self) -> str:
        if self.code < 0:
            try:
                return f"was killed by {signal.Signals(-self.code).name}"
            except ValueError:
                return f"was killed by signal {-self.code}"
        try:
            return f"exited with {pytest.ExitCode(self.code).name} ({self.code})"
        except ValueError:
            return f"exited with status {self.code}"


def run_child(argv: list[str], verbose: bool, progress: bool) -> ChildRun:
    """``python -m pytest ARGV`` in a child; its output is kept back unless ``verbose``."""
    command = [sys.executable, "-m", "pytest", *argv]
    if verbose:
        return _waited(subprocess.Popen(command))
    env = dict(os.environ)
    fds: tuple[int, ...] = ()
    if progress:
        fd = _duplicate_terminal()
        if fd is not None:
            fds, env[PROGRESS_FD_VARIABLE] = (fd,), str(fd)
            command[3:3] = ["-p", _THIS_PLUGIN]
    pipe = subprocess.PIPE
    try:
        child = subprocess.Popen(command, env=env, pass_fds=fds, stdout=pipe, stderr=pipe, text=True, errors="replace")
    finally:
        for fd in fds:
            os.close(fd)
    return _waited(child)


# How long ``check``, interrupted, waits for the child to write the verdict of what it judged.
_GRACE_SECONDS = 30


def _waited(child: subprocess.Popen[Any]) -> ChildRun:
    """The ended child's run. Ctrl-C reaches the child too (one process group): pytest then
    stops and writes the verdict of what it judged, so ``check`` waits for that, a while."""
    with child, ended_with_this_process(child):
        try:
            out, err = child.communicate()
        except KeyboardInterrupt:
            try:
                out, err = child.communicate(timeout=_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                raise KeyboardInterrupt from None
    return ChildRun(child.returncode, out or "", err or "")


class _Terminated(Exception):
    """This process got SIGTERM."""


@contextlib.contextmanager
def ended_with_this_process(child: subprocess.Popen[Any]) -> Iterator[None]:
    """SIGTERM sent to this process alone (``kill PID``, a supervisor stopping it) ends ``child``
    too, rather than leave it running the provider with no one to read its verdict; then this
    process exits as SIGTERM would have ended it (status 143), its temporary files removed.
    Ctrl-C needs none of this: it reaches the whole process group."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return

    def terminated(signum: int, frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    except _Terminated:
        child.terminate()
        try:
            child.wait(timeout=_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
        print(
            "laios-conformance: stopped by SIGTERM, and the run it started with it; nothing was judged", file=sys.stderr
        )
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def missing_verdict(path: Path, child: ChildRun) -> str | None:
    """Why the verdict file at ``path`` cannot be trusted, or ``None`` when it is complete."""
    ending = f"pytest {child.describe_exit()}"
    if not path.exists():
        return f"{ending} and wrote no verdict ({path}); the provider (or a crash) may have ended the process"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return f"{ending}, and its verdict {path} is unreadable ({type(error).__name__})"
    if not _looks_complete(data):
        return f"{ending}, and its verdict {path} is incomplete (no list of providers and their clauses)"
    return None


def _looks_complete(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("providers"), list):
        return False
    return all(isinstance(p, dict) and isinstance(p.get("clauses"), dict) for p in data["providers"])


def _duplicate_terminal() -> int | None:
    try:
        fd = os.dup(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    os.set_inheritable(fd, True)
    return fd


# -- inside the child -------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    fd = os.environ.get(PROGRESS_FD_VARIABLE)
    if not fd or hasattr(config, "workerinput"):
        return
    from .progress import ProgressPlugin

    try:
        stream = os.fdopen(int(fd), "w", encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return
    config.pluginmanager.register(ProgressPlugin(stream), "laios-conformance-progress")
