"""The one place the kit touches a provider's HTTP traffic: httpx's transport seam.

Providers build their own clients (often inside ``generate()``), so the kit cannot hand
them a transport. Instead, for the span of a clause, :func:`interpose` replaces
``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request`` on the
class, in ``httpx`` and, when importable, ``httpx2`` (which current official SDKs speak
through), and always restores them.

vcrpy patches the same methods when a cassette opens and, on replay, never calls below
itself. :func:`interpose` must therefore be entered *after* the cassette, so that it wraps
vcrpy's replay: a clause enters it inside the test body, after every fixture has run.

Each request is handed to a *handler* with a lazy ``upstream()`` that fetches the real
(or replayed) response. The handler returns ``None`` (pass through untouched), a
:class:`Reply` (a synthetic or reshaped response: cut into pieces, paced, dropped
mid-body) or a :class:`Fault` (a transport error raised instead of any response).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType, SimpleNamespace
from typing import Any, SupportsIndex

__all__ = ["Fault", "Reply", "Seen", "Traffic", "interpose", "virtual_sleep"]

_HTTPX_MODULES = ("httpx", "httpx2")


class Fault(str, Enum):
    """Transport failures the seam can raise in place of a response."""

    CONNECT_ERROR = "connect error"
    CONNECT_TIMEOUT = "connect timeout"
    READ_TIMEOUT = "read timeout"
    DROPPED = "connection dropped mid-body"


@dataclass
class Reply:
    """A response for the seam to deliver.

    ``cuts`` are byte offsets at which the body is split into separate network reads.
    ``drop_at`` ends the body with ``RemoteProtocolError`` after that many bytes.
    ``gate``, when set, withholds everything after the first piece until the gate opens
    (or ``gate_timeout`` passes, which sets ``gate_expired``): the kit's way of asking
    "did you yield before the end?".
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cuts: Sequence[int] = ()
    drop_at: int | None = None
    gate: threading.Event | None = None
    gate_timeout: float = 5.0
    gate_expired: bool = False

    def pieces(self) -> list[bytes]:
        end = len(self.body) if self.drop_at is None else min(self.drop_at, len(self.body))
        bounds = sorted({c for c in self.cuts if 0 < c < end})
        edges = [0, *bounds, end]
        return [self.body[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


@dataclass
class Seen:
    """One request that crossed the seam, and what became of its response."""

    request: Any
    module: ModuleType
    status: int | None = None
    closed: threading.Event = field(default_factory=threading.Event)
    upstream_error: Exception | None = None

    @property
    def body(self) -> bytes:
        content: bytes = self.request.content
        return content

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def url(self) -> str:
        return str(self.request.url)

    @property
    def timeout(self) -> dict[str, Any]:
        return dict(self.request.extensions.get("timeout") or {})


Handler = Callable[[Seen, Callable[[], Reply]], Reply | Fault | None]


class Traffic:
    """Everything that crossed the seam while :func:`interpose` was active."""

    def __init__(self, handler: Handler | None) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.seen)

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


@contextlib.contextmanager
def interpose(handler: Handler | None = None) -> Iterator[Traffic]:
    """Route every httpx/httpx2 request through ``handler`` until the block ends."""
    traffic = Traffic(handler)
    with contextlib.ExitStack() as stack:
        for module in _importable_httpx_modules():
            stack.enter_context(_patched(module, traffic))
        yield traffic


def _importable_httpx_modules() -> list[ModuleType]:
    modules = []
    for name in _HTTPX_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules


@contextlib.contextmanager
def _patched(module: ModuleType, traffic: Traffic) -> Iterator[None]:
    sync_cls, async_cls = module.HTTPTransport, module.AsyncHTTPTransport
    real_sync = sync_cls.__dict__["handle_request"]
    real_async = async_cls.__dict__["handle_async_request"]

    def handle_request(transport: Any, request: Any) -> Any:
        request.read()
        seen = Seen(request, module)
        traffic.record(seen)
        return _answer(seen, traffic.handler, lambda: real_sync(transport, request), sync=True)

    async def handle_async_request(transport: Any, request: Any) -> Any:
        await request.aread()
        seen = Seen(request, module)
        traffic.record(seen)
        try:
            return _answer(seen, traffic.handler, _upstream_unfetched, sync=False)
        except _NeedsUpstream:  # the real response must be awaited first; then ask again
            upstream = await real_async(transport, request)
            await upstream.aread()
            return _answer(seen, traffic.handler, lambda: upstream, sync=False, prefetched=upstream)

    sync_cls.handle_request = handle_request
    async_cls.handle_async_request = handle_async_request
    try:
        yield
    finally:
        sync_cls.handle_request = real_sync
        async_cls.handle_async_request = real_async


class _NeedsUpstream(BaseException):
    """The upstream response of an async request is needed, and must be awaited first.

    A BaseException, so that neither a handler nor the error bookkeeping swallows it.
    """


def _upstream_unfetched() -> Any:
    raise _NeedsUpstream


def _answer(
    seen: Seen, handler: Handler | None, call_upstream: Callable[[], Any], sync: bool, prefetched: Any = None
) -> Any:
    module = seen.module
    fetched: dict[str, Any] = {} if prefetched is None else {"response": prefetched}

    def call_upstream_noting_errors() -> Any:
        try:
            return call_upstream()
        except Exception as exc:  # e.g. vcrpy's "no match in cassette": clauses report it
            seen.upstream_error = exc
            raise

    def upstream() -> Reply:
        response = fetched.get("response") or call_upstream_noting_errors()
        fetched["response"] = response
        body = response.read() if sync else response.content
        return Reply(status=response.status_code, body=body, headers=dict(response.headers))

    outcome = handler(seen, upstream) if handler else None
    if outcome is None:
        response = fetched.get("response") or call_upstream_noting_errors()
        seen.status = response.status_code
        if "response" in fetched:  # the handler read the body: deliver it again
            outcome = Reply(status=response.status_code, body=response.content, headers=dict(response.headers))
        else:
            response.stream = _streams(module).tracked[sync](response.stream, seen)
            return response
    if isinstance(outcome, Fault):
        if outcome is not Fault.DROPPED:
            raise _fault_error(module, outcome, seen.request)
        outcome = Reply(status=200, body=b'{"partial": ', drop_at=len(b'{"partial": '))
    seen.status = outcome.status
    stream = _streams(module).shaped[sync](outcome, seen)
    return module.Response(outcome.status, headers=outcome.headers, stream=stream, request=seen.request)


def _fault_error(module: ModuleType, fault: Fault, request: Any) -> Exception:
    error_class = {
        Fault.CONNECT_ERROR: module.ConnectError,
        Fault.CONNECT_TIMEOUT: module.ConnectTimeout,
        Fault.READ_TIMEOUT: module.ReadTimeout,
    }[fault]
    error: Exception = error_class(f"[laios-conformance] injected {fault.value}", request=request)
    return error


@functools.cache
def _streams(module: ModuleType) -> SimpleNamespace:
    """Stream classes built on ``module``'s own base classes (httpx and httpx2 differ)."""

    class ShapedStream(module.SyncByteStream):  # type: ignore[name-defined,misc]  # base class is httpx's or httpx2's, chosen at run time
        """Delivers a :class:`Reply` body piece by piece, as separate network reads."""

        def __init__(self, reply: Reply, seen: Seen) -> None:
            self.reply, self.seen = reply, seen

        def __iter__(self) -> Iterator[bytes]:
            yield from _deliver(self.reply, module)

        def close(self) -> None:
            self.seen.closed.set()

    class AsyncShapedStream(module.AsyncByteStream):  # type: ignore[name-defined,misc]  # base class is httpx's or httpx2's, chosen at run time
        def __init__(self, reply: Reply, seen: Seen) -> None:
            self.reply, self.seen = reply, seen

        async def __aiter__(self) -> Any:
            for piece in _deliver(self.reply, module):
                yield piece

        async def aclose(self) -> None:
            self.seen.closed.set()

    class TrackedStream(module.SyncByteStream):  # type: ignore[name-defined,misc]  # base class is httpx's or httpx2's, chosen at run time
        """Wraps an upstream stream so the kit learns when the provider closes the response."""

        def __init__(self, inner: Any, seen: Seen) -> None:
            self.inner, self.seen = inner, seen

        def __iter__(self) -> Iterator[bytes]:
            yield from self.inner

        def close(self) -> None:
            self.seen.closed.set()
            self.inner.close()

    class AsyncTrackedStream(module.AsyncByteStream):  # type: ignore[name-defined,misc]  # base class is httpx's or httpx2's, chosen at run time
        def __init__(self, inner: Any, seen: Seen) -> None:
            self.inner, self.seen = inner, seen

        async def __aiter__(self) -> Any:
            async for piece in self.inner:
                yield piece

        async def aclose(self) -> None:
            self.seen.closed.set()
            await self.inner.aclose()

    return SimpleNamespace(
        shaped={True: ShapedStream, False: AsyncShapedStream},
        tracked={True: TrackedStream, False: AsyncTrackedStream},
    )


def _deliver(reply: Reply, module: ModuleType) -> Iterator[bytes]:
    for index, piece in enumerate(reply.pieces()):
        if index == 1 and reply.gate is not None and not reply.gate.wait(reply.gate_timeout):
            reply.gate_expired = True
        yield piece
    if reply.drop_at is not None:
        raise module.RemoteProtocolError(
            "[laios-conformance] injected: peer closed connection without sending complete message body"
        )


class SleepLog:
    """The sleeps a provider asked for while :func:`virtual_sleep` was active."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    @property
    def total(self) -> float:
        return sum(self.calls)


@contextlib.contextmanager
def virtual_sleep() -> Iterator[SleepLog]:
    """Make ``time.sleep`` return at once, recording the delay asked for.

    Official SDKs back off between retries; injected faults must not make the suite
    sleep through that backoff on a real clock.
    """
    log = SleepLog()
    real_sleep = time.sleep

    def fake_sleep(seconds: float | SupportsIndex) -> None:
        log.calls.append(float(seconds))

    time.sleep = fake_sleep
    try:
        yield log
    finally:
        time.sleep = real_sleep
