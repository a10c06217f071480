"""The aiohttp adapter.

Every request of an ``aiohttp.ClientSession`` (``get``, ``post``, ``request``, ...) goes
through the coroutine ``ClientSession._request``; the seam takes that method over, and
calls the one it found there (vcrpy's replaying stub while a cassette is open, aiohttp's
own otherwise) only when the handler asks for the real response. vcrpy patches that
same method when a cassette opens, but never puts it back for a moment as it does
``http.client``'s classes (``vcr.patch.force_reset`` leaves aiohttp alone), so the seam,
entered after the cassette, simply wraps vcrpy's stub and puts it back on leaving.

A reply is an ``aiohttp.ClientResponse`` whose ``content`` is aiohttp's own
``StreamReader``, fed one piece of the reply each time a read finds it empty, so
``read()``, ``json()``, ``text()``, ``readline()``, ``iter_chunked()`` and ``iter_any()``
behave as on the network. Faults are the errors aiohttp raises: ``ClientConnectorError``,
``ConnectionTimeoutError``, ``SocketTimeoutError`` and, mid-body, ``ClientPayloadError``.

Not taken: requests through client middlewares (``ClientSession(middlewares=...)``), which
run below the seam. A reply of the seam's is delivered as it is: a redirect status is not
followed (the real response, redirects followed, is what ``upstream()`` fetches).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import http
import inspect
import weakref
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from ._model import (
    Exchange,
    Fault,
    NeedsUpstream,
    Reply,
    Seen,
    Traffic,
    finite_or_none,
    noting_upstream_errors,
    upstream_unfetched,
)
from ._wire import materialized

STACK = "aiohttp"
_FRAMING = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})


@contextlib.contextmanager
def interposed(traffic: Traffic) -> Iterator[None]:
    import aiohttp

    session_class = aiohttp.ClientSession
    current = session_class.__dict__["_request"]  # vcrpy's stub, while a cassette is open
    connector_close = aiohttp.BaseConnector.__dict__["close"]
    delivered_by: weakref.WeakKeyDictionary[Any, list[Seen]] = weakref.WeakKeyDictionary()
    recorder = hasattr(current, "__wrapped__")  # vcrpy's stub wraps aiohttp's method

    def close(connector: Any, *args: Any, **kwargs: Any) -> Any:
        """Closing the connector (as a session that owns it does on closing) closes every
        connection it holds, and so every response still open on one."""
        for seen in delivered_by.pop(connector, ()):
            seen.closed.set()
        return connector_close(connector, *args, **kwargs)

    def delivering(session: Any, seen: Seen, response: Any) -> Any:
        if session.connector is not None:
            delivered_by.setdefault(session.connector, []).append(seen)
        return response

    async def _request(session: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        if traffic.passes_by() or _through_middlewares(session, kwargs):
            return await current(session, method, str_or_url, **kwargs)
        if session._loop is not asyncio.get_running_loop():  # vcrpy's replay never touches the loop
            raise RuntimeError(CLOSED_LOOP if session._loop.is_closed() else OTHER_LOOP)
        raise_for_status = kwargs.pop("raise_for_status", None)
        seen = await _seen(aiohttp, session, method, str_or_url, kwargs)
        traffic.record(seen)

        def fetch() -> Any:  # aiohttp's own status check comes after the handler's say
            options = _with_session_auth(session, str_or_url, kwargs) if recorder else kwargs
            return current(session, method, _joined(session, str_or_url), raise_for_status=False, **options)

        try:
            outcome = Exchange(seen, upstream_unfetched, _as_reply).decide(traffic.handler)
            if outcome is None:
                response = await noting_upstream_errors(seen, fetch())
                seen.status = seen.upstream_status = response.status
                delivered = delivering(session, seen, _tracked(response, seen))
                await _raise_for_status(session, raise_for_status, delivered)
                return delivered
        except NeedsUpstream:  # the handler wants the real response: await it, then ask again
            response = await noting_upstream_errors(seen, fetch())
            fetched = (response, await response.read())
            outcome = Exchange(seen, lambda: fetched, _as_reply).decide(traffic.handler) or _as_reply(fetched)
        if isinstance(outcome, Fault):
            raise _fault_error(aiohttp, outcome, seen)
        delivered = delivering(session, seen, _response(aiohttp, session, outcome, seen))
        await _raise_for_status(session, raise_for_status, delivered)
        return delivered

    setattr(session_class, "_request", _request)  # noqa: B010  (mypy: no assigning to methods)
    setattr(aiohttp.BaseConnector, "close", close)  # noqa: B010  (as above)
    try:
        yield
    finally:
        setattr(session_class, "_request", current)  # noqa: B010  (as above)
        setattr(aiohttp.BaseConnector, "close", connector_close)  # noqa: B010  (as above)


# Each short enough that what to do survives the kit's cut of an error's message (200 characters).
CLOSED_LOOP = (
    "Event loop is closed [laios-conformance: an aiohttp ClientSession whose loop has closed fails every "
    "request live; create the session inside each loop, or keep one loop for the provider's life]"
)
OTHER_LOOP = (
    "attached to a different loop [laios-conformance: an aiohttp ClientSession used on another event loop "
    "than its own fails or hangs live; create the session inside each loop, or keep one loop]"
)


def _joined(session: Any, str_or_url: Any) -> Any:
    """The URL with the session's ``base_url`` joined in, for vcrpy's stub, which ignores
    ``base_url`` (it would match and record the bare path), where aiohttp takes an absolute
    URL beside a ``base_url`` (3.11 and later; before, the URL goes on as given)."""
    if getattr(session, "_base_url", None) is None:
        return str_or_url
    url = session._build_url(str_or_url)
    try:
        session._build_url(url)
    except AssertionError:
        return str_or_url
    return url


def _with_session_auth(session: Any, str_or_url: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request's options with the session's ``auth`` (``ClientSession(auth=...)``) as its
    own, for vcrpy's stub, which records only a request's ``auth``: its cassettes would keep
    no trace of where the key went. aiohttp sends the two alike (warning that a request's
    ``auth`` is deprecated, as it warned when the session was given one)."""
    auth = getattr(session, "_default_auth", None)
    if auth is None or kwargs.get("auth") is not None or session._build_url(str_or_url).user:
        return kwargs
    if any(str(name).lower() == "authorization" for name in (kwargs.get("headers") or {})):
        return kwargs  # aiohttp refuses the pair: left for it to say so
    return {**kwargs, "auth": auth}


