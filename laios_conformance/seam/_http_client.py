"""The ``http.client`` adapter, which also carries ``urllib.request``.

A request made with ``HTTPConnection.request(...)`` (what ``urlopen`` does) is held back
there and handed to the seam; ``getresponse()`` then delivers the handler's reply, raises
its fault, or sends the request for real. While a cassette is open, vcrpy swaps the
module's ``HTTPConnection``/``HTTPSConnection`` for its own classes (and back, for a
moment, whenever it builds a real connection): the seam takes over the ``request`` and
``getresponse`` methods of both the real classes and vcrpy's, attributes vcrpy never
touches. Connections that belong to urllib3 are left to the urllib3 adapter.

Those swaps also break ``HTTPSConnection.__init__`` in other threads: it calls
``super(HTTPSConnection, self)``, reading the module's name at that moment, so a
connection whose class was read on one side of a swap and built on the other raised
``TypeError: super(type, obj)``. While the seam is in place, that ``__init__`` reads the
name from a namespace where it is always the real class.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import http.client
import socket
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

from ._model import Exchange, Fault, Reply, Seen, Traffic, timeouts
from ._vcr_aware import Replaying, pristine, wrapped_once
from ._wire import http_client_response, materialized

STACK = "http.client"
_PENDING = "_laios_seam_pending"
_upstream = threading.local()  # set while the seam itself sends a request for real


@contextlib.contextmanager
def interposed(traffic: Traffic) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(_super_pinned(_real("HTTPSConnection")))
        for connection_class in _connection_classes():
            stack.enter_context(_patched(connection_class, traffic))
        yield


def _super_pinned(https_class: Any) -> contextlib.AbstractContextManager[None]:
    """``https_class.__init__`` with ``HTTPSConnection`` bound to ``https_class``, whatever the
    module holds (nothing to pin on a Python built without ``ssl``, which has no such class)."""

    def pinned_init(original: Any) -> Any:
        @functools.wraps(original)  # the signature stays the real one, for providers that inspect it
        def __init__(conn: Any, *args: Any, **kwargs: Any) -> None:
            namespace = {**vars(http.client), "HTTPSConnection": https_class}
            pinned = types.FunctionType(
                original.__code__, namespace, original.__name__, original.__defaults__, original.__closure__
            )
            pinned.__kwdefaults__ = original.__kwdefaults__
            pinned(conn, *args, **kwargs)

        return __init__

    return wrapped_once(https_class, "__init__", pinned_init)


def _connection_classes() -> list[type]:
    classes: list[type] = [_real("HTTPConnection")]
    stubs = sys.modules.get("vcr.stubs")
    if stubs is not None:
        classes.append(stubs.VCRConnection)
    return classes


@contextlib.contextmanager
def _patched(connection_class: type, traffic: Traffic) -> Iterator[None]:
    real_request = connection_class.__dict__["request"]
    real_getresponse = connection_class.__dict__["getresponse"]
    replaying = {name: Replaying(http.client, name, f"_{name}") for name in ("HTTPConnection", "HTTPSConnection")}

    def request(conn: Any, method: str, url: str, body: Any = None, headers: Any = None, **kw: Any) -> None:
        headers = {} if headers is None else headers
        if _left_alone(conn) or traffic.passes_by():
            real_request(conn, method, url, body, headers, **kw)
            return
        body = materialized(body)
        seen = _seen(conn, method, url, body, headers)
        traffic.record(seen)

        def fetch() -> Any:
            _upstream.active = True
            try:
                sender = _replaying_connection(conn, replaying)
                if sender is not None:  # vcrpy's connection: its request and getresponse, not ours
                    sender.request(method, url, body, headers, **kw)
                    return sender.getresponse()
                real_request(conn, method, url, body, headers, **kw)
                return real_getresponse(conn)
            finally:
                _upstream.active = False

        exchange = Exchange(seen, fetch, _as_reply)
        outcome = exchange.decide(traffic.handler)
        if outcome is Fault.CONNECT_ERROR:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "[laios-conformance] injected connect error")
        if outcome is Fault.CONNECT_TIMEOUT:
            raise TimeoutError("timed out ([laios-conformance] injected connect timeout)")
        object.__setattr__(conn, _PENDING, (exchange, outcome, method))  # vcrpy's stubs copy setattr

    def getresponse(conn: Any, *args: Any, **kwargs: Any) -> Any:
        pending = conn.__dict__.pop(_PENDING, None)
        if pending is None:
            return real_getresponse(conn, *args, **kwargs)
        exchange, outcome, method = pending
        seen = exchange.seen
        if outcome is None:
            response = exchange.upstream_response()
            seen.status = seen.upstream_status = response.status
            return _tracked(response, seen)
        if outcome is Fault.READ_TIMEOUT:
            raise TimeoutError("timed out ([laios-conformance] injected read timeout)")
        return http_client_response(outcome, method, on_close=seen.closed.set)

    setattr(connection_class, "request", request)  # noqa: B010  (a class mypy cannot see into)
    setattr(connection_class, "getresponse", getresponse)  # noqa: B010  (as above)
    try:
        yield
    finally:
        setattr(connection_class, "request", real_request)  # noqa: B010  (as above)
        setattr(connection_class, "getresponse", real_getresponse)  # noqa: B010  (as above)


def _replaying_connection(conn: Any, replaying: dict[str, Replaying]) -> Any:
    """vcrpy's replaying connection in place of a real one made while vcrpy had put the
    module's classes back for a moment (in another thread); None when ``conn`` will do."""
    secure = _secure(conn)
    stub = replaying["HTTPSConnection" if secure else "HTTPConnection"].current()
    if getattr(stub, "cassette", None) is None or isinstance(conn, stub) or "real_connection" in conn.__dict__:
        return None
    options = {"context": conn._context} if secure else {}
    return stub(conn.host, conn.port, timeout=conn.timeout, **options)


