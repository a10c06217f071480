"""Secrets kept off the terminal while output capture is off.

With ``-s`` (or ``--capture=tee-sys``) pytest leaves file descriptors 1 and 2 to the code
under test, so whatever a provider prints, its key included, goes straight to the terminal
and into CI logs. While the kit knows a secret, each of those descriptors then writes into
a pipe instead; a reader thread replaces every secret with ``<REDACTED>`` and passes the
rest on to the real terminal at once. ``print``, ``os.write`` and C extensions all write to
the descriptor, so all are covered. The end of a read that could be the start of a secret
is held back until the next write shows whether it is one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterable

from ._redact import REDACTED, redactable

__all__ = ["RedactedTerminal"]

_STANDARD_DESCRIPTORS = (1, 2)
_DRAIN_SECONDS = 2.0


class RedactedTerminal:
    """Descriptors 1 and 2 redacted until :meth:`close`; a no-op without secrets."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        forms = tuple(form.encode("utf-8") for form in redactable(secrets))
        self._pumps: list[_Pump] = []
        for fd in _STANDARD_DESCRIPTORS if forms else ():
            with contextlib.suppress(OSError):  # a closed descriptor: nothing reaches a terminal through it
                self._pumps.append(_Pump(fd, forms))

    def close(self) -> None:
        _flush_standard_streams()
        for pump in self._pumps:
            pump.close()
        self._pumps = []


class _Pump:
    """One descriptor redirected into a pipe, and the thread that redacts what comes out."""

    def __init__(self, fd: int, secrets: tuple[bytes, ...]) -> None:
        _flush_standard_streams()
        self.fd, self.secrets = fd, secrets
        self.terminal = os.dup(fd)
        try:
            self.reader, writer = os.pipe()
        except OSError:
            os.close(self.terminal)
            raise
        try:
            os.dup2(writer, fd)
        except OSError:
            for opened in (self.reader, self.terminal):
                os.close(opened)
            raise
        finally:
            os.close(writer)
        self.thread = threading.Thread(target=self._pump, name=f"laios-redact-fd{fd}", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        held = b""
        while chunk := os.read(self.reader, 65536):
            ready, held = _split_unfinished(_redacted(held + chunk, self.secrets), self.secrets)
            _write_all(self.terminal, ready)
        _write_all(self.terminal, _redacted(held, self.secrets))

    def close(self) -> None:
        os.dup2(self.terminal, self.fd)  # the pipe's last writer is gone: the reader sees its end
        self.thread.join(_DRAIN_SECONDS)  # a child process still holding the pipe may keep it open
        if not self.thread.is_alive():
            os.close(self.reader)
            os.close(self.terminal)


def _redacted(data: bytes, secrets: tuple[bytes, ...]) -> bytes:
    for secret in secrets:
        data = data.replace(secret, REDACTED.encode())
    return data


def _split_unfinished(data: bytes, secrets: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """``data`` cut before its longest ending that begins some secret, and that ending."""
    held = 0
    for secret in secrets:
        for length in range(min(len(secret) - 1, len(data)), held, -1):
            if data.endswith(secret[:length]):
                held = length
                break
    return data[: len(data) - held], data[len(data) - held :]


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _flush_standard_streams() -> None:
    for stream in filter(None, (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)):
        with contextlib.suppress(Exception):
            stream.flush()