def _through_middlewares(session: Any, kwargs: dict[str, Any]) -> bool:
    """Whether the request goes through client middlewares (aiohttp 3.12+). They run inside
    ``_request``, below the seam (and below vcrpy's replay, which skips them): a reply or
    fault of the seam's would never reach them, so the seam leaves such requests alone."""
    middlewares = kwargs.get("middlewares")
    return bool(getattr(session, "_middlewares", ()) if middlewares is None else middlewares)


def _as_reply(fetched: tuple[Any, bytes]) -> Reply:
    response, body = fetched
    headers = {name: value for name, value in response.headers.items() if name.lower() not in _FRAMING}
    return Reply(status=response.status, body=body, headers=headers)


# -- the request, as aiohttp will send it -----------------------------------------------------


async def _seen(aiohttp: Any, session: Any, method: str, str_or_url: Any, kwargs: dict[str, Any]) -> Seen:
    url = session._build_url(str_or_url)
    if kwargs.get("params"):
        url = url.extend_query(kwargs["params"])
    headers = session._prepare_headers(kwargs.get("headers"))
    auth = kwargs.get("auth") or session._default_auth
    if url.user:  # credentials in the URL: aiohttp sends them as Basic auth
        auth = aiohttp.BasicAuth(url.user, url.password or "")
    if auth is not None and "authorization" not in headers:
        headers["Authorization"] = auth.encode()
    body, content_type = await _body(aiohttp, session, kwargs)
    if content_type and "content-type" not in headers:
        headers["Content-Type"] = content_type
    return Seen(
        stack=STACK,
        method=method.upper(),
        url=str(url.with_user(None)),
        headers={str(name): str(value) for name, value in headers.items()},
        body=body,
        timeout=_timeouts(aiohttp, session, kwargs.get("timeout", _UNSET)),
        module=aiohttp,
    )


