"""laios_conformance._terminal: the redaction of descriptors 1 and 2 while capture is off."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from laios_conformance._terminal import _split_unfinished

SECRET = b"sk-proj-abcdefgh12345678"


@pytest.mark.parametrize(
    ("data", "ready", "held"),
    [
        (b"plain text\n", b"plain text\n", b""),
        (b"key: sk-proj-ab", b"key: ", b"sk-proj-ab"),  # may be the start of the key: wait
        (b"asks", b"ask", b"s"),
        (b"sk-proj-abcdefgh1234567", b"", b"sk-proj-abcdefgh1234567"),
        (b"sk-proj-x", b"sk-proj-x", b""),  # cannot be the key any more
    ],
)
def test_only_an_ending_that_may_begin_a_secret_is_held_back(data: bytes, ready: bytes, held: bytes) -> None:
    assert _split_unfinished(data, (SECRET,)) == (ready, held)


def test_a_key_written_in_pieces_at_descriptor_level_is_redacted() -> None:
    """os.write bypasses sys.stdout; the key arrives split over writes (whether the reads
    split it too is up to the OS: the unit test above covers the reads that do)."""
    script = f"""
import os
from laios_conformance._terminal import RedactedTerminal
terminal = RedactedTerminal([{SECRET.decode()!r}])
for piece in (b"one sk-proj-abc", b"defgh1234", b"5678 two\\n", b"done s", b"k\\n"):
    os.write(1, piece)
print("via print {SECRET.decode()}", flush=True)
os.write(2, b"err {SECRET.decode()}\\n")
terminal.close()
print("after close")
"""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=30, check=True)
    assert result.stdout == b"one <REDACTED> two\ndone sk\nvia print <REDACTED>\nafter close\n"
    assert result.stderr == b"err <REDACTED>\n"


def test_without_a_secret_nothing_is_redirected() -> None:
    from laios_conformance._terminal import RedactedTerminal

    def descriptor_1() -> tuple[int, int]:
        status = os.fstat(1)
        return status.st_dev, status.st_ino

    before = descriptor_1()
    terminal = RedactedTerminal(["short"])  # shorter than any key the kit redacts
    assert descriptor_1() == before
    terminal.close()


def test_a_closed_descriptor_is_left_alone() -> None:
    script = f"""
import os
os.close(2)
from laios_conformance._terminal import RedactedTerminal
terminal = RedactedTerminal([{SECRET.decode()!r}])
print("out {SECRET.decode()}", flush=True)
terminal.close()
"""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=30, check=True)
    assert result.stdout == b"out <REDACTED>\n"


def test_a_pipe_that_cannot_be_made_leaves_no_descriptor_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of descriptors (EMFILE): the terminal stays as it was, and the copy of it the
    kit made first is closed again."""
    from laios_conformance._terminal import RedactedTerminal

    def no_pipe() -> tuple[int, int]:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(os, "pipe", no_pipe)
    before = sorted(os.listdir("/proc/self/fd"))
    terminal = RedactedTerminal([SECRET.decode()])
    assert sorted(os.listdir("/proc/self/fd")) == before
    terminal.close()
