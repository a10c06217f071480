"""Clauses on generate_stream(): the joined chunks are the text that was sent, no more, no less.

Each clause replays a recorded streamed response, which a wire decoder reads independently
of the provider; the kit then re-cuts, paces, truncates or breaks that same body at the
transport seam and watches what the provider yields.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import secrets
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from ..clauses import ClauseCannotJudge, clause, note
from ..seam import Reply, Seen
from ._hypothesis import MULTIBYTE_CUTS, cut_points, run_property
from ._support import (
    Cases,
    Recorded,
    always,
    answer_with,
    chunk_type_problem,
    consume,
    error_reply,
    error_status,
    first_difference,
    message_problem,
    observed,
    record_exchange,
    replies_saying,
    require_traffic,
    stream_flag,
    stream_hello,
    writes_messages,
)

_LINE_END = re.compile(rb"\r\n|\r|\n")
RESIDUE = ("data:", "[DONE]", "event:", '{"', '"choices"', '"delta"')
GATE_TIMEOUT = 2.0


def recorded_stream(provider: Any) -> Recorded:
    return record_exchange(provider, lambda p: list(stream_hello(p)))


def streams(recorded: Recorded, profile: dict[str, Any]) -> bool:
    """Whether the provider really streams (not the base class's one-chunk default)."""
    return recorded.stream and profile.get("streams") is not False


def require_streaming(recorded: Recorded, profile: dict[str, Any]) -> None:
    if profile.get("streams") is False:
        pytest.skip("not applicable: the provider declares conformance_profile['streams'] = False")
    if not recorded.stream:
        pytest.skip(
            "not applicable: the provider does not stream (its generate_stream sent a non-streaming "
            "request, e.g. the base class's one-chunk default)"
        )


def joined_stream(provider: Any, reply: Reply, virtual_time: bool = False) -> tuple[list[Any], BaseException | None]:
    with observed(answer_with(lambda seen: reply), virtual_time=virtual_time) as traffic:
        chunks, error = consume(stream_hello(provider))
    require_traffic(traffic, "generate_stream()")
    return chunks, error


def stream_text_problem(chunks: list[Any], error: BaseException | None, expected: str) -> str | None:
    """What is wrong with a stream's output, given the text the response carried."""
    if error is not None:
        return f"raised {type(error).__name__}: {str(error)[:160]}"
    if type_problem := chunk_type_problem(chunks):
        return type_problem
    joined = "".join(chunks)
    if joined != expected:
        residue = [r for r in RESIDUE if r in joined and r not in expected]
        hint = f" (protocol residue {residue[0]!r} in the text)" if residue else ""
        return first_difference(expected, joined) + hint
    return None


@clause("stream-join", "must")
@pytest.mark.vcr
def test_stream_join(provider: Any, cassette: Any) -> None:
    """The joined chunks of generate_stream() are exactly the text the response carried.

    **Why**: LAIOS's default ``generate_stream()`` yields ``generate()``'s whole answer as
    one chunk, so the joined chunks are the answer, and callers render or store them as
    such; a dropped last delta, a ``.strip()`` that eats the spaces between words, or a
    stray ``data:`` line corrupts every answer.

    **Checks**: every chunk is a ``str``; ``"".join(chunks)`` equals the text a wire decoder
    reads from the same recorded response, with each event arriving as its own network read;
    and, for a server-sent-event stream, the same again after three ``:`` comment lines, the
    keep-alives OpenRouter sends before its first chunk (recorded in
    ``tests/data/wire_samples``), which the SSE specification says to ignore. For an
    Anthropic stream, the same again with an event of a type the API does not send today
    right after ``message_start``, and again with one after the content, right before
    ``message_delta``: Anthropic's streaming documentation says new event types may be
    added and that clients should handle unknown ones gracefully. And the same answer in
    the other shapes real servers stream it (recorded in ``tests/data/wire_samples``): for
    OpenAI-style streams, its first and last text in the role and ``finish_reason`` chunks
    (Gemini's compatible endpoint), ``"content": null`` in the chunks without text, a
    last chunk with empty ``choices`` that carries the usage (``stream_options.include_usage``),
    and ``reasoning_content`` chunks before the answer (deepseek-reasoner); for Anthropic
    streams, the text split over two text blocks around a ``thinking`` block
    (claude-opus-4-6 with adaptive thinking); for Ollama, ``message.thinking`` lines before
    the answer (a thinking model on Ollama's cloud).

    **Not judged when**: no decoder knows the provider's wire format (skipped: unknown wire
    format).

    **How to fix**: 1. yield every content delta, including the last, and the text of a
    chunk that also carries the role or the ``finish_reason``; 2. never strip or re-space
    deltas; 3. skip non-content events (usage chunks with empty ``choices``, pings,
    comments, ``thinking`` blocks, and event types you do not know, rather than raising
    on them), and read ``choices`` and ``content`` as possibly empty or ``null``; 4. join
    the text of every text block, not only the first; 5. reasoning (``reasoning_content``,
    ``reasoning``, Ollama's ``thinking``) is not the answer.
    """
    recorded = recorded_stream(provider)
    replies = {"the recorded stream": recorded.with_body(recorded.reply.body, cuts=recorded.event_cuts())}
    if is_event_stream(recorded):
        replies[COMMENTS_CASE] = with_keepalive_comments(recorded)
    # A provider whose generate_stream() does not stream (LAIOS's default) was answered with
    # a whole body, where no event can be added.
    if recorded.stream:
        body = recorded.reply.body
        for case, variant in (
            *recorded.wire.with_unknown_events(body),
            *recorded.wire.other_answer_shapes(body, stream=True),
        ):
            replies[case] = recorded.with_body(variant, cuts=recorded.event_cuts(variant))
    cases = Cases()
    for case, reply in replies.items():
        problem = stream_text_problem(*joined_stream(provider, reply), recorded.text())
        cases.fail(case, problem) if problem else cases.ok(case)
    cases.conclude()


COMMENTS_CASE = "after SSE comment lines (OpenRouter's keep-alives)"


def is_event_stream(recorded: Recorded) -> bool:
    return "event-stream" in recorded.reply.headers.get("content-type", "").lower()


def with_keepalive_comments(recorded: Recorded) -> Reply:
    """The recorded stream after three ``: OPENROUTER PROCESSING`` comments, each its own read."""
    body = recorded.reply.body
    found = _LINE_END.search(body)
    comment = b": OPENROUTER PROCESSING" + (found.group() if found else b"\n") * 2
    head = comment * 3
    cuts = [len(comment) * n for n in (1, 2, 3)] + [len(head) + cut for cut in recorded.event_cuts()]
    return recorded.with_body(head + body, cuts=cuts)


@clause("stream-raises", "must")
@pytest.mark.vcr
def test_stream_raises(provider: Any, profile: dict[str, Any], cassette: Any, request: pytest.FixtureRequest) -> None:
    """A failing stream raises: on an error status, on a dropped connection, on an in-stream error.

    **Why**: a stream that ends quietly looks like a complete (short) answer; the agent acts
    on half a sentence and the router never falls back.

    **Checks**: HTTP 500 and 429 on the stream request raise before any chunk; the
    connection dropped after the first event raises (after the chunks already yielded);
    an error inside a 200 stream (Anthropic ``event: error``, an OpenAI-compatible chunk
    carrying an ``error`` object) raises; and the recorded stream, complete with its end
    marker, but with every text delta emptied (what a reasoning model sends when it spends
    its whole budget on thinking) raises instead of yielding nothing: joined, that stream
    is the ``content=""`` LAIOS's guide says never to return. And a 200 stream whose body
    is the API's JSON error on one bare line, no ``data:`` framing, as a proxy sends it
    when it commits the stream before its backend fails (an SSE parser finds no event in
    it) raises.

    And the connection dropped after the first text event, and the in-stream error after
    it (Anthropic's ``overloaded_error``, which its API reference says to retry), each with
    a later stream request answered in full with another text, as a retry is on the live
    API (a sampled answer differs each time): the stream raises having yielded only the
    start of the first answer, or yields exactly the retry's answer (it retried before
    yielding anything). Sending the request again, streamed or not (a fallback to
    ``generate()``, answered with HTTP 500), once text has reached the caller fails: the
    retry's answer repeats or garbles the text.

    **How to fix**: 1. check the status before iterating; 2. let transport errors from the
    body iterator propagate; 3. raise on error events inside the stream; 4. at the end,
    raise if no chunk carried text; 5. retry a stream only while it has yielded nothing.
    """
    recorded = recorded_stream(provider)
    cases = Cases()
    for status in (500, 429):
        during = f"generate_stream() answered with HTTP {status}"
        with observed(answer_with(error_status(status)), virtual_time=True, during=during):
            chunks, error = consume(stream_hello(provider))
        _expect_raise(cases, f"HTTP {status}", chunks, error, allow_chunks=False)
    body = recorded.reply.body
    first_cut = recorded.event_cuts()[0] if recorded.stream else len(body) // 2
    dropped = recorded.with_body(body, cuts=recorded.event_cuts(), drop_at=first_cut)
    chunks, error = joined_stream(provider, dropped, virtual_time=True)
    _expect_raise(cases, "connection dropped mid-stream", chunks, error, allow_chunks=True)
    if streams(recorded, profile):
        _judge_retry_after_text(cases, provider, recorded)
        broken = recorded.with_body(recorded.wire.with_error_midstream(body))
        _judge_failure_after_text(cases, provider, recorded, ERROR_CASE, broken, _retried_answer(recorded))
        unframed = unframed_error(recorded)
        if unframed is None:
            cases.cannot_judge(UNFRAMED_CASE, f"the wire decoder {recorded.wire.name!r} writes no error body")
        else:
            chunks, error = joined_stream(provider, unframed, virtual_time=True)
            _expect_raise(cases, UNFRAMED_CASE, chunks, error, allow_chunks=True)
    else:
        note(request, "in-stream error cases not applicable: the provider does not stream")
    try:
        textless = recorded.with_body(recorded.wire.rebuild(body, "", stream=recorded.stream))
    except NotImplementedError:
        cases.cannot_judge(NO_TEXT_CASE, f"the wire decoder {recorded.wire.name!r} cannot rewrite the answer text")
    else:
        chunks, error = joined_stream(provider, textless, virtual_time=True)
        _expect_raise(cases, NO_TEXT_CASE, chunks, error, allow_chunks=True)
    cases.conclude()


NO_TEXT_CASE = "a complete 200 stream with no text"
RETRY_CASE = "connection dropped after the first text, a retry answered in full"
ERROR_CASE = "error inside a 200 stream"
RETRY_TEXT = "A retried stream samples another answer."
UNFRAMED_CASE = "a 200 stream whose body is a bare JSON error"


def _retried_answer(recorded: Recorded) -> Reply | None:
    """The recorded stream saying :data:`RETRY_TEXT`, each event its own read, as a retry is
    answered on the live API (a sampled answer differs each time); None when the wire
    decoder cannot rewrite the stream's text."""
    body = recorded.reply.body
    try:
        rebuilt = recorded.wire.rebuild(body, RETRY_TEXT, stream=True)
    except NotImplementedError:
        return None
    return recorded.with_body(rebuilt, cuts=recorded.event_cuts(rebuilt))


def _judge_retry_after_text(cases: Cases, provider: Any, recorded: Recorded) -> None:
    """The first stream request dropped after its first text event; a later stream request
    answered in full with :data:`RETRY_TEXT`, a later whole one (a fallback to generate())
    with HTTP 500, as the kit has no whole answer of the protocol to serve."""
    body = recorded.reply.body
    texts = recorded.wire.content_events(body)
    retried = _retried_answer(recorded)
    if not texts or retried is None:
        cases.cannot_judge(RETRY_CASE, f"the wire decoder {recorded.wire.name!r} cannot rewrite the stream's text")
        return
    dropped = recorded.with_body(body, cuts=recorded.event_cuts(), drop_at=texts[0][1])
    _judge_failure_after_text(cases, provider, recorded, RETRY_CASE, dropped, retried)


def _judge_failure_after_text(
    cases: Cases, provider: Any, recorded: Recorded, case: str, failing: Reply, retried: Reply | None
) -> None:
    """The first stream request answered with ``failing``, which fails after its first text
    event; a later stream request with ``retried`` (``failing`` again when the decoder
    cannot write it), a later whole one (a fallback to generate()) with HTTP 500. Sending
    the request again once text has reached the caller fails; otherwise the provider
    raises having yielded a start of the first answer, or yields exactly the retry's answer."""
    chunks: list[Any] = []
    sent_again: list[str] = []  # what the caller had got when the request was sent again
    requests = 0

    def reply_for(seen: Seen) -> Reply:
        nonlocal requests
        requests += 1
        if requests == 1:
            return failing
        shown = "".join(c for c in chunks if isinstance(c, str))
        if shown and not sent_again:
            sent_again.append(f"{shown[:60]!r}, then a {'streamed' if stream_flag(seen) else 'whole (generate())'}")
        if not stream_flag(seen):
            return error_reply(seen, 500)
        return failing if retried is None else retried

    with observed(answer_with(reply_for), virtual_time=True) as traffic:
        _, error = consume(stream_hello(provider), chunks)
    require_traffic(traffic, "generate_stream()")
    joined = "".join(c for c in chunks if isinstance(c, str))
    if sent_again:
        cases.fail(
            case,
            f"the caller had got {sent_again[0]} request was sent again; once a chunk has reached the caller, a "
            "failure must raise: a retry's answer repeats or garbles the text",
        )
    elif error is None and (retried is None or joined != RETRY_TEXT):
        _expect_raise(cases, case, chunks, error, allow_chunks=True)
    else:
        cases.ok(case)


def unframed_error(recorded: Recorded) -> Reply | None:
    """The recorded stream's status and headers with, as its whole body, the API's JSON error
    document on one line and without SSE framing, as a proxy sends it when it commits a 200
    stream before the backend fails (lemonade-sdk/lemonade#2975, in front of llama.cpp's
    server); None when the wire decoder writes no error body."""
    try:
        body, _ = recorded.wire.error_body(400)
    except NotImplementedError:
        return None
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return recorded.with_body(body)


@clause("stream-error-carries-message", "should")
@pytest.mark.vcr
def test_stream_error_carries_message(provider: Any, profile: dict[str, Any], cassette: Any) -> None:
    """The exception raised when a stream fails carries the API's own error message.

    **Why**: a failure that strikes mid-answer is reported inside the stream (Anthropic's
    ``event: error``, an OpenAI-compatible chunk with an ``error`` object, Ollama's
    ``{"error": ...}`` line), and its message ("Overloaded", "Token limit reached") is the
    only account of what went wrong; a stream request refused outright gets an error
    status whose JSON body says why ("The model ... does not exist"). LAIOS's router and
    breaker log the exception they catch. The kit's own requirement, like
    ``error-carries-message``: LAIOS's guide only asks that the provider raise.

    **Checks**: the recorded stream cut after its first text event and ended by an
    in-stream error whose message the kit makes up for the run; and the stream request
    answered with HTTP 404 and an error body in the provider's wire format saying a
    made-up message, as OpenAI and Anthropic answer a stream request for an unknown model
    (recorded in ``tests/data/wire_samples``). The exception ``generate_stream()`` raises
    must carry the message in ``str(exc)`` or in a ``message`` attribute.

    **Not applicable when**: the provider does not stream. Not judged (skipped) when no wire
    decoder can write an error message for the provider's format.

    **How to fix**: when an event carries an error, raise with its message
    (``error.message`` in OpenAI-compatible chunks and Anthropic's error event, ``error``
    in Ollama's lines), not a fixed text such as "stream failed". On an error status, read
    the streamed response's body before raising (httpx: ``response.read()``; its
    ``raise_for_status()`` names only the status) and put its message in the exception.
    """
    recorded = recorded_stream(provider)
    require_streaming(recorded, profile)
    token = secrets.token_hex(4)
    cases = Cases()
    _judge_error_midstream(provider, recorded, cases, f"Overloaded: capacity lc-{token} is busy, please retry in 20s.")
    _judge_refused_stream(provider, cases, f"The model `lc-{token}` does not exist or you do not have access to it.")
    cases.conclude()


MIDSTREAM_CASE = "error inside a 200 stream"
REFUSED_CASE = "HTTP 404 answering the stream request"


def _judge_error_midstream(provider: Any, recorded: Recorded, cases: Cases, message: str) -> None:
    if not writes_messages(recorded.wire.with_error_midstream):
        why = f"the wire decoder {recorded.wire.name!r} cannot write an in-stream error message"
        cases.cannot_judge(MIDSTREAM_CASE, why)
        return
    broken = recorded.with_body(recorded.wire.with_error_midstream(recorded.reply.body, message=message))
    chunks, error = joined_stream(provider, broken, virtual_time=True)
    _judge_carried(cases, MIDSTREAM_CASE, chunks, error, message)


def _judge_refused_stream(provider: Any, cases: Cases, message: str) -> None:
    unwritable: list[str] = []
    with observed(answer_with(replies_saying(404, message, unwritable)), virtual_time=True) as traffic:
        chunks, error = consume(stream_hello(provider))
    require_traffic(traffic, "generate_stream() answered with HTTP 404")
    if unwritable:
        cases.cannot_judge(REFUSED_CASE, "unknown wire format: no decoder writes its error messages")
        return
    _judge_carried(cases, REFUSED_CASE, chunks, error, message)


def _judge_carried(cases: Cases, case: str, chunks: list[Any], error: BaseException | None, message: str) -> None:
    if error is None:
        cases.fail(case, f"the stream ended without raising after {len(chunks)} chunk(s)")
        return
    problem = message_problem(error, message)
    cases.fail(case, problem) if problem else cases.ok(case)


def _expect_raise(cases: Cases, case: str, chunks: list[Any], error: BaseException | None, allow_chunks: bool) -> None:
    if error is None:
        cases.fail(
            case, f"the stream ended without raising after {len(chunks)} chunk(s) {''.join(map(str, chunks))[:60]!r}"
        )
    elif chunks and not allow_chunks:
        cases.fail(case, f"yielded {len(chunks)} chunk(s) before raising; an error status must raise before any chunk")
    else:
        cases.ok(case)


@clause("stream-end-marker", "should")
@pytest.mark.vcr
def test_stream_end_marker(provider: Any, profile: dict[str, Any], cassette: Any) -> None:
    """A stream that stops without its protocol's end marker raises; one that ends as the
    protocol's servers end it does not.

    **Why**: a proxy or load balancer that cuts a stream cleanly (no transport error) leaves
    the end marker as the only evidence the answer is incomplete. And a provider that
    insists on one marker where the protocol's servers use another rejects complete
    answers: LAIOS's guide points OpenAI-style clients at OpenAI-compatible servers. The
    kit's own requirement: LAIOS's guide does not mention end markers.

    **Checks**: the recorded stream without ``data: [DONE]`` and without any
    ``finish_reason`` (OpenAI-style), without ``message_stop`` and the ``message_delta``
    carrying the ``stop_reason`` (Anthropic), without the ``"done": true`` object (Ollama)
    raises. An OpenAI-style stream without ``data: [DONE]`` but with its last chunk's
    ``finish_reason``, as Perplexity ends every stream (recorded in
    ``tests/data/wire_samples``), ends without raising (its text is ``stream-join``'s). An
    Anthropic stream cut between its ``stop_reason`` and ``message_stop`` is complete, and
    the kit accepts either answer to it: returning the text, or raising.

    **Not applicable when**: the provider does not stream.

    **How to fix**: track whether the end marker (``message_stop`` for Anthropic, or the
    ``stop_reason`` of the ``message_delta`` just before it; the object with ``"done": true`` for Ollama;
    ``[DONE]`` or, for servers that never send it, a ``finish_reason`` for OpenAI-style
    streams) was seen, and raise when the body ends without it.
    """
    recorded = recorded_stream(provider)
    require_streaming(recorded, profile)
    reply = recorded.with_body(recorded.wire.without_end_marker(recorded.reply.body))
    chunks, error = joined_stream(provider, reply)
    cases = Cases()
    _expect_raise(cases, f"stream without {recorded.wire.end_marker}", chunks, error, allow_chunks=True)
    for case, body in recorded.wire.other_endings(recorded.reply.body):
        _, error = joined_stream(provider, recorded.with_body(body, cuts=recorded.event_cuts(body)))
        if error is None:
            cases.ok(case)
        else:
            cases.fail(case, f"a complete answer raised {type(error).__name__}: {str(error)[:160]}")
    cases.conclude()


@clause("stream-incremental", "must")
@pytest.mark.vcr
def test_stream_incremental(provider: Any, profile: dict[str, Any], cassette: Any) -> None:
    """The first chunk reaches the caller while the rest of the body is still on its way.

    **Why**: LAIOS's guide overrides ``generate_stream()`` for true token-by-token streaming,
    so that users see the answer as it is generated; a provider that reads the whole body
    before yielding streams in name only.

    **Checks**: the kit sends the body up to the first content event, then withholds the
    rest until the caller has the first chunk with text (empty strings before it do not
    count; waiting at most 2 seconds; no wait at all when the provider reads for the rest
    in the very call that should yield the chunk). A server-sent-event stream is judged
    again with its line endings rewritten to LF and to CRLF (as Perplexity sends them,
    recorded in ``tests/data/wire_samples``), where that changes them: a provider that
    splits events on ``\\n\\n`` alone reads a CRLF stream to its end before yielding.

    **Not applicable when**: the provider does not stream.

    **How to fix**: iterate the response (``iter_lines``/``iter_bytes``) and yield as events
    arrive, ending lines at CRLF, LF or a lone CR; do not call ``response.read()`` or
    ``.json()`` on a stream.
    """
    recorded = recorded_stream(provider)
    require_streaming(recorded, profile)
    cases = Cases()
    bodies = {"": recorded.reply.body}
    if is_event_stream(recorded):
        for label, eol in ((" (LF line endings)", b"\n"), (" (CRLF line endings, as Perplexity sends)", b"\r\n")):
            rewritten = _LINE_END.sub(eol, recorded.reply.body)
            if rewritten not in bodies.values():
                bodies[label] = rewritten
    for label, body in bodies.items():
        if cases.failures:  # one buffered body tells; each more would wait out the gate again
            break
        _judge_first_chunk(cases, provider, recorded, body, label)
    cases.conclude()


def _judge_first_chunk(cases: Cases, provider: Any, recorded: Recorded, body: bytes, label: str) -> None:
    """Whether the first text of ``body`` reaches the caller while the kit withholds the rest."""
    content_events = recorded.wire.content_events(body)
    first_content_end = content_events[0][1] if content_events else recorded.event_cuts(body)[0]
    gate = threading.Event()
    cuts = [first_content_end, *[c for c in recorded.event_cuts(body) if c > first_content_end]]
    reply = recorded.with_body(
        body, cuts=cuts, gate=gate, gate_timeout=GATE_TIMEOUT, gate_opener=threading.current_thread()
    )
    returned: list[Any] = []
    with observed(answer_with(lambda seen: reply)) as traffic:
        stream = iter(stream_hello(provider, returned))
        first = next(stream, None)
        while first == "":  # an empty chunk shows the caller nothing: wait for the first text
            first = next(stream, None)
        gate.set()
        rest, error = consume(stream)
    require_traffic(traffic, "generate_stream()")
    case = f"first chunk{label}"
    if first is None:
        cases.fail(case, "the stream yielded nothing")
    elif reply.gate_expired and isinstance(own := _provider_stream(returned), (list, tuple)):
        cases.fail(
            case,
            f"generate_stream() returned a {type(own).__name__}: it read the whole answer before "
            "the caller got any of it; yield each piece as it arrives (make it a generator)",
        )
    elif reply.gate_expired:
        cases.fail(
            case,
            "arrived only after the kit released the rest of the body: the provider read on past the "
            "first event before yielding it (it buffers the stream, or holds each chunk back until the next)",
        )
    if error is not None:
        cases.fail(f"rest of the stream{label}", f"raised {type(error).__name__}: {error}")


def _provider_stream(returned: list[Any]) -> Any:
    """What the provider's generate_stream() returned, under the kit's call-timeout wrapper."""
    return getattr(returned[0], "provider_stream", returned[0]) if returned else None


@clause("stream-rechunk", "must")
@pytest.mark.vcr
def test_stream_rechunk(provider: Any, profile: dict[str, Any], cassette: Any) -> None:
    """The joined text is the same however the network cuts the body.

    **Why**: TCP delivers bytes, not events: a line, a ``\\r\\n`` or a multi-byte UTF-8
    character can be split across reads. A provider that decodes each read on its own
    garbles ``é`` into ``\\ufffd\\ufffd`` or drops half an event under real-world latency.
    The joined text must be ``stream-join``'s answer whatever the network does.

    **Checks**: 1-byte pieces; cuts inside every multi-byte character (of the recorded
    stream rewritten to carry a non-ASCII answer when its own is ASCII), inside ``\\r\\n``,
    inside ``data:`` lines and between events; a server-sent-event stream again with its
    line endings rewritten to CRLF and to a lone CR (both allowed by the SSE specification
    and used by real services), cut after every CR, and with no space after the colon of
    its fields (``data:{...}``, which the specification allows and some servers send);
    then cut points chosen by hypothesis.
    A failure shows the minimal set of cut points that breaks the provider.

    **Not applicable when**: the provider does not stream.

    **How to fix**: decode with an incremental decoder (httpx's ``iter_lines``/``iter_text``
    do), keep partial lines in a buffer until their line break arrives, end lines at
    CRLF, LF or a lone CR, and read a field as ``name:value`` with one optional space
    (``line.startswith("data: ")`` misses ``data:{...}``).
    """
    recorded = recorded_stream(provider)
    require_streaming(recorded, profile)
    body, expected = recorded.reply.body, recorded.text()
    cases = Cases()

    def problem_with(cuts: list[int]) -> str | None:
        return stream_text_problem(*joined_stream(provider, recorded.with_body(body, cuts=cuts)), expected)

    named_cuts = cut_points(body)
    for case, cuts in named_cuts.items():
        problem = problem_with(cuts)
        cases.fail(case, problem) if problem else cases.ok(case)
    if MULTIBYTE_CUTS not in named_cuts:  # an ASCII answer has no character for a cut to split
        _judge_multibyte_answer(cases, provider, recorded)
    for case, rewritten, cuts in _reframed(recorded) if is_event_stream(recorded) else []:
        chunks, error = joined_stream(provider, recorded.with_body(rewritten, cuts=cuts))
        problem = stream_text_problem(chunks, error, expected)
        cases.fail(case, problem) if problem else cases.ok(case)
    if not cases.failures:
        counterexample = run_property(body, problem_with)
        if counterexample:
            cases.fail("hypothesis-chosen cuts", counterexample)
    cases.conclude()


def _reframed(recorded: Recorded) -> list[tuple[str, bytes, list[int]]]:
    """``(case, body, cuts)`` of the recorded event stream framed as the SSE specification also
    allows: its line endings rewritten to CRLF and to a lone CR (cut after every CR), and no
    space after the colon of its fields (each event its own read)."""
    body = recorded.reply.body
    reframed = []
    for case, eol in (("CRLF line endings", b"\r\n"), ("CR line endings", b"\r")):
        rewritten = _LINE_END.sub(eol, body)
        cuts = sorted({*recorded.event_cuts(rewritten), *(m.end() for m in re.finditer(rb"\r", rewritten))})
        reframed.append((case, rewritten, cuts))
    spaceless = _FIELD_SPACE.sub(rb"\1\2:", body)
    return [*reframed, (NO_SPACE_CASE, spaceless, recorded.event_cuts(spaceless))]


NO_SPACE_CASE = "no space after the colon of its fields (data:{...}, as the SSE specification allows)"
_FIELD_SPACE = re.compile(rb"(\A|[\r\n])(data|event|id|retry): ")
MULTIBYTE_CASE = f"{MULTIBYTE_CUTS} of a non-ASCII answer"
MULTIBYTE_TEXT = "Grüße aus Köln: 日本語のテキスト, 👩\u200d👩\u200d👧 and é."


def _judge_multibyte_answer(cases: Cases, provider: Any, recorded: Recorded) -> None:
    """The recorded stream rewritten to carry :data:`MULTIBYTE_TEXT`, cut inside each of its
    multi-byte characters: with an ASCII recording, a provider decoding each read on its own
    would otherwise pass."""
    try:
        body = recorded.wire.rebuild(recorded.reply.body, MULTIBYTE_TEXT, stream=True)
    except NotImplementedError:
        cases.cannot_judge(MULTIBYTE_CASE, f"the wire decoder {recorded.wire.name!r} cannot rewrite the stream's text")
        return
    chunks, error = joined_stream(provider, recorded.with_body(body, cuts=cut_points(body).get(MULTIBYTE_CUTS, [])))
    problem = stream_text_problem(chunks, error, MULTIBYTE_TEXT)
    cases.fail(MULTIBYTE_CASE, problem) if problem else cases.ok(MULTIBYTE_CASE)


@clause("stream-closes", "must")
@pytest.mark.vcr
def test_stream_closes(provider: Any, cassette: Any) -> None:
    """When the caller stops iterating early, the provider closes the upstream response.

    **Why**: an unclosed response holds its connection (and, on paid APIs, keeps the model
    generating tokens you pay for) until garbage collection, and exhausts the pool. LAIOS's
    guide opens the stream in a ``with`` block inside the generator, which closes it; the
    requirement that it be closed at once is the kit's own.

    **Checks**: after the first chunk, ``break`` out of the loop, and ``close()`` the
    generator (which must return without raising): in both cases the response is closed, at
    once or (a reader thread of the provider's noticing the stop) within half a second, and
    the provider reads at most a network read or two after the stop, not the rest of the
    answer (a ``finally`` that drains the stream to reuse the connection reads it all). The
    answer is the recorded stream's with its text spread over 20 text events (a recorded
    hello may have one, leaving no rest to read), and the rest arrives one event every
    10 ms, as a live stream's would.

    **How to fix**: open the response with ``with client.stream(...) as response:`` inside
    the generator, so that ``GeneratorExit`` closes it; never catch ``GeneratorExit`` (nor
    ``BaseException``) around a ``yield`` without re-raising it. A reader thread must check a
    stop flag (set in the generator's ``finally``) between reads, and close the response then.
    Do not read the rest of the body to keep the connection for reuse: close it.
    """
    recorded = recorded_stream(provider)
    body = _long_answer(recorded)
    cases = Cases()
    for case in ("break", "close()"):
        raised: list[str] = []
        reply = recorded.with_body(body, cuts=recorded.event_cuts(body), pace=CLOSE_PACE)
        with observed(answer_with(always(reply))) as traffic, _generator_exit_ignored() as finalized:
            returned: list[Any] = []
            stream = stream_hello(provider, returned)
            for _ in stream:
                break
            finalized.watch(stream, *returned)
            returned.clear()
            read_at_stop = reply.delivered
            if case == "close()":
                raised = _close(stream, finalized.ignored)
            del stream  # the caller's loop ended and dropped its last reference
            closed = all(seen.closed.wait(CLOSE_GRACE) for seen in traffic.seen)
        require_traffic(traffic, "generate_stream()")
        read_after = reply.delivered - read_at_stop
        if finalized.ignored:
            cases.fail(case, IGNORED_EXIT)
        elif raised:
            cases.fail(case, CLOSE_RAISED.format(raised[0]))
        elif not closed:
            cases.fail(case, "the upstream response was still open after the caller stopped iterating")
        elif read_after > READS_AFTER_STOP and len(reply.pieces()) - read_at_stop > READS_AFTER_STOP + 1:
            cases.fail(
                case,
                f"the provider went on reading {read_after} more network reads after the caller stopped "
                f"(the rest of the answer) before closing the response",
            )
    cases.conclude()


CLOSE_PIECES = [f"Piece {n} of a long answer. " for n in range(20)]


def _long_answer(recorded: Recorded) -> bytes:
    """The recorded stream carrying :data:`CLOSE_PIECES`, each in a text event of its own
    (the recorded body itself when it is no stream, or the decoder cannot place pieces)."""
    if not recorded.stream:
        return recorded.reply.body
    try:
        return bytes(recorded.wire.rebuild_in_pieces(recorded.reply.body, CLOSE_PIECES))
    except NotImplementedError:
        return recorded.reply.body


IGNORED_EXIT = (
    "generate_stream() ignored GeneratorExit: stopped by the caller, it yielded again, so it never reaches "
    "the code that closes the response (an `except GeneratorExit:`, `except BaseException:` or bare "
    "`except:` around a `yield` that does not re-raise); let GeneratorExit propagate"
)


CLOSE_RAISED = (
    "close() raised {}: generate_stream() turned GeneratorExit into another exception (an `except:` or "
    "`except BaseException:` around a `yield` that raises anew), so a caller that stops iterating gets it from "
    "close(), or as an 'Exception ignored' warning when the generator is collected; let GeneratorExit propagate"
)


def _close(stream: Any, ignored: list[str]) -> list[str]:
    """Close the stream as a caller does; what it raised instead of closing quietly."""
    try:
        stream.close()
    except RuntimeError as exc:
        if "ignored GeneratorExit" not in str(exc):
            return [f"{type(exc).__name__}: {str(exc)[:160]}"]
        ignored.append(str(exc))  # not exc: its traceback would keep the generator alive
    except ClauseCannotJudge:
        raise
    except Exception as exc:
        return [f"{type(exc).__name__}: {str(exc)[:160]}"]
    return []


class _Finalized:
    """What ``_generator_exit_ignored`` heard: the errors, and the streams it must see finalized."""

    def __init__(self) -> None:
        self.ignored: list[str] = []
        self._streams: list[weakref.ref[Any]] = []
        self._unwatchable = False

    def watch(self, *streams: Any) -> None:
        for stream in streams:
            try:
                self._streams.append(weakref.ref(stream))
            except TypeError:  # no weak references to it: only a collection tells it is gone
                self._unwatchable = True

    def left_behind(self) -> bool:
        """Whether a watched stream outlived the caller's last reference (in a reference
        cycle, or held elsewhere): only the garbage collector would finalize it."""
        return self._unwatchable or any(ref() is not None for ref in self._streams)


@contextlib.contextmanager
def _generator_exit_ignored() -> Iterator[_Finalized]:
    """The "generator ignored GeneratorExit" errors of generators finalized meanwhile (Python
    reports them to ``sys.unraisablehook``, as a warning with a traceback); others pass on."""
    finalized = _Finalized()
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, RuntimeError) and "ignored GeneratorExit" in str(unraisable.exc_value):
            finalized.ignored.append(str(unraisable.exc_value))
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield finalized
    finally:
        # A stream freed by its last reference was finalized then, and the hook heard it. A
        # full collection costs a quarter second in a large process: only for one left behind.
        if finalized.left_behind():
            gc.collect()
        sys.unraisablehook = previous


CLOSE_PACE = 0.01  # seconds between the events served after the first
CLOSE_GRACE = 0.5  # seconds a provider's own reader thread may take to notice the stop
READS_AFTER_STOP = 2  # one read in flight, one read ahead by a buffered stack