def _real(name: str) -> Any:
    """``http.client``'s own class, even while vcrpy's stands in its place (None for
    ``HTTPSConnection`` on a Python built without ``ssl``)."""
    return pristine(f"_{name}") or getattr(http.client, name, None)


def _secure(conn: Any) -> bool:
    https_class = _real("HTTPSConnection")
    return https_class is not None and isinstance(conn, https_class)


def _left_alone(conn: Any) -> bool:
    """Requests the seam does not take: its own upstream ones, and urllib3's."""
    if getattr(_upstream, "active", False):
        return True
    urllib3_connection = sys.modules.get("urllib3.connection")
    if urllib3_connection is None:
        return False
    return isinstance(conn, pristine("_connHTTPConnection") or urllib3_connection.HTTPConnection)


def _seen(conn: Any, method: str, url: str, body: Any, headers: Any) -> Seen:
    data = _as_sent(body) if isinstance(body, str) else (body or b"")
    timeout = conn.timeout
    if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]  # http.client's own default, not in typeshed
        timeout = socket.getdefaulttimeout()
    return Seen(
        stack=STACK,
        method=method,
        url=_absolute(conn, url),
        headers={str(k): str(v) for k, v in dict(headers).items()},
        body=data,
        timeout=timeouts(timeout, timeout, timeout),
        module=http.client,
    )


def _as_sent(body: str) -> bytes:
    """A ``str`` body as http.client sends it: ISO-8859-1, or its own UnicodeEncodeError
    ("Body ('😀') is not valid Latin-1") raised in the provider's call."""
    encode = getattr(http.client, "_encode", None)
    return encode(body, "body") if callable(encode) else body.encode("iso-8859-1")


def _absolute(conn: Any, url: str) -> str:
    if not url.startswith("/"):
        return url  # through a proxy: already absolute
    real = conn.__dict__.get("real_connection", conn)  # vcrpy's stub wraps the real one
    secure = _secure(real)
    host = getattr(real, "_tunnel_host", None) or real.host
    port = getattr(real, "_tunnel_port", None) if getattr(real, "_tunnel_host", None) else real.port
    default = 443 if secure else 80
    return f"{'https' if secure else 'http'}://{host}{'' if port == default else f':{port}'}{url}"


def _as_reply(response: Any) -> Reply:
    body = response.read()
    return Reply(status=response.status, body=body, headers=dict(response.getheaders()))


def _tracked(response: Any, seen: Seen) -> Any:
    close = response.close

    def tracked_close() -> None:
        seen.closed.set()
        close()

    response.close = tracked_close
    return response
