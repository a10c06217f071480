"""What every stack's adapter shares: a request seen, the reply or fault to deliver, the log of traffic."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from .._watchdog import ON_BEHALF_OF


class Fault(str, Enum):
    """Transport failures the seam can raise in place of a response."""

    CONNECT_ERROR = "connect error"
    CONNECT_TIMEOUT = "connect timeout"
    READ_TIMEOUT = "read timeout"
    DROPPED = "connection dropped mid-body"


DROPPED_BODY = b'{"partial": '


@dataclass
class Reply:
    """A response for the seam to deliver.

    ``cuts`` are byte offsets at which the body is split into separate network reads.
    ``drop_at`` ends the body with the stack's own "connection closed mid-body" error after
    that many bytes. ``gate``, when set, withholds everything after the first piece until
    the gate opens (or ``gate_timeout`` passes, which sets ``gate_expired``): the kit's way
    of asking "did you yield before the end?". ``gate_opener`` is the thread that will open
    the gate: when it (or a call thread acting for it) is the one reading, it cannot open
    the gate while it waits here, so the gate counts as expired at once instead of after
    the timeout. ``pace`` holds each piece after the first
    back for that many seconds of real time, so that the reads of concurrent streams
    interleave. ``delivered`` counts the pieces handed to the stack so far.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cuts: Sequence[int] = ()
    drop_at: int | None = None
    gate: threading.Event | None = None
    gate_timeout: float = 5.0
    gate_expired: bool = False
    gate_opener: threading.Thread | None = None
    pace: float = 0.0
    delivered: int = 0

    def __post_init__(self) -> None:
        # Names as aiohttp, urllib3 and http.client read them off the wire ("Content-Type"):
        # HTTP's are case-insensitive, and the kit looks them up in lower case.
        self.headers = {name.lower(): value for name, value in self.headers.items()}

    def pieces(self) -> list[bytes]:
        end = len(self.body) if self.drop_at is None else min(self.drop_at, len(self.body))
        bounds = sorted({c for c in self.cuts if 0 < c < end})
        edges = [0, *bounds, end]
        return [self.body[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]

    def paced(self) -> Iterator[bytes]:
        """The pieces, each one network read, the second one held back by the gate."""
        for index, piece in enumerate(self.pieces()):
            if index == 1 and self.gate is not None and not self._gate_opens():
                self.gate_expired = True
            if index and self.pace:
                threading.Event().wait(self.pace)  # a real pause, whatever time.sleep is patched to
            self.delivered += 1
            yield piece

    def _gate_opens(self) -> bool:
        assert self.gate is not None
        if self.gate_opener is not None and _speaking_thread(threading.current_thread()) is self.gate_opener:
            return self.gate.is_set()
        return self.gate.wait(self.gate_timeout)


def dropped_reply() -> Reply:
    """What :attr:`Fault.DROPPED` delivers: a 200 whose body stops after a few bytes."""
    return Reply(status=200, body=DROPPED_BODY, drop_at=len(DROPPED_BODY))


@dataclass
class Seen:
    """One request that crossed the seam, as sent, and what became of its response.

    ``timeout`` holds the request's ``connect``, ``read`` and ``write`` timeouts in seconds
    as the stack will apply them (``None``: wait forever), whatever the stack's own notion.
    """

    stack: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout: dict[str, Any]
    module: Any = None
    request: Any = None
    status: int | None = None
    closed: threading.Event = field(default_factory=threading.Event)
    upstream_error: Exception | None = None
    upstream_status: int | None = None  # of the real (or replayed) response, if the kit fetched it
    # A request for a credential (an OAuth token, a cloud metadata token), not an API call:
    # it goes upstream untouched and counts as no clause's traffic (see ``Traffic.record``).
    credential: bool = False

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


# Where a cloud client fetches its own credentials: GCE's and the AWS/Azure instance
# metadata services.
METADATA_HOSTS = frozenset({"metadata.google.internal", "169.254.169.254", "fd00:ec2::254"})


def asks_for_credential(seen: Seen) -> bool:
    """Whether a request fetches a credential rather than calling an API: an OAuth 2.0 token
    request (a form body with ``grant_type``, RFC 6749), or a cloud metadata service's."""
    if (urlsplit(seen.url).hostname or "") in METADATA_HOSTS:
        return True
    content_type = next((str(v) for k, v in seen.headers.items() if str(k).lower() == "content-type"), "")
    body = seen.body if isinstance(seen.body, (bytes, bytearray)) else str(seen.body or "").encode("utf-8")
    return "x-www-form-urlencoded" in content_type.lower() and b"grant_type=" in body


Upstream = Callable[[], Reply]
Handler = Callable[[Seen, Upstream], "Reply | Fault | None"]


def _speaking_thread(thread: threading.Thread) -> threading.Thread:
    """The thread whose traffic ``thread``'s requests are (through any chain of call threads:
    the kit's call watchdog marks each with the thread whose calls it runs)."""
    for _ in range(16):  # a chain is a call made from inside a guarded call; never long
        caller = getattr(thread, ON_BEHALF_OF, None)
        if caller is None:
            return thread
        thread = caller
    return thread


# Threads the provider started while the kit was building or calling it (a thread pool's
# workers, an event loop thread): they outlive the block that started them, and their
# requests in every later block are still the provider's.
_ADOPTED: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@contextlib.contextmanager
def adopting_new_threads() -> Iterator[None]:
    """Count the threads started during the block, and still alive after it, as the provider's.

    Not the kit's own call threads (made for a caller's first guarded call, often inside a
    block): one speaks for its caller only while it serves it, and once abandoned, what it
    still sends is no block's traffic."""
    before = set(threading.enumerate())
    try:
        yield
    finally:
        started = set(threading.enumerate()) - before
        _ADOPTED.update(thread for thread in started if not hasattr(thread, ON_BEHALF_OF))


class Traffic:
    """Everything that crossed the seam while :func:`~laios_conformance.seam.interpose` was active.

    The seam takes the requests of the thread that entered it, of every thread started
    since (a clause's worker threads, a provider's own), of threads the provider started
    earlier (:func:`adopting_new_threads`), and of a call thread that runs one of these
    threads' calls for it. Threads that were already running elsewhere in the process (a
    test's background traffic, a logging exporter) are none of the clause's business:
    their requests pass by untouched and uncounted.
    """

    def __init__(self, handler: Handler | None) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self.credential_requests: list[Seen] = []
        # What the provider's call in the block raised, kept by the contract to say why no
        # request was sent. Held here, not in a table keyed by the traffic: the exception's
        # frames hold the traffic, a cycle the garbage collector frees only this way.
        self.raised: BaseException | None = None
        self._lock = threading.Lock()
        self._elsewhere = set(threading.enumerate()) - {threading.current_thread()} - set(_ADOPTED)

    def passes_by(self) -> bool:
        """Whether the current thread's requests are not the seam's to take."""
        return _speaking_thread(threading.current_thread()) in self._elsewhere

    def __len__(self) -> int:
        return len(self.seen)

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    def record(self, seen: Seen) -> None:
        """Take ``seen`` as the provider's traffic, or, when it asks for a credential, pass it
        upstream untouched: a Vertex AI client refreshes its OAuth token before its first
        call, and that exchange is neither the call a clause judges nor one it may answer."""
        seen.credential = asks_for_credential(seen)
        with self._lock:
            (self.credential_requests if seen.credential else self.seen).append(seen)


class Exchange:
    """One request's trip through the seam: the handler's decision, and the upstream
    response it may have fetched on the way (fetched once, kept for delivery)."""

    def __init__(self, seen: Seen, fetch: Callable[[], Any], as_reply: Callable[[Any], Reply]) -> None:
        self.seen, self._fetch, self._as_reply = seen, fetch, as_reply
        self.response: Any = None
        self.fetched = False

    def upstream_response(self) -> Any:
        if not self.fetched:
            try:
                self.response = self._fetch()
            except Exception as exc:  # e.g. vcrpy's "no match in cassette": clauses report it
                self.seen.upstream_error = exc
                raise
            self.fetched = True
        return self.response

    def upstream(self) -> Reply:
        reply = self._as_reply(self.upstream_response())
        self.seen.status = self.seen.upstream_status = reply.status
        return reply

    def decide(self, handler: Handler | None) -> Reply | Fault | None:
        """The handler's outcome; ``None`` means "deliver the real response untouched",
        or its recorded copy when the handler already read it."""
        outcome: Reply | Fault | None = None
        if self.seen.credential:
            outcome = self._credential()
        elif handler is not None:
            outcome = handler(self.seen, self.upstream)
        if outcome is None and self.fetched:
            outcome = self._as_reply(self.response)
        if outcome is Fault.DROPPED:
            outcome = dropped_reply()
        if isinstance(outcome, Reply):
            self.seen.status = outcome.status
        return outcome

    def _credential(self) -> Reply | None:
        """A credential request goes upstream (the live service, or its recording); where
        nothing answers it (a clause with no cassette, replay with the network blocked, a
        signed assertion that never matches its recording), the kit stands in for the token
        service with a token that means nothing: the clauses judge the API call after it."""
        try:
            self.upstream()
        except NeedsUpstream:
            raise
        except Exception:
            self.seen.upstream_error = None
            return stand_in_token()
        return None


def stand_in_token() -> Reply:
    """An OAuth 2.0 token response (RFC 6749 section 5.1; a cloud metadata service's has the
    same shape) carrying a token that means nothing."""
    body = {"access_token": STAND_IN_TOKEN, "token_type": "Bearer", "expires_in": 3600}
    return Reply(body=json.dumps(body).encode("utf-8"), headers={"content-type": "application/json"})


STAND_IN_TOKEN = "laios-conformance-stand-in-token"


def finite_or_none(value: Any) -> float | None:
    """A timeout in seconds, or ``None`` when it means "wait forever"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def timeouts(connect: Any, read: Any, write: Any) -> dict[str, Any]:
    return {"connect": finite_or_none(connect), "read": finite_or_none(read), "write": finite_or_none(write)}


# -- async exchanges: the real response must be awaited before the handler may see it --------


class NeedsUpstream(BaseException):
    """The upstream response of an async request is needed, and must be awaited first.

    A BaseException, so that neither a handler nor the error bookkeeping swallows it.
    """


def upstream_unfetched() -> Any:
    """The ``upstream()`` of an async exchange's first ask: the handler wants the response."""
    raise NeedsUpstream


async def noting_upstream_errors(seen: Seen, pending: Any) -> Any:
    """Await the real response, keeping on ``seen`` the error it raised, if any."""
    try:
        return await pending
    except Exception as exc:
        seen.upstream_error = exc
        raise
