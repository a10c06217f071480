"""What clauses share: the canonical calls, the traffic checks, and case bookkeeping.

Nothing here judges a provider on its own; it lets each clause read as a short list of
cases and expectations.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import sys
import weakref
from collections.abc import Callable, Generator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .._watchdog import CallTimedOut
from ..base import LLMMessage
from ..clauses import NOT_JUDGED, ClauseCannotJudge, ClauseRegistrationError, how_to_fix, running
from ..seam import WATCHED, Fault, Reply, Seen, Traffic, interpose, provider_modules, stack_hint, virtual_sleep

if TYPE_CHECKING:
    from ..wire import WireFormat

TEMPERATURE = 0.3
MAX_TOKENS = 64
# The keys of LAIOS's ``LLMResponse.usage``.
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
HELLO = "Say hello in one short sentence."
SYSTEM_PROMPT = "You are a terse assistant. Answer in one short sentence."
MAX_TOKENS_KEYS = ("max_tokens", "max_completion_tokens", "num_predict", "max_output_tokens", "maxOutputTokens")
HTTP_ERROR_STATUSES = (400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 529)
TRANSPORT_FAULTS = (Fault.CONNECT_ERROR, Fault.CONNECT_TIMEOUT, Fault.READ_TIMEOUT, Fault.DROPPED)


def hello() -> list[Any]:
    return [LLMMessage(role="user", content=HELLO)]


def conversation() -> list[Any]:
    return [
        LLMMessage(role="system", content=SYSTEM_PROMPT),
        LLMMessage(role="user", content="Name a colour."),
        LLMMessage(role="assistant", content="Blue."),
        LLMMessage(role="user", content="Name another one."),
    ]


def call_generate(provider: Any, messages: list[Any] | None = None) -> Any:
    with _kept_error():
        return provider.generate(
            messages if messages is not None else hello(), temperature=TEMPERATURE, max_tokens=MAX_TOKENS
        )


def call_stream(provider: Any, messages: list[Any] | None = None) -> list[Any]:
    with _kept_error():
        stream = provider.generate_stream(
            messages if messages is not None else hello(), temperature=TEMPERATURE, max_tokens=MAX_TOKENS
        )
        return list(stream)


# The last exception a provider call raised in the current observed() block: a clause may
# swallow it (the request is what it judges), but when no request was sent it is the reason.
_CALL_ERROR: ContextVar[BaseException | None] = ContextVar("laios_call_error", default=None)


@contextlib.contextmanager
def _kept_error() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        _CALL_ERROR.set(exc)
        raise


def requests_of_each_call(provider: Any, status: int) -> Iterator[tuple[str, Traffic]]:
    """The requests generate() and a consumed generate_stream() send, each answered by the kit
    with HTTP ``status`` (the requests are what the caller judges; the error is the kit's)."""
    for name, call in (("generate", call_generate), ("generate_stream", call_stream)):
        with (
            observed(answer_with(lambda seen: error_reply(seen, status)), virtual_time=True) as traffic,
            contextlib.suppress(Exception),
        ):
            call(provider)
        require_traffic(traffic, f"{name}()")
        yield name, traffic


# -- seeing traffic ----------------------------------------------------------------------


@contextlib.contextmanager
def observed(
    handler: Callable[[Seen, Callable[[], Reply]], Any] | None = None,
    *,
    virtual_time: bool = False,
    during: str | None = None,
) -> Iterator[Traffic]:
    """Interpose on every HTTP stack the kit watches for the block.

    ``virtual_time`` makes ``time.sleep`` return at once for the block, and moves the clocks
    on instead (also where the provider's modules imported them by name): only clauses
    that inject failures ask for it, so that an SDK's retry backoff does not sleep on a
    real clock; every other block runs on real time. A request that missed the cassette makes
    the clause refuse to judge, whether or not the provider let vcrpy's error through.
    ``during`` names the call made in the block: the clause then refuses to judge unless
    a request of that call crossed the seam (the kit's answer or fault reached it).
    """
    provider = _clause_provider()
    sleeping = virtual_sleep(provider_modules(provider)) if virtual_time else contextlib.nullcontext()
    error = _CALL_ERROR.set(None)
    block: list[Traffic] = []
    if virtual_time and handler is not None:
        handler = _stopping_endless_retries(handler, block)
    with sleeping, interpose(handler) as traffic:
        block.append(traffic)
        try:
            yield traffic
        except ClauseCannotJudge:
            raise
        except CallTimedOut as exc:
            raise CallTimedOut(_timed_out(str(exc), traffic)) from None
        except Exception as exc:
            _refuse_on_upstream_trouble(traffic)
            _remember_sender(provider, traffic)
            if not traffic.seen:
                raise ClauseCannotJudge(_no_request(None, provider, exc)) from exc
            raise
        finally:
            traffic.raised = _CALL_ERROR.get()
            _CALL_ERROR.reset(error)
        _refuse_on_upstream_trouble(traffic)
        _remember_sender(provider, traffic)
    if during is not None:
        require_traffic(traffic, during)


RETRYING_FOR_EVER = 10  # requests in one block past which a call that never returns is retrying
# Requests in one block that injects failures past which a call is stopped: no bounded retry
# policy sends so many, and one that never gives up would otherwise run to the call timeout
# (60 s by default) in every clause that fails it, its backoff skipped by the virtual clock.
ENDLESS_RETRIES = 1000


def _stopping_endless_retries(
    handler: Callable[[Seen, Callable[[], Reply]], Any], block: list[Traffic]
) -> Callable[[Seen, Callable[[], Reply]], Any]:
    def handle(seen: Seen, upstream: Callable[[], Reply]) -> Any:
        if block and len(block[0]) > ENDLESS_RETRIES:
            # A BaseException, like the call timeout, so that the provider's retry loop lets it through.
            raise CallTimedOut(f"the call had not returned after {ENDLESS_RETRIES} requests; the kit stopped it")
        return handler(seen, upstream)

    return handle


def _timed_out(message: str, traffic: Traffic) -> str:
    """The call timeout's message, saying so when the call went on sending requests meanwhile."""
    sent = len(traffic.seen)
    if sent <= RETRYING_FOR_EVER:
        return message
    return (
        f"{message}. Meanwhile it sent {sent} requests: it retries without a bound, so it never returns while "
        "the API keeps failing (the kit moves the clock on instead of sleeping through its backoff); give up "
        "after a few attempts, or by a deadline"
    )


def require_traffic(traffic: Traffic, during: str, since: int = 0, raised: BaseException | None = None) -> None:
    """Refuse to judge unless requests beyond the first ``since`` crossed the seam; ``raised``
    is what the call raised, if the clause kept it (else the block's kept error is used)."""
    if len(traffic.seen) <= since:
        refuse_unsent(during, traffic, raised)


def refuse_unsent(during: str, traffic: Traffic | None = None, raised: BaseException | None = None) -> NoReturn:
    """Refuse to judge ``during``, a call whose request did not cross the seam."""
    if raised is None and traffic is not None:
        raised = traffic.raised
    raise ClauseCannotJudge(_no_request(during, _clause_provider(), raised)) from raised


def refuse_unsent_probing(provider: Any, during: str) -> NoReturn:
    """Refuse to judge ``during``, a call made through something that swallows the provider's
    exception (a router): one direct call tells whether the provider raised before sending."""
    raised = None
    with observed(answer_with(lambda seen: error_reply(seen, 400)), virtual_time=True) as traffic:
        try:
            call_generate(provider)
        except Exception as exc:
            raised = exc
    raise ClauseCannotJudge(_no_request(during, provider, None if traffic.seen else raised)) from raised


# Provider classes some of whose requests crossed the seam in this process.
_SENDERS: weakref.WeakSet[type] = weakref.WeakSet()


def _remember_sender(provider: Any, traffic: Traffic) -> None:
    if provider is not None and traffic.seen:
        _SENDERS.add(type(provider))


def _no_request(during: str | None, provider: Any, raised: BaseException | None = None) -> str:
    """Why a call sent no request the kit could see; ``during`` names the call (None: the block's)."""
    sent_before = provider is not None and type(provider) in _SENDERS
    if raised is not None:
        text = (
            (f"{during}: " if during else "")
            + f"the call raised {type(raised).__name__}: {str(raised)[:200]} before any HTTP request "
            "crossed the kit's seam, so there is nothing to judge; fix that error first"
        )
        return text if sent_before else f"{text} (or, if the call did send one: {_invisible(provider)})"
    if sent_before:
        return (
            f"{during}: the call sent no request the kit could see, though other calls of this provider "
            "did: it answered from a cache or a response kept from an earlier call, or this call goes through "
            f"an HTTP stack the kit does not watch (it watches {WATCHED}). The kit judges a call by what "
            "it answers to that call's request, so it cannot judge this one; turn answer caching off "
            "for the conformance run"
        )
    return f"no HTTP request crossed the kit's seam during {during}: " + _invisible(provider)


def _invisible(provider: Any) -> str:
    hint = stack_hint(provider) if provider is not None else ""
    return (
        "the kit cannot see this provider's traffic, so it will not pass this clause. The kit watches "
        f"{WATCHED}" + (f"; {hint}" if hint else "") + " (see docs/writing-a-provider.md, supported stacks)"
    )


def _clause_provider() -> Any:
    """The provider under test, read from the calling clause's ``provider`` argument."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if "provider" in frame.f_locals and frame.f_code.co_filename.startswith(_CONTRACT_DIR):
            return frame.f_locals["provider"]
        frame = frame.f_back
    return None


_CONTRACT_DIR = os.path.dirname(os.path.abspath(__file__))


def _refuse_on_upstream_trouble(traffic: Traffic) -> None:
    """Refuse to judge when the response the kit fetched for a request (replayed from the
    cassette, or from the live API while recording) is not one to judge a provider by; a
    credential request's (an OAuth token refresh) too, though it is no clause's traffic."""
    for seen in (*traffic.credential_requests, *traffic.seen):
        error = seen.upstream_error
        if error is not None and type(error).__name__ == "CannotOverwriteExistingCassetteException":
            _refuse_on_empty_cassette(error, seen)
            _refuse_on_unrecorded_host(error, seen)
            differences = [line.strip() for line in str(error).splitlines() if "differs" in line]
            raise ClauseCannotJudge(
                f"the request to {seen.url} does not match the recorded cassette: the provider now sends "
                "something different from what was recorded; if you changed it on purpose, re-record with "
                "--record-mode=rewrite (the other clauses judge whether what it now sends is right)"
                + (f" ({differences[0]})" if differences else "")
            )
        if error is not None:
            raise ClauseCannotJudge(
                f"the request to {seen.url} got no response ({type(error).__name__}: {str(error)[:200]}); "
                "when recording, check the network, any proxy and the base URL, then record again"
            )
        if seen.upstream_status is not None and seen.upstream_status >= 400:
            raise ClauseCannotJudge(
                f"the API answered HTTP {seen.upstream_status} to {seen.url}, where the clause needs a "
                f"successful answer to judge the provider by{_upstream_hint(seen.upstream_status)}"
            )


def _refuse_on_empty_cassette(error: Exception, seen: Seen) -> None:
    """A cassette that holds no request at all was emptied (by hand, or a merge): nothing the
    provider sends could match it, and the provider has not changed."""
    cassette = getattr(error, "cassette", None)
    if cassette is not None and getattr(cassette, "requests", None) == []:
        path = getattr(cassette, "path", None) or getattr(cassette, "_path", "")  # vcrpy < 9: only _path
        raise ClauseCannotJudge(
            f"the cassette {path} holds no recorded request (interactions is "
            f"empty), so the request to {seen.url} cannot be replayed; restore it from version control, or "
            "delete it and record it again with --record-mode=once"
        )


def _refuse_on_unrecorded_host(error: Exception, seen: Seen) -> None:
    """A request to a host the cassette holds nothing for is not the API call changing: it is
    the API call sent to another base URL than the recording's (the same path), or another
    request altogether (a tokenizer download, telemetry), which replay cannot serve."""
    failed = getattr(error, "failed_request", None)
    recorded = getattr(getattr(error, "cassette", None), "requests", None) or []
    hosts = sorted({host for request in recorded if isinstance(host := getattr(request, "host", None), str)})
    host = getattr(failed, "host", None)
    if not (host and hosts and host not in hosts):
        return
    path = str(getattr(failed, "path", ""))
    same_call = next((r for r in recorded if _same_endpoint(str(getattr(r, "path", "")), path)), None)
    if same_call is not None:
        raise ClauseCannotJudge(
            f"the provider sent its API call to {seen.url}, and the cassette holds it sent to "
            f"{getattr(same_call, 'uri', '')}: the cassette was recorded with another base URL; pass the one it "
            "was recorded with (in --laios-provider-kwargs), or record again with --record-mode=rewrite"
        )
    raise ClauseCannotJudge(
        f"the provider sent a request to {seen.url}, a host the cassette holds no request for (it holds "
        f"{', '.join(hosts)}): a request besides the API call (a tokenizer or model-list download, "
        "telemetry) cannot be replayed; make the call work without it, or record it with "
        "--record-mode=rewrite"
    )


def _same_endpoint(recorded: str, sent: str) -> bool:
    """Whether two URL paths name the same endpoint, under base URLs of different prefixes
    (``/v1/chat/completions`` and ``/openai/v1/chat/completions``)."""
    return bool(recorded and sent) and (recorded.endswith(sent) or sent.endswith(recorded))


def _upstream_hint(status: int) -> str:
    if status in (401, 403):
        return (
            "; when recording, pass your real key as an argument the kit can scrub, e.g. "
            """--laios-provider-kwargs='{"api_key": "$MY_API_KEY"}' (given none, the provider gets the kit's """
            "fake key), then record again"
        )
    return "; check the model name, your quota and the API's status page, then record again"


def answer_with(reply_for: Callable[[Seen], Any]) -> Callable[[Seen, Callable[[], Reply]], Any]:
    """A handler that answers every request synthetically, never reaching upstream."""
    return lambda seen, upstream: reply_for(seen)


def always(answer: Reply | Fault) -> Callable[[Seen], Reply | Fault]:
    """The same answer to every request (fixed now, unlike a lambda over a loop variable)."""
    return lambda seen: answer


def error_status(status: int) -> Callable[[Seen], Reply]:
    """A realistic error response with ``status`` to every request."""
    return functools.partial(error_reply, status=status)


def error_reply(seen: Seen, status: int) -> Reply:
    """A realistic error response in the wire format the provider speaks."""
    body, content_type = _error_body(seen, status)
    return Reply(status=status, body=body, headers={"content-type": content_type})


def carries(exc: BaseException, text: str, attributes: tuple[str, ...] = ("message",)) -> bool:
    """Whether ``text`` is in ``str(exc)`` or in one of its ``attributes`` (text, or UTF-8 bytes)."""
    values = [str(exc), *(getattr(exc, name, "") for name in attributes)]
    return any(text in (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for v in values)


def message_problem(exc: BaseException, message: str) -> str | None:
    """What is wrong with ``exc`` as the carrier of the API's error ``message``, or None."""
    if carries(exc, message):
        return None
    return f"{type(exc).__name__}({str(exc)[:120]!r}) does not carry the body's message {message!r}"


def writes_messages(write: Callable[..., Any]) -> bool:
    """Whether a wire decoder's error writer (``error_body``, ``with_error_midstream``) takes
    the ``message`` to write; a user's decoder may predate it."""
    return "message" in inspect.signature(write).parameters


def error_reply_saying(seen: Seen, status: int, message: str) -> Reply | None:
    """An error response whose body carries ``message`` as the API's own error message, or
    None when the provider's wire format is unknown or cannot write one."""
    wire_format = wire_format_for_request(seen)
    if wire_format is None or not writes_messages(wire_format.error_body):
        return None
    try:
        body, content_type = wire_format.error_body(status, message=message)
    except NotImplementedError:
        return None
    return Reply(status=status, body=body, headers={"content-type": content_type})


def replies_saying(
    status: int, message: str, unwritable: list[str], requests: list[Seen] | None = None
) -> Callable[[Seen], Reply]:
    """Error replies carrying ``message`` (see ``error_reply_saying``); the usual error reply
    where the provider's wire format cannot write one, its URL noted in ``unwritable``.
    Every request is noted in ``requests`` where given."""

    def reply(seen: Seen) -> Reply:
        if requests is not None:
            requests.append(seen)
        saying = error_reply_saying(seen, status, message)
        if saying is None:
            unwritable.append(seen.url)
            return error_reply(seen, status)
        return saying

    return reply


def _error_body(seen: Seen, status: int) -> tuple[bytes, str]:
    wire_format = wire_format_for_request(seen)
    if wire_format is not None:
        try:
            return wire_format.error_body(status)
        except NotImplementedError:  # a user-registered decoder may not know its error shape
            pass
    body = {"error": {"message": f"HTTP {status} injected by laios-conformance", "type": "server_error", "code": None}}
    return json.dumps(body).encode(), "application/json"


def wire_format_for_request(seen: Seen) -> WireFormat | None:
    from .. import wire

    return wire.detect(seen.url, seen.body, {}, b"")


# -- case bookkeeping --------------------------------------------------------------------


class Cases:
    """Failures of the running clause's cases, reported together with the case that shows each.

    The clause is the one whose test is running (its id is written once, in ``@clause``).
    ``Cases("id")`` is still accepted; the id must then be the running clause's.
    """

    def __init__(self, legacy_id: str | None = None) -> None:
        current = running()
        if current is not None and legacy_id not in (None, current.id):
            raise ClauseRegistrationError(
                f"Cases({legacy_id!r}) inside clause {current.id!r}: drop the argument, Cases() reads the id itself"
            )
        if current is None and legacy_id is None:
            raise ClauseRegistrationError("Cases() is used outside a running clause; call it from a clause's test")
        self.clause_id: str = current.id if current is not None else str(legacy_id)
        self.failures: dict[str, str] = {}
        self.unjudged: dict[str, str] = {}
        self.passed: list[str] = []

    def fail(self, case: str, why: str) -> None:
        self.failures[case] = why

    def cannot_judge(self, case: str, why: str) -> None:
        self.unjudged[case] = why

    def ok(self, case: str) -> None:
        self.passed.append(case)

    def conclude(self) -> None:
        """Fail with every failing case and the clause's own advice; skip when some cases
        could not be judged."""
        if self.failures:
            lines = [f"{self.clause_id}: {len(self.failures)} case(s) failed:"]
            lines += [f"  - {case}: {why}" for case, why in self.failures.items()]
            lines += [f"  (not judged: {case}: {why})" for case, why in self.unjudged.items()]
            advice = how_to_fix(self.clause_id)
            if advice:
                lines.append(f"How to fix: {advice}")
            lines.append(f"More: laios-conformance explain {self.clause_id}")
            pytest.fail("\n".join(lines), pytrace=False)
        if self.unjudged:
            cases = "; ".join(f"{case}: {why}" for case, why in self.unjudged.items())
            skip_not_judged(f"{len(self.unjudged)} case(s) ({cases}); {len(self.passed)} passed")


def skip_not_judged(why: str) -> NoReturn:
    """Skip the clause as one the kit could not judge (the gate names such clauses), not as
    one that does not apply."""
    pytest.skip(NOT_JUDGED + why)


def same_text(content: Any, text: str) -> bool:
    """Whether ``content`` is ``text``, compared as plain strings: a str subclass's own
    ``__eq__`` could say so of any text."""
    return isinstance(content, str) and str.__eq__(content, text) is True


def describe_outcome(value: Any) -> str:
    """How a call ended, for a failure message."""
    content = getattr(value, "content", value)
    return f"returned {type(value).__name__} with content {content!r:.80} instead of raising"


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen_ids = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen_ids:
        seen_ids.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def string_values(data: Any) -> Iterator[str]:
    """Every string value in a JSON document, in document order."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for v in data.values():
            yield from string_values(v)
    elif isinstance(data, list):
        for v in data:
            yield from string_values(v)


class StubProvider:
    """A provider the kit controls, to stand beside the one under test in a router."""

    def __init__(self, model: str, answer: str = "", fail: bool = False) -> None:
        self.model, self.answer, self.fail = model, answer, fail

    def generate(self, messages: Any, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any) -> Any:
        from ..base import LLMResponse

        if self.fail:
            raise RuntimeError(f"{self.model} failed (a kit stub that always fails)")
        return LLMResponse(content=self.answer, model=self.model)

    def generate_with_system(self, system_prompt: str, user_message: str, **kwargs: Any) -> Any:
        return self.generate([], **kwargs)


def failing_http(status: int = 503) -> Callable[[Seen, Callable[[], Reply]], Any]:
    """A handler answering every request with an HTTP error."""
    return answer_with(lambda seen: error_reply(seen, status))


def switchable(state: dict[str, bool]) -> Callable[[Seen, Callable[[], Reply]], Any]:
    """A handler that fails with HTTP 503 while ``state["fail"]`` and passes through otherwise."""
    return lambda seen, upstream: error_reply(seen, 503) if state["fail"] else None


# -- recorded exchanges and their wire format ----------------------------------------------


@dataclass
class Recorded:
    """A request the provider made and the recorded response it got, with its decoder."""

    seen: Seen
    reply: Reply
    wire: Any
    stream: bool

    def text(self) -> str:
        text: str = self.wire.extract_text(self.reply.body, stream=self.stream)
        return text

    def with_body(self, body: bytes, **shape: Any) -> Reply:
        return Reply(status=self.reply.status, body=body, headers=dict(self.reply.headers), **shape)

    def event_cuts(self, body: bytes | None = None) -> list[int]:
        """Byte offsets between the events of a streamed body (each event one network read)."""
        body = self.reply.body if body is None else body
        return [end for _, end in self.wire.event_spans(body)] if self.stream else []


def answer_from(provider: Any, recorded: Recorded, body: bytes) -> Any:
    """What generate() returns when the recorded call is answered with ``body``."""
    reply = recorded.with_body(body, cuts=recorded.event_cuts(body))
    with observed(answer_with(lambda seen: reply), during="generate()"):
        return call_generate(provider)


def reported(provider: Any, recorded: Recorded, body: bytes, field: str) -> tuple[Any, str | None]:
    """The response's ``field`` for ``body``, or the problem when generate() raised instead."""
    try:
        return getattr(answer_from(provider, recorded, body), field, None), None
    except ClauseCannotJudge:
        raise
    except Exception as exc:
        return None, f"generate() raised {type(exc).__name__}: {str(exc)[:160]}"


def record_exchange(provider: Any, call: Callable[[Any], Any], *, need_wire: bool = True) -> Recorded:
    """Make one ordinary call, keeping the request and the recorded response.

    Skips the clause (never passes it) when no decoder knows the response's wire format.
    """
    kept: dict[str, tuple[Seen, Reply]] = {}

    def keep(seen: Seen, upstream: Callable[[], Reply]) -> Reply:
        kept.setdefault("exchange", (seen, upstream()))
        return kept["exchange"][1]

    with observed(keep) as traffic:
        call(provider)
    require_traffic(traffic, "the recorded call")
    seen, reply = kept["exchange"]
    from .. import wire

    fmt = wire.detect(seen.url, seen.body, reply.headers, reply.body)
    if fmt is None:
        if need_wire:
            skip_not_judged(
                f"unknown wire format: no decoder recognises the response from {seen.url}; register one "
                "with laios_conformance.wire.register() (see docs/wire-formats.md)"
            )
        return Recorded(seen, reply, None, False)
    return Recorded(seen, reply, fmt, fmt.is_stream(reply.headers, reply.body))


def stream_flag(seen: Seen) -> Any:
    """The ``stream`` value of a request's JSON body (None when it has none)."""
    body = seen.json
    return body.get("stream") if isinstance(body, dict) else None


def recorded_for(exchanges: tuple[Recorded, ...], seen: Seen) -> Recorded:
    """The recorded exchange whose request asked the same way as ``seen`` (to stream or not)."""
    return next((r for r in exchanges if stream_flag(r.seen) == stream_flag(seen)), exchanges[0])


def consume(stream: Any, chunks: list[Any] | None = None) -> tuple[list[Any], BaseException | None]:
    """Every chunk a stream yields (appended to ``chunks`` as they come, when given), and the
    exception that ended it (if any)."""
    chunks = [] if chunks is None else chunks
    try:
        for chunk in stream:
            chunks.append(chunk)
    except Exception as exc:
        _CALL_ERROR.set(exc)
        return chunks, exc
    return chunks, None


def stream_hello(provider: Any, returned: list[Any] | None = None) -> Generator[Any, None, None]:
    """The provider's stream of the hello conversation, opened on the first ``next()``.

    A provider may check the response's status when ``generate_stream()`` is called (and
    raise there, before returning its iterator) or while it is iterated: either way that
    is its stream failing, and :func:`consume` must see it. ``returned``, when given, gets
    what ``generate_stream()`` returned.
    """
    stream = provider.generate_stream(hello(), temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
    if returned is not None:
        returned.append(stream)
    if isinstance(stream, (str, bytes)):
        raise TypeError(
            f"generate_stream() returned a {type(stream).__name__}, not an iterator of str pieces (iterating "
            "it yields single characters); yield the pieces as they arrive"
        )
    yield from stream


def chunk_type_problem(chunks: list[Any]) -> str | None:
    """What is wrong with the types of a stream's chunks (LAIOS joins them as ``str``)."""
    not_text = [c for c in chunks if not isinstance(c, str)]
    return f"yielded {type(not_text[0]).__name__} chunks; every chunk must be a str" if not_text else None


def first_difference(expected: str, got: str) -> str:
    """Where two texts part, shown the way a reviewer can act on."""
    index = next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), min(len(expected), len(got))
    )
    return (
        f"expected {len(expected)} chars, got {len(got)}; first difference at index {index}: "
        f"expected {expected[max(0, index - 10) : index + 10]!r}, got {got[max(0, index - 10) : index + 10]!r}"
    )
