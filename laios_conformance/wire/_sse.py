"""Server-sent events framing (the WHATWG ``text/event-stream`` format).

Lines end with CRLF, LF or a lone CR. A line ``field: value`` sets a field (one space
after the colon is dropped); lines starting with ``:`` are comments; a blank line ends
the event. ``data`` lines accumulate, joined by LF. An event not ended by a blank line
when the input stops is incomplete and, as the standard says, never dispatched.
"""

from __future__ import annotations

import re

from ._base import Event, WireError, decode_utf8

__all__ = ["DISPATCH_INCOMPLETE", "Parser", "make", "parse"]

DISPATCH_INCOMPLETE = False

_EOL = re.compile(rb"\r\n?|\n")
_BOM = b"\xef\xbb\xbf"


class _Block:
    def __init__(self, start: int) -> None:
        self.start = start
        self.name = ""
        self.data: list[str] = []
        self.spans: list[tuple[int, int]] = []

    def event(self, end: int, complete: bool) -> Event:
        data = "\n".join(self.data) if self.data else None
        return Event(self.start, end, self.name, data, tuple(self.spans), complete)


class Parser:
    """Incremental parser: ``feed`` bytes as they arrive, ``close`` at end of input."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._base = 0  # offset in the whole body of ``_buf[0]``
        self._scan = 0  # where to resume looking for a line end
        self._block: _Block | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        self._buf += chunk
        return self._drain(final=False)

    def close(self) -> list[Event]:
        out = self._drain(final=True)
        end = self._base + len(self._buf)
        if self._buf:
            self._line(bytes(self._buf), self._base, end, out)
        if self._block is not None:
            out.append(self._block.event(end, complete=False))
            self._block = None
        return out

    def _drain(self, final: bool) -> list[Event]:
        out: list[Event] = []
        buf, pos = self._buf, 0
        while True:
            m = _EOL.search(buf, self._scan)
            if m is None:
                self._scan = len(buf)
                break
            if m.end() == len(buf) and buf[-1:] == b"\r" and not final:
                self._scan = m.start()  # the LF of a CRLF may be in the next chunk
                break
            self._line(bytes(buf[pos : m.start()]), self._base + pos, self._base + m.end(), out)
            pos = self._scan = m.end()
        del buf[:pos]
        self._base += pos
        self._scan -= pos
        return out

    def _line(self, raw: bytes, start: int, end: int, out: list[Event]) -> None:
        if start == 0 and raw.startswith(_BOM):
            raw, start = raw[3:], 3
        if not raw:
            if self._block is not None:
                out.append(self._block.event(end, complete=True))
                self._block = None
            return
        decode_utf8(raw)  # an unreadable line is an unreadable body, whatever its field
        if self._block is None:
            if raw.lstrip().startswith((b"{", b"[")):
                raise WireError("a JSON document where an event stream was expected")
            self._block = _Block(start)
        if raw.startswith(b":"):
            return
        colon = raw.find(b":")
        field, vstart = (raw, len(raw)) if colon < 0 else (raw[:colon], colon + 1)
        if raw[vstart : vstart + 1] == b" ":
            vstart += 1
        if field == b"data":
            self._block.data.append(raw[vstart:].decode("utf-8"))
            self._block.spans.append((start + vstart, start + len(raw)))
        elif field == b"event":
            self._block.name = raw[vstart:].decode("utf-8")


def parse(body: bytes) -> list[Event]:
    parser = Parser()
    return parser.feed(body) + parser.close()


def line_end(body: bytes) -> bytes:
    """The line terminator the body uses (LF when it has none)."""
    m = _EOL.search(body)
    return m.group() if m else b"\n"


def make(data: str, *, name: str = "", eol: bytes = b"\n") -> bytes:
    """A complete event carrying ``data``, with an ``event:`` line when ``name`` is set."""
    nl = eol.decode("ascii")
    head = f"event: {name}{nl}" if name else ""
    lines = "".join(f"data: {line}{nl}" for line in data.split("\n"))
    return (head + lines + nl).encode("utf-8")
