"""Newline-delimited JSON framing: one JSON value per line, lines split on LF only.

Blank lines are skipped and a CR before the LF is tolerated. A last line without LF is
still an event (HTTP clients hand it over at end of input) but marked incomplete, so a
reader can tell a line cut in half from a finished one.
"""

from __future__ import annotations

from ._base import Event, decode_utf8

__all__ = ["DISPATCH_INCOMPLETE", "Parser", "make", "parse"]

DISPATCH_INCOMPLETE = True

_SPACE = b" \t\r"


class Parser:
    """Incremental parser: ``feed`` bytes as they arrive, ``close`` at end of input."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._base = 0
        self._scan = 0

    def feed(self, chunk: bytes) -> list[Event]:
        self._buf += chunk
        out: list[Event] = []
        pos = 0
        while (nl := self._buf.find(b"\n", self._scan)) >= 0:
            self._line(pos, nl, nl + 1, True, out)
            pos = self._scan = nl + 1
        self._scan = len(self._buf)
        del self._buf[:pos]
        self._base += pos
        self._scan -= pos
        return out

    def close(self) -> list[Event]:
        out: list[Event] = []
        self._line(0, len(self._buf), len(self._buf), False, out)
        self._base += len(self._buf)
        self._buf.clear()
        self._scan = 0
        return out

    def _line(self, start: int, stop: int, end: int, complete: bool, out: list[Event]) -> None:
        raw = bytes(self._buf[start:stop])
        content = raw.strip(_SPACE)
        if not content:
            return
        first = start + len(raw) - len(raw.lstrip(_SPACE))
        span = (self._base + first, self._base + first + len(content))
        event = Event(self._base + start, self._base + end, "", decode_utf8(content), (span,), complete)
        out.append(event)


def parse(body: bytes) -> list[Event]:
    parser = Parser()
    return parser.feed(body) + parser.close()


def make(data: str) -> bytes:
    return data.encode("utf-8") + b"\n"