async def _body(aiohttp: Any, session: Any, kwargs: dict[str, Any]) -> tuple[bytes, str | None]:
    """The request body's bytes and the content type aiohttp gives it. A body that can be
    read only once (a file, an async iterator) is read here and sent as read."""
    if kwargs.get("json") is not None:
        dumps_bytes = getattr(session, "_json_serialize_bytes", None)
        if dumps_bytes is not None:
            return bytes(dumps_bytes(kwargs["json"])), "application/json"
        return session._json_serialize(kwargs["json"]).encode("utf-8"), "application/json"
    data = kwargs.get("data")
    if data is None:
        return b"", None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), "application/octet-stream"
    if isinstance(data, str):
        return data.encode("utf-8"), "text/plain; charset=utf-8"
    if hasattr(data, "__aiter__"):
        data = b"".join([bytes(chunk) async for chunk in data])
        kwargs["data"] = data
        return data, "application/octet-stream"
    if hasattr(data, "read") and not isinstance(data, aiohttp.payload.Payload):
        data = kwargs["data"] = materialized(data)
        return (data.encode("utf-8") if isinstance(data, str) else data), "application/octet-stream"
    return await _form_body(aiohttp, data, kwargs)


async def _form_body(aiohttp: Any, data: Any, kwargs: dict[str, Any]) -> tuple[bytes, str | None]:
    """A form's or a payload's bytes. One that can be read only once (a ``FormData``, a form
    of files, a payload) is sent, and recorded, as the seam read it."""
    from multidict import CIMultiDict

    payloads = aiohttp.payload
    fields = list(data.values() if isinstance(data, dict) else data if isinstance(data, (list, tuple)) else [data])
    if not isinstance(data, (aiohttp.FormData, payloads.Payload)) and not any(hasattr(f, "read") for f in fields):
        form = aiohttp.FormData(data)()  # url-encoded: aiohttp encodes it the same again
        return await form.as_bytes(), form.content_type
    payload = data() if isinstance(data, aiohttp.FormData) else data
    if not isinstance(payload, payloads.Payload):
        payload = aiohttp.FormData(data)()
    body = await payload.as_bytes()
    headers = CIMultiDict(kwargs.get("headers") or {})
    headers.setdefault("Content-Type", payload.content_type)
    kwargs["data"], kwargs["headers"] = body, headers
    return body, payload.content_type


_UNSET = object()


def _timeouts(aiohttp: Any, session: Any, timeout: Any) -> dict[str, Any]:
    """aiohttp's ``ClientTimeout`` as applied: ``total`` bounds the whole exchange, body
    included; ``connect``/``sock_connect`` the connection; ``sock_read`` each read, and
    (started before the request is written) its sending too."""
    if timeout is _UNSET or timeout is getattr(aiohttp.helpers, "sentinel", _UNSET):
        timeout = session.timeout
    elif not isinstance(timeout, aiohttp.ClientTimeout):
        timeout = aiohttp.ClientTimeout(total=timeout)
    total = finite_or_none(timeout.total)
    read = _least(total, finite_or_none(timeout.sock_read))
    connect = _least(total, finite_or_none(timeout.connect), finite_or_none(timeout.sock_connect))
    return {"connect": connect, "read": read, "write": read}


def _least(*bounds: float | None) -> float | None:
    finite = [bound for bound in bounds if bound is not None]
    return min(finite) if finite else None


# -- the response ---------------------------------------------------------------------------


def _tracked(response: Any, seen: Seen) -> Any:
    """Let the seam know when the provider closes or releases the response (reading it to
    the end does not count)."""
    for name in ("close", "release"):
        method = getattr(response, name)

        def tracked(method: Any = method) -> Any:
            seen.closed.set()
            return method()

        setattr(response, name, tracked)
    return response


async def _raise_for_status(session: Any, raise_for_status: Any, response: Any) -> None:
    """What ``ClientSession._request`` does with its ``raise_for_status`` once it has a response."""
    if raise_for_status is None:
        raise_for_status = session._raise_for_status
    if callable(raise_for_status):
        await raise_for_status(response)
    elif raise_for_status:
        response.raise_for_status()


