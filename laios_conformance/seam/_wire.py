"""A :class:`Reply` as bytes on a socket, read back by ``http.client`` itself.

The urllib3 and ``http.client`` adapters do not imitate a response object: they hand
``http.client.HTTPResponse`` a socket whose every read returns at most one piece of the
reply, so status line, headers, framing, ``read``/``read1``/``readline`` and the error
on a body cut short all behave exactly as on the network. A reply in several pieces is
sent with ``Transfer-Encoding: chunked``, one HTTP chunk per piece (as streaming APIs
do), and a reply dropped mid-body stops after its last piece without the final empty
chunk (``http.client.IncompleteRead``, as on the network); a reply in one intact piece
carries a ``Content-Length``.
"""

from __future__ import annotations

import http
import http.client
import io
from collections.abc import Callable, Iterator
from typing import Any

from ._model import Reply

_FRAMING = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})


class _Segments(io.RawIOBase):
    """A raw stream whose reads never cross from one segment into the next."""

    def __init__(self, segments: Iterator[bytes]) -> None:
        self._segments = segments
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            segment = next(self._segments, None)
            if segment is None:
                return 0
            self._current = memoryview(segment)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size


class _Socket:
    """Just enough of a socket for ``http.client.HTTPResponse``."""

    def __init__(self, segments: Iterator[bytes]) -> None:
        self._segments = segments

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_Segments(self._segments))

    def close(self) -> None:
        pass


def materialized(body: Any) -> Any:
    """A request body as ``bytes`` when it is a file or an iterable: read once by the seam,
    then sent as read (``str`` and ``bytes`` stay as they are)."""
    if body is None or isinstance(body, (bytes, str)):
        return body
    if hasattr(body, "read"):
        return body.read()
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    return b"".join(part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in body)


def http_client_response(
    reply: Reply, method: str, on_close: Callable[[], None] | None = None
) -> http.client.HTTPResponse:
    """A begun ``http.client.HTTPResponse`` that reads ``reply`` piece by piece."""
    # _Socket stands in for a socket: HTTPResponse only calls its makefile()
    response = _Response(_Socket(_segments(reply)), method=method)  # type: ignore[arg-type]
    response.on_close = on_close
    response.begin()
    return response


class _Response(http.client.HTTPResponse):
    """Tells the seam when the provider closes it (reading to the end does not count)."""

    on_close: Callable[[], None] | None = None

    def close(self) -> None:
        if self.on_close is not None:
            self.on_close()
        super().close()


def _segments(reply: Reply) -> Iterator[bytes]:
    pieces = reply.pieces()
    chunked = len(pieces) > 1 or reply.gate is not None or reply.drop_at is not None
    yield _head(reply, chunked)
    for piece in reply.paced():
        yield b"%X\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    if chunked and reply.drop_at is None:
        yield b"0\r\n\r\n"


def _head(reply: Reply, chunked: bool) -> bytes:
    try:
        reason = http.HTTPStatus(reply.status).phrase
    except ValueError:
        reason = "Unknown"
    headers = [(name, value) for name, value in reply.headers.items() if name.lower() not in _FRAMING]
    headers.append(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(reply.body))))
    lines = [f"HTTP/1.1 {reply.status} {reason}", *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")
