"""Clauses on failure: a provider that cannot answer must raise, never return empty content."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest

from .._watchdog import CallTimedOut
from ..clauses import clause, note
from ..seam import Fault, Reply, Seen
from ..wire import WireError
from ._support import (
    HTTP_ERROR_STATUSES,
    TRANSPORT_FAULTS,
    Cases,
    Recorded,
    always,
    answer_with,
    call_generate,
    call_stream,
    carries,
    describe_outcome,
    error_status,
    exception_chain,
    failing_http,
    message_problem,
    observed,
    record_exchange,
    replies_saying,
    require_traffic,
    stream_flag,
    wire_format_for_request,
)


def _outcome_problem(call: Callable[[], Any]) -> str | None:
    """None when ``call`` raised an Exception; otherwise what went wrong."""
    try:
        value = call()
    except Exception:
        return None
    except (CallTimedOut, pytest.fail.Exception):  # a time limit stopped the wait: not the provider raising
        raise
    except BaseException as exc:  # a BaseException escapes LLMRouter's `except Exception`
        return f"raised {type(exc).__name__}, a BaseException that LLMRouter and CircuitBreaker do not catch"
    return describe_outcome(value)


@clause("raises-on-http-error", "must")
def test_raises_on_http_error(provider: Any) -> None:
    """An HTTP error status makes generate() raise an Exception.

    **Why**: LLMRouter falls back and CircuitBreaker counts a failure only when the call
    raises. A provider that returns ``LLMResponse(content="")`` or an error text as content
    hides the outage, and the agent acts on an empty answer.

    **Checks**: 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 529, each with a
    realistic error body in the provider's wire format.

    **How to fix**: raise on every non-2xx status; raise an ``Exception`` subclass, never a
    bare ``BaseException``.
    """
    cases = Cases()
    for status in HTTP_ERROR_STATUSES:
        with observed(answer_with(error_status(status)), virtual_time=True) as traffic:
            problem = _outcome_problem(lambda: call_generate(provider))
        require_traffic(traffic, f"generate() answered with HTTP {status}")
        cases.fail(f"HTTP {status}", problem) if problem else cases.ok(f"HTTP {status}")
    cases.conclude()


@clause("raises-on-transport-error", "must")
def test_raises_on_transport_error(provider: Any) -> None:
    """A connection error, a timeout, or a connection dropped mid-body makes generate() raise.

    **Why**: networks fail, and LAIOS's guide asks a provider to raise on network errors
    and timeouts so that LLMRouter tries the next provider; one that catches the error and
    returns a placeholder turns an outage into a wrong answer.

    **How to fix**: do not swallow ``httpx.TransportError`` (or your SDK's equivalent); let it
    propagate or re-raise your own error chained with ``from``.
    """
    cases = Cases()
    for fault in TRANSPORT_FAULTS:
        with observed(answer_with(always(fault)), virtual_time=True) as traffic:
            problem = _outcome_problem(lambda: call_generate(provider))
        require_traffic(traffic, f"generate() with an injected {fault.value}")
        cases.fail(fault.value, problem) if problem else cases.ok(fault.value)
    cases.conclude()


def _bad_bodies(recorded: Recorded) -> dict[str, Reply | str]:
    """Malformed 200 responses, built around the recorded one; for a case that cannot be
    built from it, the reason (the case is then not judged, never served as something else)."""
    json_headers = {"content-type": "application/json"}
    cases: dict[str, Reply | str] = {
        "malformed JSON": _malformed(recorded),
        "empty body": Reply(body=b"", headers=json_headers),
        "HTML page": Reply(
            body=b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>Bad Gateway</h1></body></html>",
            headers={"content-type": "text/html; charset=utf-8"},
        ),
        "JSON of the wrong shape": Reply(
            body=json.dumps({"object": "list", "data": []}).encode(), headers=json_headers
        ),
    }
    wire = recorded.wire
    if wire is None:
        unknown = "unknown wire format: no decoder recognises the recorded response"
        return cases | {'text content ""': unknown, "text content null": unknown}
    body, stream = recorded.reply.body, recorded.stream
    cases['text content ""'] = recorded.with_body(wire.rebuild(body, "", stream=stream))
    cases["text content null"] = _written(recorded, "its text set to null", partial(wire.with_null_text, stream=stream))
    if stream:
        cases[STREAM_CUT_CASE] = _cut_short(recorded)
    return cases


STREAM_CUT_CASE = "stream cut short"


def _cut_short(recorded: Recorded) -> Reply | str:
    """The recorded stream closed cleanly right after its first event with text. An answer
    whose first piece also ends it (a short answer in one chunk with its finish reason) is
    first spread over two events, the first of which ends nothing."""
    wire, body = recorded.wire, recorded.reply.body
    text_events = wire.content_events(body)
    if len(recorded.event_cuts()) < 2 or not text_events:
        return "the recorded stream has no event with text to cut after"
    if wire.has_end_marker(body[: text_events[0][1]]):
        body = wire.rebuild(body, wire.extract_text(body, stream=True), stream=True)
        text_events = wire.content_events(body)
    cut = text_events[0][1]
    if wire.has_end_marker(body[:cut]):
        return "the recorded stream's first event with text also ends it, so it cannot be cut short after it"
    return recorded.with_body(body[:cut], cuts=recorded.event_cuts(body[:cut]))


def _malformed(recorded: Recorded) -> Reply | str:
    """A whole body cut in half; a stream with the JSON of one event cut in half (half a
    stream is a stream cut short, whose cut-off event a reader never parses)."""
    body = recorded.reply.body
    if not recorded.stream:
        return Reply(body=body[: max(1, len(body) // 2)], headers={"content-type": "application/json"})
    return _written(recorded, "an event with broken JSON", recorded.wire.with_malformed_event)


def _written(recorded: Recorded, what: str, write: Callable[[bytes], bytes]) -> Reply | str:
    """The recorded response rewritten by one of its decoder's writers, or why it cannot be."""
    kind = "stream" if recorded.stream else "response"
    try:
        return recorded.with_body(write(recorded.reply.body))
    except NotImplementedError:
        return f"the {recorded.wire.name!r} decoder cannot write the recorded {kind} with {what}"
    except WireError as exc:
        return f"the recorded {kind} cannot be written with {what}: {exc}"


@clause("raises-on-bad-body", "must")
@pytest.mark.vcr
def test_raises_on_bad_body(provider: Any, cassette: Any) -> None:
    """A 200 response whose body is unusable makes generate() raise, never return empty content.

    **Why**: proxies answer 200 with HTML error pages, servers truncate bodies, and models
    return empty or null text; returning ``content=""`` hides all of these from the router.

    **Checks**: malformed JSON, an empty body, an HTML page, JSON of the wrong shape, and the
    recorded response with its text replaced by ``""`` and by ``null``. When ``generate()``
    reads a stream (as with the Anthropic SDK's ``messages.stream(...).get_final_message()``),
    the malformed JSON is one event's JSON cut in half, every event's text is made ``""``
    or ``null``, and the stream is also cut short after its first piece of text (no end
    marker, no finish reason: the server or a proxy closed it cleanly mid-answer), the
    stream's truncated body.

    **Not judged**: the last two cases need a wire decoder for the provider's format; without
    one they are reported as not judged (the clause is then skipped, never passed). So is a
    streamed case the decoder cannot write (a registered decoder without per-event hooks).

    **How to fix**: parse defensively and raise when the answer text is missing or empty;
    from a stream, raise unless its end marker arrived (with the Anthropic SDK's
    ``get_final_message()``, a message whose ``stop_reason`` is ``None`` was cut short).
    """
    recorded = record_exchange(provider, call_generate, need_wire=False)
    bodies = _bad_bodies(recorded)
    cases = Cases()
    for name, reply in bodies.items():
        if isinstance(reply, str):
            cases.cannot_judge(name, reply)
            continue
        with observed(answer_with(always(reply)), virtual_time=True) as traffic:
            problem = _outcome_problem(lambda: call_generate(provider))
        require_traffic(traffic, f"generate() answered with {name}")
        cases.fail(name, problem) if problem else cases.ok(name)
    cases.conclude()


@clause("retry-bounded", "should")
def test_retry_bounded(provider: Any, profile: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """A failing call makes at most 3 upstream attempts.

    **Why**: the kit's own requirement (LAIOS documents no retry policy, and its guide
    leaves retry logic to the provider): LLMRouter and CircuitBreaker already handle
    failure, and a provider that retries ten times multiplies the latency of every outage
    and the bill of every rate limit.

    **Checks**: ``generate()`` answered with HTTP 503, with a connection error, with HTTP
    429 (rate limited), with HTTP 529 (Anthropic's ``overloaded_error``, its most
    common transient failure), each with the error body of the provider's wire format,
    and with a read timeout (a retried timeout multiplies the wait: ``timeout=30`` with
    ten retries hangs the caller for five minutes), on every attempt: each makes at most
    3 upstream attempts. A retry loop kept for one
    status (``except RateLimitError``, ``except OverloadedError``) is bounded too. So is
    a consumed ``generate_stream()`` (unless ``conformance_profile["streams"]`` is False),
    whose retries before its first chunk may be a loop of their own.

    **How to fix**: cap your own (or your SDK's) retries at 2, e.g. ``max_retries=2``,
    for every status you retry. A stream that falls back to ``generate()`` counts the
    fallback's attempts too: turn the stream's retries off (``max_retries=0``) or give the
    fallback what is left of the 3.
    """
    cases = Cases()
    counts = []
    for label, reply in (
        ("HTTP 503", error_status(503)),
        ("connect error", lambda seen: Fault.CONNECT_ERROR),
        ("HTTP 429", error_status(429)),
        ("HTTP 529", error_status(529)),
        ("read timeout", lambda seen: Fault.READ_TIMEOUT),
    ):
        with observed(answer_with(reply), virtual_time=True) as traffic:
            _outcome_problem(lambda: call_generate(provider))
        require_traffic(traffic, f"generate() failing with {label}")
        counts.append(f"{label}: {len(traffic)} attempt(s)")
        if len(traffic) > 3:
            cases.fail(label, f"{len(traffic)} upstream attempts for one call (at most 3)")
        streamed = _stream_attempts(provider, profile, reply)
        if streamed is not None and len(streamed) > 3:
            problem = f"{len(streamed)} upstream attempts{_fallback_told(streamed)} for one call (at most 3)"
            cases.fail(f"generate_stream() {label}", problem)
    note(request, "; ".join(counts))
    cases.conclude()


def _stream_attempts(provider: Any, profile: dict[str, Any], reply: Callable[[Seen], Any]) -> list[Seen] | None:
    """The requests a consumed ``generate_stream()`` sent, each answered with ``reply``;
    None when the provider does not stream or its stream sent none."""
    if profile.get("streams") is False:
        return None
    with observed(answer_with(reply), virtual_time=True) as traffic:
        _outcome_problem(lambda: call_stream(provider))
    return list(traffic.seen) or None


def _same_endpoint(requests: list[Seen]) -> list[Seen]:
    """The ``requests`` sent to the first one's endpoint (method and path, on any host, so that
    a failover to another host counts): the call's attempts. A request to another endpoint
    (a model pull, a token refresh) is not one."""

    def endpoint(seen: Seen) -> tuple[str, str]:
        return (seen.method.upper(), urlsplit(seen.url).path.rstrip("/"))

    return [seen for seen in requests if endpoint(seen) == endpoint(requests[0])] if requests else []


def _fallback_told(attempts: list[Seen]) -> str:
    """How many of a stream's ``attempts`` were not streamed (a fallback to ``generate()``),
    when some were: the stream's own retries alone may look within the bound."""
    whole = sum(1 for seen in attempts if stream_flag(seen) is not True)
    if not whole or whole == len(attempts):
        return ""
    return f" ({len(attempts) - whole} streamed, then {whole} without streaming: a fallback to generate() counts too)"


CLIENT_ERRORS = (400, 401, 403, 404, 422)


@clause("no-retry-on-client-error", "should")
def test_no_retry_on_client_error(provider: Any, profile: dict[str, Any]) -> None:
    """On HTTP 400, 401, 403, 404 and 422 the provider makes exactly one attempt.

    **Why**: the kit's own requirement (LAIOS documents no retry policy): the same request
    gets the same answer, so retrying a 401 can lock an account and retrying a 400 only
    bills again. 408, 409, 429 and 5xx may be retried, within ``retry-bounded``.

    **Checks**: ``generate()`` and a consumed ``generate_stream()`` (unless
    ``conformance_profile["streams"]`` is False), each answered with each status. The
    attempts are the requests to the call's endpoint (its method and path, on any host, so
    a failover to another host counts): a request elsewhere that the error prompts is not
    the request sent again (ollama-python's README pulls a model its 404
    says is missing, ``POST /api/pull``; that pull answered 404 too, the call must raise).

    **How to fix**: retry only on 408, 409, 429, 5xx and transport errors (official SDKs
    already do); raise at once on any other 4xx, in the stream's retries too, and do not
    fall back to ``generate()`` on one (it gets the same answer).
    """
    cases = Cases()
    for status in CLIENT_ERRORS:
        with observed(failing_http(status), virtual_time=True) as traffic:
            _outcome_problem(lambda: call_generate(provider))
        require_traffic(traffic, f"generate() answered with HTTP {status}")
        attempts = _same_endpoint(traffic.seen)
        if len(attempts) != 1:
            cases.fail(f"HTTP {status}", f"{len(attempts)} attempts for one call; a client error must not be retried")
        else:
            cases.ok(f"HTTP {status}")
        streamed = _stream_attempts(provider, profile, error_status(status))
        streamed = _same_endpoint(streamed) if streamed is not None else None
        if streamed is not None and len(streamed) != 1:
            problem = (
                f"{len(streamed)} attempts{_fallback_told(streamed)} for one call; a client error must not be retried"
            )
            cases.fail(f"generate_stream() HTTP {status}", problem)
    cases.conclude()


STATUS_CASES = (400, 401, 404, 429, 500, 503)


@clause("error-carries-status", "should")
def test_error_carries_status(provider: Any) -> None:
    """The exception raised for an HTTP error names its status code.

    **Why**: LAIOS's router and breaker log the exception they catch; a message that tells
    401 from 429 from 503 says whether to fix the key, slow down or wait. The kit's own
    requirement: LAIOS's guide only asks that the provider raise.

    **Checks**: for 400, 401, 404, 429, 500 and 503, the status appears as a number in
    ``str(exc)``, or in the exception's ``status_code`` or ``status`` attribute.

    **How to fix**: put the status in the message (``f"HTTP {status}: {detail}"``) or keep
    it as ``status_code`` on your exception; a wrapping ``raise ... from exc`` must say it
    too, since log lines show only the outermost message.
    """
    cases = Cases()
    for status in STATUS_CASES:
        problem = _raised_problem(provider, failing_http(status), status, partial(_status_problem, status=status))
        cases.fail(f"HTTP {status}", problem) if problem else cases.ok(f"HTTP {status}")
    cases.conclude()


@clause("error-carries-message", "should")
def test_error_carries_message(provider: Any) -> None:
    """The exception raised for an HTTP error carries the API's own error message.

    **Why**: the body of an error response says what to do ("The model ... does not
    exist", "You exceeded your current quota", "prompt is too long"); LAIOS's router and
    breaker log the exception they catch, and a message without the API's words leaves the
    operator guessing. The kit's own requirement: LAIOS's guide only asks that the
    provider raise.

    **Checks**: for 400, 401, 404, 429, 500 and 503, an error body in the provider's wire
    format whose message the kit makes up for the run; the message must appear in
    ``str(exc)`` or in the exception's ``message`` attribute. And a 502 answered by a
    reverse proxy with its HTML page: the start of the page's text (which holds the
    request id the kit makes up) must appear there or in a ``body`` attribute (where the
    official SDKs keep a body that is not JSON). And, where servers of the provider's
    protocol also answer errors in other shapes, one case per shape: for OpenAI-compatible
    servers, Mistral's ``{"detail": "..."}``, a FastAPI server's 422 validation list and
    OpenRouter's upstream error, whose ``message`` is only "Provider returned error" and
    whose cause is in ``error.metadata.raw``: the cause must appear in ``str(exc)``,
    ``message`` or ``body``.

    **Not judged**: the cases of an error body in the provider's wire format need a wire
    decoder that can write an error message for that format; without one they are
    reported as not judged, and the clause is skipped unless another case fails.

    **How to fix**: read the message from the error body (``error.message`` for OpenAI and
    Anthropic, ``error`` for Ollama) and put it in your exception's message; when the body
    is not JSON, include the start of its text. OpenAI-compatible: also read ``detail`` (a
    text, or a list of objects with ``msg``) and append OpenRouter's
    ``error.metadata.raw``; or quote the whole error body.
    """
    token = secrets.token_hex(4)
    cases = Cases()
    requests: list[Seen] = []
    for status in STATUS_CASES:
        message = f"The model `lc-{token}-{status}` does not exist or you do not have access to it."
        unwritable: list[str] = []
        handler = answer_with(replies_saying(status, message, unwritable, requests))
        problem = _raised_problem(provider, handler, status, partial(message_problem, message=message))
        if unwritable:
            cases.cannot_judge(f"HTTP {status}", "unknown wire format: no decoder writes its error messages")
        else:
            cases.fail(f"HTTP {status}", problem) if problem else cases.ok(f"HTTP {status}")
    page, ray_id = _proxy_error_page(token)
    problem = _raised_problem(provider, answer_with(always(page)), 502, partial(_page_problem, ray_id=ray_id))
    cases.fail(PROXY_PAGE_CASE, problem) if problem else cases.ok(PROXY_PAGE_CASE)
    _judge_other_shapes(provider, cases, requests, message=f"Request lc-{token} failed upstream; retry shortly.")
    cases.conclude()


def _judge_other_shapes(provider: Any, cases: Cases, requests: list[Seen], message: str) -> None:
    """One case per other error shape of the provider's protocol (see the wire decoder's
    ``other_error_bodies``), each carrying ``message``."""
    wire_format = wire_format_for_request(requests[0]) if requests else None
    for shape in wire_format.other_error_bodies(message) if wire_format else ():
        reply = Reply(status=shape.status, body=shape.body, headers={"content-type": shape.content_type})
        problem = _raised_problem(
            provider, answer_with(always(reply)), shape.status, partial(_cause_problem, cause=message)
        )
        cases.fail(shape.label, problem) if problem else cases.ok(shape.label)


def _cause_problem(exc: BaseException, cause: str) -> str | None:
    # The official SDKs put only an error's designated message field in their text, and
    # keep the whole error body in ``exc.body``, where a handler can still read the cause.
    return None if carries(exc, cause, ("message", "body")) else message_problem(exc, cause)


PROXY_PAGE_CASE = "HTTP 502 with a proxy's HTML page"


def _proxy_error_page(token: str) -> tuple[Reply, str]:
    """A reverse proxy's 502 page (nginx's layout, with a request id like Cloudflare's)."""
    ray_id = f"{token}{token[::-1]}"
    body = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        "<center><h1>502 Bad Gateway</h1></center>\r\n"
        f"<hr><center>Ray ID: {ray_id}</center>\r\n</body>\r\n</html>\r\n"
    )
    return Reply(status=502, body=body.encode(), headers={"content-type": "text/html"}), ray_id


def _page_problem(exc: BaseException, ray_id: str) -> str | None:
    # The official SDKs keep a body that is not JSON out of the message, in ``exc.body``.
    if carries(exc, ray_id, ("message", "body")):
        return None
    return (
        f"{type(exc).__name__}({str(exc)[:120]!r}) shows nothing of the error page, whose text "
        f"(request id {ray_id}) is all that says which proxy failed"
    )


def _raised_problem(
    provider: Any, handler: Callable[..., Any], status: int, judge: Callable[[Exception], str | None]
) -> str | None:
    """What ``judge`` finds wrong with the exception generate() raises while ``handler``
    answers with HTTP ``status``; "returned instead of raising" when it raises none."""
    with observed(handler, virtual_time=True) as traffic:
        try:
            call_generate(provider)
        except Exception as exc:
            problem = judge(exc)
            problem = problem and problem + _retries_gave_up(exc)
        else:
            problem = "returned instead of raising"
    require_traffic(traffic, f"generate() answered with HTTP {status}")
    return problem


def _retries_gave_up(exc: BaseException) -> str:
    """A hint when urllib3's ``Retry`` raised where the response should have come back."""
    for link in exception_chain(exc):
        if type(link).__name__ == "MaxRetryError" and type(getattr(link, "reason", None)).__name__ == "ResponseError":
            return (
                "; urllib3's Retry gave up on the status with MaxRetryError: mount it with "
                "raise_on_status=False, so that the last response comes back, and raise with its status and body"
            )
    return ""


def _status_problem(exc: BaseException, status: int) -> str | None:
    attributes = [getattr(exc, name, None) for name in ("status_code", "status")]
    if status in attributes or re.search(rf"(?<!\d){status}(?!\d)", str(exc)):
        return None
    return f"{type(exc).__name__}({str(exc)[:120]!r}) names no status {status} (message, status_code or status)"
