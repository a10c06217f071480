"""The urllib3 adapter, which also carries ``requests``.

``HTTPConnectionPool.urlopen`` sends each attempt through ``_make_request(conn, method,
url, ...)``; the seam takes that method over, so it sees every attempt (retries
included) before any socket is touched, and calls the real one (vcrpy's replaying
connection, while a cassette is open) only when the handler asks for the real response.
vcrpy patches urllib3's connection classes and ``_get_conn``/``_new_conn``, never
``_make_request``. Faults are the errors urllib3 itself raises there, so ``urlopen``'s
retry logic and ``requests``' error mapping see what they would see on the network.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from ._model import Exchange, Fault, Reply, Seen, Traffic, timeouts
from ._vcr_aware import Replaying
from ._wire import http_client_response, materialized

STACK = "urllib3"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@contextlib.contextmanager
def interposed(traffic: Traffic) -> Iterator[None]:
    import urllib3
    import urllib3.connectionpool as connectionpool

    pool_class = connectionpool.HTTPConnectionPool
    _default_timeout = urllib3.util.timeout._DEFAULT_TIMEOUT
    real = pool_class.__dict__["_make_request"]
    replaying = {
        pool_class: Replaying(pool_class, "ConnectionCls", "_connHTTPConnection"),
        connectionpool.HTTPSConnectionPool: Replaying(
            connectionpool.HTTPSConnectionPool, "ConnectionCls", "_connHTTPSConnection"
        ),
    }

    def upstream(pool: Any, conn: Any, *args: Any, **kw: Any) -> Any:
        replaying_class = next((r for cls, r in reversed(replaying.items()) if isinstance(pool, cls)), None)
        stub: Any = replaying_class.current() if replaying_class is not None else None
        if getattr(stub, "cassette", None) is not None and not isinstance(conn, stub):
            conn, kw = _replaying_connection(pool, conn, stub, kw)
        return real(pool, conn, *args, **kw)

    def _make_request(
        pool: Any, conn: Any, method: str, url: str, body: Any = None, headers: Any = None, **kw: Any
    ) -> Any:
        if traffic.passes_by():
            return real(pool, conn, method, url, body, headers, **kw)
        body = materialized(body)
        seen = _seen(urllib3, pool, method, url, body, headers, kw.get("timeout", _default_timeout))
        traffic.record(seen)
        exchange = Exchange(seen, lambda: upstream(pool, conn, method, url, body, headers, **kw), _as_reply)
        outcome = exchange.decide(traffic.handler)
        if outcome is None:
            response = exchange.upstream_response()
            seen.status = seen.upstream_status = response.status
            return _tracked(response, seen)
        if isinstance(outcome, Fault):
            raise _fault_error(urllib3, outcome, pool, conn, url, seen)
        return _deliver(urllib3, pool, outcome, seen, method, url, kw)

    setattr(pool_class, "_make_request", _make_request)  # noqa: B010  (mypy: no assigning to methods)
    try:
        yield
    finally:
        setattr(pool_class, "_make_request", real)  # noqa: B010  (as above)


def _replaying_connection(pool: Any, conn: Any, stub: type, kw: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """vcrpy's replaying connection in place of a real one the pool made while vcrpy had
    put urllib3's classes back for a moment (in another thread)."""
    pool.__dict__["ConnectionCls"] = stub  # this pool only, for this one connection
    try:
        replacement = pool._new_conn()
    finally:
        del pool.__dict__["ConnectionCls"]
    if kw.get("response_conn") is conn:
        kw = {**kw, "response_conn": replacement}
    return replacement, kw


def _seen(urllib3: ModuleType, pool: Any, method: str, url: str, body: Any, headers: Any, timeout: Any) -> Seen:
    if url.startswith("/"):
        port = "" if pool.port in (None, _DEFAULT_PORTS.get(pool.scheme)) else f":{pool.port}"
        url = f"{pool.scheme}://{pool.host}{port}{url}"
    data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    return Seen(
        stack=STACK,
        method=method,
        url=url,
        headers=dict(headers if headers is not None else pool.headers),
        body=data,
        timeout=_timeouts(urllib3, pool, timeout),
        module=urllib3,
    )