def _response(aiohttp: Any, session: Any, reply: Reply, seen: Seen) -> Any:
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    url = URL(seen.url)
    headers = CIMultiDict((name, value) for name, value in reply.headers.items() if name.lower() not in _FRAMING)
    if len(reply.pieces()) > 1 or reply.gate is not None or reply.drop_at is not None:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(len(reply.body))
    loop = asyncio.get_running_loop()
    request_info = aiohttp.RequestInfo(url, seen.method, CIMultiDictProxy(CIMultiDict(seen.headers)), url)
    response = _response_class(aiohttp)(seen.method, url, request_info=request_info, loop=loop, session=session)
    response.seen = seen
    response.status = reply.status
    response.reason = _reason(reply.status)
    response._headers = CIMultiDictProxy(headers)
    response._raw_headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    response._history = ()
    response.content = _reader_class(aiohttp)(reply, loop)
    return response


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@functools.cache
def _response_class(aiohttp: Any) -> Any:
    writer_wanted = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters

    # aiohttp is imported where it is used (an optional stack), so mypy sees Any here
    class SeamResponse(aiohttp.ClientResponse):  # type: ignore[misc]
        """A response already sent and received; closing or releasing it is noted."""

        seen: Seen

        def __init__(self, method: str, url: Any, *, request_info: Any, loop: Any, session: Any) -> None:
            extra = {"stream_writer": SimpleNamespace(output_size=0)} if writer_wanted else {}
            super().__init__(
                method,
                url,
                writer=None,
                continue100=None,
                timer=None,
                request_info=request_info,
                traces=[],
                loop=loop,
                session=session,
                **extra,
            )

        def close(self) -> None:
            self.seen.closed.set()
            super().close()

        def release(self) -> Any:
            self.seen.closed.set()
            return super().release()

    return SeamResponse


class _NoConnection:
    """The protocol a ``StreamReader`` expects: the pieces come from the reply, not a socket."""

    _reading_paused = False
    connected = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


@functools.cache
def _reader_class(aiohttp: Any) -> Any:
    # aiohttp is imported where it is used (an optional stack), so mypy sees Any here
    class ShapedReader(aiohttp.StreamReader):  # type: ignore[misc]
        """aiohttp's own ``StreamReader``, fed the reply's next piece (one network read)
        each time a read finds it empty, and broken off as aiohttp breaks off a body cut short."""

        def __init__(self, reply: Reply, loop: Any) -> None:
            super().__init__(_NoConnection(), max(len(reply.body), 2**16), loop=loop)
            self._pieces = reply.paced()
            self._dropped = reply.drop_at is not None

        async def _wait(self, func_name: str) -> None:
            piece = next(self._pieces, None)
            if piece is not None:
                self.begin_http_chunk_receiving()
                self.feed_data(piece)
                self.end_http_chunk_receiving()
            elif self._dropped:
                error = aiohttp.ClientPayloadError(
                    "Response payload is not completed: <TransferEncodingError: 400, message='Not enough data "
                    "to satisfy transfer length header.'> [laios-conformance] injected"
                )
                self.set_exception(error)
                raise error
            else:
                self.feed_eof()

    return ShapedReader


def _fault_error(aiohttp: Any, fault: Fault, seen: Seen) -> Exception:
    from yarl import URL

    url = URL(seen.url)
    if fault is Fault.CONNECT_ERROR:
        key_class = aiohttp.client_reqrep.ConnectionKey
        fields = dict.fromkeys(key_class._fields)
        fields.update(host=url.host, port=url.port, is_ssl=url.scheme == "https", ssl=True)
        refused = ConnectionRefusedError(errno.ECONNREFUSED, "[laios-conformance] injected connect error")
        error: Exception = aiohttp.ClientConnectorError(key_class(**fields), refused)
        return error
    if fault is Fault.CONNECT_TIMEOUT:
        timeout_error = getattr(aiohttp, "ConnectionTimeoutError", aiohttp.ServerTimeoutError)
        error = timeout_error(f"Connection timeout to host {url} [laios-conformance] injected")
        return error
    timeout_error = getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)
    error = timeout_error("Timeout on reading data from socket [laios-conformance] injected")
    return error
