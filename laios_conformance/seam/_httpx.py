"""The httpx (and httpx2) adapter.

Every request of an ``httpx.Client`` goes to the transport that ``Client._transport_for_url``
picks; the seam wraps that choice, so requests meant for an ``HTTPTransport`` (the default
transport, and any subclass) cross the seam instead, and the seam calls the transport's
``handle_request`` (vcrpy's replay, while a cassette is open) only when the handler asks
for the real response. vcrpy never touches ``_transport_for_url``.

A connect fault the seam injects stands for a failed connection, which httpcore retries
below the transport (``HTTPTransport(retries=N)``): the seam makes those retries itself,
each one a request seen, so that they count as the attempts they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
import weakref
from collections.abc import Callable, Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

from ._model import Exchange, Fault, NeedsUpstream, Reply, Seen, Traffic, noting_upstream_errors, upstream_unfetched
from ._vcr_aware import Replaying

MODULES = ("httpx", "httpx2")
_VCR_ORIGINALS = {
    "httpx": ("_HttpxHttpTransport_handle_request", "_HttpxAsyncHttpTransport_handle_async_request"),
    "httpx2": ("_Httpx2HttpTransport_handle_request", "_Httpx2AsyncHttpTransport_handle_async_request"),
}


@contextlib.contextmanager
def interposed(module: ModuleType, traffic: Traffic) -> Iterator[None]:
    sync_names, async_names = _VCR_ORIGINALS[module.__name__]
    sync_upstream = Replaying(module.HTTPTransport, "handle_request", sync_names)
    async_upstream = Replaying(module.AsyncHTTPTransport, "handle_async_request", async_names)
    streams = _streams(module)
    clients = (module.Client, module.AsyncClient)
    originals = [client.__dict__["_transport_for_url"] for client in clients]

    def sync_transport_for_url(client: Any, url: Any) -> Any:
        transport = originals[0](client, url)
        if not isinstance(transport, module.HTTPTransport) or traffic.passes_by():
            return transport
        return streams.seam_transport(transport, lambda request: _handle(module, traffic, transport, request))

    def async_transport_for_url(client: Any, url: Any) -> Any:
        transport = originals[1](client, url)
        if not isinstance(transport, module.AsyncHTTPTransport) or traffic.passes_by():
            return transport
        return streams.async_seam_transport(
            transport, lambda request: _handle_async(module, traffic, transport, request)
        )

    def _handle(module: ModuleType, traffic: Traffic, transport: Any, request: Any) -> Any:
        request.read()

        def call_upstream() -> Any:
            call = _own_call(transport, module.HTTPTransport, "handle_request") or sync_upstream.current()
            return call(transport, request)

        backoff = _connect_backoff(transport)
        while True:
            seen = _seen(module, request)
            traffic.record(seen)
            exchange = Exchange(seen, call_upstream, _sync_reply)
            outcome = exchange.decide(traffic.handler)
            if outcome in _CONNECT_FAULTS and (delay := next(backoff, None)) is not None:
                time.sleep(delay)  # httpcore's own backoff (a virtual clock's, in the clauses)
                continue
            if outcome is None:
                response = exchange.upstream_response()
                seen.status = seen.upstream_status = response.status_code
                response.stream = streams.tracked(response.stream, seen)
                return response
            return _deliver(module, streams.shaped, outcome, seen)

    async def _handle_async(module: ModuleType, traffic: Traffic, transport: Any, request: Any) -> Any:
        await request.aread()
        _refuse_closed_loop_pool(transport)

        def call_upstream() -> Any:
            call = _own_call(transport, module.AsyncHTTPTransport, "handle_async_request") or async_upstream.current()
            return call(transport, request)

        backoff = _connect_backoff(transport)
        while True:
            seen = _seen(module, request)
            traffic.record(seen)
            try:
                outcome = Exchange(seen, upstream_unfetched, _async_reply).decide(traffic.handler)
                if outcome is None:
                    response = await noting_upstream_errors(seen, call_upstream())
                    seen.status = seen.upstream_status = response.status_code
                    response.stream = streams.async_tracked(response.stream, seen)
                    _pool_loop(transport)
                    return response
            except NeedsUpstream:  # the handler wants the real response: await it, then ask again
                outcome = await _decided_on_upstream(seen, call_upstream(), traffic)
            # The backoff is not awaited: no clock of the kit's is virtual inside an event loop.
            if outcome not in _CONNECT_FAULTS or next(backoff, None) is None:
                delivered = _deliver(module, streams.async_shaped, outcome, seen)
                _pool_loop(transport)
                return delivered

    module.Client._transport_for_url = sync_transport_for_url
    module.AsyncClient._transport_for_url = async_transport_for_url
    try:
        yield
    finally:
        module.Client._transport_for_url = originals[0]
        module.AsyncClient._transport_for_url = originals[1]


_CONNECT_FAULTS = (Fault.CONNECT_ERROR, Fault.CONNECT_TIMEOUT)

# The event loop each async transport last answered on: a live API keeps the connection
# alive, so the transport's pool then holds a connection bound to that loop.
_POOL_LOOPS: weakref.WeakKeyDictionary[Any, asyncio.AbstractEventLoop] = weakref.WeakKeyDictionary()
CLOSED_LOOP = (
    "Event loop is closed [laios-conformance: an async client kept across asyncio.run() calls reuses a "
    "connection of a closed loop, which fails live; create the client inside each loop, or keep one loop]"
)


def _pool_loop(transport: Any) -> None:
    """Note the loop ``transport`` answered on (the one a kept-alive connection belongs to)."""
    with contextlib.suppress(RuntimeError):  # no running asyncio loop (trio): nothing to note
        _POOL_LOOPS[transport] = asyncio.get_running_loop()


def _refuse_closed_loop_pool(transport: Any) -> None:
    """Raise as httpcore does when ``transport`` reuses a kept-alive connection of a closed loop.

    httpcore then drops that connection, so on the live API only some later calls fail; the
    kit fails every one, so that the verdict does not depend on which calls a clause makes.
    """
    pooled = _POOL_LOOPS.get(transport)
    if pooled is not None and pooled.is_closed():
        raise RuntimeError(CLOSED_LOOP)


def _connect_backoff(transport: Any) -> Iterator[float]:
    """The pauses before each retry of a failed connection that the transport's httpcore
    pool makes (its ``retries``: 0 s, 0.5 s, 1 s, 2 s, ... as httpcore's ``exponential_backoff``)."""
    retries = getattr(getattr(transport, "_pool", None), "_retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries <= 0:
        return iter(())
    return itertools.islice(itertools.chain([0.0], (0.5 * 2**n for n in itertools.count())), retries)


def _seen(module: ModuleType, request: Any) -> Seen:
    return Seen(
        stack=module.__name__,
        method=request.method,
        url=str(request.url),
        headers=request.headers,
        body=request.content,
        timeout=dict(request.extensions.get("timeout") or {}),
        module=module,
        request=request,
    )


@functools.cache
def _overriding_types(base: type, name: str) -> Callable[[type], bool]:
    @functools.cache
    def overrides(cls: type) -> bool:
        return any(name in vars(c) for c in cls.__mro__[: cls.__mro__.index(base)])

    return overrides


def _own_call(transport: Any, base: type, name: str) -> Any:
    """A subclass's own ``handle_request`` (which calls up to vcrpy itself), if it has one."""
    if type(transport) is base or not _overriding_types(base, name)(type(transport)):
        return None
    return getattr(type(transport), name)


def _sync_reply(response: Any) -> Reply:
    return Reply(status=response.status_code, body=response.read(), headers=dict(response.headers))


def _async_reply(response: Any) -> Reply:
    return Reply(status=response.status_code, body=response.content, headers=dict(response.headers))


async def _decided_on_upstream(seen: Seen, pending: Any, traffic: Traffic) -> Reply | Fault | None:
    response = await noting_upstream_errors(seen, pending)
    await response.aread()
    return Exchange(seen, lambda: response, _async_reply).decide(traffic.handler)


def _deliver(module: ModuleType, shaped: Any, outcome: Reply | Fault | None, seen: Seen) -> Any:
    if isinstance(outcome, Fault):
        error_class: Any = {
            Fault.CONNECT_ERROR: module.ConnectError,
            Fault.CONNECT_TIMEOUT: module.ConnectTimeout,
            Fault.READ_TIMEOUT: module.ReadTimeout,
        }[outcome]
        error: Exception = error_class(f"[laios-conformance] injected {outcome.value}", request=seen.request)
        raise error
    assert outcome is not None  # None is delivered as the real response, before this
    return module.Response(outcome.status, headers=outcome.headers, stream=shaped(outcome, seen), request=seen.request)


def _dropped(module: ModuleType) -> Exception:
    error: Exception = module.RemoteProtocolError(
        "[laios-conformance] injected: peer closed connection without sending complete message body"
    )
    return error


@functools.cache
def _streams(module: ModuleType) -> SimpleNamespace:
    """Transport and stream classes built on ``module``'s own base classes (httpx and httpx2 differ)."""
    transport_base: Any = module.BaseTransport
    async_transport_base: Any = module.AsyncBaseTransport
    stream_base: Any = module.SyncByteStream
    async_stream_base: Any = module.AsyncByteStream

    class SeamTransport(transport_base):  # type: ignore[misc]  # each module's own base
        """Stands in for an ``HTTPTransport`` for one request, routing it through the seam."""

        def __init__(self, inner: Any, handle: Callable[[Any], Any]) -> None:
            self.inner, self.handle = inner, handle

        def handle_request(self, request: Any) -> Any:
            return self.handle(request)

        def close(self) -> None:
            self.inner.close()

    class AsyncSeamTransport(async_transport_base):  # type: ignore[misc]  # each module's own base
        def __init__(self, inner: Any, handle: Callable[[Any], Any]) -> None:
            self.inner, self.handle = inner, handle

        async def handle_async_request(self, request: Any) -> Any:
            return await self.handle(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    class ShapedStream(stream_base):  # type: ignore[misc]  # each module's own base
        """Delivers a :class:`Reply` body piece by piece, as separate network reads."""

        def __init__(self, reply: Reply, seen: Seen) -> None:
            self.reply, self.seen = reply, seen

        def __iter__(self) -> Iterator[bytes]:
            for piece in self.reply.paced():
                if self.seen.closed.is_set():  # httpcore's read on the closed connection fails
                    raise module.ReadError("[laios-conformance] read from a response that was closed meanwhile")
                yield piece
            if self.reply.drop_at is not None:
                raise _dropped(module)

        def close(self) -> None:
            self.seen.closed.set()

    class AsyncShapedStream(async_stream_base):  # type: ignore[misc]  # each module's own base
        def __init__(self, reply: Reply, seen: Seen) -> None:
            self.reply, self.seen = reply, seen

        async def __aiter__(self) -> Any:
            for piece in self.reply.paced():
                if self.seen.closed.is_set():
                    raise module.ReadError("[laios-conformance] read from a response that was closed meanwhile")
                yield piece
            if self.reply.drop_at is not None:
                raise _dropped(module)

        async def aclose(self) -> None:
            self.seen.closed.set()

    class TrackedStream(stream_base):  # type: ignore[misc]  # each module's own base
        """Wraps an upstream stream so the kit learns when the provider closes the response."""

        def __init__(self, inner: Any, seen: Seen) -> None:
            self.inner, self.seen = inner, seen

        def __iter__(self) -> Iterator[bytes]:
            yield from self.inner

        def close(self) -> None:
            self.seen.closed.set()
            self.inner.close()

    class AsyncTrackedStream(async_stream_base):  # type: ignore[misc]  # each module's own base
        def __init__(self, inner: Any, seen: Seen) -> None:
            self.inner, self.seen = inner, seen

        async def __aiter__(self) -> Any:
            async for piece in self.inner:
                yield piece

        async def aclose(self) -> None:
            self.seen.closed.set()
            await self.inner.aclose()

    return SimpleNamespace(
        seam_transport=SeamTransport,
        async_seam_transport=AsyncSeamTransport,
        shaped=ShapedStream,
        async_shaped=AsyncShapedStream,
        tracked=TrackedStream,
        async_tracked=AsyncTrackedStream,
    )