def _timeouts(urllib3: ModuleType, pool: Any, timeout: Any) -> dict[str, Any]:
    """urllib3's ``Timeout`` as applied: the connect timeout also bounds sending, the read
    timeout each read; an unset one falls back to the socket default (forever, unless set)."""
    effective = pool._get_timeout(timeout)
    effective.start_connect()
    resolve = urllib3.Timeout.resolve_default_timeout
    connect = resolve(effective.connect_timeout)
    return timeouts(connect, resolve(effective.read_timeout), connect)


def _as_reply(response: Any) -> Reply:
    body = response.read(decode_content=True)
    headers = {name: value for name, value in response.headers.items() if name.lower() != "content-encoding"}
    return Reply(status=response.status, body=body, headers=headers)


def _tracked(response: Any, seen: Seen) -> Any:
    """Let the seam know when the provider closes the response, or reads it to the end and
    hands its connection back (what ``requests`` does with a response it did not stream)."""
    for name in ("close", "release_conn"):
        method = getattr(response, name, None)  # vcrpy < 9's replayed response has no release_conn

        def tracked(method: Any = method) -> None:
            seen.closed.set()
            if method is not None:
                method()

        setattr(response, name, tracked)
    return response


def _deliver(
    urllib3: ModuleType, pool: Any, reply: Reply, seen: Seen, method: str, url: str, kw: dict[str, Any]
) -> Any:
    if len(reply.pieces()) <= 1 and reply.gate is None and reply.drop_at is None:
        # One intact piece: urllib3 reads a body of known length the same from any file.
        raw: Any = _WholeBody(reply.body)
        headers = urllib3.HTTPHeaderDict(reply.headers)
        headers.discard("transfer-encoding")
        headers["content-length"] = str(len(reply.body))
        status, reason, original = reply.status, None, None
    else:
        raw = original = http_client_response(reply, method)
        headers = urllib3.HTTPHeaderDict(raw.msg.items())
        status, reason = raw.status, raw.reason
    response = urllib3.HTTPResponse(
        body=raw,
        headers=headers,
        status=status,
        version=11,
        version_string="HTTP/1.1",
        reason=reason,
        preload_content=kw.get("preload_content", True),
        decode_content=kw.get("decode_content", True),
        original_response=original,
        enforce_content_length=kw.get("enforce_content_length", True),
        request_method=method,
        request_url=url,
        retries=kw.get("retries"),
        pool=pool,
        connection=kw.get("response_conn"),
    )
    return _tracked(response, seen)


class _WholeBody(io.BytesIO):
    """A body of known length that, like http.client's response, says it is closed once
    read to the end: urllib3's ``stream()`` (``requests``' ``iter_content(None)``) reads
    until then, and on a plain ``BytesIO`` would loop for ever."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self._length = len(body)

    def isclosed(self) -> bool:
        return self.closed or self.tell() >= self._length


def _fault_error(urllib3: ModuleType, fault: Fault, pool: Any, conn: Any, url: str, seen: Seen) -> Any:
    errors: Any = urllib3.exceptions
    connect = seen.timeout.get("connect")
    if fault is Fault.CONNECT_ERROR:
        return errors.NewConnectionError(
            conn, "Failed to establish a new connection: [laios-conformance] injected connect error"
        )
    if fault is Fault.CONNECT_TIMEOUT:
        return errors.ConnectTimeoutError(
            conn, f"Connection to {pool.host} timed out. (connect timeout={connect}) [laios-conformance] injected"
        )
    read = seen.timeout.get("read")
    return errors.ReadTimeoutError(pool, url, f"Read timed out. (read timeout={read}) [laios-conformance] injected")
